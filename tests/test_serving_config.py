"""tfi2i.serving.config: TF Serving config and Docker Compose files for fake export folders."""
import json
import os
import subprocess
import sys

from google.protobuf import text_format
import pytest
import yaml

from tfi2i.serving import config as sc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNATURES = ['a_to_b', 'a_to_b_bytes', 'b_to_a', 'b_to_a_bytes', 'serving_default']


def make_version(base, version, complete=True, metadata=None):
  folder = os.path.join(base, str(version))
  os.makedirs(folder, exist_ok=True)
  if complete:
    open(os.path.join(folder, 'saved_model.pb'), 'wb').close()
  if metadata is not None:
    os.makedirs(os.path.join(folder, 'assets.extra'), exist_ok=True)
    with open(os.path.join(folder, 'assets.extra', 'tfi2i.json'), 'w') as f:
      json.dump(metadata, f)
  return folder


def make_workdir(root, versions, **kw):
  os.makedirs(os.path.join(root, 'export'), exist_ok=True)
  with open(os.path.join(root, 'recipe.json'), 'w') as f:
    f.write('{}')
  for v in versions:
    make_version(os.path.join(root, 'export'), v, **kw)
  return str(root)


@pytest.fixture
def models(tmp_path):
  """alpha: a workdir with versions 1, 2, 5 (and things that are not versions); beta: an
  export base with version 3."""
  alpha = make_workdir(tmp_path / 'runs' / 'alpha', [1, 2])
  export = os.path.join(alpha, 'export')
  make_version(export, 5, metadata={'model': 'CycleGAN', 'step': 42,
                                    'signatures': {s: {} for s in SIGNATURES}})
  make_version(export, '.tmp-6-1234')  # an export in progress, complete but hidden
  make_version(export, 'backup')  # not an integer
  open(os.path.join(export, '8'), 'wb').close()  # a file, not a folder
  beta = str(tmp_path / 'exports' / 'beta')
  make_version(beta, 3)
  return {'alpha': alpha, 'beta': beta}


def entries(config):
  return {c.name: c for c in config.model_config_list.config}


@pytest.mark.parametrize('versions, kind, alpha_served, beta_served', [
    ('latest:1', 'latest', [5], [3]),
    ('latest', 'latest', [5], [3]),
    ('latest:2', 'latest', [2, 5], [3]),
    ('all', 'all', [1, 2, 5], [3]),
    ('specific:5,1', 'specific', [1, 5], None),
    ('specific:3', 'specific', None, [3]),
])
def test_config_round_trip(models, tmp_path, versions, kind, alpha_served, beta_served):
  chosen = {n: p for n, p, s in (('alpha', models['alpha'], alpha_served),
                                 ('beta', models['beta'], beta_served)) if s is not None}
  out = str(tmp_path / 'serving' / 'models.config')
  config = sc.write_config(chosen, out, versions=versions)
  loaded = sc.load_config(out)
  assert loaded == config
  got = entries(loaded)
  assert list(got) == list(chosen)
  expected_base = {'alpha': os.path.join(models['alpha'], 'export'), 'beta': models['beta']}
  policy = sc.parse_versions(versions)
  for name, entry in got.items():
    assert entry.base_path == expected_base[name] and os.path.isabs(entry.base_path)
    assert entry.model_platform == 'tensorflow'
    assert entry.model_version_policy.WhichOneof('policy_choice') == kind
    assert entry.model_version_policy == policy
  if kind == 'latest':
    assert policy.latest.num_versions == (2 if versions == 'latest:2' else 1)
  if versions == 'specific:5,1':
    assert list(policy.specific.versions) == [1, 5]
  served = {m.name: list(m.served) for m in sc.resolve_models(chosen, versions)}
  assert served == {n: s for n, s in (('alpha', alpha_served), ('beta', beta_served))
                    if s is not None}
  text = open(out).read()
  assert text.startswith('# TF Serving model config')
  body = ''.join(line for line in text.splitlines(True) if not line.startswith('#'))
  assert body == text_format.MessageToString(config)


