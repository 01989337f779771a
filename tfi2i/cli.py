"""Running a module's `cli(**flags)` function as a command (absl flags, exit status)."""
from absl import app


def run(define_flags, cli):
  """Defines the flags (only now, so importing a module adds no global flags), parses them
  and exits with `cli(**{name: value})`'s status."""
  holders = define_flags()

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f'unexpected arguments: {argv[1:]}')
    return cli(**{name: holder.value for name, holder in holders.items()})

  app.run(main)
