"""What every reference module returns, and small helpers shared by them."""
import dataclasses
from typing import Callable


@dataclasses.dataclass
class Reference:
  """step(): one training step (forward, backward, optimizer updates), as tfi2i's train_step
  for the model; infer(): one generator inference call on infer_batch images (called under
  torch.no_grad() with the networks in eval mode when the official test code does so);
  params: network name -> parameter count."""
  step: Callable[[], None]
  infer: Callable[[], object]
  params: dict
  infer_batch: int = 1


def count(module) -> int:
  return sum(p.numel() for p in module.parameters())


def set_requires_grad(modules, flag: bool):
  for m in modules:
    for p in m.parameters():
      p.requires_grad_(flag)