def test_mount_root_and_list_form(models, tmp_path):
  out = str(tmp_path / 'm.config')
  config = sc.write_config([('beta', models['beta']), ('alpha', models['alpha'])], out,
                           versions='all', mount_root='/srv/models/')
  assert [(c.name, c.base_path) for c in config.model_config_list.config] == [
      ('beta', '/srv/models/beta'), ('alpha', '/srv/models/alpha')]
  with pytest.raises(sc.UsageError, match='bad --mount_root'):
    sc.write_config(models, out, mount_root='models')


def test_versions_found_and_ignored(models, tmp_path):
  export = os.path.join(models['alpha'], 'export')
  assert sc.version_folders(export) == ([1, 2, 5], [])
  make_version(export, 7, complete=False)  # e.g. still being copied
  make_version(export, 4, complete=False)
  assert sc.version_folders(export) == ([1, 2, 5], [4, 7])
  [alpha] = sc.resolve_models({'alpha': models['alpha']}, 'latest:1')
  assert alpha.served == (5,) and alpha.versions == (1, 2, 5) and alpha.incomplete == (4, 7)
  assert alpha.metadata['model'] == 'CycleGAN'
  [warning] = sc.warnings_for(alpha, sc.parse_versions('latest:1'))
  assert 'would also try to load 7' in warning and 'saved_model.pb' in warning
  assert sc.warnings_for(alpha, sc.parse_versions('specific:2,5')) == []
  with pytest.raises(sc.ServingConfigError, match=r'version 4 of .*without saved_model.pb: 4, 7'):
    sc.resolve_models({'alpha': models['alpha']}, 'specific:4')


def test_default_names(models, tmp_path):
  alpha, beta = models['alpha'], models['beta']
  assert sc.default_name(alpha) == 'alpha'
  assert sc.default_name(os.path.join(alpha, 'export')) == 'alpha'
  assert sc.default_name(beta) == 'beta'
  assert sc.parse_model_flag('a=b=c') == ('a', 'b=c')
  assert sc.parse_model_flag(beta) == (None, beta)
  got = sc.resolve_models([alpha, f'b2={beta}'])
  assert [(m.name, m.export_base) for m in got] == [
      ('alpha', os.path.join(alpha, 'export')), ('b2', beta)]


def test_policy_parsing():
  for text in ('latest:3', 'all', 'specific:0,2,7'):
    assert sc.format_versions(sc.parse_versions(text)) == text
  assert sc.format_versions(sc.parse_versions(' Latest ')) == 'latest:1'
  assert sc.format_versions(sc.parse_versions('specific:3, 1,3')) == 'specific:1,3'
  assert sc.select_versions(sc.parse_versions('latest:3'), [4, 9]) == [4, 9]
  assert sc.select_versions(sc.parse_versions('latest:2'), [9, 1, 4]) == [4, 9]
  assert sc.select_versions(sc.parse_versions('specific:1,2'), [2, 3]) == [2]
  assert sc.select_versions(sc.ServableVersionPolicy(), [1, 2]) == [2]  # TF Serving's default
  for bad in ('latest:0', 'latest:-1', 'latest:x', 'latest:4294967296', 'newest', 'all:2',
              'specific:', 'specific:1,,2', 'specific:1,x', 'specific:-3', ''):
    with pytest.raises(sc.UsageError, match='bad --versions value'):
      sc.parse_versions(bad)


