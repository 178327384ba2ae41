"""Every model seqarena can build, described for a listing (``seqarena list``, ``seqarena.models.catalogue()``): the
registered ones and the HF architectures, with whether the installed transformers can build each."""

from __future__ import annotations

from typing import Any

from seqarena.models.registry import available, get_class


def doc_summary(obj: Any) -> str:
    """The first line of an object's docstring ('' without one: a user's model need not have it)."""
    return next(iter((obj.__doc__ or "").strip().splitlines()), "")


def catalogue() -> dict[str, dict[str, Any]]:
    """Each model by name: ``summary``, ``family``, ``causal``, ``generation_modes`` and ``fields`` (the spec's
    fields with their defaults); for ``hf:`` architectures also ``status`` (``available``, ``unsupported: ...``,
    ``missing: ...``) and their config class."""
    from seqarena.models.hf import hf_catalogue

    out: dict[str, dict[str, Any]] = {}
    for name in available():
        cls = get_class(name)
        out[name] = {
            "summary": doc_summary(cls),
            "family": cls.family,
            "causal": "varies (spec field causal)" if "causal" in cls.Spec.model_fields else cls.causal,
            "generation_modes": list(cls.generation_modes),
            "fields": cls.describe(),
        }
    for label, info in hf_catalogue().items():  # the HF architectures: which the installed transformers can build
        out[label] = {"summary": f"transformers' {info['config'].removesuffix('Config')} by config, random init",
                      **info}
        if info["status"] == "available":
            cls = get_class(label)
            out[label] |= {"causal": True, "generation_modes": list(cls.generation_modes), "fields": cls.describe()}
    return out
