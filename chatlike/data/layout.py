"""Finding the chats in a `result.json` without parsing all of it first.

Telegram Desktop's JSON writer indents every line by its nesting depth, one space per level, and a
JSON string never holds a raw newline. So in a full export a chat object of `chats.list` (depth 3)
always ends with a line holding only its closing brace at depth 3 (`CHAT_END`), and nothing else
from the first chat list to the end of the file does. Finding those ends is a byte search (about
1.8 GB/s, it splits over processes, and chatlike.data.prefetch does it while Hydra starts), where a
validating JSON scan of the whole file costs more and cannot be split. The chats are then decoded
one at a time, by whichever process handles them.

Nothing here trusts the layout blindly: the file with each chat list's content replaced by one
sentinel value (the *skeleton*) must decode to exactly those sentinels where the lists are, the
bytes between two chats must be a comma, and every chat the filters read is decoded by msgspec on
its own, so a chat slice must be exactly one JSON value (chatlike.data.export parses the whole file
when one is not). Whatever does not fit (a re-indented or minified file, a truncated one) returns
None, and the caller parses the whole file instead.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Optional

CHAT_END = b"\n   }"  # a chat object closes at depth 3
_CHAT_END = re.compile(re.escape(CHAT_END))
_WS = b" \t\r\n"
_SEARCH_AHEAD = 1 << 16  # a list's "about" text and the keys around it are short
SENTINEL = b"0"


class ChatSlice(NamedTuple):
    start: int  # the chat object's "{"
    end: int  # just after its "}"


class Layout(NamedTuple):
    """Where the chats are, and the rest of the file (personal information, contacts, ...)."""

    skeleton: bytes  # the file with each chat list holding only `SENTINEL`
    lists: dict[str, list[ChatSlice]]  # "chats", "left_chats": their chats, in file order


def find_ends(buf, lo: int, hi: int) -> list[int]:
    """The end (just after `CHAT_END`) of every chat whose `CHAT_END` starts in [lo, hi)."""
    # re's search for a literal prefix beats bytes.find on this needle by half
    return [m.end() for m in _CHAT_END.finditer(buf, lo, min(len(buf), hi + len(CHAT_END) - 1))]


def _skip_ws(buf, pos: int) -> int:
    while pos < len(buf) and buf[pos] in _WS:
        pos += 1
    return pos


def _list_open(buf, key: bytes, lo: int, hi: int) -> int:
    """The position of the "[" of `"KEY": {"about": ..., "list": [` at depth 1, or -1."""
    at = buf.find(b'\n "' + key + b'": {', lo, hi)
    if at < 0:
        return -1
    lst = buf.find(b'\n  "list": [', at, at + _SEARCH_AHEAD)
    return -1 if lst < 0 else lst + len(b'\n  "list": [') - 1


def chat_ends(buf, map_ranges: Optional[Callable] = None) -> Optional[list[int]]:
    """Every `CHAT_END` from the first chat list on (None: no `chats` list where Telegram puts it).
    `map_ranges(ranges)` may run `find_ends` over byte ranges in other processes."""
    first = _list_open(buf, b"chats", 0, len(buf))
    if first < 0:
        return None
    ranges = _ranges(first, len(buf), 1 if map_ranges is None else 8)
    found = map_ranges(ranges) if map_ranges else [find_ends(buf, lo, hi) for lo, hi in ranges]
    return [e for part in found for e in part]


def index_full_export(
    buf, map_ranges: Optional[Callable] = None, ends: Optional[list[int]] = None
) -> Optional[Layout]:
    """Index a full export's chat lists, or None when the file is not laid out as Telegram writes it.
    `ends` is `chat_ends(buf)` when the caller has it (chatlike.data.prefetch)."""
    size = len(buf)
    first = _list_open(buf, b"chats", 0, size)
    if ends is None:
        ends = chat_ends(buf, map_ranges)
    if first < 0 or ends is None:
        return None
    lists: dict[str, list[ChatSlice]] = {}
    pieces, cursor, taken = [], 0, 0
    open_at, key = first, "chats"
    while open_at >= 0:
        walked = _walk_list(buf, open_at, ends, taken)
        if walked is None:
            return None
        lists[key], close_at, taken = walked
        pieces += [buf[cursor : open_at + 1], SENTINEL]
        cursor = close_at
        if key == "left_chats":
            break
        open_at, key = (
            _list_open(buf, b"left_chats", close_at, min(size, close_at + _SEARCH_AHEAD)),
            "left_chats",
        )
    if taken != len(ends):
        return None  # a chat end outside the lists: not Telegram's layout
    pieces.append(buf[cursor:])
    return Layout(b"".join(bytes(p) for p in pieces), lists)


def _walk_list(buf, open_at: int, ends: list[int], taken: int) -> Optional[tuple[list[ChatSlice], int, int]]:
    """The chats of the list opening at `open_at`, each `{` ... the next unused end, separated by
    commas: (chats, the position of the list's "]", ends used so far), or None if anything else."""
    chats, pos, size = [], _skip_ws(buf, open_at + 1), len(buf)
    while pos < size and buf[pos] != ord("]"):
        if buf[pos] != ord("{") or taken >= len(ends) or ends[taken] <= pos:
            return None
        chats.append(ChatSlice(pos, ends[taken]))
        pos = _skip_ws(buf, ends[taken])
        taken += 1
        if pos < size and buf[pos] == ord(","):
            pos = _skip_ws(buf, pos + 1)
            if pos < size and buf[pos] == ord("]"):
                return None  # a trailing comma is not JSON
        elif pos >= size or buf[pos] != ord("]"):
            return None
    return (chats, pos, taken) if pos < size else None


def _ranges(lo: int, hi: int, n: int) -> list[tuple[int, int]]:
    step = max(1, -(-(hi - lo) // n))
    return [(a, min(hi, a + step)) for a in range(lo, hi, step)]


def single_chat_messages(buf) -> Optional[tuple[bytes, int, int]]:
    """A single-chat export (the chat object at depth 0, `messages` last): the skeleton and the
    [start, end) of its `messages` array, or None."""
    key = b'\n "messages": ['
    at = buf.find(key, 0, _SEARCH_AHEAD)
    tail = len(buf)
    while tail and buf[tail - 1] in _WS:
        tail -= 1
    if at < 0 or bytes(buf[max(0, tail - 5) : tail]) != b"\n ]\n}":
        return None
    start, end = at + len(key) - 1, tail - 2
    return bytes(buf[:start]) + b"[" + SENTINEL + b"]" + bytes(buf[end:]), start, end