def _error_cases(models, tmp_path):
  no_export = make_workdir(tmp_path / 'runs' / 'fresh', [])
  os.rmdir(os.path.join(no_export, 'export'))
  empty = make_workdir(tmp_path / 'runs' / 'empty', [])
  make_version(os.path.join(empty, 'export'), 1, complete=False)
  make_version(os.path.join(empty, 'export'), '.tmp-2-99')
  missing = str(tmp_path / 'nowhere')
  a_file = str(tmp_path / 'file.txt')
  open(a_file, 'w').close()
  spaced = make_workdir(tmp_path / 'runs' / 'my run', [1])
  return {
      'missing path': ({'ghost': missing}, 'latest:1', sc.ServingConfigError,
                       ["model 'ghost'", missing, 'does not exist']),
      'not a folder': ({'f': a_file}, 'latest:1', sc.ServingConfigError,
                       ["model 'f'", a_file, 'not a folder']),
      'no export folder': ({'fresh': no_export}, 'latest:1', sc.ServingConfigError,
                           ["model 'fresh'", os.path.join(no_export, 'export') + ' does not',
                            f'python -m tfi2i.export --workdir={no_export}']),
      'no versions': ({'empty': empty}, 'all', sc.ServingConfigError,
                      ["model 'empty'", 'no version in ' + os.path.join(empty, 'export'),
                       'folders without saved_model.pb: 1']),
      'specific missing': ({'alpha': models['alpha'], 'beta': models['beta']}, 'specific:2,4',
                           sc.ServingConfigError,
                           ["model 'alpha'", 'version 4 of --versions=specific:2,4',
                            'existing versions: 1, 2, 5', "model 'beta'", 'versions 2, 4',
                            'existing versions: 3']),
      'bad name': ({'my model': models['alpha']}, 'latest:1', sc.UsageError,
                   ["bad model name 'my model'", 'letters, digits']),
      'bad name dot': ({'.hidden': models['alpha']}, 'latest:1', sc.UsageError,
                       ["bad model name '.hidden'"]),
      'bad default name': ([(None, spaced)], 'latest:1', sc.UsageError,
                           ["bad model name 'my run'", f'the folder name of {spaced}',
                            f'--model=NAME={spaced}']),
      'duplicate name': ([('a', models['alpha']), ('a', models['beta'])], 'latest:1',
                         sc.UsageError, ["model name 'a' is given twice", models['alpha'],
                                         models['beta']]),
      'duplicate default name': ([models['alpha'], os.path.join(models['alpha'], 'export')],
                                 'latest:1', sc.UsageError, ["'alpha' is given twice"]),
      'bad versions': (models, 'latest:zero', sc.UsageError,
                       ["bad --versions value 'latest:zero'", 'specific:V1,V2']),
      'two problems': ({'ghost': missing, 'empty': empty}, 'latest:1', sc.ServingConfigError,
                       ["model 'ghost'", "model 'empty'"]),
  }


CASES = ['missing path', 'not a folder', 'no export folder', 'no versions', 'specific missing',
         'bad name', 'bad name dot', 'bad default name', 'duplicate name',
         'duplicate default name', 'bad versions', 'two problems']


@pytest.mark.parametrize('case', CASES)
def test_errors_write_nothing(models, tmp_path, case):
  chosen, versions, error, needles = _error_cases(models, tmp_path)[case]
  fresh = str(tmp_path / 'out' / 'new.config')
  with pytest.raises(error) as info:
    sc.write_config(chosen, fresh, versions=versions)
  for needle in needles:
    assert needle in str(info.value)
  if error is sc.ServingConfigError:
    assert not isinstance(info.value, sc.UsageError)
  assert not os.path.exists(os.path.dirname(fresh))
  existing = tmp_path / 'existing.config'
  existing.write_bytes(b'# old config\nmodel_config_list {}\n')
  before = existing.read_bytes()
  with pytest.raises(error):
    sc.write_config(chosen, str(existing), versions=versions)
  assert existing.read_bytes() == before
  assert os.listdir(tmp_path).count('existing.config') == 1
  assert not [n for n in os.listdir(tmp_path) if n.startswith('.existing')]


