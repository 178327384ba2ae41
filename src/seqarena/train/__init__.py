"""Training: the loop (AdamW, warm-up + cosine, clipping, truncated BPTT, checkpointing, early stop, divergence) and
tuning on validation (learning rate, clip, regularisation)."""

from seqarena.train.loop import TrainConfig, TrainResult, train, train_step_loss
from seqarena.train.tuning import CLIP_GRID, LR_GRID, REG_GRID, tune, tune_lr

__all__ = ["CLIP_GRID", "LR_GRID", "REG_GRID", "TrainConfig", "TrainResult", "train", "train_step_loss", "tune",
           "tune_lr"]
