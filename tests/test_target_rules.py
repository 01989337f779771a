"""Each editor's official test-time targets (tfi2i.attribute_rules), against cases written by
hand from the official code:

  StarGAN solver.py create_labels: a hair colour is set to 1 and the other hair colours to
    0 (a face that has that colour is left as it is); any other attribute is flipped.
  AttGAN / STGAN test.py: attribute i flipped (1 - a), then data.check_attribute_conflict
    when it is now 1: Bald or Receding_Hairline clears Bangs; Bangs clears Bald and
    Receding_Hairline; a hair colour clears the others; Straight_Hair and Wavy_Hair exclude
    each other (Mustache / No_Beard is commented out there). The flipped attribute alone is
    driven at test_int (AttGAN v1: +-test_int; STGAN: b_[i] * test_int in b_ - a_).
"""
import numpy as np
import pytest
import tensorflow as tf

from test_attgan import _model as attgan_model
from tfi2i import attribute_edit
from tfi2i import attribute_rules as rules
from tfi2i import models
from recipes import stargan as stargan_recipe

NAMES = ('Bald', 'Bangs', 'Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Mustache',
         'No_Beard', 'Receding_Hairline', 'Straight_Hair', 'Wavy_Hair')


def vec(*on):
  return np.array([[1.0 if n in on else 0.0 for n in NAMES]], np.float32)


def names_on(v):
  return {n for n, x in zip(NAMES, v[0]) if x > 0.5}


# (source attributes, attribute changed, what the target has) by rule
STARGAN_CASES = [
    (('Black_Hair', 'Male'), 'Blond_Hair', {'Blond_Hair', 'Male'}),
    (('Black_Hair', 'Male'), 'Black_Hair', {'Black_Hair', 'Male'}),  # already black: no-op
    (('Black_Hair', 'Male'), 'Male', {'Black_Hair'}),
    (('Bangs',), 'Bald', {'Bangs', 'Bald'}),  # create_labels knows hair colours only
    ((), 'Brown_Hair', {'Brown_Hair'}),
    (('Straight_Hair',), 'Wavy_Hair', {'Straight_Hair', 'Wavy_Hair'}),
]
ATTGAN_CASES = [
    (('Black_Hair', 'Male'), 'Blond_Hair', {'Blond_Hair', 'Male'}),
    (('Black_Hair', 'Male'), 'Black_Hair', {'Male'}),  # has it: translated to without
    (('Black_Hair', 'Male'), 'Male', {'Black_Hair'}),
    (('Bangs', 'Brown_Hair'), 'Bald', {'Bald', 'Brown_Hair'}),
    (('Bald', 'Receding_Hairline'), 'Bangs', {'Bangs'}),
    (('Bangs',), 'Receding_Hairline', {'Receding_Hairline'}),
    (('Bald', 'Bangs'), 'Bald', {'Bangs'}),  # cleared: nothing else changes
    (('Straight_Hair',), 'Wavy_Hair', {'Wavy_Hair'}),
    (('No_Beard',), 'Mustache', {'Mustache', 'No_Beard'}),  # not a conflict in test.py
    (('Blond_Hair', 'Brown_Hair'), 'Black_Hair', {'Black_Hair'}),
]


@pytest.mark.parametrize('rule, cases', [(rules.CREATE_LABELS, STARGAN_CASES),
                                         (rules.FLIP, ATTGAN_CASES)])
def test_targets_follow_the_official_rule(rule, cases):
  for source, name, want in cases:
    got = rules.change(vec(*source), NAMES, NAMES.index(name), rule=rule)
    assert names_on(got) == want, (rule, source, name)


def test_explicit_values_set_or_clear_with_the_rules_exclusions():
  blond = NAMES.index('Blond_Hair')
  bangs = NAMES.index('Bangs')
  assert names_on(rules.change(vec('Black_Hair'), NAMES, blond, 1.0, rules.FLIP)) == {
      'Blond_Hair'}
  assert names_on(rules.change(vec('Blond_Hair'), NAMES, blond, 1.0, rules.FLIP)) == {
      'Blond_Hair'}  # set, not flipped
  assert names_on(rules.change(vec('Bald'), NAMES, bangs, 1.0, rules.FLIP)) == {'Bangs'}
  assert names_on(rules.change(vec('Bald'), NAMES, bangs, 1.0, rules.CREATE_LABELS)) == {
      'Bald', 'Bangs'}
  assert names_on(rules.change(vec('Bald', 'Bangs'), NAMES, bangs, 0.0, rules.FLIP)) == {
      'Bald'}
  assert names_on(attribute_edit.with_changes(
      vec('Black_Hair'), NAMES, {blond: 1.0, bangs: 1.0}, rules.FLIP)) == {'Blond_Hair', 'Bangs'}


