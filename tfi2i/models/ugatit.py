"""U-GAT-IT (Kim et al., ICLR 2020) as a Keras model: attention-guided unpaired translation
with AdaLIN, full and light variants.

Official code: znxlwm/UGATIT-pytorch UGATIT.py (train loop, losses) and networks.py;
taki0112/UGATIT is the TensorFlow 1 original. Naming: `gen_a2b` is genA2B, `gen_b2a`
genB2A; `disc_ga` / `disc_la` (global / local) judge domain A (disGA, disLA), `disc_gb` /
`disc_lb` judge domain B.
"""
import keras
import tensorflow as tf

from tfi2i import endpoints as ep
from tfi2i import layers as L
from tfi2i import losses
from tfi2i import nets
from tfi2i.models.base import average_loss
from tfi2i.models.base import require_training_size
from tfi2i.models.base import TranslationModel


def _normalized(heatmap):
  """Each map scaled to [0, 1] (official `cam()`: x - min, then / max), float32."""
  h = tf.cast(heatmap, tf.float32)
  low = tf.reduce_min(h, axis=[1, 2, 3], keepdims=True)
  high = tf.reduce_max(h, axis=[1, 2, 3], keepdims=True)
  return (h - low) / tf.maximum(high - low, 1e-12)


@keras.saving.register_keras_serializable('tfi2i')
class UGATIT(TranslationModel):
  """Two attention generators and four discriminators (global and local per domain).

  Per step, as the official train(): the D update on the fakes of the current generators,
  then the G update (scored by the updated discriminators), then rho clipped to [0, 1]
  (a constraint on every ILN / AdaILN rho, applied by the optimizer after the update).
  """

  optimizer_names = ('g_optimizer', 'd_optimizer')
  loss_args = ('adv_weight', 'cycle_weight', 'identity_weight', 'cam_weight')
  directions = ('a_to_b', 'b_to_a')
  size_multiple = 4

  # Sources of the defaults: znxlwm/UGATIT-pytorch main.py (M), UGATIT.py build_model (U).
  def __init__(self, *,
               light=False,  # M --light False: the full variant
               input_nc=3,  # M --img_ch
               output_nc=3,  # M --img_ch
               ngf=64,  # M --ch
               n_blocks=4,  # M --n_res
               ndf=64,  # M --ch (U: Discriminator(ndf=self.ch))
               img_size=256,  # M --img_size: the full variant's fixed input size
               n_layers_global=7,  # U: disGA/disGB Discriminator(n_layers=7)
               n_layers_local=5,  # U: disLA/disLB Discriminator(n_layers=5)
               adv_weight=1.0,  # M --adv_weight
               cycle_weight=10.0,  # M --cycle_weight
               identity_weight=10.0,  # M --identity_weight
               cam_weight=1000.0,  # M --cam_weight
               seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    self.light, self.img_size = bool(light), int(img_size)
    gen = lambda name, cin, cout: nets.ugatit_generator(cin, cout, ngf, n_blocks, img_size,
                                                        light, name=name)
    self.gen_a2b = gen('gen_a2b', input_nc, output_nc)
    self.gen_b2a = gen('gen_b2a', output_nc, input_nc)
    disc = lambda name, cin, n: nets.ugatit_discriminator(cin, ndf, n, name=name)
    self.disc_ga = disc('disc_ga', input_nc, n_layers_global)
    self.disc_la = disc('disc_la', input_nc, n_layers_local)
    self.disc_gb = disc('disc_gb', output_nc, n_layers_global)
    self.disc_lb = disc('disc_lb', output_nc, n_layers_local)
    self.adv_weight, self.cycle_weight = float(adv_weight), float(cycle_weight)
    self.identity_weight, self.cam_weight = float(identity_weight), float(cam_weight)
    # the global D's receptive field: n - 2 stride-2 convs, then two 4x4 stride-1 convs
    self.min_train_size = 2 ** (max(n_layers_global, n_layers_local) - 2) * 3

  @property
  def generators(self):
    return {'a_to_b': self.gen_a2b, 'b_to_a': self.gen_b2a}

  def call(self, images, direction='a_to_b', training=False):
    """The translation (the first generator output)."""
    return self.generator_for(direction)(images, training=training)[0]

  def translate(self, images, direction='a_to_b'):
    """(translation, attention heatmap in [0, 1] at 1/4 of the input's size)."""
    out, _, heatmap = self.generator_for(direction)(images, training=False)
    return out, _normalized(heatmap)

  # -- training ---------------------------------------------------------------------------

  def build_for_training(self, batch_spec):
    size = batch_spec['a'].shape[1:3]
    require_training_size(size, self.min_train_size,
                          f'the {self.args["n_layers_global"]}-layer global discriminator')
    if not self.light and tuple(size) != (self.img_size, self.img_size):
      raise ValueError(
          f'the full U-GAT-IT generator reads the whole {self.img_size // 4}x'
          f'{self.img_size // 4} feature map, so it trains on {self.img_size} px crops '
          f'only, got {size[0]}x{size[1]}: set data.crop_size={self.img_size} (or '
          f'model.img_size), or use the light variant')
    self.g_optimizer.build(self._variables('gen'))
    self.d_optimizer.build(self._variables('disc'))

  def _variables(self, kind):
    nets_ = ((self.gen_a2b, self.gen_b2a) if kind == 'gen' else
             (self.disc_ga, self.disc_la, self.disc_gb, self.disc_lb))
    return [v for net in nets_ for v in net.trainable_variables]

  def _adversarial(self, disc, images, target_is_real, for_discriminator=True):
    """Least squares on the score map and on the CAM logits (official MSE_loss on
    `*_logit` and `*_cam_logit`): per-example (score term, cam term)."""
    scores, cam_logit, _ = disc(images, training=True)
    return (losses.gan_loss(scores, target_is_real, 'lsgan', for_discriminator),
            losses.gan_loss(cam_logit, target_is_real, 'lsgan', for_discriminator))

  def train_step(self, batch):
    real_a, real_b = batch['a'], batch['b']
    terms = {}
    fake_a2b = tf.stop_gradient(self.gen_a2b(real_a, training=True)[0])
    fake_b2a = tf.stop_gradient(self.gen_b2a(real_b, training=True)[0])
    d_vars = self._variables('disc')
    with tf.GradientTape() as tape:
      for side, real, fake, discs in (('a', real_a, fake_b2a, (self.disc_ga, self.disc_la)),
                                      ('b', real_b, fake_a2b, (self.disc_gb, self.disc_lb))):
        total = 0.0
        for disc in discs:
          # D_ad_loss_G*/L* and D_ad_cam_loss_G*/L*: MSE(real, 1) + MSE(fake, 0)
          real_terms = self._adversarial(disc, real, True)
          fake_terms = self._adversarial(disc, fake, False)
          total += real_terms[0] + fake_terms[0] + real_terms[1] + fake_terms[1]
        terms[f'disc_{side}'] = self.adv_weight * total  # D_loss_A / D_loss_B
      d_total = average_loss(terms['disc_a'] + terms['disc_b'])
    self.apply_gradients(self.d_optimizer, tape, d_total, d_vars)

    g_vars = self._variables('gen')
    # WideKernelGradients: the full variant's 1 GB gamma/beta kernel (256 px) is used three
    # times per generator; its gradient is formed once instead of three times
    with tf.GradientTape() as tape, L.WideKernelGradients(tape) as wide:
      fake_a2b, fake_a2b_cam, _ = self.gen_a2b(real_a, training=True)
      fake_b2a, fake_b2a_cam, _ = self.gen_b2a(real_b, training=True)
      rec_a = self.gen_b2a(fake_a2b, training=True)[0]  # fake_A2B2A
      rec_b = self.gen_a2b(fake_b2a, training=True)[0]  # fake_B2A2B
      same_a, same_a_cam, _ = self.gen_b2a(real_a, training=True)  # fake_A2A
      same_b, same_b_cam, _ = self.gen_a2b(real_b, training=True)  # fake_B2B
      for side, fake, discs, real, rec, same, cam_translated, cam_same in (
          ('a', fake_b2a, (self.disc_ga, self.disc_la), real_a, rec_a, same_a, fake_b2a_cam,
           same_a_cam),
          ('b', fake_a2b, (self.disc_gb, self.disc_lb), real_b, rec_b, same_b, fake_a2b_cam,
           same_b_cam)):
        # G_ad_loss_G*/L* + G_ad_cam_loss_G*/L*: MSE(D(fake), 1) on scores and CAM logits
        adv = tf.add_n([t for disc in discs for t in self._adversarial(disc, fake, True, False)])
        terms[f'gen_gan_{side}'] = self.adv_weight * adv
        # G_recon_loss: L1(G_other(G(x)), x)
        terms[f'cycle_{side}'] = self.cycle_weight * losses.l1_loss(rec, real)
        # G_identity_loss: L1(G_to_x(x), x)
        terms[f'identity_{side}'] = self.identity_weight * losses.l1_loss(same, real)
        # G_cam_loss: BCE of the generator's auxiliary classifier: the image it translates
        # (from the other domain) is the source, 1; the image already in its target domain
        # (the identity path) is 0. E.g. G_cam_loss_A uses genB2A: real_B -> 1, real_A -> 0.
        terms[f'cam_{side}'] = self.cam_weight * (
            losses.gan_loss(cam_translated, True, 'vanilla', for_discriminator=False)
            + losses.gan_loss(cam_same, False, 'vanilla', for_discriminator=False))
      g_total = average_loss(tf.add_n([v for k, v in terms.items() if not k.startswith('disc')]))
    self.apply_gradients(self.g_optimizer, tape, g_total, g_vars, wide)  # then rho is clipped

    logs = {name: average_loss(value) for name, value in terms.items()}
    logs['gen_total'], logs['disc_total'] = g_total, d_total
    return logs

  # -- views ------------------------------------------------------------------------------

  def image_panels(self, batch):
    """Per direction, as the official sample grid: the input, the generator's attention,
    the translation, the global and local discriminators' attention on it, the
    reconstruction (heatmaps jet-coloured)."""
    groups = {}
    for name, real, gen, back, disc_g, disc_l, src, dst in (
        ('a_to_b', batch['a'], self.gen_a2b, self.gen_b2a, self.disc_gb, self.disc_lb, 'a', 'b'),
        ('b_to_a', batch['b'], self.gen_b2a, self.gen_a2b, self.disc_ga, self.disc_la, 'b', 'a')):
      fake, _, heat = gen(real, training=False)
      groups[name] = [
          (f'real_{src}', real), ('attention', _normalized(heat), ep.HEATMAP),
          (f'fake_{dst}', fake),
          ('disc_global_attention', _normalized(disc_g(fake, training=False)[2]), ep.HEATMAP),
          ('disc_local_attention', _normalized(disc_l(fake, training=False)[2]), ep.HEATMAP),
          (f'rec_{src}', back(fake, training=False)[0])]
    return groups

  def endpoints(self):
    """Per direction: the translation and the generator's attention map (the official
    test-time heatmap, scaled to [0, 1], at the input's size). The full variant runs at
    img_size: inputs are resized to it and the outputs back."""
    def endpoint(direction):
      def fn(images):
        out, heat = self.translate(images, direction)
        return {'output': out, 'attention': heat}
      return ep.Endpoint(fn, outputs=(
          ep.Output('output', doc='the translation'),
          ep.Output('attention', ep.HEATMAP, size=ep.RESIZE,
                    doc='where the generator looks: the channel sum of its attention '
                        'features, scaled to [0, 1] per image')),
          input_size=None if self.light else self.img_size,
          doc=f'the {direction} generator')
    return {d: endpoint(d) for d in self.directions}
