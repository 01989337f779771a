"""BicycleGAN and its family (Zhu et al., NeurIPS 2017) as one Keras model.

Official code: junyanz/BicycleGAN models/bicycle_gan_model.py. The paper's two cycles are
two methods of the model, and each variant (`variant`) is the set of cycles it trains:

  bicycle        encoded_path + random_path (the hybrid BicycleGAN objective)
  cvae_gan       encoded_path: B -> E -> z -> G(A, z) ~ B (L1 + KL + GAN, judged by D)
  clr_gan        random_path: z -> G(A, z) -> E ~ z (latent regression + GAN2, judged by D2)
  pix2pix_noise  encoded_path with z drawn from the prior instead of E (L1 + GAN, no E)

The batch is split as the official forward: the first half (A1, B1) is encoded, the
second half (A2, B2) only supplies real images for the random-z discriminator; both fakes
are generated from A1. Which network each term updates follows the official code:
G and E take GAN + GAN2 + L1 + KL; the latent regression |E(G(A1, z)) - z| updates G only.
"""
import keras
import numpy as np
import tensorflow as tf

from tfi2i import endpoints as ep
from tfi2i import losses
from tfi2i import nets
from tfi2i.models.base import average_loss
from tfi2i.models.base import check_choice
from tfi2i.models.base import require_training_size
from tfi2i.models.base import TranslationModel

VARIANTS = ('bicycle', 'cvae_gan', 'clr_gan', 'pix2pix_noise')


def latent_codes(seed: int, index: int, samples: int, nz: int) -> np.ndarray:
  """The K latent codes evaluate draws for input `index`: float32 [samples, nz] ~ N(0, I)."""
  return np.random.default_rng([int(seed), int(index)]).standard_normal(
      (samples, nz)).astype(np.float32)