def test_an_unknown_rule_is_refused():
  with pytest.raises(ValueError, match="unknown test-time target rule 'flip'"):
    rules.change(vec(), NAMES, 0, rule='flip')


def test_each_editor_declares_its_rule_and_its_graph_targets_match():
  """flipped() in the graph gives attribute_rules.change for every attribute and source."""
  rng = np.random.default_rng(0)
  source = (rng.uniform(size=(64, 3)) > 0.5).astype(np.float32)
  attgan = attgan_model('attgan')
  assert attgan.target_rule == rules.FLIP
  assert attgan_model('stgan').target_rule == rules.FLIP
  assert models.model_class('stargan').target_rule == rules.CREATE_LABELS
  for j in range(3):
    want = rules.change(source, attgan.attributes, j, rule=rules.FLIP)
    np.testing.assert_array_equal(attgan.flipped(tf.constant(source), j), want)
  # the export declares it on the target input, and --edit=each reads it from there
  target = attgan.endpoints()['edit'].inputs[0]
  assert attribute_edit.target_rule(target) == rules.FLIP
  c = stargan_recipe.get_config()
  c.model.update(attributes=('Bangs', 'Black_Hair', 'Blond_Hair'), image_size=32,
                 g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3)
  stargan = models.build_model(c)
  hair = (rng.uniform(size=(64, 3)) > 0.5).astype(np.float32)
  for j in range(3):
    want = rules.change(hair, stargan.attributes, j, rule=rules.CREATE_LABELS)
    np.testing.assert_array_equal(stargan.flipped(tf.constant(hair), j), want)


def test_only_the_flipped_attribute_is_driven_at_test_int():
  """Black hair to blond: AttGAN feeds Blond_Hair at +test_int and the cleared Black_Hair at
  -thres_int (test.py scales index i only); STGAN's difference is b_ - a_ with b_[i] *
  test_int. A target set by hand that clears a hair colour without setting another drives
  the cleared one (it is the change asked for)."""
  source = np.array([[0, 1, 1]], np.float32)  # Bangs, Black_Hair, Male
  attgan = attgan_model('attgan')  # ATTRS of test_attgan: Bangs, Black_Hair, Male
  attgan.test_int = 2.0
  bangs = rules.change(source, attgan.attributes, 0, rule=rules.FLIP)  # Bangs 0 -> 1
  np.testing.assert_allclose(attgan.test_input(source, bangs), [[2.0, 0.5, 0.5]])
  black = rules.change(source, attgan.attributes, 1, rule=rules.FLIP)  # Black 1 -> 0
  np.testing.assert_allclose(attgan.test_input(source, black), [[-0.5, -2.0, 0.5]])
  stgan = attgan_model('stgan')
  stgan.test_int = 2.0
  # b_ = (b * 2 - 1) * 0.5 with b_[i] * 2, minus a_ = (a * 2 - 1) * 0.5
  np.testing.assert_allclose(stgan.test_input(source, bangs), [[1.0 + 0.5, 0.0, 0.0]])
  np.testing.assert_allclose(stgan.test_input(source, black), [[0.0, -1.0 - 0.5, 0.0]])


def test_a_hair_colour_cleared_by_the_rule_stays_at_thres_int():
  names = ('Black_Hair', 'Blond_Hair', 'Male')
  source = np.array([[1, 0, 1]], np.float32)
  blond = rules.change(source, names, 1, rule=rules.FLIP)
  np.testing.assert_array_equal(blond, [[0, 1, 1]])
  excludes = rules.conflicts(names, rules.FLIP)
  driven = lambda target: rules.emphasised(source, np.asarray(target, np.float32), excludes)
  np.testing.assert_array_equal(driven(blond), [[False, True, False]])
  # cleared by hand, nothing set: that change is the one asked for
  np.testing.assert_array_equal(driven([[0, 0, 1]]), [[True, False, False]])
  # several changes at once (translate --attrs): each set one is driven
  np.testing.assert_array_equal(driven([[0, 1, 0]]), [[False, True, True]])
  # the same code on tensors (AttGAN.emphasised in the graph)
  got = rules.emphasised(tf.constant(source), tf.constant(blond), tf.constant(excludes))
  np.testing.assert_array_equal(got, [[False, True, False]])


