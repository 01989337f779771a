"""The recipe's sections other than the model's own (data, train, optimizer, schedule,
export): one schema each, in this package, the counterpart of the model side's rule that a
constructor is its recipe schema (BUILD_NOTES.md, "The data and training API").

A `Section` holds, for each of its keys, the default, the text that says what the key is
and where its default comes from, and the check of its value; `Section.config()` makes the
recipe's ConfigDict (recipes/common.py only re-exports it), `Section.check()` refuses an
unknown or misspelled key by name (with the closest known key) and a bad value, and
`Section.upgrade()` brings a section written by an older tfi2i (an old recipe.json) to the
current keys: a moved key goes to its new place, a missing key takes its default (which is
what the code of that time read when the key was missing). Code reads values without
fallback defaults (`cfg.key`, never a getattr or .get with a default).

This module imports nothing of tfi2i: every other module may import it.
"""
import dataclasses
import difflib
from typing import Any, Callable, Optional

import ml_collections


class RecipeError(ValueError):
  """A recipe file, key or value that cannot be used; the message names it."""


REQUIRED = object()  # a key without a default: the recipe file must set it (e.g. lr)


@dataclasses.dataclass(frozen=True)
class Key:
  """One recipe key: its default, what it is (and the source of the default), and what it
  may hold: `choices` (a tuple, or a function returning one at check time, for registries),
  or `check(value) -> error text or None`. `kind` is the value's type when the default is
  None (a placeholder: any value of that type may be set later)."""
  default: Any
  doc: str
  choices: Any = None
  check: Optional[Callable[[Any], Optional[str]]] = None
  kind: Optional[type] = None


def at_least(low, what='') -> Callable[[Any], Optional[str]]:
  """A Key.check: the value is a number >= low."""
  def check(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
      return f'must be >= {low}{what}, got {value!r}'
    return None
  return check


def one_of(choices) -> tuple:
  return tuple(choices() if callable(choices) else choices)


# Keys an older tfi2i kept elsewhere: {'old section.key': 'new section.key'}. An old
# recipe.json is mapped by `upgrade`; the old name in a recipe file or on the command line is
# an error that says where the key is now.
MOVED = {'train.export_at_end': 'export.at_end'}


def unknown_key(where: str, key: str, known) -> RecipeError:
  """The error for `where.key` not being a key of `known` (the closest one suggested; a key
  that moved says where it is now)."""
  full = f'{where}.{key}' if where else key
  if full in MOVED:
    return RecipeError(f'recipe key {full} is now {MOVED[full]}: set that instead')
  close = difflib.get_close_matches(key, list(known), n=1)
  hint = f' (did you mean {f"{where}." if where else ""}{close[0]}?)' if close else ''
  return RecipeError(f'unknown recipe key {full}{hint}; {where or "the recipe"} takes: '
                     f'{", ".join(sorted(known))}')


class Section:
  """The schema of one recipe section: {key: Key} in the order the recipe shows them.

  cross_check(cfg): checks that involve several
  keys, run after the per-key ones (an error text, or None).
  """

  def __init__(self, name: str, keys: dict, *,
               cross_check: Optional[Callable[[Any], Optional[str]]] = None):
    self.name, self.keys = name, dict(keys)
    self.cross_check = cross_check

  def config(self, keys: Optional[dict] = None, **values) -> ml_collections.ConfigDict:
    """The section at its defaults, with `values` changed (an unknown name is a RecipeError;
    a REQUIRED key must be among them). keys: a schema of other keys to use (e.g. with a
    stream's or a source's keys added)."""
    keys = self.keys if keys is None else keys
    unknown = sorted(set(values) - set(keys))
    if unknown:
      raise unknown_key(self.name, unknown[0], keys)
    out = ml_collections.ConfigDict()
    for key, spec in keys.items():
      value = values.get(key, spec.default)
      if value is REQUIRED:
        raise RecipeError(f'recipe section {self.name} needs {key} ({spec.doc})')
      if value is None and spec.kind is not None:
        value = ml_collections.config_dict.placeholder(spec.kind)
      out[key] = value
    return out

  def check(self, cfg, keys: Optional[dict] = None) -> None:
    """RecipeError naming the first unknown key, missing key or bad value of the section."""
    keys = self.keys if keys is None else keys
    if cfg is None:
      raise RecipeError(f'the recipe has no {self.name} section')
    for key in cfg.keys():
      if key not in keys:
        raise unknown_key(self.name, key, keys)
    for key, spec in keys.items():
      if key not in cfg:
        raise RecipeError(f'recipe section {self.name} lacks key {key} ({spec.doc})')
      value = cfg[key]
      if spec.choices is not None:
        choices = one_of(spec.choices)
        if value not in choices:
          raise RecipeError(f'recipe key {self.name}.{key} is {value!r}; expected one of '
                            f'{choices}')
      if spec.check is not None:
        problem = spec.check(value)
        if problem:
          raise RecipeError(f'recipe key {self.name}.{key} {problem}')
    if self.cross_check is not None:
      problem = self.cross_check(cfg)
      if problem:
        raise RecipeError(problem)

  def upgrade(self, recipe: dict, keys: Optional[dict] = None) -> list:
    """Brings `recipe[self.name]` (a plain dict, as recipe.json holds it) to the current
    keys in place: moved keys (this section's and those moved into it) go to their place,
    missing keys take their default. Returns what was done, one line each."""
    keys = self.keys if keys is None else keys
    done = []
    for old, new in MOVED.items():
      old_section, old_key = old.split('.', 1)
      new_section, new_key = new.split('.', 1)
      if new_section != self.name:
        continue
      source = recipe.get(old_section)
      if isinstance(source, dict) and old_key in source:
        section = recipe.setdefault(self.name, {})
        value = source.pop(old_key)
        section.setdefault(new_key, value)
        done.append(f'{old} -> {new}')
    section = recipe.setdefault(self.name, {})
    for key, spec in keys.items():
      if key not in section and spec.default is not REQUIRED:
        section[key] = spec.default
        done.append(f'{self.name}.{key} added (default {spec.default!r})')
    return done
