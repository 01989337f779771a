"""StarGAN (Choi et al., CVPR 2018) as a Keras model: one generator G(image, target labels)
for every attribute, a PatchGAN critic with an attribute classifier, WGAN-GP, and the
CAM-consistency loss of paper 001 as an option (`cam.apply_to`).

Official code: yunjey/stargan (commit 94dd002): solver.py train() (the step), model.py (the
nets), main.py (the defaults).
"""
import keras
import tensorflow as tf

from tfi2i import losses
from tfi2i import nets
from tfi2i.models.attribute_editor import AttributeEditor
from tfi2i.models.base import average_loss


def classification_loss(logits, labels):
  """StarGAN's CelebA classification loss per example: binary cross-entropy with logits
  summed over the attributes (solver.py classification_loss: the sum over the batch and the
  attributes divided by the batch size)."""
  bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32),
                                                logits=tf.cast(logits, tf.float32))
  return tf.reduce_sum(bce, axis=-1)


@keras.saving.register_keras_serializable('tfi2i')
class StarGAN(AttributeEditor):
  """Per step, as solver.py train() over n_critic iterations: each of the n_critic batches
  updates the critic once (target labels: the batch's labels in a random order), and the
  last one then updates the generator with the same targets."""

  loss_args = ('lambda_cls', 'lambda_rec', 'lambda_gp')
  size_multiple = 4  # two stride-2 convs, undone by two transposed convs

  # Sources of the defaults: yunjey/stargan main.py (M); paper 001 sec. 4.1 (P). The cam_*
  # arguments (the recipe's `cam` section) are AttributeEditor's.
  def __init__(self, *,
               attributes=(),  # P: the 13 attributes (empty: those); M --selected_attrs
               image_size=128,  # M --image_size
               g_conv_dim=64,  # M --g_conv_dim
               d_conv_dim=64,  # M --d_conv_dim
               g_repeat_num=6,  # M --g_repeat_num
               d_repeat_num=6,  # M --d_repeat_num
               n_critic=5,  # M --n_critic
               lambda_cls=1.0,  # M --lambda_cls
               lambda_rec=10.0,  # M --lambda_rec
               lambda_gp=10.0,  # M --lambda_gp
               seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    self._init_editor(attributes, image_size)
    if int(n_critic) < 1:
      raise ValueError(f'n_critic must be >= 1, got {n_critic}')
    self.batches_per_step = int(n_critic)
    self.lambda_cls, self.lambda_rec = float(lambda_cls), float(lambda_rec)
    self.lambda_gp = float(lambda_gp)
    k = self.n_attributes
    self.generator = nets.stargan_generator(k, g_conv_dim, g_repeat_num)
    self.discriminator = nets.stargan_discriminator(k, image_size, d_conv_dim, d_repeat_num)
    self.discriminator.layer_index(self.cam_layer)  # a bad cam.layer fails here, not mid-run

  @property
  def generators(self):
    return {'edit': self.generator}

  def edit(self, images, source, target, training=False):
    del source  # StarGAN's generator takes the target labels only
    return self.generator([images, tf.cast(target, tf.float32)], training=training)

  def train_step(self, batches):
    batches = batches if isinstance(batches, tuple) else (batches,)
    class_loss = lambda logits, labels: self.lambda_cls * classification_loss(logits, labels)
    critic_logs = []
    for batch in batches:
      logs, target = self.critic_step(batch, 'disc_cls', class_loss)
      critic_logs.append(logs)

    # the generator step: the last batch, its targets, the updated critic
    gen = self.generator
    x, source = batch['image'], batch['attributes']
    with tf.GradientTape() as tape:
      fake = gen([x, target], training=True)
      fake_scores, fake_logits = self.discriminator(fake, training=True)
      reconstructed = gen([fake, source], training=True)
      g_terms = {
          'gen_gan': losses.generator_loss(fake_scores, 'wgangp'),  # -mean(out_src)
          'gen_cls': class_loss(fake_logits, target),
          'gen_rec': self.lambda_rec * losses.l1_loss(x, reconstructed),
      }
      g_stats = {}
      if self.cam_on_generator:
        g_terms['gen_cam'], g_stats = self.generator_cam_term(tape, x, fake, reconstructed,
                                                              source, target)
      g_total = average_loss(tf.add_n(list(g_terms.values())))
    self.apply_gradients(self.g_optimizer, tape, g_total, gen.trainable_variables)
    return self.step_logs(critic_logs, g_terms, g_total, g_stats)

  def endpoints(self):
    return self.editor_endpoints()
