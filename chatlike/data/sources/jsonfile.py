"""One JSON export file decoded by msgspec into a reader's Structs, or one line saying what is wrong
with it (every JSON reader: Telegram, Discord, Meta); and the first key of a JSON object, which
tells those formats apart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional

import msgspec

from chatlike.errors import ChatlikeError

BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark: editors on Windows, and tools re-saving a file, write one
_FIRST_KEY = re.compile(rb'\{\s*"([A-Za-z_]+)"')


def first_key(head: bytes) -> Optional[bytes]:
    """The first key of the JSON object a file's head opens (BOM and white space skipped), or None
    when the head opens no object."""
    found = _FIRST_KEY.match(head.removeprefix(BOM).lstrip())
    return found.group(1) if found else None


def decode(
    path: Path,
    data: bytes,
    decoder: msgspec.json.Decoder,
    app: str,
    again: str,
    repair: Optional[Callable[[bytes], Optional[bytes]]] = None,
) -> Any:
    """`app` names what the file should be ("a DiscordChatExporter JSON export"); `again` says how
    to get a good one; `repair` may mend a file that fails to decode (None: it cannot)."""
    data = data.removeprefix(BOM)  # a copy only when there is one
    head = data[:512].lstrip()
    if not head:
        raise ChatlikeError(f"{path}: the file is empty; {again}")
    if head[:1] not in b"{[":
        what = "HTML" if head[:1] == b"<" else "not JSON"
        raise ChatlikeError(f"{path}: {what}, so not {app}; {again}")
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:
        mended = repair(data) if repair else None
        if mended is not None:
            try:
                return decoder.decode(mended)
            except msgspec.DecodeError:
                pass
        raise ChatlikeError(f"{path}: {_explain(data, str(exc).splitlines()[0], app)}; {again}") from None


def _explain(data: bytes, msg: str, app: str) -> str:
    if "UTF-8" in msg:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"not valid UTF-8 near byte {bad.start} (was it re-saved in another encoding?)"
    if "truncated" in msg:
        return "the JSON ends too early (truncated): the export or the copy did not finish"
    if msg.startswith("Expected") or "Object missing" in msg:
        return f"JSON, but not {app} ({msg})"
    return f"not valid JSON ({msg})"
