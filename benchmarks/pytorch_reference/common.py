"""What every reference module returns, and small helpers shared by them."""
import dataclasses
from typing import Callable

import torch
import torch.nn.functional as F


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


def bce_summed(logits, labels):
  """Sigmoid cross-entropy summed over the attributes, averaged over the batch (StarGAN's
  solver.py classification_loss; bluestyle97/STGAN-pytorch's, which copies it)."""
  return F.binary_cross_entropy_with_logits(logits, labels, reduction='sum') / logits.shape[0]


def gradient_penalty(disc, real, fake):
  """WGAN-GP as StarGAN's solver.py (and bluestyle97/STGAN-pytorch's agent) computes it:
  alpha * real + (1 - alpha) * fake per image, the critic's score's gradient there, mean of
  (||grad||_2 - 1)^2. disc returns (score, logits)."""
  alpha = torch.rand(real.shape[0], 1, 1, 1)
  mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
  scores, _ = disc(mixed)
  grad, = torch.autograd.grad(scores, mixed, torch.ones_like(scores), create_graph=True)
  return ((grad.flatten(1).pow(2).sum(1).sqrt() - 1) ** 2).mean()
