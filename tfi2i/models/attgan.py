"""AttGAN (He et al., TIP 2019) and STGAN (Liu et al., CVPR 2019) as Keras models: an
encoder-decoder generator conditioned on attributes (AttGAN: the target attributes; STGAN:
the difference target - source, through selective transfer units), a WGAN-GP critic with
an attribute classifier, reconstruction, and the CAM-consistency loss of paper 001 as an
option (`cam.apply_to`).

Official code: LynnHo/AttGAN-Tensorflow at commit 4b00e6c (v1, the TIP code: train.py,
models.py) and csmliu/STGAN at commit 8a206ad (train.py, models.py).
"""
import keras
import tensorflow as tf

from tfi2i import attribute_rules
from tfi2i import losses
from tfi2i import nets
from tfi2i.models.attribute_editor import AttributeEditor
from tfi2i.models.base import average_loss


def attribute_loss(logits, labels):
  """Sigmoid cross-entropy averaged over the attributes, per example (train.py:
  tf.losses.sigmoid_cross_entropy, the mean over the batch and the attributes)."""
  bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32),
                                                logits=tf.cast(logits, tf.float32))
  return tf.reduce_mean(bce, axis=-1)


@keras.saving.register_keras_serializable('tfi2i')
class AttGAN(AttributeEditor):
  """Per step, as train.py: n_d critic updates, each on a batch of its own, then one
  generator update on the next batch (n_d + 1 batches per step). Target attributes are the
  batch's own in a random order (tf.random_shuffle); the generator reads attributes scaled to
  +-thres_int, and at test time the changed attributes at +-test_int.

  STGAN is AttGAN with another generator: it names the arguments it changes or adds, passes
  the rest through **kwargs, and builds its generator in `_make_generator`."""

  loss_args = ('lambda_gp', 'lambda_d_att', 'lambda_g_att', 'lambda_rec')
  needs_source = True  # edit() scales the changed attributes (test_int)
  # test.py: each attribute flipped, then data.check_attribute_conflict
  target_rule = attribute_rules.FLIP

  # Sources: LynnHo/AttGAN-Tensorflow v1 train.py (T), the official commands in its README
  # (R); csmliu/STGAN train.py (S), which keeps T's defaults except those STGAN names
  # again; paper 001 sec. 4.1 (P). The cam_* arguments (the recipe's `cam` section) are
  # AttributeEditor's.
  def __init__(self, *,
               attributes=(),  # P / T, S --atts: the 13 attributes (empty: those)
               image_size=128,  # T, S --img_size
               dim=64,  # T, S --enc_dim, --dec_dim
               n_layers=5,  # T, S --enc_layers, --dec_layers
               shortcut_layers=1,  # T / R --shortcut_layers 1
               inject_layers=1,  # R --inject_layers 1 (the released model; T's default 0)
               dis_dim=64,  # T, S --dis_dim
               dis_fc_dim=1024,  # T, S --dis_fc_dim
               dis_layers=5,  # T, S --dis_layers
               n_d=5,  # T, S --n_d
               thres_int=0.5,  # T, S --thres_int
               test_int=1.0,  # T, S --test_int
               lambda_gp=10.0,  # T, S: gradient_penalty weight 10 (mode 'wgan', line samples)
               lambda_d_att=1.0,  # T, S: d_loss = ... + xa_loss_att
               lambda_g_att=10.0,  # T, S: g_loss = ... + xb__loss_att * 10.0
               lambda_rec=100.0,  # T: g_loss = ... + xa__loss_rec * 100.0; S --rec_loss_weight
               seed=0, args=None, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    self._init_editor(attributes, image_size)
    if int(n_d) < 1:
      raise ValueError(f'n_d must be >= 1, got {n_d}')
    self.batches_per_step = int(n_d) + 1
    self.size_multiple = 2 ** int(n_layers)
    self.thres_int, self.test_int = float(thres_int), float(test_int)
    self.lambda_gp, self.lambda_d_att = float(lambda_gp), float(lambda_d_att)
    self.lambda_g_att, self.lambda_rec = float(lambda_g_att), float(lambda_rec)
    self.generator = self._make_generator()
    self.discriminator = nets.attgan_discriminator(self.n_attributes, image_size, dis_dim,
                                                   dis_layers, dis_fc_dim)
    self.discriminator.layer_index(self.cam_layer)  # a bad cam.layer fails here, not mid-run

  def _make_generator(self):
    """The generator __init__ builds, from self.args (STGAN's: with selective transfer
    units)."""
    a = self.args
    return nets.attgan_generator(self.n_attributes, a['dim'], a['n_layers'],
                                 a['shortcut_layers'], a['inject_layers'])

  @property
  def generators(self):
    return {'edit': self.generator}

  def _scaled(self, labels):
    """{0, 1} -> +-thres_int (train.py: (a * 2 - 1) * thres_int)."""
    return (tf.cast(labels, tf.float32) * 2.0 - 1.0) * self.thres_int

  def generator_input(self, source, target):
    """The target attributes scaled (train.py: b_ = (b * 2 - 1) * thres_int)."""
    del source
    return self._scaled(target)

  def emphasised(self, source, target):
    """bool [n, k]: the attributes test.py drives at test_int: the flipped one, not those
    check_attribute_conflict cleared (attribute_rules.emphasised, in the graph)."""
    excludes = tf.constant(attribute_rules.conflicts(self.attributes, attribute_rules.FLIP))
    return attribute_rules.emphasised(tf.cast(source, tf.float32), tf.cast(target, tf.float32),
                                      excludes)

  def test_input(self, source, target):
    """At test time (AttGAN v1 test.py): the changed attribute at +-test_int (an attribute
    cleared by the conflict rule stays at -thres_int), the rest +-thres_int."""
    target = tf.cast(target, tf.float32)
    scaled = self._scaled(target)
    if source is None:
      return scaled
    return tf.where(self.emphasised(source, target), (target * 2.0 - 1.0) * self.test_int,
                    scaled)

  def edit(self, images, source, target, training=False):
    return self.generator([images, self.test_input(source, target)], training=training)

  def train_step(self, batches):
    class_loss = lambda logits, labels: self.lambda_d_att * attribute_loss(logits, labels)
    critic_logs = [self.critic_step(batch, 'disc_att', class_loss)[0]
                   for batch in batches[:-1]]  # the n_d critic steps

    batch = batches[-1]  # the generator step, on a batch of its own
    gen = self.generator
    x, source = batch['image'], batch['attributes']
    target = self.sample_targets(source, self.g_optimizer.iterations, tag=1)
    with tf.GradientTape() as tape:
      fake = gen([x, self.generator_input(source, target)], training=True)
      reconstructed = gen([x, self.generator_input(source, source)], training=True)
      fake_scores, fake_logits = self.discriminator(fake, training=True)
      g_terms = {
          'gen_gan': losses.generator_loss(fake_scores, 'wgangp'),
          'gen_att': self.lambda_g_att * attribute_loss(fake_logits, target),
          'gen_rec': self.lambda_rec * losses.l1_loss(x, reconstructed),
      }
      g_stats = {}
      if self.cam_on_generator:
        # eq. 5's x_rec: the edit translated back (the reconstruction above is G(x, a))
        back = gen([fake, self.generator_input(target, source)], training=True)
        g_terms['gen_cam'], g_stats = self.generator_cam_term(tape, x, fake, back, source,
                                                              target)
      g_total = average_loss(tf.add_n(list(g_terms.values())))
    self.apply_gradients(self.g_optimizer, tape, g_total, gen.trainable_variables)
    return self.step_logs(critic_logs, g_terms, g_total, g_stats)

  def endpoints(self):
    return self.editor_endpoints()


@keras.saving.register_keras_serializable('tfi2i')
class STGAN(AttGAN):
  """AttGAN's training with STGAN's generator: selective transfer units on the skips and the
  difference attribute vector (train.py --label diff: b_ - a_, i.e. target - source at
  thres_int 0.5; zero for the reconstruction; +-test_int for a changed attribute at test)."""

  # Sources: csmliu/STGAN train.py (S). The other arguments are AttGAN's, at the defaults
  # S keeps (cited there).
  def __init__(self, *,
               shortcut_layers=4,  # S --shortcut_layers
               inject_layers=4,  # S --inject_layers
               stu_dim=64,  # S --stu_dim
               stu_layers=4,  # S --stu_layers
               stu_kernel_size=3,  # S --stu_kernel_size
               seed=0, **kwargs):
    super().__init__(shortcut_layers=shortcut_layers, inject_layers=inject_layers, seed=seed,
                     args=locals(), **kwargs)

  def _make_generator(self):
    a = self.args
    return nets.stgan_generator(self.n_attributes, a['dim'], a['n_layers'],
                                a['shortcut_layers'], a['inject_layers'], stu_dim=a['stu_dim'],
                                stu_layers=a['stu_layers'], stu_kernel_size=a['stu_kernel_size'])

  def generator_input(self, source, target):
    return self._scaled(target) - self._scaled(source)

  def test_input(self, source, target):
    """csmliu/STGAN test.py (--label diff): b_ - a_ with b_ = (b * 2 - 1) * thres_int and the
    changed attribute's entry of b_ times test_int (not one cleared by the conflict rule)."""
    if source is None:
      raise ValueError('STGAN edits need the source attributes (the difference vector)')
    scaled = self._scaled(target)
    target_input = tf.where(self.emphasised(source, target), scaled * self.test_int, scaled)
    return target_input - self._scaled(source)
