"""Files and folders written for users (exports, the report): checked before any work, written whole or not at all.

A failure half-way (a full disk, a killed process) must not leave a 0-byte ``x.csv`` or half a report folder beside
the results: each output is written under a temporary name in the same folder and renamed into place (a rename
within one file system is atomic), and a folder replaces the old one only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from seqarena.store.errors import StoreError

#: The formats ``seqarena results export`` writes (:func:`seqarena.store.frames.export`).
EXPORT_FORMATS = ("csv", "parquet", "json")


def check_output_file(path: Path | str, what: str = "output") -> Path:
    """The file path, if a file can be written there (its folder exists and is writable, it is not a folder)."""
    path = Path(path)
    if str(path).strip() == "":
        raise StoreError(f"the {what} path is empty")
    if path.is_dir():
        raise StoreError(f"the {what} path {path} is a folder; give a file name, e.g. {path / 'results.csv'}")
    if path.exists() and not path.is_file():  # a device or a pipe: a rename into place would replace it
        raise StoreError(f"the {what} path {path} is not a regular file")
    _check_writable_folder(path.parent, what)
    return path


def check_output_dir(path: Path | str, what: str = "output folder") -> Path:
    """The folder path, if it (or the folder it would be made in) can be written."""
    path = Path(path)
    if str(path).strip() == "":
        raise StoreError(f"the {what} path is empty")
    if path.exists() and not path.is_dir():
        raise StoreError(f"the {what} {path} is a file, not a folder")
    _check_writable_folder(path if path.exists() else _nearest_existing(path.parent), what)
    return path


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_folder(folder: Path, what: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise StoreError(f"the folder {folder} for the {what} does not exist; create it first")
    if not folder.is_dir():
        raise StoreError(f"{folder} is not a folder; the {what} cannot be written there")
    try:  # access() says yes for root on a read-only mount: really create something
        fd, probe = tempfile.mkstemp(prefix=".seqarena-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StoreError(f"cannot write the {what} in {folder}: {e.strerror or e}") from None


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on any failure removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent or Path("."))
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path | str, replaceable: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success it replaces ``path`` (the old folder is removed
    only after the new one is in place), on any failure it is removed and ``path`` is left as it was.

    An existing ``path`` is replaced only when it is empty or holds nothing but names in ``replaceable`` (an earlier
    output of the same kind): a user's folder with other files in it is never swapped away."""
    path = Path(path)
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if p.name not in replaceable)
        if foreign:
            raise StoreError(f"{path} already holds other files ({', '.join(foreign[:3])}"
                             f"{', ...' if len(foreign) > 3 else ''}); give a new or empty folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield staging
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
