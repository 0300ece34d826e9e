"""Atomic file and folder output: a failed or interrupted run leaves earlier outputs as they were."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "wb", buffering: int = -1, private: bool = False
) -> Iterator[IO]:
    """Write to a temporary file beside `path`, then rename it over `path` on success; `private`
    files are the owner's only (0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, buffering=buffering, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if not private:
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode of a new file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, private: bool = False) -> None:
    with atomic_open(path, "wb", private=private) as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str, private: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), private)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Give a fresh temporary folder beside `path` to fill; on success it takes the place of `path`
    (an earlier one is removed), on an exception it is removed and `path` stays as it was."""
    path = Path(path)
    tmp, old = path.with_name(f".{path.name}.tmp"), path.with_name(f".{path.name}.old")
    if old.exists() and not path.exists():  # killed between the two renames below: the old one is back
        old.rename(path)
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        # a folder cannot be renamed over a folder: move the old one aside, then the new one in
        if path.exists():
            path.rename(old)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def append_line(path: str | os.PathLike, line: str) -> None:
    """`line` appended to a log of records in one write (O_APPEND), so a crash never leaves half a
    record; the file is the owner's only (0600): it holds chats."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
    finally:
        os.close(fd)
