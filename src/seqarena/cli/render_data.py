"""The data recommendation on the terminal: the candidates beside the baselines, the pick and why, the split, the
budget's plan, the machine, and where the model and the page went."""

from __future__ import annotations

from rich.table import Table

from seqarena.analysis.labels import MISSING, fmt_gain, fmt_mean_ci, fmt_number
from seqarena.cli.app import out
from seqarena.recommender import DataRecommendation


def print_data_recommendation(rec: DataRecommendation) -> None:
    """The table, the pick and its lines, then the facts a reader needs to trust them."""
    d = rec.data
    metric = d["metric"] + (" (higher is better)" if d["higher_is_better"] else " (lower is better)")
    s = rec.settings
    table = Table(title=f"recommend --data {d['path']} ({d['kind']}; test {metric}; n = {d['seq_len']}, batch "
                        f"{s['batch']}, {s['threads']} threads; the baseline to beat: {rec.baseline})",
                  title_justify="left")
    for col in ("model", "status", f"test {d['metric']} [95% CI]", "gain vs baseline", "latency ms",
                "infer MB", "train MB", "lr", "to best s", "trials"):
        table.add_column(col, justify="left" if col in ("model", "status") else "right")
    for c in rec.candidates:
        trials = c["trials"]
        table.add_row(c["model"], c["status"], fmt_mean_ci(c["mean"], c["ci"]), fmt_gain(c["gain"], c["gain_ci"]),
                      fmt_number(c["latency_ms"], ".3g"), fmt_number(c["memory_mb"], ".3g"),
                      fmt_number(c["train_memory_mb"], ".3g"), fmt_number(c["lr"], "g"),
                      fmt_number(c["time_to_best_s"], ".3g"),
                      f"#{trials[0]}-#{trials[-1]}" if trials else MISSING)
    for name, scores in rec.baselines.items():
        value = scores.get(d["metric"])
        table.add_row(f"[dim]{name}[/dim]", "baseline" + (" (best)" if name == rec.baseline else ""),
                      fmt_number(value, ".4g"), "", "", "", "", "", "", "")
    out.print(table)
    out.print(f"pick: [bold]{rec.pick}[/bold]")
    for line in rec.lines:
        out.print(f"  {line}", highlight=False)
    b = rec.budget
    out.print(f"  split: {d['split']}", highlight=False)
    out.print(f"  budget {s['budget_s']:g} s, equal wall-clock per candidate ({b['per_candidate_s']:.0f} s): "
              f"{b['grid']} learning rates x {b['tune_s']:.1f} s on validation (seed 0), then {b['runs']} runs x "
              f"{b['run_s']:.1f} s at the best, early stopping on validation; ~{s['params']:,} parameters each, "
              f"float32, training batch {s['train_batch']}", highlight=False)
    m = rec.machine
    out.print(f"  machine: {m['cpu']}, torch {m['torch']}, cost at {m['threads']} threads", highlight=False)
    if rec.failures:
        out.print(f"  failed or missing trials: {'; '.join(rec.failures)}", highlight=False)
    if rec.model_path:
        out.print(f"  model: {rec.model_path} (seqarena.models.load(path))", highlight=False)
    if rec.page:
        out.print(f"  page: {rec.page}", highlight=False)
    out.print(f"  store: {rec.db} ({len(rec.trials)} trials cited)", highlight=False)
