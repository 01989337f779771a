"""What the three attribute editors (StarGAN, AttGAN, STGAN) share: images with binary
attribute vectors as data, a generator G(image, attributes), a discriminator with an
adversarial and an attribute-classifier head (nets.attribute.AttributeDiscriminator),
several critic steps per generator step, target attributes drawn as the official codes do,
and the CAM-consistency loss of paper 001 (tfi2i.gradcam) switched by `cam.apply_to`.

The recipe's `cam` section is this class's constructor: its cam_* arguments and their
defaults are written here once; a subclass's constructor takes its own arguments, passes the
rest (the cam_* among them) through **kwargs, and calls `_init_editor(attributes,
image_size)`. It sets `self.generator` and `self.discriminator`, implements `edit(images,
source, target)` (the edited image; what the generator's attribute input is differs per
paper) and `train_step`, and calls the helpers here for the shared parts.
"""
import numpy as np
import tensorflow as tf

from tfi2i import attribute_rules
from tfi2i import endpoints as ep
from tfi2i import gradcam
from tfi2i import losses
from tfi2i.attribute_rules import change_rule
from tfi2i.attribute_rules import PAPER_ATTRIBUTES
from tfi2i.models.base import average_loss
from tfi2i.models.base import require_training_size
from tfi2i.models.base import TranslationModel


