"""BicycleGAN and its family (Zhu et al., NeurIPS 2017) as one Keras model.

Official code: junyanz/BicycleGAN models/bicycle_gan_model.py. One `train_step` covers the
paper's variants, chosen by `model.variant`:

  bicycle        cVAE-GAN + cLR-GAN (the hybrid BicycleGAN objective)
  cvae_gan       B -> E -> z -> G(A, z) ~ B: L1 + KL + GAN on the encoded path
  clr_gan        z -> G(A, z) -> E ~ z: latent regression + GAN on the random path
  pix2pix_noise  G(A, z) with random z: L1 + GAN, no encoder

The batch is split as the official forward: the first half (A1, B1) is encoded, the
second half (A2, B2) only supplies real images for the random-z discriminator; both fakes
are generated from A1. Which network each term updates follows the official code:
G and E take GAN + GAN2 + L1 + KL; the latent regression |E(G(A1, z)) - z| updates G only.
"""
import keras
import tensorflow as tf

from tfi2i import losses
from tfi2i import nets
from tfi2i.models.base import average_loss
from tfi2i.models.base import Endpoint
from tfi2i.models.base import TranslationModel

VARIANTS = ('bicycle', 'cvae_gan', 'clr_gan', 'pix2pix_noise')


@keras.saving.register_keras_serializable('tfi2i')
class BicycleGAN(TranslationModel):
  """Generator G(A, z), encoder E(B) -> (mu, logvar), discriminators D (encoded z) and D2
  (random z), the terms of the chosen variant switched on by it and by their weights."""

  directions = ('a_to_b',)
  data_kind = 'paired'

  def __init__(self, model=None, loss=None, seed=0, **kwargs):
    super().__init__(model, loss, seed, **kwargs)
    m, l = self.model_cfg, self.loss_cfg
    self.variant = m.get('variant', 'bicycle')
    if self.variant not in VARIANTS:
      raise ValueError(f'unknown model.variant {self.variant!r}; expected one of {VARIANTS}')
    self.nz = int(m.get('nz', 8))
    self.gan_mode = l.get('gan_mode', 'lsgan')
    weight = lambda key, default: float(l.get(key, default))
    self.lambda_l1 = weight('lambda_l1', 10.0)
    self.lambda_gan = weight('lambda_gan', 1.0)
    self.lambda_gan2 = weight('lambda_gan2', 1.0)
    self.lambda_z = weight('lambda_z', 0.5)
    self.lambda_kl = weight('lambda_kl', 0.01)
    if self.variant == 'cvae_gan':
      self.lambda_gan2 = self.lambda_z = 0.0
    elif self.variant == 'clr_gan':
      self.lambda_gan = self.lambda_l1 = self.lambda_kl = 0.0
    elif self.variant == 'pix2pix_noise':
      self.lambda_gan2 = self.lambda_z = self.lambda_kl = 0.0
    self.use_encoder = self.variant != 'pix2pix_noise'
    self.use_d = self.lambda_gan > 0
    self.use_d2 = self.lambda_gan2 > 0
    cin, cout = m.get('input_nc', 3), m.get('output_nc', 3)
    common = dict(norm=m.get('norm', 'instance'), init_type=m.get('init_type', 'xavier'),
                  init_gain=m.get('init_gain', 0.02))
    self.generator = nets.bicycle_generator(
        cin, cout, self.nz, m.get('ngf', 64), m.get('net_g', 'unet_256'), m.get('where_add', 'all'),
        nl=m.get('nl', 'relu'), use_dropout=m.get('use_dropout', True),
        upsample=m.get('upsample', 'basic'), name='generator', **common)
    self.encoder = nets.bicycle_encoder(
        cout, self.nz, m.get('nef', 64), m.get('net_e', 'resnet_256'), name='encoder',
        **common) if self.use_encoder else None
    d_args = lambda key, name: dict(input_nc=cout, ndf=m.get('ndf', 64), net=m.get(key, 'basic_256_multi'),
                                    num_ds=m.get('num_ds', 2), name=name, **common)
    self.disc = nets.bicycle_discriminator(**d_args('net_d', 'disc')) if self.use_d else None
    self.disc2 = nets.bicycle_discriminator(**d_args('net_d2', 'disc2')) if self.use_d2 else None
    self.num_downs = {'unet_256': 8, 'unet_128': 7}[m.get('net_g', 'unet_256')]
    # the encoders end in an 8x8 average pool that must leave 1x1: 256 or 128 px inputs only
    self.encoder_size = int(m.get('net_e', 'resnet_256').rsplit('_', 1)[1])
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

  def build_for_training(self, image_shape):
    smallest = 2 ** self.num_downs
    if any(d is not None and d < smallest for d in image_shape[:2]):
      raise ValueError(f'training images of {image_shape[0]}x{image_shape[1]} px are too small for a '
                       f'U-Net with {self.num_downs} down steps (needs at least {smallest} px)')
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

  def train_step(self, batch):
    a1, b1, b2 = self._split(batch)
    half = tf.shape(a1)[0]
    z_random = self.rng.normal([half, self.nz])
    g_vars = self.generator.trainable_variables
    e_vars = self.encoder.trainable_variables if self.use_encoder else []
    terms, fakes = {}, {}
    with tf.GradientTape(persistent=True) as tape:
      if self.use_encoder and (self.lambda_gan > 0 or self.lambda_l1 > 0 or self.lambda_kl > 0):
        mu, logvar = self.encode(b1, training=True)
        z_encoded = mu + tf.exp(0.5 * logvar) * self.rng.normal(tf.shape(mu))
        fake_encoded = self.generator([a1, z_encoded], training=True)
        fakes['encoded'] = fake_encoded
        if self.lambda_kl > 0:
          # the official KL is summed over the batch (torch.sum), not averaged
          terms['kl'] = self.lambda_kl * losses.kl_divergence(mu, logvar)
        if self.lambda_l1 > 0:
          terms['gen_l1'] = self.lambda_l1 * losses.l1_loss(fake_encoded, b1)
        if self.lambda_gan > 0:
          terms['gen_gan'] = self.lambda_gan * losses.generator_loss(
              self.disc(fake_encoded, training=True), self.gan_mode)
      if self.variant == 'pix2pix_noise':
        fake_random = self.generator([a1, z_random], training=True)
        fakes['encoded'] = fake_random  # judged by D against B as pix2pix
        terms['gen_l1'] = self.lambda_l1 * losses.l1_loss(fake_random, b1)
        terms['gen_gan'] = self.lambda_gan * losses.generator_loss(
            self.disc(fake_random, training=True), self.gan_mode)
      elif self.lambda_gan2 > 0 or self.lambda_z > 0:
        fake_random = self.generator([a1, z_random], training=True)
        fakes['random'] = fake_random
        if self.lambda_gan2 > 0:
          terms['gen_gan2'] = self.lambda_gan2 * losses.generator_loss(
              self.disc2(fake_random, training=True), self.gan_mode)
        if self.lambda_z > 0:
          mu2, _ = self.encode(fake_random, training=True)
          latent = self.lambda_z * losses.latent_regression_loss(mu2, z_random)
      reduced = [tf.reduce_sum(v) if k == 'kl' else average_loss(v) for k, v in terms.items()]
      ge_total = tf.add_n(reduced or [tf.constant(0.0)])
      g_total = ge_total + (average_loss(latent) if self.lambda_z > 0 else 0.0)
    updates = [(self.g_optimizer, tape.gradient(g_total, g_vars), g_vars)]
    if self.use_encoder:
      # In the hybrid the latent regression term does not update E (official
      # set_requires_grad(netE, False)). A cLR-GAN alone has no other term for E, so there E
      # learns from it, as the paper's cLR-GAN (the official switches would leave E untrained).
      e_total = g_total if self.variant == 'clr_gan' else ge_total
      updates.append((self.e_optimizer, tape.gradient(e_total, e_vars), e_vars))
    del tape
    for optimizer, grads, variables in updates:
      pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
      if pairs:  # a network no active term reaches (e.g. weights set to 0) stays as it is
        optimizer.apply_gradients(pairs)
    if self.lambda_z > 0:
      terms['latent_l1'] = latent

    d_logs = {}
    if self.use_d:
      d_logs['disc'] = self._update_disc(self.disc, self.d_optimizer, b1, fakes['encoded'])
    if self.use_d2:
      d_logs['disc2'] = self._update_disc(self.disc2, self.d2_optimizer, b2, fakes['random'])
    logs = {k: (tf.reduce_sum(v) if k == 'kl' else average_loss(v)) for k, v in terms.items()}
    logs['gen_total'] = g_total
    logs.update(d_logs)
    return logs

  def _update_disc(self, disc, optimizer, real, fake):
    """Official backward_D: loss(D(fake), False) + loss(D(real), True), not halved."""
    with tf.GradientTape() as tape:
      loss = average_loss(losses.discriminator_loss(
          disc(real, training=True), disc(tf.stop_gradient(fake), training=True), self.gan_mode,
          halve=False))
    optimizer.apply_gradients(zip(tape.gradient(loss, disc.trainable_variables),
                                  disc.trainable_variables))
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

  def translation_endpoints(self):
    """a_to_b: G(A, 0). a_to_b_sample: G(A, z) for given codes z [K, nz]. a_to_b_random:
    K codes drawn from N(0, I) with a seed (also returned). encode: E(B) -> mu, logvar, the
    reference image resized to the encoder's input size."""
    code = tf.TensorSpec([None, self.nz], tf.float32, name='z')

    def random(images, seed, num_samples):
      z = tf.random.stateless_normal(
          tf.stack([num_samples, self.nz]), seed=tf.stack([tf.cast(seed, tf.int64), 0]))
      return {'output': self.sample(images, z), 'z': z}

    endpoints = {
        'a_to_b': Endpoint(lambda x: {'output': self(x)}),
        'a_to_b_sample': Endpoint(lambda x, z: {'output': self.sample(x, z)}, {'z': code}),
        'a_to_b_random': Endpoint(random, {'seed': tf.TensorSpec([], tf.int64, name='seed'),
                                           'num_samples': tf.TensorSpec([], tf.int32,
                                                                        name='num_samples')},
                                  shared_outputs=('z',)),
    }
    if self.encoder is not None:
      def encode(images):
        size = [self.encoder_size, self.encoder_size]
        mu, logvar = self.encode(tf.image.resize(images, size, antialias=True))
        return {'mu': mu, 'logvar': logvar}
      endpoints['encode'] = Endpoint(encode, pad=False)
    return endpoints
