"""An export file read once, and the version of it that was read: a file that changes while chatlike
reads it, or before the outputs are written, is one line naming it, never half a file or outputs
describing a file that is not there any more."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from chatlike.errors import ChatlikeError


class Snapshot(msgspec.Struct, frozen=True):
    """What identifies a version of a file: a copy, a rewrite or a truncation changes it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> Snapshot:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


def changed_message(path: Path) -> str:
    return (
        f"{path}: the file changed while chatlike read it (is the export or a copy still being "
        "written?); run again once it is complete"
    )


def read_file(path: Path) -> tuple[bytes, Snapshot]:
    """The file's bytes, read once, and the version they are of."""
    try:
        with open(path, "rb") as f:
            before = Snapshot.of(os.fstat(f.fileno()))
            data = f.read()
            after = Snapshot.of(os.fstat(f.fileno()))
    except OSError as exc:
        raise ChatlikeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if before != after or len(data) != after.size:
        raise ChatlikeError(changed_message(path))
    return data, after


def check_unchanged(path: Path, snapshot: Snapshot) -> None:
    """Fail (one line) when `path` is no longer the version that was read."""
    try:
        now = Snapshot.of(path.stat())
    except OSError:
        now = None
    if now != snapshot:
        raise ChatlikeError(changed_message(path))
