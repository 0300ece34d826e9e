"""Reading a Telegram Desktop JSON export (../shared/telegram-export-format.md is the spec).

The schema is a handful of msgspec Structs listing only the fields we use: unknown fields are
skipped at C speed, so new Telegram versions don't break us. Both shapes are read: the full
export (`personal_information`, `chats.list`, `left_chats.list`) and a single-chat export.
"""

from __future__ import annotations

import mmap
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import msgspec
from msgspec import UNSET, UnsetType

from chatlike.data import layout, prefetch
from chatlike.errors import ChatlikeError

SAMPLE_EXPORT = Path(__file__).resolve().parent / "sample" / "result.json"


class Entity(msgspec.Struct, gc=False):
    type: str = "plain"
    text: str = ""


Text = Union[str, list[Union[str, Entity]]]


class RawMessage(msgspec.Struct, gc=False):
    """The fields of a message chatlike uses (its `id` is not one of them)."""

    type: str = "message"  # message | service | unsupported
    date: str = ""
    # a string of epoch seconds, turned into an int by the decoder (strict=False); missing before mid-2022
    date_unixtime: Optional[int] = None
    from_: Optional[str] = msgspec.field(name="from", default=None)  # None: deleted account
    from_id: Union[str, int, None] = None  # "user1", "channel1", "chat1"; int before 2021
    forwarded_from: Union[str, None, UnsetType] = UNSET  # present (maybe null) = a forward
    via_bot: Optional[str] = None
    text: Text = ""
    media_type: Optional[str] = None  # sticker, voice_message, video_message, animation, ...
    sticker_emoji: Optional[str] = None
    photo: Optional[str] = None
    file: Optional[str] = None
    poll: Union[msgspec.Raw, UnsetType] = UNSET
    location_information: Union[msgspec.Raw, UnsetType] = UNSET
    contact_information: Union[msgspec.Raw, UnsetType] = UNSET
    todo_list: Union[msgspec.Raw, UnsetType] = UNSET
    game_title: Optional[str] = None
    place_name: Optional[str] = None


class ChatHead(msgspec.Struct):
    """What decides whether a chat is read at all; decoding it skips the messages at C speed."""

    id: int = 0
    name: Optional[str] = None  # None: a deleted account; absent for saved_messages
    type: Optional[str] = None


class _HeadFirst(msgspec.Struct):
    """A chat's head as Telegram writes it, before `messages`: type and id are always there."""

    type: Optional[str]
    id: int
    name: Union[str, None, UnsetType] = UNSET  # null: a deleted account; left out: saved messages


class _ChatBody(msgspec.Struct, gc=False):
    messages: list[RawMessage] = []


class ChatSource(msgspec.Struct):
    """One chat of the export, its messages still undecoded: chats are decoded one at a time,
    and only those the filters select, so memory holds one chat's records at once."""

    head: ChatHead
    raw: Any  # msgspec.Raw or a memoryview: the chat object (full export) or its messages array (single)
    path: str
    bare_messages: bool = False
    laid_out: bool = False  # found from Telegram's layout (chatlike.data.layout), not by a full parse

    def messages(self) -> list[RawMessage]:
        decoder = _MESSAGES if self.bare_messages else _BODY
        try:
            decoded = decoder.decode(self.raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            decoded = _repaired(decoder, self.raw)
            if decoded is None:
                error = LayoutMismatch if self.laid_out else ChatlikeError
                raise error(
                    f"{self.path}: chat {self.head.name!r} (id {self.head.id}): {_one_line(exc)}; "
                    "export again from Telegram Desktop"
                ) from None
        return decoded if self.bare_messages else decoded.messages


class LayoutMismatch(ChatlikeError):
    """A chat found from the layout is not one JSON value: the file is laid out in a way the layout
    search misread, or it is broken. Either way, parse the whole file (`read_export(parse=True)`),
    which reads the former and names what is wrong in the latter."""


class _ChatList(msgspec.Struct, gc=False):
    chats: list[msgspec.Raw] = msgspec.field(name="list", default_factory=list)


class PersonalInformation(msgspec.Struct):
    user_id: Optional[int] = None
    first_name: str = ""
    last_name: str = ""


class Root(msgspec.Struct, gc=False):
    """Both shapes at once: a full export fills the first three, a single chat the rest."""

    personal_information: Optional[PersonalInformation] = None
    chats: Optional[_ChatList] = None
    left_chats: Optional[_ChatList] = None
    id: Optional[int] = None
    name: Optional[str] = None
    type: Optional[str] = None
    messages: msgspec.Raw = msgspec.Raw()  # empty unless a single-chat export


class Export(msgspec.Struct):
    """A read export: its chats (undecoded), and who "me" is."""

    path: str
    shape: str  # "full" | "single"
    chats: list[ChatSource]
    me_id: str  # "user123"
    me_name: str


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 near byte {exc.start}"
    return str(exc).splitlines()[0]


_HEAD = msgspec.json.Decoder(ChatHead)
_HEAD_FIRST = msgspec.json.Decoder(_HeadFirst)
_BODY = msgspec.json.Decoder(_ChatBody, strict=False)
_MESSAGES = msgspec.json.Decoder(list[RawMessage], strict=False)
_DECODER = msgspec.json.Decoder(Root)
# Telegram writes rare control bytes as \xNN, which is not JSON; an odd run of backslashes
# before the x means the escape is real (an even run is an escaped backslash then "x").
_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9a-fA-F]{2})")


