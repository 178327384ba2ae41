"""`seqarena run`: bad input is one line and exit 2 before anything is measured."""

from __future__ import annotations

import pytest

from seqarena.cli import main


@pytest.mark.parametrize("args, message", [(["--suite", "huge"], "unknown suite 'huge'"),
                                           (["--device", "tpu"], "device")])
def test_bad_run_arguments_are_one_line_errors(args, message, capsys, tmp_path):
    db = tmp_path / "r.db"
    with pytest.raises(SystemExit) as exit_:
        main(["run", *args, "--db", str(db)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not db.exists()  # nothing measured, no store created
