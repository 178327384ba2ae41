"""The ``seqarena`` command line: thin; it parses, calls the Python API and prints with rich.

Every user error (unknown model or spec field, bad option value) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import seqarena
from seqarena.demo import DemoRow, DemoSettings, environment, run_demo
from seqarena.models import SpecError, available, get_class

app = typer.Typer(
    name="seqarena",
    help="Transformer or RNN? Measured on your own hardware.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# piped output (CI logs, files, closing notes) gets a fixed 120 columns instead of rich's 80
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"seqarena {seqarena.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Transformer or RNN? Measured on your own hardware."""


@app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """List the registered models with their spec fields and defaults."""
    registry = {}
    for name in available():
        cls = get_class(name)
        registry[name] = {
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "causal": "varies (spec field causal)" if "causal" in cls.Spec.model_fields else cls.causal,
            "generation_modes": list(cls.generation_modes),
            "fields": cls.describe(),
        }
    if as_json:
        print(json.dumps(registry, indent=2, default=str))
        return
    for name, info in registry.items():
        table = Table(title=f"[bold]{name}[/bold] — {info['summary']}", title_justify="left", show_edge=False)
        table.add_column("field")
        table.add_column("default")
        table.add_column("description")
        for field, meta in info["fields"].items():
            table.add_row(field, repr(meta["default"]), meta["description"])
        out.print(table)
        out.print(f"  generation modes: {', '.join(info['generation_modes'])}\n")


@app.command()
def demo(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Model as name[:field=value,...]; repeatable. Default: every registered model."
        ),
    ] = None,
    params: Annotated[int, typer.Option(help="Parameter budget per model (embeddings included).")] = 200_000,
    layers: Annotated[int, typer.Option(help="Layers per model.")] = 2,
    vocab_size: Annotated[int, typer.Option(help="Token vocabulary.")] = 256,
    batch: Annotated[int, typer.Option(help="Training batch size.")] = 8,
    seq_len: Annotated[int, typer.Option(help="Training sequence length.")] = 256,
    tokens: Annotated[int, typer.Option(help="Tokens to generate per mode (batch 1).")] = 64,
    repeats: Annotated[int, typer.Option(help="Timed forward+backward repeats (median).")] = 5,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's choice).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Build every model small, time training, generate in every mode, print one table."""
    settings = DemoSettings(
        params=params,
        vocab_size=vocab_size,
        layers=layers,
        batch=batch,
        seq_len=seq_len,
        tokens=tokens,
        repeats=repeats,
        device=device,
        dtype=dtype,
        threads=threads,
        seed=seed,
    )
    with err.status("") as status:
        rows = run_demo(model, settings, on_model=lambda m: status.update(f"demo: {m}"))
    out.print(_demo_table(rows))
    for key, value in environment(settings).items():
        out.print(f"  {key:<8} {value}", highlight=False)
    names = {r.model.partition(":")[0] for r in rows}
    if settings.device == "cpu" and names & {"gru", "elman"}:
        out.print(
            "  note     on CPU only nn.LSTM is a fused (oneDNN) kernel; nn.GRU and nn.RNN (elman) loop over per-step "
            "matmuls, so their train tok/s is partly a kernel gap, not an architecture gap",
            highlight=False,
        )


def _demo_table(rows: list[DemoRow]) -> Table:
    table = Table(title="seqarena demo", title_justify="left")
    for col, justify in [
        ("model", "left"),
        ("params", "right"),
        ("train tok/s", "right"),
        ("decode ms/token", "left"),
        ("state bytes @64 tok", "right"),
        ("modes agree", "center"),  # with each other and with the parallel forward
    ]:
        table.add_column(col, justify=justify)
    for r in rows:
        decode = ", ".join(f"{m} {ms:.3f}" for m, ms in r.decode_ms_per_token.items() if ms == ms) or "—"
        agree = "—" if r.modes_agree is None else ("yes" if r.modes_agree else "NO")
        state = "—" if r.state_bytes_64 is None else f"{r.state_bytes_64:,}"
        table.add_row(r.model, f"{r.params:,}", f"{r.train_tokens_per_s:,.0f}", decode, state, agree)
    return table


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="seqarena", standalone_mode=False)
    except SpecError as e:
        _fail(str(e), 2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as e:  # typer's (vendored click) usage errors
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        _fail(e.format_message(), getattr(e, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    err.print(f"seqarena: error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