def resolve_path(path: Optional[str]) -> Path:
    """`source.path` may be result.json or the export folder holding it; None is the sample."""
    if path is None:
        return SAMPLE_EXPORT
    p = Path(path).expanduser()
    if p.is_dir():
        if (p / "result.json").is_file():
            return p / "result.json"
        if (p / "messages.html").is_file() or (p / "export_results.html").is_file():
            raise ChatlikeError(
                f"{p}: this is Telegram's HTML export; export again with "
                "Format: 'Machine-readable JSON' and point source.path at result.json"
            )
        raise ChatlikeError(
            f"{p}: no result.json in this folder; point source.path at the "
            "export's result.json (Telegram Desktop > Export Telegram data > JSON)"
        )
    if not p.exists():
        raise ChatlikeError(f"{p}: no such file or folder (source.path)")
    return p


def _decode(path: Path, data: bytes) -> Root:
    head = data[:512].lstrip()
    if not head:
        raise ChatlikeError(f"{path}: the file is empty; export again from Telegram Desktop")
    if head[:1] == b"<":
        raise ChatlikeError(
            f"{path}: this is HTML (Telegram's HTML export?), not JSON; export again "
            "with Format: 'Machine-readable JSON'"
        )
    try:
        return _DECODER.decode(data)
    except UnicodeDecodeError as bad:
        raise ChatlikeError(
            f"{path}: not valid UTF-8 near byte {bad.start}; this is not a file Telegram "
            "Desktop wrote (was it re-saved in another encoding?)"
        ) from None
    except msgspec.DecodeError as first:
        if b"\\x" in data:
            repaired = _BAD_ESCAPE.sub(rb"\1\\u00\2", data)
            try:
                return _DECODER.decode(repaired)
            except msgspec.DecodeError:
                pass
        raise ChatlikeError(f"{path}: {_explain(data, first)}") from None


def _explain(data: bytes, exc: msgspec.DecodeError) -> str:
    msg = str(exc)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"not valid UTF-8 at byte {bad.start}; this is not a file Telegram Desktop wrote "
            "(was it re-saved in another encoding?)"
        )
    if "truncated" in msg:
        return "the JSON ends too early (truncated): the export or the copy did not finish; export again"
    if msg.startswith("Expected") or "Object missing" in msg:
        return f"not a Telegram export ({msg})"
    return f"not valid JSON ({msg}); export again from Telegram Desktop"


def normalize_from_id(from_id: Union[str, int, None]) -> str:
    """Exports before 2021 wrote a bare integer user id."""
    if from_id is None:
        return ""
    if isinstance(from_id, int):
        return f"user{from_id}"
    return from_id


def read_export(path: Optional[str], me: str = "auto", workers: int = 1, parse: bool = False) -> Export:
    """Read an export and find "me" (never from display names alone, unless asked). The chats stay
    undecoded slices of the file (memory-mapped when big); `workers` processes find them in a big one.
    `parse` skips the layout search and parses the whole file (after a `LayoutMismatch`)."""
    p = resolve_path(path)
    try:
        buf = _open(p)
    except OSError as exc:
        raise ChatlikeError(f"{p}: cannot read it ({exc.strerror})") from None
    found = None if parse else _read_laid_out(p, buf, workers)
    if found is not None:
        try:
            me_id, me_name = _find_me(p, *found, me)  # may decode chats, to list the senders
        except LayoutMismatch:
            found = None
    if found is None:
        found = _read_parsed(p, bytes(buf))
        me_id, me_name = _find_me(p, *found, me)
    root, chats, shape = found
    return Export(path=str(p), shape=shape, chats=chats, me_id=me_id, me_name=me_name)


