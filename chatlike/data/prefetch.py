"""Finding the chats of a big export while Hydra composes the config.

Start-up (importing Hydra, composing the config) keeps one core busy for about 0.3 s while the
other idles. When the command line names the export (`source.path=...`, as the README types it), a
forked process finds its chat boundaries (`layout.chat_ends`) meanwhile, and prepare takes them from
it instead of searching again. The result is keyed by the file's path, size and modification time,
so a config that ends up reading another file, or a file changed since, simply does not use it;
and it is only ever an input to `layout.index_full_export`, which checks the layout as always.
(The key also holds the inode and the change time: a copy that keeps the size and mtime is new.)
"""

from __future__ import annotations

import atexit
import mmap
import os
import re
import signal
from array import array
from pathlib import Path
from typing import Optional

FROM_BYTES = 64 * 2**20  # smaller exports are searched in no time
_ARG = re.compile(r"^\+{0,2}source\.path=(.*)$", re.S)
_pending: dict[tuple, tuple[int, int]] = {}  # key -> (pid, pipe to read)
_done: dict[tuple, Optional[list[int]]] = {}  # kept for the later jobs of a sweep


def _key(path: Path) -> Optional[tuple]:
    try:
        path = path.expanduser()
        if path.is_dir():
            path = path / "result.json"
        st = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _named_export(args: list[str]) -> Optional[Path]:
    """The export a command line names, if it names one plainly and runs prepare."""
    value = None
    for arg in args:
        m = _ARG.match(arg)
        if m:
            value = m.group(1)
        elif arg.lstrip("+").startswith("stages=") and "prepare" not in arg:
            return None
    if not value or "${" in value:
        return None
    if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return Path(value)


def start(args: list[str]) -> None:
    """Fork the search for the export named in `args`, if it is big (a no-op otherwise)."""
    path = _named_export(args)
    key = _key(path) if path is not None and hasattr(os, "fork") else None
    if key is None or key[2] < FROM_BYTES or key in _pending or key in _done:
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: search, send the ends, leave without running the parent's exit code
        try:
            os.close(read)
            _send(write, key[0])
        finally:
            os._exit(0)
    os.close(write)
    if not _pending:
        atexit.register(_stop_all)
    _pending[key] = (pid, read)


def _send(fd: int, path: str) -> None:
    from chatlike.data.layout import chat_ends

    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    ends = chat_ends(buf)
    data = b"" if ends is None else b"E" + array("q", ends).tobytes()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def take(path: Path) -> Optional[list[int]]:
    """The chat ends found for this file (waiting for the search to finish), or None."""
    key = _key(path)
    if key in _done:
        return _done[key]
    if key not in _pending:
        return None
    pid, fd = _pending.pop(key)
    chunks = []
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read():
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    whole = status == 0 and data[:1] == b"E" and len(data) % 8 == 1  # not cut short by a kill
    ends = array("q", data[1:]).tolist() if whole else None
    _done[key] = ends
    return ends


def _stop_all() -> None:
    for pid, fd in _pending.values():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        except OSError:
            pass
    _pending.clear()
