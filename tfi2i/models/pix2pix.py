"""pix2pix (Isola et al., CVPR 2017): conditional GAN with an L1 term, as a Keras model.

Official code: junyanz/pytorch-CycleGAN-and-pix2pix models/pix2pix_model.py.
"""
import keras
import numpy as np
import tensorflow as tf

from tfi2i import losses
from tfi2i import nets
from tfi2i.endpoints import Endpoint
from tfi2i.models.base import average_loss
from tfi2i.models.base import check_choice
from tfi2i.models.base import require_training_size
from tfi2i.models.base import TranslationModel


@keras.saving.register_keras_serializable('tfi2i')
class Pix2Pix(TranslationModel):
  """U-Net generator G and a PatchGAN D on (input, output) pairs.

  Per step, as the official optimize_parameters: G(a) once; then the D update on
  0.5 * (D(a, b) vs real + D(a, G(a)) vs fake); then the G update on
  D(a, G(a)) vs real (scored by the updated D) + lambda_L1 |G(a) - b|.

  Inference: the paper runs G at test time "in exactly the same manner as during the
  training phase" (dropout on, batch-norm statistics of the test batch), which is the
  official test.py default (no --eval). `model.eval_mode=True` is the official --eval.
  """

  optimizer_names = ('g_optimizer', 'd_optimizer')
  loss_args = ('gan_mode', 'lambda_l1')
  retired_args = {'generator': 'unet', 'discriminator': 'patch'}  # recipes before issue 12
  directions = ('a_to_b',)
  data_stream = 'paired'
  inference_modes = {'eval': {'eval_mode': True}}  # the official test.py --eval

  # Sources of the defaults: junyanz/pytorch-CycleGAN-and-pix2pix options/base_options.py (B),
  # models/pix2pix_model.py modify_commandline_options (P), models/networks.py (N).
  def __init__(self, *,
               input_nc=3,  # B --input_nc
               output_nc=3,  # B --output_nc
               num_downs=8,  # P --netG unet_256 = N UnetGenerator(num_downs=8) (unet_128: 7)
               ngf=64,  # B --ngf
               ndf=64,  # B --ndf
               n_layers_d=3,  # B --netD basic: 70x70 PatchGAN on the A|B pair (N n_layers=3)
               norm='batch',  # P --norm batch
               use_dropout=True,  # B --no_dropout not set: dropout 0.5 in the inner U-Net blocks
               init_gain=0.02,  # B --init_type normal --init_gain 0.02
               eval_mode=False,  # B --eval off: test time runs G as in training (dropout, batch stats)
               gan_mode='vanilla',  # P gan_mode vanilla
               lambda_l1=100.0,  # P --lambda_L1
               seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    check_choice('loss.gan_mode', gan_mode, losses.GAN_MODES)
    self.num_downs = int(num_downs)
    self.generator = nets.unet_generator(
        input_nc, output_nc, num_downs=self.num_downs, ngf=ngf, norm=norm,
        use_dropout=use_dropout, init_gain=init_gain, name='generator')
    self.discriminator = nets.patch_discriminator(
        input_nc + output_nc, ndf, n_layers_d, norm, init_gain, name='discriminator')
    self.eval_mode = bool(eval_mode)
    self.gan_mode = gan_mode
    self.lambda_l1 = float(lambda_l1)
    self.size_multiple = 2 ** self.num_downs
    self.min_input_size = self.size_multiple  # a U-Net runs on any multiple of 2**num_downs

  def call(self, images, direction='a_to_b', training=False):
    if direction != 'a_to_b':
      raise ValueError(f"pix2pix translates one way: direction must be 'a_to_b', got {direction!r}")
    return self.generator(images, training=training or not self.eval_mode)

  def build_for_training(self, batch_spec):
    require_training_size(batch_spec['a'].shape[1:3], 2 ** self.num_downs,
                          f'a U-Net with {self.num_downs} down steps')
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)

  def train_step(self, batch):
    real_a, real_b = batch['a'], batch['b']
    pair = lambda x, y: tf.concat([tf.cast(x, tf.float32), tf.cast(y, tf.float32)], axis=-1)
    g_vars = self.generator.trainable_variables
    d_vars = self.discriminator.trainable_variables
    terms = {}
    with tf.GradientTape() as g_tape:
      fake_b = self.generator(real_a, training=True)
      with g_tape.stop_recording():  # D first, on the detached fake (official order)
        with tf.GradientTape() as d_tape:
          terms['disc'] = losses.discriminator_loss(
              self.discriminator(pair(real_a, real_b), training=True),
              self.discriminator(pair(real_a, tf.stop_gradient(fake_b)), training=True),
              self.gan_mode)
          d_total = average_loss(terms['disc'])
        self.apply_gradients(self.d_optimizer, d_tape, d_total, d_vars)
      terms['gen_gan'] = losses.generator_loss(
          self.discriminator(pair(real_a, fake_b), training=True), self.gan_mode)
      terms['gen_l1'] = self.lambda_l1 * losses.l1_loss(fake_b, real_b)
      g_total = average_loss(terms['gen_gan'] + terms['gen_l1'])
    self.apply_gradients(self.g_optimizer, g_tape, g_total, g_vars)
    logs = {name: average_loss(value) for name, value in terms.items()}
    logs['gen_total'], logs['disc_total'] = g_total, d_total
    return logs

  def image_panels(self, batch):
    fake_b = self(batch['a'])
    return {'a_to_b': [('real_a', batch['a']), ('fake_b', fake_b), ('real_b', batch['b'])]}

  def endpoints(self):
    return {'a_to_b': Endpoint(lambda x: {'output': self(x)}, doc='G(A)')}

  def sampler(self, samples, seed, batch_size):
    """K calls of G per input, one input per call: dropout on and batch-norm statistics of
    that input, the official test.py default (the paper's "noise" at test time); the
    caller seeds Keras with `seed`. In eval mode the K samples are equal."""
    del batch_size
    gen = tf.function(lambda x: self(x), reduce_retracing=True)

    def sample(a, indices, labels):
      del indices, labels
      return np.stack([np.concatenate([np.asarray(gen(a[i:i + 1]), np.float32)
                                       for _ in range(samples)]) for i in range(a.shape[0])])

    how = ('Pix2Pix with eval_mode=True: deterministic G (dropout off, running batch-norm '
           'statistics)' if self.eval_mode else
           f'Pix2Pix: K calls of G per input, batch of 1, dropout on and batch statistics of '
           f'the input (official test.py default); Keras seed {seed}')
    return sample, samples, how
