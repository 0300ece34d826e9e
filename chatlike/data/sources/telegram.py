"""Reading a Telegram Desktop JSON export (docs/export-formats.md, Telegram; the full schema:
../shared/telegram-export-format.md), and who "me" is in it.

The file is read into memory once and parsed once, into a handful of msgspec Structs that list only
the fields we use: unknown fields are skipped at C speed, so new Telegram versions don't break us.
Each chat's messages stay an undecoded `msgspec.Raw` slice until the filters select the chat, so
memory holds the file and one chat's records, not the whole export as Python objects; decoded, they
are told as every reader tells them (`SourceMessage`). Both shapes are read: the full export
(`personal_information`, `chats.list`, `left_chats.list`) and a single chat.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path
from typing import Optional, Union

import msgspec
from msgspec import UNSET, UnsetType

from chatlike.data.me import listing
from chatlike.data.records import SourceChat, SourceMessage
from chatlike.data.sources import jsonfile
from chatlike.data.sources.snapshot import Snapshot, read_file
from chatlike.errors import ChatlikeError

AGAIN = "export again from Telegram Desktop (Format: Machine-readable JSON)"
_FULL_EXPORT_KEYS = {b"about", b"personal_information", b"profile_pictures", b"stories", b"contacts",
                     b"frequent_contacts", b"sessions", b"web_sessions", b"other_data", b"chats", b"left_chats"}  # fmt: skip


class Entity(msgspec.Struct, gc=False):
    type: str = "plain"
    text: str = ""


Text = Union[str, list[Union[str, Entity]]]


class RawMessage(msgspec.Struct, gc=False):
    """The fields of a Telegram message chatlike uses (its `id` is not one of them)."""

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


class RawChat(msgspec.Struct, gc=False):
    """One chat of the export, its messages still undecoded (`read_messages` decodes them)."""

    id: int = 0
    name: Optional[str] = None  # None: a deleted account; absent for saved_messages
    type: Optional[str] = None
    messages: msgspec.Raw = msgspec.Raw()


class _ChatList(msgspec.Struct, gc=False):
    chats: list[RawChat] = msgspec.field(name="list", default_factory=list)


class PersonalInformation(msgspec.Struct):
    user_id: Optional[int] = None
    first_name: str = ""
    last_name: str = ""


class _Root(RawChat, gc=False):
    """Both shapes at once: a full export fills the first three, a single chat is itself a chat."""

    personal_information: Optional[PersonalInformation] = None
    chats: Optional[_ChatList] = None
    left_chats: Optional[_ChatList] = None


_ROOT = msgspec.json.Decoder(_Root)
_MESSAGES = msgspec.json.Decoder(list[RawMessage], strict=False)  # strict=False: "123" dates -> int
# Telegram writes rare control bytes as \xNN, which is not JSON; an odd run of backslashes
# before the x means the escape is real (an even run is an escaped backslash then "x").
_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9a-fA-F]{2})")


class Export(msgspec.Struct):
    """A read export: its chats (messages undecoded), and who "me" is."""

    path: str
    shape: str  # "full" | "single"
    chats: list[SourceChat]
    me_id: str  # "user123"
    me_name: str
    version: Snapshot  # of the file as it was read


def looks_like(key: bytes, head: bytes) -> bool:
    """Whether a JSON file is a Telegram export, from its first key and head (format detection): a
    full export's section first, or a single chat's `name`, `type` or `id` with its `messages`."""
    return key in _FULL_EXPORT_KEYS or (key in (b"name", b"type", b"id") and b'"messages"' in head)


def resolve_path(path: str) -> Path:
    """`source.path` may be result.json or the export folder holding it."""
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


def read_export(path: str, me: str = "auto") -> Export:
    """Read an export and find "me" (`find_me`)."""
    p = resolve_path(path)
    data, version = read_file(p)
    root = jsonfile.decode(p, data, _ROOT, "a Telegram export", AGAIN, repair=_unescaped)
    del data  # the chats' Raw slices keep the buffer alive; nothing else needs it
    path_str = str(p)
    if root.chats is not None or root.personal_information is not None or root.left_chats is not None:
        # left_chats are supergroups and channels you left: always "only my messages"
        raws = (root.chats.chats if root.chats else []) + (root.left_chats.chats if root.left_chats else [])
        shape = "full"
    elif len(root.messages):
        raws = [root]
        shape = "single"
    else:
        raise ChatlikeError(
            f"{p}: JSON, but not a Telegram export (no 'chats' and no 'messages'); "
            "point source.path at the result.json Telegram Desktop wrote"
        )
    chats = [
        SourceChat(c.id, c.name, c.type, c.messages, "telegram", path_str, f"user{c.id}", len(c.messages))
        for c in raws
    ]
    me_id, me_name = find_me(p, root.personal_information, chats, shape, me)
    return Export(path_str, shape, chats, me_id, me_name, version)


def read_messages(chat: SourceChat) -> list[SourceMessage]:
    """A chat's messages, decoded now and told as every reader tells them; an error names the file
    and the chat. One loop over the chat's messages: there are millions."""
    out: list[SourceMessage] = []
    keep = out.append
    for m in _decoded(chat):
        t = m.date_unixtime
        if m.type != "message":
            keep(SourceMessage(t or 0, m.type))  # unsupported ones carry no date
            continue
        if t is None:  # before mid-2022: `date` is local with no offset, read as UTC (gaps stay right)
            t = calendar.timegm(dt.datetime.fromisoformat(m.date).timetuple())
        text, from_id = m.text, m.from_id
        if type(text) is not str:
            text = flatten_text(text)
        keep(
            SourceMessage(
                t,
                "message",
                from_id if type(from_id) is str else normalize_from_id(from_id),
                m.from_,
                text,
                None if text and not text.isspace() else _media_kind(m),
                m.sticker_emoji,
                m.forwarded_from is not UNSET,
                bool(m.via_bot),
            )
        )
    return out


