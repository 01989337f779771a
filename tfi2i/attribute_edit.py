"""The attribute editors' side of `python -m tfi2i.translate --attrs=... | --edit=each`
(StarGAN, AttGAN, STGAN exports): which signatures of an export edit (found by their
declarations: a per-image input of named attributes, a classifier output with the same
names, a variant with the Grad-CAM mask), the --attrs syntax, and the target attributes
(tfi2i.attribute_rules, the official test-time targets). tfi2i.translate.edit_attributes
runs them over image files and says what it writes.
"""
from tfi2i import attribute_rules
from tfi2i import endpoints as ep

EACH = 'each'


def editor_signatures(model):
  """(edit signature, its target input, probabilities signature, its output, mask variant
  or None) of an exported attribute editor; ValueError when the model is not one."""
  for name, endpoint in model.endpoints.items():
    if name.endswith(ep.BYTES_SUFFIX) or endpoint.variant_of:
      continue
    target = next((i for i in endpoint.inputs if i.labels and i.per_image), None)
    if target is None:
      continue
    classifier = next(
        ((n, o) for n, e in model.endpoints.items() if not n.endswith(ep.BYTES_SUFFIX)
         for o in e.outputs if o.kind == ep.VECTOR and tuple(o.labels) == tuple(target.labels)),
        None)
    if classifier is None:
      continue
    mask = next((n for n, e in model.endpoints.items() if not n.endswith(ep.BYTES_SUFFIX)
                 and e.variant_of == name and any(o.kind == ep.HEATMAP for o in e.outputs)),
                None)
    return name, target, classifier[0], classifier[1], mask
  raise ValueError(f'{model.description} is not an attribute editor (no signature takes a '
                   'named attribute vector): --attrs and --edit are for StarGAN, AttGAN and '
                   'STGAN exports')


def parse_attrs(text: str, names) -> dict:
  """'Bangs=1,Male=-1' -> {index: 1.0 or 0.0}; ValueError naming a bad item."""
  out = {}
  for item in (t.strip() for t in str(text).split(',')):
    if not item:
      continue
    name, sep, value = item.partition('=')
    name = name.strip()
    if not sep:
      raise ValueError(f'--attrs item {item!r}: expected NAME=1 or NAME=-1')
    if name not in names:
      raise ValueError(f'--attrs: the model has no attribute {name!r}; it edits: '
                       f'{", ".join(names)}')
    try:
      number = float(value)
    except ValueError:
      raise ValueError(f'--attrs item {item!r}: the value must be 1 (set) or -1 / 0 '
                       '(clear)') from None
    if number not in (1.0, 0.0, -1.0):
      raise ValueError(f'--attrs item {item!r}: the value must be 1 (set) or -1 / 0 (clear)')
    out[list(names).index(name)] = 1.0 if number > 0 else 0.0
  if not out:
    raise ValueError('--attrs is empty: name the attributes to change, e.g. --attrs=Bangs=1')
  return out


def target_rule(target_input) -> str:
  """The editor's test-time rule, as its export declares it on the target input (exports
  made before it was declared, and models served without their tfi2i.json: StarGAN's)."""
  return getattr(target_input, 'rule', '') or attribute_rules.CREATE_LABELS


def each_changed(source, names, rule=attribute_rules.CREATE_LABELS):
  """[(attribute name, target vectors [n, k])]: per attribute, `source` ({0, 1}, [n, k])
  with that attribute changed by the editor's official rule (attribute_rules: StarGAN's
  create_labels, AttGAN's / STGAN's flip and conflict check), the rest kept."""
  return [(name, attribute_rules.change(source, names, j, rule=rule))
          for j, name in enumerate(names)]


def with_changes(source, names, changes, rule=attribute_rules.CREATE_LABELS):
  """`source` ({0, 1}, [n, k]) with the attributes of `changes` ({index: 1.0 or 0.0}, as
  parse_attrs gives) set or cleared (setting one clears those it excludes under `rule`, e.g.
  the other hair colours)."""
  target = source
  for index, value in changes.items():
    target = attribute_rules.change(target, names, index, value, rule=rule)
  return target