class AttributeEditor(TranslationModel):
  """The shared part of the attribute editors (see the module docstring)."""

  data_stream = 'attributes'
  arg_sections = {'cam': 'cam_'}
  optimizer_names = ('g_optimizer', 'd_optimizer')
  needs_source = False  # whether edit() reads the source attributes (STGAN's difference)
  # the official test-time targets (attribute_rules): StarGAN's solver.py create_labels
  target_rule = attribute_rules.CREATE_LABELS

  # The CAM-consistency loss of paper 001 (tfi2i/gradcam.py), the recipe's `cam` section
  # (cam.apply_to is cam_apply_to), the same for the three editors.
  def __init__(self, *,
               cam_apply_to='none',  # the editor's own objective; 'both' is paper 001's
               cam_weight=5.0,  # paper 001 sec. 3.2: lambda_CAM = 5 for G (eq. 5) and D (eq. 6)
               cam_layer=-1,  # the discriminator block whose output Grad-CAM reads (-1: the last)
               cam_normalize='standardize',  # eq. 3's Normalize (tfi2i/gradcam.py says why)
               cam_clip_sum=False,  # M_CAM = M_s->t + M_t->s in [0, 2] (gradcam.py: why)
               seed=0, args=None, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    gradcam.check_settings(cam_apply_to, cam_normalize)
    self.cam_apply_to = cam_apply_to
    self.cam_weight = float(cam_weight)
    self.cam_layer = int(cam_layer)
    self.cam_normalize = cam_normalize
    self.cam_clip_sum = bool(cam_clip_sum)

  def _init_editor(self, attributes, image_size):
    attributes = tuple(str(a) for a in (attributes or PAPER_ATTRIBUTES))
    if len(set(attributes)) != len(attributes):
      raise ValueError(f'model.attributes names an attribute twice: {attributes}')
    self.attributes = attributes
    self.n_attributes = len(attributes)
    self.image_size = int(image_size)

  @property
  def cam_on_generator(self):
    return self.cam_apply_to in ('generator', 'both')

  @property
  def cam_on_discriminator(self):
    return self.cam_apply_to in ('discriminator', 'both')

  # -- data ---------------------------------------------------------------------------------

  def example_batch(self, batch_size, height, width):
    return {'image': tf.zeros([batch_size, height, width, self.input_channels]),
            'attributes': tf.zeros([batch_size, self.n_attributes])}

  def build_for_training(self, batch_spec):
    size = tuple(batch_spec['image'].shape[1:3])
    if size != (self.image_size, self.image_size):
      raise ValueError(
          f'{type(self).__name__} trains on {self.image_size} px images (model.image_size; '
          f'its discriminator reads a fixed-size map), got {size[0]}x{size[1]}: set '
          f'data.crop_size={self.image_size}')
    require_training_size(size, 2, type(self).__name__)
    k = batch_spec['attributes'].shape[-1]
    if k != self.n_attributes:
      raise ValueError(f'the data has {k} attributes per image, the model edits '
                       f'{self.n_attributes} ({", ".join(self.attributes)}): data.attributes '
                       'and model.attributes must name the same list')
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)

  def sample_targets(self, source, counter, tag=0):
    """Target attributes: the batch's own attribute vectors in a random order (StarGAN's
    randperm, AttGAN's / STGAN's tf.random_shuffle), drawn from a stateless seed."""
    n = tf.shape(source)[0]
    order = tf.random.experimental.stateless_shuffle(
        tf.range(n), seed=self.stateless_seed(7, tag, counter))
    return tf.gather(source, order)

  def flipped(self, source, index):
    """The test-time target with attribute `index` changed by the editor's official rule
    (target_rule; attribute_rules.change_rule), the rest kept."""
    scale, offset, clear = change_rule(self.attributes, index, rule=self.target_rule)
    target = tf.cast(source, tf.float32) * scale + offset
    return tf.where(target[:, index:index + 1] > 0.5, target * clear, target)

  # -- Grad-CAM -----------------------------------------------------------------------------

  def cam_mask(self, original, generated, source, target, training=True, clip=None):
    """M_CAM (paper 001 sec. 3.1) from the discriminator's classifier, [batch, H, W, 1]:
    the sum of the two masks, in [0, 2] unless cam.clip_sum (or `clip`, for pictures and
    exports: where the loss ignores the difference, 1 - M <= 0) clips it to [0, 1]."""
    disc, layer = self.discriminator, self.cam_layer
    return gradcam.cam_mask(
        lambda x: disc.features(x, layer, training=training),
        lambda f: disc.heads(f, layer, training=training)[1],
        original, generated, source, target, self.cam_normalize,
        self.cam_clip_sum if clip is None else clip)

  def discriminator_cam_term(self, original, generated, source, target):
    """(eq. 6 per example, the mask's scalars `cam_stats` as 'cam/d_*'); the caller adds the
    term when cam.apply_to names the discriminator."""
    mask = self.cam_mask(original, generated, source, target)
    return (gradcam.discriminator_cam_loss(original, generated, mask, self.cam_weight),
            self.cam_stats(mask, original, generated, 'd'))

  def generator_cam_term(self, tape, original, generated, reconstructed, source, target):
    """(eq. 5's added term per example, the mask's scalars `cam_stats` as 'cam/g_*'); the
    caller adds the term when cam.apply_to names the generator. The mask is computed off
    `tape` (held constant)."""
    with tape.stop_recording():
      mask = tf.stop_gradient(self.cam_mask(original, tf.stop_gradient(generated), source,
                                            target))
      stats = self.cam_stats(mask, original, tf.stop_gradient(generated), 'g')
    return (gradcam.generator_cam_loss(original, generated, reconstructed, mask,
                                       self.cam_weight), stats)

  @staticmethod
  def cam_stats(mask, original, generated, who):
    """What M_CAM covers, as TensorBoard scalars (issue 24: is the mask where the edit is?):
      cam/<who>_coverage     the mask's mean (1: everywhere, the collapsed mask);
      cam/<who>_change_lift  the generator's change |G(x) - x| (channel mean, over its image
                             maximum) averaged under the mask, over its mean over the image:
                             1 for a uniform mask, above 1 when the mask sits where the
                             generator changed the image, below 1 when it avoids it.
    Means over the global batch (average_loss), as the losses are."""
    m = tf.cast(mask, tf.float32)
    change = tf.reduce_mean(tf.abs(tf.cast(generated, tf.float32) -
                                   tf.cast(original, tf.float32)), -1, keepdims=True)
    change = change / (tf.reduce_max(change, [1, 2, 3], keepdims=True) + 1e-8)
    under = tf.reduce_sum(m * change, [1, 2, 3]) / (tf.reduce_sum(m, [1, 2, 3]) + 1e-8)
    lift = under / (tf.reduce_mean(change, [1, 2, 3]) + 1e-8)
    return {f'cam/{who}_coverage': average_loss(tf.reduce_mean(m, [1, 2, 3])),
            f'cam/{who}_change_lift': average_loss(lift)}

  # -- the training step's shared parts -----------------------------------------------------

  def generator_input(self, source, target):
    """The attributes the generator reads to give `target` while training (StarGAN: the
    target labels; AttGAN and STGAN scale them)."""
    del source
    return tf.cast(target, tf.float32)

  def critic_step(self, batch, class_key, class_loss):
    """One critic update on `batch`, as all three official codes: -mean D(x) + mean
    D(G(x, t)) on the detached fake, the gradient penalty (lambda_gp), `class_loss(logits,
    source)` (already weighted) of the classifier on the real images, logged as
    `class_key`, and eq. 6 when cam.apply_to names the discriminator. Targets t: the
    batch's labels permuted. Returns (logs, target)."""
    disc = self.discriminator
    x, source = batch['image'], batch['attributes']
    target = self.sample_targets(source, self.d_optimizer.iterations)
    fake = tf.stop_gradient(
        self.generator([x, self.generator_input(source, target)], training=True))
    with tf.GradientTape() as tape:
      real_scores, real_logits = disc(x, training=True)
      fake_scores, _ = disc(fake, training=True)
      terms = {
          'disc_real': losses.gan_loss(real_scores, True, 'wgangp'),  # -mean D(x)
          'disc_fake': losses.gan_loss(fake_scores, False, 'wgangp'),  # mean D(fake)
          class_key: class_loss(real_logits, source),
          'disc_gp': losses.gradient_penalty(
              disc, x, fake, self.lambda_gp,
              seed=self.stateless_seed(1, self.d_optimizer.iterations)),
      }
      stats = {}
      if self.cam_on_discriminator:
        terms['disc_cam'], stats = self.discriminator_cam_term(x, fake, source, target)
      d_total = average_loss(tf.add_n(list(terms.values())))
    self.apply_gradients(self.d_optimizer, tape, d_total, disc.trainable_variables)
    return ({**{k: average_loss(v) for k, v in terms.items()}, 'disc_total': d_total,
             **stats}, target)

  @staticmethod
  def step_logs(critic_logs, g_terms, g_total, g_stats=None):
    """The step's logs: the critic's averaged over its updates, then the generator's (and
    its M_CAM scalars, already averaged)."""
    logs = {k: tf.add_n([d[k] for d in critic_logs]) / len(critic_logs) for k in critic_logs[0]}
    logs.update({k: average_loss(v) for k, v in g_terms.items()})
    logs['gen_total'] = g_total
    logs.update(g_stats or {})
    return logs

  # -- inference ------------------------------------------------------------------------------

  def edit(self, images, source, target, training=False):
    """The edited images: `images` with attributes `source` ({0, 1}) given `target`."""
    raise NotImplementedError

  def estimate_attributes(self, images):
    """The discriminator's attribute estimate ({0, 1}: logit > 0) of each image."""
    return tf.cast(self.discriminator(images, training=False)[1] > 0, tf.float32)

  def call(self, images, target=None, source=None, training=False):
    if target is None:
      raise ValueError(f'{type(self).__name__} needs target attributes')
    if source is None and self.needs_source:
      source = self.estimate_attributes(images)
    return self.edit(images, source, target, training=training)

  def image_panels(self, batch):
    """'edits': the input and one column per attribute changed (as flipped()); 'gradcam':
    the input and, per attribute, M_CAM of that edit over the edited image."""
    x, source = batch['image'], batch['attributes']
    edits, masks = [('input', x)], [('input', x)]
    for j, name in enumerate(self.attributes):
      target = self.flipped(source, j)
      fake = self.edit(x, source, target)
      edits.append((name, fake))
      masks.append((name, (fake, self.cam_mask(x, fake, source, target, training=False,
                                                  clip=True)),
                    ep.OVERLAY))
    return {'edits': edits, 'gradcam': masks}

  def attribute_probabilities(self, images):
    """The discriminator's classifier on `images`: P(attribute) per image, [batch, k]."""
    return tf.sigmoid(self.discriminator(images, training=False)[1])

  def editor_endpoints(self):
    """'edit': images and target attribute vectors -> the edited images; 'edit_with_mask':
    the same and M_CAM of the edit (the source attributes: the discriminator's estimate);
    'attributes': images -> the discriminator's attribute probabilities (what translate
    --attrs reads to keep the attributes it is not told to change). Images are resized to
    image_size (the discriminator reads that size) and the outputs back."""
    k, names = self.n_attributes, ', '.join(self.attributes)
    target = ep.Input('attributes', shape=(k,), per_image=True, labels=self.attributes,
                      rule=self.target_rule,
                      doc=f'target attributes, 1 (has) or 0 (has not), in this order: {names}')

    def edit(images, attributes):
      return {'output': self(images, attributes)}

    def edit_with_mask(images, attributes):
      source = self.estimate_attributes(images)
      out = self.edit(images, source, attributes)
      return {'output': out, 'mask': self.cam_mask(images, out, source, attributes,
                                                   training=False, clip=True)}

    def probabilities(images):
      return {'probabilities': self.attribute_probabilities(images)}

    output = ep.Output('output', doc='the edited image')
    size = self.image_size
    return {
        'edit': ep.Endpoint(edit, inputs=(target,), outputs=(output,), input_size=size,
                            doc=f'{type(self).__name__}: edit to the target attributes'),
        'edit_with_mask': ep.Endpoint(
            edit_with_mask, inputs=(target,), input_size=size, variant_of='edit',
            outputs=(output, ep.Output('mask', ep.HEATMAP, size=ep.RESIZE,
                                       doc='the Grad-CAM mask M_CAM of the edit (paper 001)')),
            doc='the edit and its Grad-CAM mask'),
        'attributes': ep.Endpoint(
            probabilities, input_size=size,
            outputs=(ep.Output('probabilities', ep.VECTOR, labels=self.attributes,
                               doc=f'P(attribute) by the discriminator: {names}'),),
            doc="the discriminator's attribute classifier"),
    }

  def sampler(self, samples, seed, batch_size):
    """How tfi2i.evaluate draws outputs: K = the number of attributes, the k-th output the
    input with attribute k changed as flipped() does, so realism scores all the edits
    against the real images (paper 001 Table 1: FID of the translations). The source
    attributes are the data's labels when the data has them (labels['attributes'], as the
    official test code reads them from the attribute file), else the discriminator's
    estimate (as the export's edit)."""
    del samples, seed
    k = self.n_attributes

    @tf.function(reduce_retracing=True)
    def edits(x, source):
      return tf.stack([self.edit(x, source, self.flipped(source, j)) for j in range(k)], axis=1)

    def sample(a, indices, labels):
      del indices
      attributes = labels.get('attributes')
      out = []
      for s in range(0, len(a), batch_size):
        x = tf.constant(a[s:s + batch_size])
        source = (self.estimate_attributes(x) if attributes is None
                  else tf.constant(np.asarray(attributes[s:s + batch_size], np.float32)))
        out.append(np.asarray(edits(x, source), np.float32))
      return np.concatenate(out)

    return sample, k, (f'{type(self).__name__}: {k} edits per input, each attribute changed '
                       f'by the official test-time rule ({self.target_rule}) from the source '
                       'attributes of the data file')