def _decoded(chat: SourceChat) -> list[RawMessage]:
    try:
        return _MESSAGES.decode(chat.messages)
    except msgspec.DecodeError as exc:
        mended = _unescaped(bytes(chat.messages))
        if mended is not None:
            try:
                return _MESSAGES.decode(mended)
            except msgspec.DecodeError:
                pass
        raise ChatlikeError(
            f"{chat.path}: chat {chat.name!r} (id {chat.id}): {str(exc).splitlines()[0]}; {AGAIN}"
        ) from None


def _unescaped(data: bytes) -> Optional[bytes]:
    """Telegram's \\xNN escapes (not JSON) written as \\u00NN; None when there are none."""
    return _BAD_ESCAPE.sub(rb"\1\\u00\2", data) if b"\\x" in data else None


def _media_kind(m: RawMessage) -> str:
    """What a message without text carried, as the report counts it (no_text:KIND)."""
    if m.media_type:
        return m.media_type
    if m.photo is not None:
        return "photo"
    if m.poll is not UNSET:
        return "poll"
    if m.location_information is not UNSET or m.place_name:
        return "location"
    if m.contact_information is not UNSET:
        return "contact"
    if m.file is not None:
        return "file"
    return "empty"


def normalize_from_id(from_id: Union[str, int, None]) -> str:
    """Exports before 2021 wrote a bare integer user id."""
    if from_id is None:
        return ""
    if isinstance(from_id, int):
        return f"user{from_id}"
    return from_id


def flatten_text(text: Text) -> str:
    """The visible text: the concatenation of all parts (entity objects carry their own text)."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part.text for part in text)


# ---- who "me" is ----------------------------------------------------------------------------


def find_me(
    path: Path, info: Optional[PersonalInformation], chats: list[SourceChat], shape: str, me: str
) -> tuple[str, str]:
    """My sender id ("user123") and name, never guessed from display names alone unless the user names
    one (`source.me`): from `personal_information.user_id`, else the Saved Messages chat (only mine),
    else, in a single personal chat export, the sender who is not the chat's peer. Only the slow
    rules decode chats (to list the senders)."""
    info_name = " ".join(x for x in (info.first_name, info.last_name) if x) if info else ""
    me = (me or "auto").strip()
    senders = lambda: _senders(chats)  # noqa: E731  (decodes every chat: only when needed)
    if me != "auto":
        if me.isdigit() or re.fullmatch(r"user\d+", me):
            uid = me if me.startswith("user") else f"user{me}"
            if info and uid == f"user{info.user_id}" and info_name:
                return uid, info_name
            return uid, senders().get(uid, "")
        everyone = senders()
        ids = sorted(fid for fid, name in everyone.items() if name == me)
        if len(ids) == 1:
            return ids[0], me
        if not ids:
            raise ChatlikeError(
                f"{path}: no sender is named {me!r} (source.me); senders: {listing(everyone)}"
            )
        raise ChatlikeError(
            f"{path}: several senders are named {me!r}; set source.me to one of the ids: {', '.join(ids)}"
        )
    if info and info.user_id:
        uid = f"user{info.user_id}"
        return uid, info_name or senders().get(uid, "")
    for chat in chats:
        if chat.type == "saved_messages" and chat.id:
            uid = f"user{chat.id}"
            return uid, _senders([chat]).get(uid, "") or senders().get(uid, "")
    if shape == "single" and chats and chats[0].type == "personal_chat":
        other = f"user{chats[0].id}"
        everyone = senders()
        mine = [fid for fid in everyone if fid != other and fid.startswith("user")]
        if len(mine) == 1:
            return mine[0], everyone[mine[0]]
        if not mine and everyone:
            raise ChatlikeError(
                f"{path}: only {chats[0].name!r} speaks in this chat export, so there "
                "is nothing of yours to learn from"
            )
    kind = chats[0].type if shape == "single" and chats else None
    hint = f" (and add {kind} to filter.chat_types)" if kind and kind != "personal_chat" else ""
    raise ChatlikeError(
        f"{path}: cannot tell which sender is you; set source.me to your user id or name{hint}. "
        f"Senders: {listing(senders())}"
    )


def _senders(chats: list[SourceChat]) -> dict[str, str]:
    """Every sender id and name of these chats (decodes them all)."""
    names: dict[str, str] = {}
    for chat in chats:
        for m in read_messages(chat):
            if m.kind == "message" and m.sender_id:
                if m.sender_id not in names or (not names[m.sender_id] and m.sender):
                    names[m.sender_id] = m.sender or ""
    return names
