"""Training: the loop (AdamW, warm-up + cosine, clipping, truncated BPTT, checkpointing, early stop, divergence)."""

from seqarena.train.loop import LR_GRID, TrainConfig, TrainResult, train, train_step_loss, tune_lr

__all__ = ["LR_GRID", "TrainConfig", "TrainResult", "train", "train_step_loss", "tune_lr"]
