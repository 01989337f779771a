"""The shape of the house (shared/DESIGN.md, issue 25): arrows one way, rooms small enough to
read. Read from the source (ast), so an import inside a function counts as much as one at
the top."""
import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'tfi2i')
MAX_LINES = 800


def _modules() -> dict:
  """{dotted module name: path} of every module of the package."""
  out = {}
  for path in glob.glob(os.path.join(PACKAGE, '**', '*.py'), recursive=True):
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
    out[rel[:-len('.__init__')] if rel.endswith('.__init__') else rel] = path
  return out


def import_graph() -> dict:
  """{module: {module it imports, anywhere in its file}}, tfi2i modules only. `from P import
  N` is an arrow to P.N when that is a module, else to P."""
  modules = _modules()
  graph = {}
  for name, path in modules.items():
    with open(path, encoding='utf-8') as f:
      tree = ast.parse(f.read(), path)
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    targets = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        targets.update(a.name for a in node.names)
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ''
        if node.level:
          base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1] +
                          ([base] if base else []))
        for alias in node.names:
          full = f'{base}.{alias.name}'
          targets.add(full if full in modules else base)
    graph[name] = {t for t in targets if t in modules and t != name}
  return graph


def _cycle_through(graph, start):
  """A path start -> ... -> start, or None."""
  stack, seen = [(start, [start])], set()
  while stack:
    node, path = stack.pop()
    for nxt in sorted(graph.get(node, ())):
      if nxt == start:
        return path + [start]
      if nxt not in seen:
        seen.add(nxt)
        stack.append((nxt, path + [nxt]))
  return None


def test_the_graph_reader_sees_imports_inside_functions():
  graph = import_graph()
  # tfi2i/train.py imports the loop inside main() (after making the strategy)
  assert 'tfi2i.training.loop' in graph['tfi2i.train']
  assert 'tfi2i.data.sources.base' in graph['tfi2i.data.sources.folder_source']
  assert _cycle_through({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}, 'a') == ['a', 'b', 'c', 'a']


def test_no_module_imports_a_module_that_imports_it_back():
  graph = import_graph()
  cycles = {}
  for name in sorted(graph):
    cycle = _cycle_through(graph, name)
    if cycle:
      cycles[frozenset(cycle)] = ' -> '.join(cycle)
  assert not cycles, 'import circles:\n' + '\n'.join(sorted(cycles.values()))


def test_arrows_point_one_way():
  """Nets, layers and losses know no models or training; models know no data or training."""
  graph = import_graph()
  wrong = []
  lower = [m for m in graph if m.startswith('tfi2i.nets') or m in ('tfi2i.layers',
                                                                    'tfi2i.losses')]
  for m in lower:
    wrong += [f'{m} -> {t}' for t in graph[m]
              if t.startswith(('tfi2i.models', 'tfi2i.training', 'tfi2i.data'))]
  for m in (m for m in graph if m.startswith('tfi2i.models')):
    wrong += [f'{m} -> {t}' for t in graph[m] if t.startswith(('tfi2i.data', 'tfi2i.training'))]
  for m in (m for m in graph if m.startswith('tfi2i.schema')):
    wrong += [f'{m} -> {t}' for t in graph[m] if t.startswith(('tfi2i.models', 'tfi2i.config'))]
  assert not wrong, '\n'.join(wrong)


def test_no_room_is_too_big_to_read():
  big = []
  for name, path in sorted(_modules().items()):
    with open(path, encoding='utf-8') as f:
      n = sum(1 for _ in f)
    if n > MAX_LINES:
      big.append(f'{os.path.relpath(path, ROOT)}: {n} lines')
  assert not big, f'files over {MAX_LINES} lines:\n' + '\n'.join(big)
