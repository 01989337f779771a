"""CycleGAN (Zhu et al., ICCV 2017) as a Keras model.

Naming: `gen_a2b` is the official netG_A (A -> B), `gen_b2a` is netG_B, `disc_b` judges
domain B (official netD_A, which scores G_A's outputs) and `disc_a` judges domain A
(official netD_B).
"""
import keras
import tensorflow as tf

from tfi2i import losses
from tfi2i import nets
from tfi2i.endpoints import Endpoint
from tfi2i.models.base import average_loss
from tfi2i.models.base import check_choice
from tfi2i.models.base import require_training_size
from tfi2i.models.base import ImagePool, TranslationModel


@keras.saving.register_keras_serializable('tfi2i')
class CycleGAN(TranslationModel):
  """Two generators and two PatchGAN discriminators trained with the CycleGAN objective.

  G step (official backward_G): lsgan terms D_B(G(a)) and D_A(F(b)) against "real",
  cycle terms lambda_A |F(G(a)) - a| and lambda_B |G(F(b)) - b|, identity terms
  lambda_B * lambda_idt |G(b) - b| and lambda_A * lambda_idt |F(a) - a|.
  D step (official backward_D_basic): 0.5 * (real vs 1 + pooled fake vs 0) per discriminator,
  with fakes from the same forward pass (before the G update), drawn through image pools.
  """

  optimizer_names = ('g_optimizer', 'd_optimizer')
  loss_args = ('gan_mode', 'lambda_a', 'lambda_b', 'lambda_identity', 'pool_size')
  retired_args = {'generator': 'resnet', 'discriminator': 'patch'}  # recipes before issue 12
  directions = ('a_to_b', 'b_to_a')
  size_multiple = 4

  # Sources of the defaults: junyanz/pytorch-CycleGAN-and-pix2pix options/base_options.py (B),
  # options/train_options.py (T), models/cycle_gan_model.py (C), models/networks.py (N).
  def __init__(self, *,
               input_nc=3,  # B --input_nc
               output_nc=3,  # B --output_nc
               ngf=64,  # B --ngf
               n_blocks=9,  # B --netG resnet_9blocks (resnet_6blocks: 6)
               ndf=64,  # B --ndf
               n_layers_d=3,  # B --netD basic = N NLayerDiscriminator(n_layers=3): 70x70 PatchGAN
               norm='instance',  # B --norm instance (affine=False, no running statistics)
               use_dropout=False,  # B --no_dropout is set for CycleGAN
               init_gain=0.02,  # B --init_type normal --init_gain 0.02
               gan_mode='lsgan',  # T --gan_mode lsgan
               lambda_a=10.0,  # C --lambda_A: cycle A -> B -> A
               lambda_b=10.0,  # C --lambda_B: cycle B -> A -> B
               lambda_identity=0.5,  # C --lambda_identity (scaled by lambda_a / lambda_b)
               pool_size=50,  # T --pool_size
               seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    check_choice('loss.gan_mode', gan_mode, losses.GAN_MODES)
    if lambda_identity > 0 and input_nc != output_nc:  # as the official assert in __init__
      raise ValueError(f'the identity loss (loss.lambda_identity={lambda_identity}) feeds B '
                       f'images to G_A: it needs model.input_nc == model.output_nc, got '
                       f'{input_nc} and {output_nc}; set loss.lambda_identity=0')
    gen = lambda name, cin, cout: nets.resnet_generator(
        cin, cout, ngf, n_blocks, norm, use_dropout, init_gain, name=name)
    disc = lambda name, cin: nets.patch_discriminator(cin, ndf, n_layers_d, norm, init_gain,
                                                      name=name)
    self.gen_a2b = gen('gen_a2b', input_nc, output_nc)
    self.gen_b2a = gen('gen_b2a', output_nc, input_nc)
    self.disc_a = disc('disc_a', input_nc)
    self.disc_b = disc('disc_b', output_nc)
    self.gan_mode = gan_mode
    self.lambda_a = float(lambda_a)
    self.lambda_b = float(lambda_b)
    self.lambda_identity = float(lambda_identity)
    self.n_layers_d = int(n_layers_d)
    self.pool_size = int(pool_size)
    self.pool_a = self.pool_b = None
    # Batch norm (model.norm=batch) takes statistics over the batch, so the official code's
    # separate passes give other numbers than one joined pass: join passes only without it.
    self._per_sample = norm != 'batch'

  @property
  def generators(self):
    return {'a_to_b': self.gen_a2b, 'b_to_a': self.gen_b2a}

  def call(self, images, direction='a_to_b', training=False):
    return self.generator_for(direction)(images, training=training)

  def build_for_training(self, batch_spec):
    """Builds optimizer slots and the pools for training crops of batch_spec['a']'s size."""
    image_shape = tuple(batch_spec['a'].shape[1:])
    # n stride-2 convs then two 4x4 stride-1 convs
    require_training_size(image_shape[:2], 3 * 2 ** self.n_layers_d,
                          f'the {self.n_layers_d}-layer PatchGAN',
                          '; raise data.crop_size or lower model.n_layers_d')
    pool_size = self.pool_size
    self.pool_a = ImagePool(pool_size, image_shape, seed=self.seed * 2 + 1, name='pool_a')
    self.pool_b = ImagePool(pool_size, tuple(batch_spec['b'].shape[1:]), seed=self.seed * 2 + 2,
                            name='pool_b')  # B may have other channels than A
    self.g_optimizer.build(self.gen_a2b.trainable_variables + self.gen_b2a.trainable_variables)
    self.d_optimizer.build(self.disc_a.trainable_variables + self.disc_b.trainable_variables)

  def train_step(self, batch):
    real_a, real_b = batch['a'], batch['b']
    g_vars = self.gen_a2b.trainable_variables + self.gen_b2a.trainable_variables
    with tf.GradientTape() as tape:
      if self.lambda_identity > 0 and self._per_sample:
        # G(a) and G(b) (identity) in one pass of batch 2N, F(b) and F(a) likewise: the same
        # numbers as two passes (instance norm and every other layer act per image) with
        # each weight read once.
        fake_b, idt_b = _joined(self.gen_a2b, real_a, real_b)
        fake_a, idt_a = _joined(self.gen_b2a, real_b, real_a)
      else:
        fake_b = self.gen_a2b(real_a, training=True)
        fake_a = self.gen_b2a(real_b, training=True)
        if self.lambda_identity > 0:
          idt_b = self.gen_a2b(real_b, training=True)
          idt_a = self.gen_b2a(real_a, training=True)
      rec_a = self.gen_b2a(fake_b, training=True)
      rec_b = self.gen_a2b(fake_a, training=True)
      terms = {
          'gen_a2b_gan': losses.generator_loss(self.disc_b(fake_b, training=True), self.gan_mode),
          'gen_b2a_gan': losses.generator_loss(self.disc_a(fake_a, training=True), self.gan_mode),
          'cycle_a': losses.cycle_loss(real_a, rec_a, self.lambda_a),
          'cycle_b': losses.cycle_loss(real_b, rec_b, self.lambda_b),
      }
      if self.lambda_identity > 0:
        # G(b) should leave b alone (weighted by lambda_B), F(a) should leave a alone.
        terms['identity_b'] = losses.identity_loss(
            real_b, idt_b, self.lambda_b * self.lambda_identity)
        terms['identity_a'] = losses.identity_loss(
            real_a, idt_a, self.lambda_a * self.lambda_identity)
      g_total = average_loss(tf.add_n(list(terms.values())))
    self.apply_gradients(self.g_optimizer, tape, g_total, g_vars)

    pooled_b = self.pool_b.query(tf.stop_gradient(fake_b))
    pooled_a = self.pool_a.query(tf.stop_gradient(fake_a))
    d_vars = self.disc_a.trainable_variables + self.disc_b.trainable_variables
    with tf.GradientTape() as tape:
      terms['disc_b'] = losses.discriminator_loss(
          *self._real_and_fake(self.disc_b, real_b, pooled_b), self.gan_mode)
      terms['disc_a'] = losses.discriminator_loss(
          *self._real_and_fake(self.disc_a, real_a, pooled_a), self.gan_mode)
      d_total = average_loss(terms['disc_a'] + terms['disc_b'])
    self.apply_gradients(self.d_optimizer, tape, d_total, d_vars)

    logs = {name: average_loss(value) for name, value in terms.items()}
    logs['gen_total'] = g_total
    logs['disc_total'] = d_total
    return logs

  def _real_and_fake(self, disc, real, fake):
    """disc(real), disc(fake): one pass of batch 2N when the networks act per image."""
    if self._per_sample:
      return _joined(disc, real, fake)
    return disc(real, training=True), disc(fake, training=True)

  def image_panels(self, batch):
    real_a, real_b = batch['a'], batch['b']
    fake_b = self.gen_a2b(real_a, training=False)
    fake_a = self.gen_b2a(real_b, training=False)
    return {
        'a_to_b': [('real_a', real_a), ('fake_b', fake_b),
                   ('rec_a', self.gen_b2a(fake_b, training=False))],
        'b_to_a': [('real_b', real_b), ('fake_a', fake_a),
                   ('rec_b', self.gen_a2b(fake_a, training=False))],
    }

  def endpoints(self):
    return {name: Endpoint((lambda g: lambda x: {'output': g(x, training=False)})(gen),
                           doc=f'the {name} generator')
            for name, gen in self.generators.items()}


def _joined(net, x, y):
  """net(x), net(y) as one pass over [x, y] (training mode)."""
  out = net(tf.concat([x, y], 0), training=True)
  return tf.split(out, [tf.shape(x)[0], tf.shape(y)[0]], axis=0)