def test_cli_in_process(models, tmp_path, capsys):
  out = tmp_path / 'serving' / 'models.config'
  out.parent.mkdir()
  out.write_text('old')
  status = sc.cli(model=[models['alpha'], f'beta={models["beta"]}', str(tmp_path / 'gone')],
                  output=str(out), versions='latest:1')
  err = capsys.readouterr().err
  assert status == 1 and 'nothing written' in err and 'gone' in err
  assert out.read_text() == 'old'
  assert sc.cli(model=[models['alpha']], output=str(out), versions='nope') == 2
  assert sc.cli(model=[], output=str(out)) == 2
  assert sc.cli(model=[models['alpha']], output=str(out), compose=str(out)) == 2
  assert sc.cli(model=[models['alpha']], output=str(tmp_path)) == 1  # a folder
  assert out.read_text() == 'old'
  capsys.readouterr()
  assert sc.cli(model=[models['alpha'], f'beta={models["beta"]}'], output=str(out),
                versions='latest:2') == 0
  printed = capsys.readouterr().out
  assert 'alpha: base_path ' + os.path.join(models['alpha'], 'export') in printed
  assert 'versions served: 2, 5 (found: 1, 2, 5)' in printed
  assert 'model CycleGAN, step 42; signatures: ' + ', '.join(SIGNATURES) in printed
  assert 'version 3: no readable' in printed  # beta has no tfi2i.json
  text = out.read_text()
  assert '#   python -m tfi2i.serving.config --model=' in text and '--versions=latest:2' in text
  assert [c.name for c in sc.load_config(str(out)).model_config_list.config] == ['alpha', 'beta']
  assert sorted(os.listdir(out.parent)) == ['models.config']  # no temporary files left


def test_compose(models, tmp_path):
  serving = tmp_path / 'serving'
  config = serving / 'models.config'
  compose = serving / 'compose.yaml'
  assert sc.cli(model=[f'alpha={models["alpha"]}', f'beta={models["beta"]}'],
                output=str(config), compose=str(compose)) == 0
  entry = entries(sc.load_config(str(config)))
  assert {n: e.base_path for n, e in entry.items()} == {'alpha': '/models/alpha',
                                                        'beta': '/models/beta'}
  text = compose.read_text()
  assert text.startswith('# Docker Compose file') and '--compose=' in text.splitlines()[2]
  doc = yaml.safe_load(text)
  [service] = doc['services'].values()
  assert service['image'] == 'tensorflow/serving:2.21.0'
  # A request too big for the host ends the container, which Docker starts again.
  assert (service['mem_limit'], service['memswap_limit']) == ('16g', '16g')
  assert service['restart'] == 'unless-stopped'
  assert service['ports'] == ['127.0.0.1:8500:8500', '127.0.0.1:8501:8501']
  assert service['command'] == ['--model_config_file=/config/models.config',
                                '--model_config_file_poll_wait_seconds=60',
                                '--rest_api_timeout_in_ms=600000']
  volumes = service['volumes']
  assert [(v['type'], v['source'], v['target'], v['read_only']) for v in volumes] == [
      ('bind', '../runs/alpha/export', '/models/alpha', True),
      ('bind', '../exports/beta', '/models/beta', True),
      ('bind', '.', '/config', True)]
  for v, host in zip(volumes, [os.path.join(models['alpha'], 'export'), models['beta'],
                               str(serving)]):
    assert os.path.normpath(os.path.join(serving, v['source'])) == host
  # The config file is in the mounted folder under the name the command uses.
  assert os.path.isfile(os.path.join(serving, volumes[2]['source'], 'models.config'))


def test_write_compose_api(models, tmp_path):
  out = tmp_path / 'elsewhere' / 'c.yaml'
  text = sc.write_compose({'beta': models['beta']}, str(out),
                          str(tmp_path / 'cfg' / 'tf.config'),
                          image='tensorflow/serving:2.21.0-gpu', mount_root='/m', memory='6g')
  assert out.read_text() == text
  service = yaml.safe_load(text)['services']['tfserving']
  assert service['image'] == 'tensorflow/serving:2.21.0-gpu'
  assert (service['mem_limit'], service['memswap_limit'], service['restart']) == (
      '6g', '6g', 'unless-stopped')
  assert [(v['source'], v['target']) for v in service['volumes']] == [
      ('../exports/beta', '/m/beta'), ('../cfg', '/config')]
  assert service['command'][0] == '--model_config_file=/config/tf.config'
  assert sc._host_path('/a/b', '/c/d') == '/a/b'  # pylint: disable=protected-access
  assert sc._host_path('/a/b/c', '/a/d') == '../b/c'  # pylint: disable=protected-access
  assert sc._host_path('/a/d/e', '/a/d') == './e'  # pylint: disable=protected-access
  with pytest.raises(sc.UsageError, match='bad --image'):
    sc.write_compose({'beta': models['beta']}, str(out), 'x.config', image='bad image')
  for bad in ('', '0', '16 g', '-1g', '1.5g', 'lots'):
    with pytest.raises(sc.UsageError, match=f"bad --memory '{bad}'.*Docker byte value"):
      sc.write_compose({'beta': models['beta']}, str(out), 'x.config', memory=bad)
  assert out.read_text() == text  # nothing written


