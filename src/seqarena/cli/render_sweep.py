"""Rich tables of a benchmark sweep: points (rounds pooled), log-log slopes, crossovers, generation."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

from seqarena.analysis.labels import fmt_mb_cell, fmt_number
from seqarena.analysis.summary import HEADLINE, crossovers, generation_table, pooled_points, slopes, with_labels
from seqarena.cli.app import out
from seqarena.store.columns import SPEC_KIND


def print_sweep(scenario: str, df: pd.DataFrame) -> None:
    """Every table a sweep of ``scenario`` gets, from its rows (ok and failed)."""
    df = with_labels(df)
    if df.empty:
        out.print("no trials")
        return
    if scenario == "generation":
        ok = df[df["status"] == "ok"]
        if ok.empty:  # every trial failed (e.g. a bidirectional model): the sweep's summary names the reasons
            out.print("no successful generation trials")
            return
        _print_generation(ok)
        return
    if scenario == "gradients":
        _print_gradients(df)
        return
    _print_points(scenario, df)
    ok = df[df["status"] == "ok"]
    if ok["seq_len"].nunique() < 2:
        return
    for metric in [HEADLINE[scenario][0]] + (["peak_bytes"] if scenario != "memory" else []):
        sl = slopes(ok, metric)
        if sl is not None and not sl.empty:
            _print_slopes(scenario, sl, "peak memory" if metric == "peak_bytes" else HEADLINE[scenario][1])
    cr = crossovers(ok)
    if cr is not None and not cr.empty:
        _print_crossovers(scenario, cr)


def _print_generation(ok: pd.DataFrame) -> None:
    gt = generation_table(ok)
    positions = [c for c in gt.columns if c.startswith("decode_ms@") and gt[c].notna().any()]
    first = gt.iloc[0]
    table = Table(title=f"generation of N={first['tokens']} tokens at batch {first['batch']}, "
                  f"{int(first['rounds'])} round(s): ms per token at generated position p "
                  "(median over rounds and p-2..p+2)", title_justify="left")
    heads = ["model", "mode", "prefill ms", "decode ms", *(f"@{c.split('@')[1]}" for c in positions),
             "total s", "state bytes", "peak MB"]
    for h in heads:
        table.add_column(h, justify="left" if h in ("model", "mode") else "right",
                         no_wrap=h in ("model", "mode", "state bytes"))
    for _, r in gt.iterrows():
        ms = [fmt_number(r[c], ".3f") for c in ("prefill_ms", "decode_ms_median", *positions, "total_s")]
        table.add_row(r["label"], r["mode"], *ms, fmt_number(r["state_bytes"], ",.0f"), fmt_mb_cell(r["peak_bytes"]))
    out.print(table)


def _print_gradients(df: pd.DataFrame) -> None:
    """One row per model and n: mean |dL_T/dx_t| at a few distances T - t and the far/near ratio (how much of the
    last position's gradient reaches the first token)."""
    table = Table(title="gradients at initialisation: mean |dL_T/dx_t| by distance T - t (float64; last position's "
                  "loss only); far/near = distance n-1 over distance 1", title_justify="left")
    for c in ("model", "n", "batch", "d=1", "d=n/4", "d=n/2", "d=n-1", "far/near", "failed"):
        table.add_column(c, justify="left" if c in ("model", "failed") else "right", no_wrap=c == "model")
    for (label, n, batch), g in df.sort_values(["label", "seq_len"]).groupby(["label", "seq_len", "batch"],
                                                                           sort=False):
        ok = g[g["status"] == "ok"]
        failed = "" if len(ok) else "; ".join(g["failure"].fillna("error").astype(str).unique())
        norms = ok["grad_norm_by_distance"].iloc[0] if len(ok) and "grad_norm_by_distance" in ok else {}
        at = {d: _norm_at(norms, d) for d in (1, n // 4, n // 2, n - 1)}
        near, far = at[1], at[n - 1]
        ratio = far / near if near and far is not None else None
        table.add_row(label, f"{n:,}", str(batch), *(fmt_number(v, ".3g") for v in at.values()),
                      fmt_number(ratio, ".3g"), failed)
    out.print(table)


def _norm_at(norms: dict[str, float], d: int) -> float | None:
    """The probe's value at the largest probed distance <= d (the probe keeps powers of two and n-1)."""
    probed = sorted(int(k) for k in norms if int(k) <= d)
    return norms[str(probed[-1])] if probed else None


def _print_points(scenario: str, df: pd.DataFrame) -> None:
    points = pooled_points(df).sort_values(["label", "batch", "seq_len"])
    memory = scenario == "memory"
    compiled = "compile.compile_s" in points and points["compile.compile_s"].notna().any()
    table = Table(title=f"{scenario} (rounds pooled: timing over all their per-call samples)"
                  + ("; compile s: seconds spent compiling, median over rounds, outside every timing"
                     if compiled else ""), title_justify="left")
    cols = ["model", "n", "batch"] + (["kind", "peak MB", "accounted MB"] if memory else
                                      ["median ms", "IQR %", "tok/s", "seq/s", "peak MB", "MFU %"])
    cols += ["compile s"] if compiled else []
    for c in [*cols, "rounds", "failed"]:
        table.add_column(c, justify="left" if c in ("model", "kind", "failed") else "right", no_wrap=c == "model")
    for _, r in points.iterrows():
        cells = [r["label"], f"{r['seq_len']:,}", str(r["batch"])]
        if memory:
            kind = r.get(SPEC_KIND)
            acc = r.get("saved_bytes") if kind == "train" else r.get("state_bytes")
            cells += [str(kind), fmt_mb_cell(r.get("peak_bytes")), fmt_mb_cell(acc)]
        else:
            med = r.get("median_s", math.nan)
            tokens = r["batch"] * r["seq_len"]
            tok_s, seq_s = (tokens / med, r["batch"] / med) if med == med else (None, None)
            cells += [fmt_number(1e3 * med, ",.3f"), fmt_number(100 * r.get("iqr_rel", math.nan), ".0f"),
                      fmt_number(tok_s, ",.0f"), fmt_number(seq_s, ",.1f"),
                      fmt_mb_cell(r.get("peak_bytes")), fmt_number(100 * r.get("mfu", math.nan), ".1f")]
        if compiled:
            cells.append(fmt_number(r.get("compile.compile_s", math.nan), ".2f"))
        busy = int(r.get("contended", 0) or 0)
        table.add_row(*cells, f"{r['rounds']} ({busy} under load)" if busy else str(r["rounds"]), r["failed"])
    out.print(table)


def _print_slopes(scenario: str, sl: pd.DataFrame, what: str) -> None:
    t = Table(title=f"log-log slope of {what} vs n (95% t-interval; fitted over the larger n, rounds as repeats)",
              title_justify="left")
    kind = ["kind"] if scenario == "memory" else []
    for c in ("model", "batch", *kind, "slope", "95% CI", "n range", "points"):
        t.add_column(c, justify="left" if c in ("model", "kind") else "right", no_wrap=c == "model")
    for _, r in sl.iterrows():
        ci = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if math.isfinite(r["ci_low"]) else "— (2 points)"
        t.add_row(r["label"], str(r["batch"]), *([r["kind"]] if kind else []), f"{r['slope']:.2f}", ci,
                  f"{r['n_from']:,.0f}–{r['n_to']:,.0f}", str(r["points"]))
    out.print(t)


def _print_crossovers(scenario: str, cr: pd.DataFrame) -> None:
    t = Table(title=f"crossovers ({HEADLINE[scenario][1]}: who is lower below / above n)", title_justify="left")
    kind = ["kind"] if scenario == "memory" else []
    for c in ("a", "b", "batch", *kind, "crossover n", "lower below", "lower above"):
        t.add_column(c, justify="right" if c in ("batch", "crossover n") else "left")
    for _, r in cr.iterrows():
        n = "none in range" if math.isnan(r["crossover_n"]) else f"{r['crossover_n']:,.0f}"
        t.add_row(r["a"], r["b"], str(r["batch"]), *([r["kind"]] if kind else []), n, r["below"], r["above"])
    out.print(t)