MAP_FROM_BYTES = 1 << 20


def _open(p: Path):
    """The file's bytes: memory-mapped when big, so nothing is copied and forked workers share it."""
    with open(p, "rb") as f:
        if os.fstat(f.fileno()).st_size < MAP_FROM_BYTES:
            return f.read()
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _read_parsed(p: Path, data: bytes) -> tuple[Root, list[ChatSource], str]:
    """The general way: parse the whole file (any valid JSON layout), chats as Raw slices."""
    root = _decode(p, data)
    del data  # the Raw chats keep the buffer alive; nothing else needs it
    path = str(p)
    if root.chats is not None or root.personal_information is not None or root.left_chats is not None:
        # left_chats are supergroups and channels you left: always "only my messages"
        raws = (root.chats.chats if root.chats else []) + (root.left_chats.chats if root.left_chats else [])
        return root, [_source(raw, path) for raw in raws], "full"
    if len(root.messages):
        head = ChatHead(id=root.id or 0, name=root.name, type=root.type)
        return root, [ChatSource(head, root.messages, path, bare_messages=True)], "single"
    raise ChatlikeError(
        f"{p}: JSON, but not a Telegram export (no 'chats' and no 'messages'); "
        "point source.path at the result.json Telegram Desktop wrote"
    )


def _read_laid_out(p: Path, buf, workers: int) -> Optional[tuple[Root, list[ChatSource], str]]:
    """The fast way for files laid out as Telegram Desktop writes them (chatlike.data.layout): no
    full parse; None when the layout does not check out, and the caller parses the whole file."""
    path, view = str(p), memoryview(buf)
    if buf[:1] != b"{":
        return None
    try:
        single = layout.single_chat_messages(buf)
        if single is not None:
            skeleton, start, end = single
            root = _decode(p, skeleton)
            if bytes(root.messages) != b"[0]" or root.chats is not None:
                return None
            head = ChatHead(id=root.id or 0, name=root.name, type=root.type)
            return (
                root,
                [ChatSource(head, view[start:end], path, bare_messages=True, laid_out=True)],
                "single",
            )
        ends = prefetch.take(p)  # found while the config was composed, when the command line named p
        found = layout.index_full_export(buf, _ends_in_processes(buf, workers) if workers > 1 else None, ends)
        if found is None:
            return None
        root = _decode(p, found.skeleton)
    except ChatlikeError:
        return None  # the general way says what is wrong, in its words
    chats: list[ChatSource] = []
    for key, part in (("chats", root.chats), ("left_chats", root.left_chats)):
        if key not in found.lists:
            chats += [_source(raw, path) for raw in part.chats] if part else []
            continue
        if part is None or [bytes(r) for r in part.chats] != [layout.SENTINEL]:
            return None
        for s, e in found.lists[key]:
            head = _head_of(view, s, e)
            if head is None:
                return None
            chats.append(ChatSource(head, view[s:e], path, laid_out=True))
    return root, chats, "full"


_MESSAGES_KEY = b',\n    "messages": ['


def _head_of(view: memoryview, start: int, end: int) -> Optional[ChatHead]:
    """A chat's name, type and id, which Telegram writes before its messages: decoded from those few
    bytes (else from the whole chat). None when the chat slice is not a JSON object."""
    head = bytes(view[start : min(end, start + 4096)])
    at = head.find(_MESSAGES_KEY)
    if at > 0:
        first = _decode_repaired(_HEAD_FIRST, head[:at] + b"}")
        # Telegram leaves out only the name of saved messages and replies: any other missing name
        # may come after the messages, so read the whole chat
        if first is not None and (first.name is not UNSET or first.type in ("saved_messages", "replies")):
            return ChatHead(id=first.id, name=None if first.name is UNSET else first.name, type=first.type)
    return _decode_repaired(_HEAD, view[start:end])


