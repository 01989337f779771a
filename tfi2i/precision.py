"""`precision='auto'`: bfloat16 compute where the hardware has it, float32 elsewhere.

bfloat16 (Keras policy `mixed_bfloat16`) is fast only where the hardware computes it: on x86
CPUs with AVX512-BF16 or AMX (the `avx512_bf16` / `amx_bf16` flags of /proc/cpuinfo), and on
GPUs of compute capability 8.0 and newer (Ampere on). Elsewhere TensorFlow emulates it, and
a CycleGAN step ran 4.4x slower than in float32 on an Intel Xeon without those flags
(shared/bench/README.md), so 'auto' picks float32 there. When a GPU is visible the model
computes on it, so the GPUs decide; otherwise the CPU does.

Explicit policies ('float32', 'mixed_bfloat16', 'mixed_float16') are used as they are.
"""
import dataclasses
import os

AUTO = 'auto'
# the x86 CPU flags (Linux /proc/cpuinfo) of native bfloat16 matrix arithmetic
BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')
# CUDA compute capability from which GPUs have bfloat16 tensor cores (Ampere)
BF16_GPU_CAPABILITY = (8, 0)
CPUINFO = '/proc/cpuinfo'


@dataclasses.dataclass(frozen=True)
class Choice:
  requested: str  # what the recipe or flag asked for
  policy: str  # the Keras dtype policy used
  reason: str

  def line(self) -> str:
    if self.requested == self.policy:
      return f'precision: {self.policy} ({self.reason})'
    return f'precision: {self.requested} -> {self.policy} ({self.reason})'

  def record(self) -> dict:
    return dataclasses.asdict(self)


def cpu_flags(path: str = CPUINFO) -> frozenset:
  """The CPU feature flags of the first processor in `path` (Linux); empty when the file
  cannot be read (another OS)."""
  try:
    with open(path, encoding='utf-8', errors='replace') as f:
      for line in f:
        key, sep, value = line.partition(':')
        if sep and key.strip() in ('flags', 'Features'):
          return frozenset(value.split())
  except OSError:
    pass
  return frozenset()


def visible_gpus() -> list:
  """(name, compute capability or None) of each GPU TensorFlow sees."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  out = []
  for device in tf.config.list_physical_devices('GPU'):
    try:
      details = tf.config.experimental.get_device_details(device)
    except (ValueError, RuntimeError):
      details = {}
    out.append((details.get('device_name', device.name), details.get('compute_capability')))
  return out


def choose(requested: str, *, flags=None, gpus=None) -> Choice:
  """The policy for `requested` ('auto' or a Keras policy name). flags: the CPU's feature
  flags (default: read from /proc/cpuinfo); gpus: [(name, (major, minor) or None)] (default:
  the GPUs TensorFlow sees)."""
  if requested != AUTO:
    return Choice(requested, requested, 'as set')
  gpus = visible_gpus() if gpus is None else list(gpus)
  if gpus:
    old = [f'{name} (compute capability {cc[0]}.{cc[1]})' if cc else f'{name} (compute '
           'capability unknown)' for name, cc in gpus
           if not cc or tuple(cc) < BF16_GPU_CAPABILITY]
    if old:
      return Choice(AUTO, 'float32', f'no native bfloat16 on {", ".join(old)}')
    return Choice(AUTO, 'mixed_bfloat16', f'{len(gpus)} GPU(s) with bfloat16 (compute '
                  'capability >= 8.0)')
  flags = cpu_flags() if flags is None else frozenset(flags)
  found = [f for f in BF16_CPU_FLAGS if f in flags]
  if found:
    return Choice(AUTO, 'mixed_bfloat16', f'this CPU has {" and ".join(found)}')
  cpus = os.cpu_count()
  return Choice(AUTO, 'float32', f'this CPU ({cpus} cores) has no {" or ".join(BF16_CPU_FLAGS)}:'
                ' bfloat16 would be emulated, several times slower than float32')
