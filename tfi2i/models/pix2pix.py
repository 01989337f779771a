"""pix2pix (Isola et al., CVPR 2017): conditional GAN with an L1 term, as a Keras model.

Official code: junyanz/pytorch-CycleGAN-and-pix2pix models/pix2pix_model.py.
"""
import keras
import tensorflow as tf

from tfi2i import losses
from tfi2i import nets
from tfi2i.models.base import average_loss
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
  directions = ('a_to_b',)
  data_kind = 'paired'

  def __init__(self, model=None, loss=None, seed=0, **kwargs):
    super().__init__(model, loss, seed, **kwargs)
    m, l = self.model_cfg, self.loss_cfg
    cin, cout = m.get('input_nc', 3), m.get('output_nc', 3)
    self.num_downs = int(m.get('num_downs', 8))
    self.generator = nets.unet_generator(
        cin, cout, num_downs=self.num_downs, ngf=m.get('ngf', 64), norm=m.get('norm', 'batch'),
        use_dropout=m.get('use_dropout', True), init_gain=m.get('init_gain', 0.02), name='generator')
    self.discriminator = nets.patch_discriminator(
        cin + cout, m.get('ndf', 64), m.get('n_layers_d', 3), m.get('norm', 'batch'),
        m.get('init_gain', 0.02), name='discriminator')
    self.eval_mode = bool(m.get('eval_mode', False))
    self.gan_mode = l.get('gan_mode', 'vanilla')
    self.lambda_l1 = float(l.get('lambda_l1', 100.0))
    self.size_multiple = 2 ** self.num_downs
    self.min_input_size = self.size_multiple  # a U-Net runs on any multiple of 2**num_downs

  def call(self, images, direction='a_to_b', training=False):
    if direction != 'a_to_b':
      raise ValueError(f"pix2pix translates one way: direction must be 'a_to_b', got {direction!r}")
    return self.generator(images, training=training or not self.eval_mode)

  def build_for_training(self, image_shape):
    smallest = 2 ** self.num_downs
    if any(d is not None and d < smallest for d in image_shape[:2]):
      raise ValueError(f'training images of {image_shape[0]}x{image_shape[1]} px are too small for a '
                       f'U-Net with {self.num_downs} down steps (needs at least {smallest} px)')
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
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_total, d_vars), d_vars))
      terms['gen_gan'] = losses.generator_loss(
          self.discriminator(pair(real_a, fake_b), training=True), self.gan_mode)
      terms['gen_l1'] = self.lambda_l1 * losses.l1_loss(fake_b, real_b)
      g_total = average_loss(terms['gen_gan'] + terms['gen_l1'])
    self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))
    logs = {name: average_loss(value) for name, value in terms.items()}
    logs['gen_total'], logs['disc_total'] = g_total, d_total
    return logs

  def image_panels(self, batch):
    fake_b = self(batch['a'])
    return {'a_to_b': [('real_a', batch['a']), ('fake_b', fake_b), ('real_b', batch['b'])]}

  def translation_endpoints(self):
    return {'a_to_b': lambda x: {'output': self(x)}}
