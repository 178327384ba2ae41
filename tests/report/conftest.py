"""One synthetic store and one report built from it through the CLI, shared by the report tests (a build judges every
claim, which takes seconds; building once keeps the set fast)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import pytest

from seqarena.cli import main
from tests.synthetic_store import build_fixture_store


@dataclasses.dataclass
class Built:
    db: Path
    out: Path
    code: int
    stdout: str
    stderr: str

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    @property
    def markdown(self) -> str:
        return (self.out / "report.md").read_text(encoding="utf-8")

    @property
    def html(self) -> str:
        return self.index.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("store") / "fixture.db")


@pytest.fixture(scope="session")
def built(fixture_db, tmp_path_factory) -> Built:
    """`seqarena report --db fixture.db --out DIR`, run in-process."""
    out = tmp_path_factory.mktemp("report") / "site"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exit_:
        main(["report", "--db", str(fixture_db), "--out", str(out)])
    return Built(fixture_db, out, exit_.value.code, stdout.getvalue(), stderr.getvalue())
