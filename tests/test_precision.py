"""precision='auto' (tfi2i/precision.py): bfloat16 where the CPU or GPU has it, float32
elsewhere; the choice is printed and recorded in recipe.json, and resumes and exports agree."""
import json
import os

import keras
import ml_collections
import pytest

from test_train import tiny_recipe
from test_train import tiny_root  # noqa: F401  (fixture)
from tfi2i import config as recipe_lib
from tfi2i import precision as precision_lib
from tfi2i.schema import RecipeError
from tfi2i.training import loop
from tfi2i.versions import METADATA_PATH

# first lines of /proc/cpuinfo on two real machines (flags shortened)
ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512bw avx512_bf16 avx512_vnni
"""
SKYLAKE = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8175M
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512bw avx512_vnni
"""
SAPPHIRE = """processor\t: 0
flags\t\t: avx2 avx512f amx_bf16 amx_tile amx_int8
"""


@pytest.mark.parametrize('text, policy', [(ZEN4, 'mixed_bfloat16'), (SKYLAKE, 'float32'),
                                          (SAPPHIRE, 'mixed_bfloat16'), ('', 'float32')])
def test_auto_follows_the_cpu_flags(tmp_path, text, policy):
  path = tmp_path / 'cpuinfo'
  path.write_text(text)
  choice = precision_lib.choose('auto', flags=precision_lib.cpu_flags(str(path)), gpus=[])
  assert (choice.requested, choice.policy) == ('auto', policy)
  assert ('avx512_bf16' in choice.reason or 'amx_bf16' in choice.reason)
  assert choice.line().startswith(f'precision: auto -> {policy} (')


def test_cpu_flags_of_a_missing_file_are_empty(tmp_path):
  assert precision_lib.cpu_flags(str(tmp_path / 'none')) == frozenset()


@pytest.mark.parametrize('gpus, policy', [
    ([('A100', (8, 0))], 'mixed_bfloat16'),
    ([('A100', (8, 0)), ('H100', (9, 0))], 'mixed_bfloat16'),
    ([('T4', (7, 5))], 'float32'),
    ([('A100', (8, 0)), ('V100', (7, 0))], 'float32'),  # one old GPU: all replicas alike
    ([('unknown', None)], 'float32'),
])
def test_auto_with_gpus_follows_the_gpus_not_the_cpu(gpus, policy):
  choice = precision_lib.choose('auto', flags={'avx512_bf16'}, gpus=gpus)
  assert choice.policy == policy


@pytest.mark.parametrize('name', ['float32', 'mixed_bfloat16', 'mixed_float16'])
def test_explicit_policies_are_kept(name):
  choice = precision_lib.choose(name, flags=set(), gpus=[('T4', (7, 5))])
  assert (choice.policy, choice.line()) == (name, f'precision: {name} (as set)')


def test_an_unknown_precision_is_refused_naming_the_choices(tiny_root):  # noqa: F811
  with pytest.raises(RecipeError, match=r"train\.precision.*'bfloat16'.*auto"):
    recipe_lib.check_recipe(tiny_recipe(tiny_root, **{'train.precision': 'bfloat16'}))


def test_a_run_with_auto_prints_and_records_its_choice(tiny_root, tmp_path, monkeypatch,  # noqa: F811
                                                        capsys):
  """On a CPU mocked to have AVX512-BF16 (the other way is test_auto_follows_the_cpu_flags):
  the run computes in mixed_bfloat16, says so, keeps 'auto' as the recipe's value and the
  choice beside it; the export at the end records the policy, and the same command run
  again passes the resume check and finds that export (no second one)."""
  monkeypatch.setattr(precision_lib, 'cpu_flags', lambda path=None: frozenset({'avx512_bf16'}))
  monkeypatch.setattr(precision_lib, 'visible_gpus', lambda: [])
  policies = []
  real_set = keras.mixed_precision.set_global_policy
  monkeypatch.setattr(keras.mixed_precision, 'set_global_policy',
                      lambda p: (policies.append(getattr(p, 'name', p)), real_set(p))[1])
  workdir = str(tmp_path / 'run')
  recipe = tiny_recipe(tiny_root, **{'train.precision': 'auto', 'export.precision': 'auto',
                                     'train.steps': 1, 'export.at_end': True})
  first = loop.train(recipe, workdir)
  out = capsys.readouterr().out
  assert 'precision: auto -> mixed_bfloat16 (this CPU has avx512_bf16)' in out
  assert 'export precision: auto -> mixed_bfloat16' in out
  assert policies.count('mixed_bfloat16') == 2  # the run, the export
  with open(os.path.join(workdir, 'recipe.json'), encoding='utf-8') as f:
    saved = json.load(f)
  assert saved['train']['precision'] == 'auto'
  assert saved['resolved']['train']['precision']['policy'] == 'mixed_bfloat16'
  ml_collections.ConfigDict(saved)  # recipe.json still reads as a plain ConfigDict
  # the workdir's recipe reads back as a recipe (the record is not a section)
  assert recipe_lib.load_workdir_recipe(workdir).train.precision == 'auto'
  with open(os.path.join(first.export_dir, METADATA_PATH), encoding='utf-8') as f:
    assert json.load(f)['precision'] == 'mixed_bfloat16'
  again = loop.train(recipe, workdir)
  assert again.export_dir == first.export_dir
  assert 'is already exported' in capsys.readouterr().out
  assert keras.mixed_precision.global_policy().name == 'float32'  # restored after the runs
