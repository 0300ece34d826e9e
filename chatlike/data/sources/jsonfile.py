"""One JSON export file decoded by msgspec into a reader's Structs, or one line saying what is wrong
with it (Discord's and Meta's readers; Telegram's keeps its own wording)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from chatlike.errors import ChatlikeError


def decode(path: Path, data: bytes, decoder: msgspec.json.Decoder, app: str, again: str) -> Any:
    """`app` names what the file should be ("a DiscordChatExporter JSON export"); `again` says how
    to get a good one."""
    head = data[:512].lstrip()
    if not head:
        raise ChatlikeError(f"{path}: the file is empty; {again}")
    if head[:1] not in b"{[":
        what = "HTML" if head[:1] == b"<" else "not JSON"
        raise ChatlikeError(f"{path}: {what}, so not {app}; {again}")
    try:
        return decoder.decode(data)
    except UnicodeDecodeError as bad:
        raise ChatlikeError(f"{path}: not valid UTF-8 near byte {bad.start}; {again}") from None
    except msgspec.DecodeError as exc:
        msg = str(exc).splitlines()[0]
        if "truncated" in msg:
            raise ChatlikeError(
                f"{path}: the JSON ends too early (truncated): the export or the copy did not finish; {again}"
            ) from None
        if msg.startswith("Expected") or "Object missing" in msg:
            raise ChatlikeError(f"{path}: JSON, but not {app} ({msg}); {again}") from None
        raise ChatlikeError(f"{path}: not valid JSON ({msg}); {again}") from None
