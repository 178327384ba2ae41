"""The results frame's column names that more than one module reads, in one place: a misspelt name is an import
error, not a silently missing column. The frame flattens each stored row's ``spec`` and ``env`` (see
:mod:`seqarena.store.frames`)."""

from __future__ import annotations

# the machine and software a trial ran on (its ``env``)
ENV_CORES = "env.cores"
ENV_CPU = "env.cpu"
ENV_GIT_COMMIT = "env.git_commit"
ENV_GIT_DIRTY = "env.git_dirty"
ENV_GPU = "env.gpu"
ENV_NODE = "env.node"
ENV_PLATFORM = "env.platform"
ENV_PYTHON = "env.python"
ENV_RAM_BYTES = "env.ram_bytes"
ENV_THREADS = "env.threads"
ENV_TORCH = "env.torch"
ENV_TRANSFORMERS = "env.transformers"

# the trial's settings (its ``spec``)
SPEC_BATCH = "spec.batch"
SPEC_BUDGET_S = "spec.budget_s"
SPEC_CHECKPOINTING = "spec.checkpointing"
SPEC_CHUNK = "spec.chunk"
SPEC_COMPILE = "spec.compile"
SPEC_DEVICE = "spec.device"
SPEC_DTYPE = "spec.dtype"
SPEC_KIND = "spec.kind"
SPEC_LAYERS = "spec.layers"
SPEC_LR = "spec.lr"
SPEC_MEMORY_CAP_MB = "spec.memory_cap_mb"
SPEC_MODE = "spec.mode"
SPEC_PARAMS = "spec.params"
SPEC_ROUND = "spec.round"
SPEC_SCENARIO = "spec.scenario"
SPEC_SEED = "spec.seed"
SPEC_SEQ_LEN = "spec.seq_len"
SPEC_STEPS = "spec.steps"
SPEC_TASK = "spec.task"
SPEC_TBPTT = "spec.tbptt"
SPEC_TOKENS = "spec.tokens"
SPEC_TUNE_LR = "spec.tune_lr"