def test_compose_memory_flag(models, tmp_path, capsys):
  config, compose = tmp_path / 's' / 'm.config', tmp_path / 's' / 'c.yaml'
  assert sc.cli(model=[f'beta={models["beta"]}'], output=str(config), compose=str(compose),
                memory='nine') == 2
  assert "bad --memory 'nine'" in capsys.readouterr().err
  assert not compose.exists() and not config.exists()
  assert sc.cli(model=[f'beta={models["beta"]}'], output=str(config), compose=str(compose),
                memory='12000m') == 0
  assert 'memory limit 12000m' in capsys.readouterr().out
  text = compose.read_text()
  assert '--memory=12000m' in text.splitlines()[2]  # in the command that regenerates it
  assert yaml.safe_load(text)['services']['tfserving']['mem_limit'] == '12000m'


def test_atomic_write(tmp_path, monkeypatch):
  path = tmp_path / 'f.config'
  path.write_text('old')
  os.chmod(path, 0o640)
  sc.write_atomic(str(path), 'new')
  assert path.read_text() == 'new' and (os.stat(path).st_mode & 0o777) == 0o640

  def fail(*_):
    raise OSError('disk full')

  monkeypatch.setattr(sc.os, 'replace', fail)
  with pytest.raises(OSError, match='disk full'):
    sc.write_atomic(str(path), 'newer')
  assert path.read_text() == 'new' and os.listdir(tmp_path) == ['f.config']


def _run(*args, cwd):
  return subprocess.run([sys.executable, '-m', 'tfi2i.serving.config', *args], cwd=cwd,
                        capture_output=True, text=True, timeout=60,
                        env={**os.environ, 'PYTHONPATH': REPO})


def test_command_line(models, tmp_path):
  cwd = str(tmp_path)
  out = tmp_path / 'serving' / 'models.config'
  result = _run('--model=runs/alpha', f'--model=beta={models["beta"]}',
                '--output=serving/models.config', '--compose=serving/compose.yaml',
                '--versions=all', cwd=cwd)
  assert result.returncode == 0, result.stderr
  assert 'alpha: base_path /models/alpha' in result.stdout
  assert 'versions served: 1, 2, 5' in result.stdout
  assert '#   python -m tfi2i.serving.config --model=runs/alpha' in out.read_text()
  before = out.read_bytes()
  result = _run('--model=runs/alpha', '--output=serving/models.config', '--versions=some',
                cwd=cwd)
  assert result.returncode == 2 and "bad --versions value 'some'" in result.stderr
  result = _run('--model=runs/missing', '--output=serving/models.config', cwd=cwd)
  assert result.returncode == 1 and "model 'missing'" in result.stderr
  result = _run('--model=runs/alpha', cwd=cwd)  # no --output: absl's flag error
  assert result.returncode == 2 and 'output' in result.stderr
  assert out.read_bytes() == before


def test_checked_in_examples():
  """serving/models.config and serving/compose.yaml: the demo's files."""
  config = sc.load_config(os.path.join(REPO, 'serving', 'models.config'))
  [entry] = config.model_config_list.config
  assert (entry.name, entry.base_path) == ('demo', '/models/demo')
  assert entry.model_version_policy == sc.parse_versions('latest:1')
  with open(os.path.join(REPO, 'serving', 'compose.yaml')) as f:
    text = f.read()
  assert text.startswith('#') and 'python -m tfi2i.serving.config' in text.splitlines()[2]
  service = yaml.safe_load(text)['services']['tfserving']
  assert [(v['source'], v['target']) for v in service['volumes']] == [
      ('../runs/demo/export', '/models/demo'), ('.', '/config')]
  assert (service['mem_limit'], service['restart']) == (sc.DEFAULT_MEMORY, 'unless-stopped')
