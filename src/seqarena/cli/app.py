"""The typer application, its consoles, the options every command shares, and the entry point that turns every
user error into one line on stderr with exit code 2 (never a traceback)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

import seqarena
from seqarena.errors import Interrupted, SpecError, StoreError, TrainingFailed
from seqarena.store.sqlite import DEFAULT_DB

app = typer.Typer(
    name="seqarena",
    help="Transformer or RNN? Measured on your own hardware.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
results_app = typer.Typer(help="Look at and export the results store.", no_args_is_help=True)
app.add_typer(results_app, name="results")

# piped output (CI logs, files, closing notes) gets a fixed 120 columns instead of rich's 80
# emoji=False: a model label such as hf:llama:head=2 must print as typed (rich turned ":llama:" into an emoji)
out = Console(width=None if sys.stdout.isatty() else 120, emoji=False)
err = Console(stderr=True, emoji=False)

# options several commands share
Db = Annotated[Path, typer.Option(help="Results store (SQLite).")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")]
Suite = Annotated[str, typer.Option(help="quick (minutes) or full (robust verdicts).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Compile = Annotated[bool, typer.Option(
    "--compile", help="torch.compile every model's layers (inductor; a C++ compiler on CPU). Compiled and eager "
                      "results are stored apart; compile time is reported apart from steady-state time.")]
CompileBackend = Annotated[str, typer.Option(help="--compile's backend: inductor or aot_eager (no code generated).")]
Autocast = Annotated[str | None, typer.Option(
    help="Mixed precision: float32 weights, this compute dtype (bfloat16 or float16) under torch.autocast.")]
ExecutorName = Annotated[str, typer.Option(
    "--executor", help="Who runs the trials: local (this machine's worker processes) or ray (a Ray cluster, extra "
                       ".[ray]; timing trials alone on a node offering the seqarena_timing resource).")]
Address = Annotated[str | None, typer.Option(
    help="--executor ray: the cluster's address, host:port (default: RAY_ADDRESS, else the cluster on this machine).")]
__all__ = ["DEFAULT_DB", "Address", "AsJson", "Autocast", "Compile", "CompileBackend", "Db", "Device", "ExecutorName",
           "Suite", "app", "err", "fail", "main", "out", "results_app"]


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


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and exit code 2, never a traceback; Ctrl-C is
    exit 130 with one line saying how to resume."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="seqarena", standalone_mode=False)
    except (SpecError, StoreError) as e:
        fail(str(e), 2)
    except TrainingFailed as e:  # the trial ran and failed: stored with its reason
        fail(str(e), 1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Interrupted as e:  # Ctrl-C during a sweep: what is kept and how to resume
        fail(str(e), 130)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as e:  # typer's (vendored click) usage errors
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        fail(e.format_message(), getattr(e, "exit_code", 2))
    except sqlite3.Error as e:  # the Store turns its own into StoreError; this is the net under it
        fail(f"results store: {e}", 2)
    except OSError as e:  # a full disk, a missing or unwritable place, ...
        where = f": {e.filename}" if e.filename else ""
        fail(f"{e.strerror or e}{where}", 2)
    if code == 130:  # Ctrl-C outside a sweep (typer turns it into this exit code)
        fail("interrupted: finished trials are kept in the store; run the same command again to resume", 130)
    sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int) -> NoReturn:
    """``seqarena: error: MESSAGE`` on stderr (one line) and exit ``code``."""
    err.print(f"seqarena: error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
