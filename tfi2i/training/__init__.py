"""Strategy choice, the training loop, learning-rate schedules, summaries, checkpoints."""