def _decode_repaired(decoder: msgspec.json.Decoder, data) -> Any:
    """Decode, repairing Telegram's \\xNN escapes if that is what fails; None if it still fails."""
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _repaired(decoder, data)


def _repaired(decoder: msgspec.json.Decoder, data) -> Any:
    """`data` decoded with Telegram's \\xNN escapes repaired, or None (none there, or still bad)."""
    data = bytes(data)
    if b"\\x" not in data:
        return None
    try:
        return decoder.decode(_BAD_ESCAPE.sub(rb"\1\\u00\2", data))
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _ends_in_processes(buf, workers: int):
    """`layout.find_ends` over byte ranges in forked processes, which share the mapped file."""

    def map_ranges(ranges: list[tuple[int, int]]) -> list[list[int]]:
        import multiprocessing

        global _SCANNED
        _SCANNED = buf
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return pool.starmap(_find_ends, ranges)
        finally:
            _SCANNED = None

    return map_ranges


_SCANNED = None  # the buffer forked scanners inherit


def _source(raw, path: str) -> ChatSource:
    try:
        head = _HEAD.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ChatlikeError(f"{path}: a chat in the export is malformed ({_one_line(exc)})") from None
    return ChatSource(head, raw, path)


def _find_ends(lo: int, hi: int) -> list[int]:
    return layout.find_ends(_SCANNED, lo, hi)


def _senders(chats: list[ChatSource]) -> dict[str, str]:
    """Every sender id and name (decodes every chat: only for the slow paths of finding me)."""
    names: dict[str, str] = {}
    for chat in chats:
        for m in chat.messages():
            if m.type == "message" and m.from_id is not None:
                fid = normalize_from_id(m.from_id)
                if fid not in names or (not names[fid] and m.from_):
                    names[fid] = m.from_ or ""
    return names


def _find_me(p: Path, root: Root, chats: list[ChatSource], shape: str, me: str) -> tuple[str, str]:
    info = root.personal_information
    info_name = " ".join(x for x in (info.first_name, info.last_name) if x) if info else ""
    me = (me or "auto").strip()
    if me != "auto":
        if me.isdigit() or re.fullmatch(r"user\d+", me):
            uid = me if me.startswith("user") else f"user{me}"
            if info and uid == f"user{info.user_id}" and info_name:
                return uid, info_name
            return uid, _senders(chats).get(uid, "")
        senders = _senders(chats)
        ids = sorted(fid for fid, name in senders.items() if name == me)
        if len(ids) == 1:
            return ids[0], me
        listing = _listing(senders)
        if not ids:
            raise ChatlikeError(f"{p}: no sender is named {me!r} (source.me); senders: {listing}")
        raise ChatlikeError(
            f"{p}: several senders are named {me!r}; set source.me to one of the ids: {', '.join(ids)}"
        )
    if info and info.user_id:
        uid = f"user{info.user_id}"
        return uid, info_name or _senders(chats).get(uid, "")
    for chat in chats:
        if chat.head.type == "saved_messages" and chat.head.id:
            uid = f"user{chat.head.id}"
            return uid, _senders([chat]).get(uid, "") or _senders(chats).get(uid, "")
    if shape == "single" and chats and chats[0].head.type == "personal_chat":
        other = f"user{chats[0].head.id}"
        senders = _senders(chats)
        mine = [fid for fid in senders if fid != other and fid.startswith("user")]
        if len(mine) == 1:
            return mine[0], senders[mine[0]]
        if not mine and senders:
            raise ChatlikeError(
                f"{p}: only {chats[0].head.name!r} speaks in this chat export, so there "
                "is nothing of yours to learn from"
            )
    kind = chats[0].head.type if shape == "single" and chats else None
    hint = f" (and add {kind} to filter.chat_types)" if kind and kind != "personal_chat" else ""
    raise ChatlikeError(
        f"{p}: cannot tell which sender is you; set source.me to your user id or name{hint}. "
        f"Senders: {_listing(_senders(chats))}"
    )


def _listing(senders: dict[str, str]) -> str:
    items = [f"{name or '(deleted account)'} = {fid}" for fid, name in sorted(senders.items())]
    return ", ".join(items[:30]) + (f" (and {len(items) - 30} more)" if len(items) > 30 else "")


def flatten_text(text: Text) -> str:
    """The visible text: the concatenation of all parts (entity objects carry their own text)."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part.text for part in text)