def test_cam_stats_say_whether_the_mask_covers_the_change():
  """Coverage is the mask's mean; change_lift is 1 for a uniform mask, high when the mask
  is on the pixels the generator changed, low when it is off them."""
  from tfi2i.models.attribute_editor import AttributeEditor  # pylint: disable=g-import-not-at-top
  x = np.zeros((2, 8, 8, 3), np.float32)
  fake = x.copy()
  fake[:, :2, :2] = 1.0  # the edit changed the top-left 2x2 corner (1/16 of the image)
  region = np.zeros((2, 8, 8, 1), np.float32)
  region[:, :2, :2] = 1.0
  stats = lambda mask: {k.split('_', 1)[1]: float(v) for k, v in
                        AttributeEditor.cam_stats(tf.constant(mask), x, fake, 'g').items()}
  uniform = stats(np.ones_like(region))
  assert uniform == pytest.approx({'coverage': 1.0, 'change_lift': 1.0}, rel=1e-5)
  on = stats(region)
  assert on == pytest.approx({'coverage': 1 / 16, 'change_lift': 16.0}, rel=1e-5)
  off = stats(1.0 - region)
  assert off['change_lift'] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize('name', ['stargan', 'attgan', 'stgan'])
def test_paper001_recipes_are_the_official_recipe_with_the_papers_changes(name):
  """recipes/paper001_<editor>.py: both CAM terms at lambda_CAM 5, the official recipe
  otherwise, plus the port's settings that tfi2i's model takes (cited in the recipe)."""
  import importlib  # pylint: disable=g-import-not-at-top
  from tfi2i import config as recipe_lib  # pylint: disable=g-import-not-at-top
  paper = importlib.import_module(f'recipes.paper001_{name}').get_config()
  official = importlib.import_module(f'recipes.{name}').get_config()
  recipe_lib.check_recipe(paper)
  assert (paper.cam.apply_to, paper.cam.weight) == ('both', 5.0)
  flat = lambda c: {f'{s}.{k}': v for s in c for k, v in c[s].items()}
  changed = {k for k, v in flat(paper).items() if flat(official)[k] != v}
  want = {'stargan': {'cam.apply_to', 'schedule.policy', 'cam.layer'},
          'attgan': {'cam.apply_to'},
          'stgan': {'cam.apply_to', 'model.shortcut_layers', 'model.inject_layers',
                    'loss.lambda_d_att', 'loss.lambda_g_att', 'data.flip', 'train.steps',
                    'schedule.policy', 'schedule.decay_start_step'}}[name]
  assert changed == want
  if name == 'stgan':  # BCE summed over the 13 attributes, weights 1 and 10
    assert (paper.loss.lambda_d_att, paper.loss.lambda_g_att) == (13.0, 130.0)
    # the port's 1M critic iterations with StepLR x0.1 at 800k: 200k steps, / 10 at 160k
    from tfi2i.training import schedules  # pylint: disable=g-import-not-at-top
    lr = schedules.make_schedule(2e-4, paper.schedule, steps_per_epoch=7)
    np.testing.assert_allclose([float(lr(s)) for s in (0, 159_999, 160_000, 199_999)],
                               [2e-4, 2e-4, 2e-5, 2e-5], rtol=1e-6)
    assert paper.train.steps == 200_000
    from tfi2i import models  # pylint: disable=g-import-not-at-top,redefined-outer-name
    paper.model.image_size = 64  # built small: 3 STUs, as the port's
    model = models.build_model(paper)
    stus = {w.path.split('/')[0] for w in model.generator.weights if w.path.startswith('stu')}
    assert len(stus) == 3, stus


@pytest.mark.parametrize('name', ['attgan_demo', 'stgan_demo', 'stargan_demo'])
def test_cpu_sized_editor_recipes_build_with_a_spatial_cam_map(name):
  """The CPU-sized ablation recipes: paper 001's runs on the attribute demo task, the
  discriminator's last map 2x2 (a 1x1 map would give Grad-CAM a constant mask) and the
  map Grad-CAM reads 4x4, as the official 128 px discriminator's last map."""
  import importlib  # pylint: disable=g-import-not-at-top
  from tfi2i import config as recipe_lib  # pylint: disable=g-import-not-at-top
  c = importlib.import_module(f'recipes.{name}').get_config()
  recipe_lib.check_recipe(c)
  assert c.model.attributes == ('Red_Top', 'Bright_Centre', 'Dark_Bottom')
  model = models.build_model(c)
  features = model.discriminator.features(tf.zeros([1, 32, 32, 3]), -1)
  assert tuple(features.shape[1:3]) == (2, 2)
  read = model.discriminator.features(tf.zeros([1, 32, 32, 3]), c.cam.layer)
  assert c.cam.layer == -2 and tuple(read.shape[1:3]) == (4, 4)
  if name == 'stgan_demo':  # the port's summed BCE over its 3 attributes
    assert (c.loss.lambda_d_att, c.loss.lambda_g_att) == (3.0, 30.0)
    # the port's schedule over the budget: / 10 after 4/5 of it
    assert (c.schedule.policy, c.schedule.decay_start_step, c.train.steps) == (
        'step_steps', 800, 1000)
