import pytest

from tfi2i.training.schedules import LinearDecay


def test_linear_decay_matches_official_lambda_rule():
  s = LinearDecay(2e-4, steps_per_epoch=10, n_epochs=100, n_epochs_decay=100)
  lr = lambda epoch: float(s(epoch * 10 + 3))
  assert lr(0) == pytest.approx(2e-4)
  assert lr(99) == pytest.approx(2e-4)  # the first 100 epochs at the full rate
  assert lr(100) == pytest.approx(2e-4 * (1 - 1 / 101))
  assert lr(150) == pytest.approx(2e-4 * (1 - 51 / 101))
  assert lr(199) == pytest.approx(2e-4 / 101)
  assert lr(500) == 0.0


def test_linear_decay_needs_steps():
  with pytest.raises(ValueError):
    LinearDecay(1e-3, 0, 1, 1)