@keras.saving.register_keras_serializable('tfi2i')
class BicycleGAN(TranslationModel):
  """Generator G(A, z), encoder E(B) -> (mu, logvar), discriminators D (encoded z) and D2
  (random z); the variant chooses the cycles, and a weight of 0 switches a term off."""

  loss_args = ('gan_mode', 'lambda_l1', 'lambda_gan', 'lambda_gan2', 'lambda_z', 'lambda_kl')
  directions = ('a_to_b',)
  data_stream = 'paired'

  # Sources of the defaults: junyanz/BicycleGAN options/base_options.py (B),
  # options/train_options.py (T), scripts/train_*.sh (S).
  def __init__(self, *,
               variant='bicycle',  # bicycle | cvae_gan | clr_gan | pix2pix_noise
               input_nc=3,  # B --input_nc (S: 1 for edges2shoes)
               output_nc=3,  # B --output_nc
               nz=8,  # B --nz
               net_g='unet_256',  # B --netG ('unet_128' for 128 px)
               where_add='all',  # B --where_add: z joins every U-Net level ('input': first only)
               upsample='basic',  # B --upsample: transposed convolutions
               ngf=64,  # B --ngf
               net_e='resnet_256',  # B --netE (resnet_128, conv_256, conv_128)
               nef=64,  # B --nef
               net_d='basic_256_multi',  # B --netD: multi-scale PatchGAN for the encoded-z path
               net_d2='basic_256_multi',  # B --netD2: for the random-z path
               num_ds=2,  # B --num_Ds: scales per discriminator
               ndf=64,  # B --ndf
               norm='instance',  # B --norm
               nl='relu',  # B --nl (generator up path)
               use_dropout=True,  # S: every official training script passes --use_dropout
               init_type='xavier',  # B --init_type
               init_gain=0.02,  # B --init_gain
               gan_mode='lsgan',  # B --gan_mode
               lambda_l1=10.0,  # T --lambda_L1: |B - G(A, E(B))|
               lambda_gan=1.0,  # T --lambda_GAN: D(G(A, E(B)))
               lambda_gan2=1.0,  # T --lambda_GAN2: D2(G(A, z))
               lambda_z=0.5,  # T --lambda_z: |E(G(A, z)) - z|
               lambda_kl=0.01,  # T --lambda_kl
               seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    check_choice('model.variant', variant, VARIANTS)
    check_choice('loss.gan_mode', gan_mode, losses.GAN_MODES)
    self.variant = variant
    self.nz = int(nz)
    self.gan_mode = gan_mode
    self.lambda_l1, self.lambda_gan, self.lambda_gan2 = map(float, (lambda_l1, lambda_gan, lambda_gan2))
    self.lambda_z, self.lambda_kl = float(lambda_z), float(lambda_kl)
    # What each variant leaves out of the hybrid objective.
    if variant == 'cvae_gan':
      self.lambda_gan2 = self.lambda_z = 0.0
    elif variant == 'clr_gan':
      self.lambda_gan = self.lambda_l1 = self.lambda_kl = 0.0
    elif variant == 'pix2pix_noise':
      self.lambda_gan2 = self.lambda_z = self.lambda_kl = 0.0
    self.use_encoder = variant != 'pix2pix_noise'
    self.use_d = self.lambda_gan > 0
    self.use_d2 = self.lambda_gan2 > 0
    # The cVAE-GAN cycle runs when one of its terms is on (pix2pix_noise: with prior codes).
    self.runs_encoded_path = variant == 'pix2pix_noise' or (
        self.use_encoder and (self.lambda_gan > 0 or self.lambda_l1 > 0 or self.lambda_kl > 0))
    # The cLR-GAN cycle.
    self.runs_random_path = variant != 'pix2pix_noise' and (
        self.lambda_gan2 > 0 or self.lambda_z > 0)
    common = dict(norm=norm, init_type=init_type, init_gain=init_gain)
    self.generator = nets.bicycle_generator(
        input_nc, output_nc, self.nz, ngf, net_g, where_add, nl=nl, use_dropout=use_dropout,
        upsample=upsample, name='generator', **common)
    self.encoder = nets.bicycle_encoder(
        output_nc, self.nz, nef, net_e, name='encoder', **common) if self.use_encoder else None
    d_args = lambda net, name: dict(input_nc=output_nc, ndf=ndf, net=net, num_ds=num_ds,
                                    name=name, **common)
    self.disc = nets.bicycle_discriminator(**d_args(net_d, 'disc')) if self.use_d else None
    self.disc2 = nets.bicycle_discriminator(**d_args(net_d2, 'disc2')) if self.use_d2 else None
    self.num_downs = {'unet_256': 8, 'unet_128': 7}[net_g]
    # the encoders end in an 8x8 average pool that must leave 1x1: 256 or 128 px inputs only
    self.encoder_size = int(net_e.rsplit('_', 1)[1])
    self.size_multiple = 2 ** self.num_downs
    self.min_input_size = self.size_multiple  # a U-Net runs on any multiple of 2**num_downs
    self.optimizer_names = tuple(
        name for name, used in (('g_optimizer', True), ('e_optimizer', self.use_encoder),
                                ('d_optimizer', self.use_d), ('d2_optimizer', self.use_d2)) if used)

  # -- inference --------------------------------------------------------------------------

  def call(self, images, z=None, direction='a_to_b', training=False):
    """G(A, z); z defaults to zeros (the prior's mode) for one deterministic output."""
    if direction != 'a_to_b':
      raise ValueError(f"BicycleGAN translates one way: direction must be 'a_to_b', got {direction!r}")
    if z is None:
      z = tf.zeros([tf.shape(images)[0], self.nz], tf.float32)
    return self.generator([images, z], training=training)

  def encode(self, images, training=False):
    """E(B) -> (mu, logvar)."""
    if self.encoder is None:
      raise ValueError(f'the {self.variant} variant has no encoder')
    mu, logvar = self.encoder(images, training=training)
    return tf.cast(mu, tf.float32), tf.cast(logvar, tf.float32)

  # -- training ---------------------------------------------------------------------------

  def build_for_training(self, batch_spec):
    require_training_size(batch_spec['a'].shape[1:3], 2 ** self.num_downs,
                          f'a U-Net with {self.num_downs} down steps')
    self.rng = tf.random.Generator.from_seed(self.seed * 7 + 3)
    for name, net in self._trained_networks().items():
      getattr(self, name).build(net.trainable_variables)

  def _trained_networks(self):
    return {name: net for name, net in (
        ('g_optimizer', self.generator), ('e_optimizer', self.encoder),
        ('d_optimizer', self.disc), ('d2_optimizer', self.disc2)) if name in self.optimizer_names}

  def _split(self, batch):
    real_a, real_b = batch['a'], batch['b']
    if self.variant == 'pix2pix_noise':
      return real_a, real_b, real_b
    n = real_a.shape[0]
    if n is None:  # dynamic per-replica batch (multi-worker): checked in the graph
      n = tf.shape(real_a)[0]
      tf.debugging.assert_equal(n % 2, 0, message=f'{self.variant} needs an even batch per replica')
    elif n % 2:
      raise ValueError(f'{self.variant} needs an even batch per replica (it encodes one half '
                       f'and samples z for the other, as the official code), got {n}')
    half = n // 2
    return real_a[:half], real_b[:half], real_b[half:]

  def encoded_path(self, a, b, z_prior):
    """The cVAE-GAN cycle B -> E -> z -> G(A, z) ~ B: ({term: per-example loss}, fake).

    z is E(B) reparameterised (official encode: mu + exp(logvar / 2) * eps), or `z_prior`
    when the model has no encoder (pix2pix_noise). Terms, each when its weight is on:
    kl = lambda_kl KL(E(B) || N(0, I)) (summed over the batch, as the official torch.sum),
    gen_l1 = lambda_L1 |G(A, z) - B|, gen_gan = lambda_GAN D(G(A, z)) vs real.
    """
    terms = {}
    if self.encoder is not None:
      mu, logvar = self.encode(b, training=True)
      z = mu + tf.exp(0.5 * logvar) * self.rng.normal(tf.shape(mu))
      if self.lambda_kl > 0:
        terms['kl'] = self.lambda_kl * losses.kl_divergence(mu, logvar)
    else:
      z = z_prior
    fake = self.generator([a, z], training=True)
    if self.lambda_l1 > 0:
      terms['gen_l1'] = self.lambda_l1 * losses.l1_loss(fake, b)
    if self.lambda_gan > 0:
      terms['gen_gan'] = self.lambda_gan * losses.generator_loss(
          self.disc(fake, training=True), self.gan_mode)
    return terms, fake

  def random_path(self, a, z):
    """The cLR-GAN cycle z -> G(A, z) -> E ~ z: ({term: per-example loss}, fake, latent).

    gen_gan2 = lambda_GAN2 D2(G(A, z)) vs real; latent = lambda_z |mu(E(G(A, z))) - z|
    (None when off), kept apart because it does not update E in the hybrid.
    """
    terms, latent = {}, None
    fake = self.generator([a, z], training=True)
    if self.lambda_gan2 > 0:
      terms['gen_gan2'] = self.lambda_gan2 * losses.generator_loss(
          self.disc2(fake, training=True), self.gan_mode)
    if self.lambda_z > 0:
      mu2, _ = self.encode(fake, training=True)
      latent = self.lambda_z * losses.latent_regression_loss(mu2, z)
    return terms, fake, latent

  @staticmethod
  def _reduce(name, per_example):
    # the official KL is summed over the batch (torch.sum), not averaged
    return tf.reduce_sum(per_example) if name == 'kl' else average_loss(per_example)

  def train_step(self, batch):
    a1, b1, b2 = self._split(batch)
    z_random = self.rng.normal([tf.shape(a1)[0], self.nz])
    terms, fakes, latent = {}, {}, None
    with tf.GradientTape(persistent=True) as tape:
      if self.runs_encoded_path:
        encoded_terms, fakes['encoded'] = self.encoded_path(a1, b1, z_random)
        terms.update(encoded_terms)
      if self.runs_random_path:
        random_terms, fakes['random'], latent = self.random_path(a1, z_random)
        terms.update(random_terms)
      ge_total = tf.add_n([self._reduce(k, v) for k, v in terms.items()] or [tf.constant(0.0)])
      g_total = ge_total + (average_loss(latent) if latent is not None else 0.0)
    self.apply_gradients(self.g_optimizer, tape, g_total, self.generator.trainable_variables)
    if self.use_encoder:
      # In the hybrid the latent regression term does not update E (official
      # set_requires_grad(netE, False)). A cLR-GAN alone has no other term for E, so there E
      # learns from it, as the paper's cLR-GAN (the official switches would leave E untrained).
      e_total = g_total if self.variant == 'clr_gan' else ge_total
      self.apply_gradients(self.e_optimizer, tape, e_total, self.encoder.trainable_variables)
    del tape
    if latent is not None:
      terms['latent_l1'] = latent

    logs = {k: self._reduce(k, v) for k, v in terms.items()}
    logs['gen_total'] = g_total
    if self.use_d:
      logs['disc'] = self._update_disc(self.disc, self.d_optimizer, b1, fakes['encoded'])
    if self.use_d2:
      logs['disc2'] = self._update_disc(self.disc2, self.d2_optimizer, b2, fakes['random'])
    return logs

  def _update_disc(self, disc, optimizer, real, fake):
    """Official backward_D: loss(D(fake), False) + loss(D(real), True), not halved."""
    with tf.GradientTape() as tape:
      loss = average_loss(losses.discriminator_loss(
          disc(real, training=True), disc(tf.stop_gradient(fake), training=True), self.gan_mode,
          halve=False))
    self.apply_gradients(optimizer, tape, loss, disc.trainable_variables)
    return loss

  # -- views ------------------------------------------------------------------------------

  def image_panels(self, batch, samples: int = 3):
    a, b = batch['a'], batch['b']
    panels = [('real_a', a), ('real_b', b)]
    if self.use_encoder:
      mu, _ = self.encode(b)
      panels.append(('encoded', self(a, z=mu)))
    n = tf.shape(a)[0]
    for j in range(samples):
      z = tf.random.stateless_normal([n, self.nz], seed=[self.seed, j])
      panels.append((f'random_{j}', self(a, z=z)))
    return {'a_to_b': panels}

  def sample(self, images, z):
    """Every image with every code: images [B, H, W, C], z [K, nz] -> [B, K, H, W, C]."""
    n, k = tf.shape(images)[0], tf.shape(z)[0]
    repeated = tf.repeat(images, k, axis=0)
    codes = tf.tile(tf.cast(z, tf.float32), [n, 1])
    out = self(repeated, z=codes)
    return tf.reshape(out, tf.concat([[n, k], tf.shape(out)[1:]], 0))

  def sampler(self, samples, seed, batch_size):
    """G(A, z) with z ~ N(0, I): the K codes of input i from NumPy's generator seeded with
    (seed, i) (latent_codes), so they do not depend on batching; G in inference mode
    (dropout off), as the official test.py (model.eval())."""
    gen = tf.function(lambda x, z: self(x, z=z), reduce_retracing=True)

    def sample(a, indices, labels):
      del labels
      n = a.shape[0]
      x = np.repeat(a, samples, axis=0)
      z = np.concatenate([latent_codes(seed, i, samples, self.nz) for i in indices])
      out = [np.asarray(gen(x[s:s + batch_size], z[s:s + batch_size]), np.float32)
             for s in range(0, n * samples, batch_size)]
      return np.concatenate(out).reshape((n, samples) + out[0].shape[1:])

    how = (f'BicycleGAN ({self.variant}): G(A, z), z ~ N(0, I) of {self.nz} dims from '
           f'NumPy default_rng([seed={seed}, input index]); dropout off')
    return sample, samples, how

  def report_fields(self):
    return {'variant': self.variant}

  def endpoints(self):
    """a_to_b: G(A, 0). a_to_b_sample: G(A, z) for given codes z [K, nz]. a_to_b_random:
    K codes drawn from N(0, I) with a seed (also returned). encode: E(B) -> mu, logvar, the
    reference image resized to the encoder's input size."""
    code = ep.Input('z', shape=(None, self.nz), role=ep.CODE, doc='K latent codes [K, nz]')
    samples = ep.Output('output', samples=True, doc='G(A, z) for every code: [batch, K, H, W, C]')

    def random(images, seed, num_samples):
      z = tf.random.stateless_normal(
          tf.stack([num_samples, self.nz]), seed=tf.stack([tf.cast(seed, tf.int64), 0]))
      return {'output': self.sample(images, z), 'z': z}

    endpoints = {
        'a_to_b': ep.Endpoint(lambda x: {'output': self(x)}, doc='G(A, 0): the prior\'s mode'),
        'a_to_b_sample': ep.Endpoint(lambda x, z: {'output': self.sample(x, z)}, inputs=(code,),
                                     outputs=(samples,), variant_of='a_to_b'),
        'a_to_b_random': ep.Endpoint(
            random, inputs=(ep.Input('seed', 'int64', role=ep.SEED),
                            ep.Input('num_samples', 'int32', role=ep.NUM_SAMPLES)),
            outputs=(samples, ep.Output('z', ep.VECTOR, shared=True, role=ep.CODE,
                                        doc='the drawn codes [K, nz]')),
            variant_of='a_to_b'),
    }
    if self.encoder is not None:
      def encode(images):
        size = [self.encoder_size, self.encoder_size]
        mu, logvar = self.encode(tf.image.resize(images, size, antialias=True))
        return {'mu': mu, 'logvar': logvar}
      endpoints['encode'] = ep.Endpoint(
          encode, outputs=(ep.Output('mu', ep.VECTOR, role=ep.CODE), ep.Output('logvar', ep.VECTOR)),
          pad=False, doc='E(B) of a reference image (resized to the encoder\'s input size)')
    return endpoints
