"""Speech-like sequence classification: spoken digits synthesised offline with Debian's ``espeak-ng``.

espeak-ng is deterministic, so a (voice, variant, speed, pitch, digit) combination is one fixed recording; the
splits hold distinct recordings (some combinations sound identical and are used once). Audio becomes log-magnitude
spectrogram frames with ``torch.stft`` pooled into ``bands`` log-spaced frequency bands: a (frames, bands) feature
sequence, 10 classes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import random
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field

from seqarena.errors import SpecError
from seqarena.tasks.base import Split, Task, TaskParams, register_task

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("", "+m1", "+m3", "+m5", "+f1", "+f2", "+f3", "+f4", "+klatt")
SPEEDS = (110, 140, 170, 200, 230)
PITCHES = (25, 50, 75)
SAMPLE_RATE = 22_050
INSTALL_HINT = "spoken digits need espeak-ng: sudo apt-get install espeak-ng (Debian/Ubuntu)"


#: Bump when the features change, so cached ones are not reused.
FEATURES_VERSION = 2


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak_version() -> str:
    try:
        return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "unknown"


def synthesise(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Mono float samples in [-1, 1] at 22.05 kHz."""
    if not espeak_available():
        raise SpecError(INSTALL_HINT)
    try:
        wav = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch), word],
                             capture_output=True, check=True, timeout=30).stdout
    except (subprocess.SubprocessError, OSError) as e:
        raise SpecError(f"espeak-ng failed for voice {voice!r}: {str(e).splitlines()[0]}") from None
    with wave.open(io.BytesIO(wav)) as w:
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0


def log_spectrogram(audio: np.ndarray, frames: int, bands: int, hop: int = 256, n_fft: int = 512) -> torch.Tensor:
    """(frames, bands) log-magnitude features; the utterance is trimmed of silence, then cropped or zero-padded at
    the start (left), so a causal model reads the utterance's end last."""
    x = torch.from_numpy(audio)
    loud = (x.abs() > 0.01).nonzero()
    if len(loud):
        x = x[int(loud[0]) : int(loud[-1]) + 1]
    spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    edges = np.unique(np.geomspace(2, n_fft // 2 + 1, bands + 1).astype(int))  # log-spaced bands above DC
    pooled = torch.stack([spec[a:b].mean(0) for a, b in itertools.pairwise(edges)], dim=-1)  # (T, <=bands)
    feats = torch.log1p(100 * pooled)
    out = torch.zeros(frames, bands)
    n = min(frames, feats.shape[0])
    out[frames - n :, : feats.shape[1]] = feats[:n]
    return out


class SpeechParams(TaskParams):
    frames: int = Field(48, ge=8, description="spectrogram frames per utterance (11.6 ms each)")
    bands: int = Field(24, ge=4, description="frequency bands per frame")
    n_train: int = 1200
    n_val: int = 200
    n_test: int = 200


@register_task
class SpokenDigits(Task):
    """Which digit was spoken? 10 classes from (frames, bands) spectrogram sequences of espeak-ng recordings with
    7 accents, 9 voice variants, 5 speeds and 3 pitches. Metric accuracy; baseline: majority class.

    Example: espeak-ng -v en-gb+f2 -s 170 -p 50 "seven" -> 48 x 24 features -> label 7.
    """

    name = "speech"
    Params = SpeechParams
    target = "class"

    def make_splits(self) -> dict[str, Split]:
        if not espeak_available():
            raise SpecError(INSTALL_HINT)
        p: SpeechParams = self.params
        # ~20 ms of synthesis per recording: the features are cached on disk, keyed by every parameter
        identity = {"params": p.model_dump(), "features": FEATURES_VERSION, "espeak": espeak_version()}
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqarena" / f"speech-{key}.pt"
        if cache.exists():
            with contextlib.suppress(Exception):  # a damaged cache is rebuilt
                stored = torch.load(cache, weights_only=True)
                return {k: Split(v["x"], v["y"]) for k, v in stored.items()}
        splits = self._synthesise_splits()
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            torch.save({k: {"x": v.x, "y": v.y} for k, v in splits.items()}, tmp)
            tmp.replace(cache)
        return splits

    def _synthesise_splits(self) -> dict[str, Split]:
        p: SpeechParams = self.params
        combos = list(itertools.product(range(10), VOICES, VARIANTS, SPEEDS, PITCHES))
        total = p.n_train + p.n_val + p.n_test
        if total > len(combos):
            raise SpecError(f"task speech: at most {len(combos)} distinct recordings, asked for {total}")
        random.Random(p.data_seed).shuffle(combos)
        # some combinations sound the same (espeak-ng ignores variants for some voices): keep distinct recordings
        # only, so no recording is in two splits
        seen: set[bytes] = set()
        feats: list[torch.Tensor] = []
        labels: list[int] = []
        for d, v, var, speed, pitch in combos:
            audio = synthesise(DIGITS[d], v + var, speed, pitch)
            digest = hashlib.blake2b(audio.tobytes(), digest_size=16).digest()
            if digest in seen:
                continue
            seen.add(digest)
            feats.append(log_spectrogram(audio, p.frames, p.bands))
            labels.append(d)
            if len(feats) == total:
                break
        if len(feats) < total:
            raise SpecError(f"task speech: only {len(feats)} distinct recordings exist, asked for {total}")
        x, y = torch.stack(feats), torch.tensor(labels)
        a, b = p.n_train, p.n_train + p.n_val
        return {"train": Split(x[:a], y[:a]), "val": Split(x[a:b], y[a:b]), "test": Split(x[b:], y[b:])}

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": None, "input_dim": self.params.bands, "head": "classify", "output_dim": 10}

    def baseline(self, split: str = "test") -> dict[str, float]:
        majority = int(torch.bincount(self.splits["train"].y, minlength=10).argmax())
        return {"name": "majority class", "accuracy": float((self.splits[split].y == majority).float().mean())}
