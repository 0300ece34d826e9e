"""Reading a Telegram Desktop JSON export (docs/export-formats.md, Telegram; the full schema:
../shared/telegram-export-format.md).

The file is read into memory once and parsed once, into a handful of msgspec Structs that list only
the fields we use: unknown fields are skipped at C speed, so new Telegram versions don't break us.
Each chat's messages stay an undecoded `msgspec.Raw` slice until the filters select the chat, so
memory holds the file and one chat's records, not the whole export as Python objects. Both shapes
are read: the full export (`personal_information`, `chats.list`, `left_chats.list`) and a single
chat. Who "me" is: chatlike.data.me. `RawMessage` is also the record the other readers give.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Union

import msgspec
from msgspec import UNSET, UnsetType

from chatlike.data.records import SourceChat
from chatlike.data.sources import jsonfile
from chatlike.errors import ChatlikeError

SAMPLE_EXPORT = Path(__file__).resolve().parents[1] / "sample" / "result.json"
AGAIN = "export again from Telegram Desktop (Format: Machine-readable JSON)"


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


_FULL_EXPORT_KEYS = {b"about", b"personal_information", b"profile_pictures", b"stories", b"contacts",
                     b"frequent_contacts", b"sessions", b"web_sessions", b"other_data", b"chats", b"left_chats"}  # fmt: skip


def looks_like(key: bytes, head: bytes) -> bool:
    """Whether a JSON file is a Telegram export, from its first key and head (format detection): a
    full export's section first, or a single chat's `name`, `type` or `id` with its `messages`."""
    return key in _FULL_EXPORT_KEYS or (key in (b"name", b"type", b"id") and b'"messages"' in head)


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


class Snapshot(msgspec.Struct, frozen=True):
    """What identifies a version of a file: a copy, a rewrite or a truncation changes it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> Snapshot:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


class Export(msgspec.Struct):
    """A read export: its chats (messages undecoded), and who "me" is."""

    path: str
    shape: str  # "full" | "single"
    chats: list[SourceChat]
    me_id: str  # "user123"
    me_name: str
    version: Snapshot  # of the file as it was read


def changed_message(path: Path) -> str:
    return (
        f"{path}: the file changed while chatlike read it (is the export or a copy still being "
        "written?); run again once it is complete"
    )


def read_file(path: Path) -> tuple[bytes, Snapshot]:
    """The file's bytes, read once, and the version they are of. A file that changes while it is
    read (a copy still being written, a truncation) is one line naming it, never half a file."""
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
    """Fail (one line) when `path` is no longer the version that was read: the outputs would
    describe a file that is not there any more."""
    try:
        now = Snapshot.of(path.stat())
    except OSError:
        now = None
    if now != snapshot:
        raise ChatlikeError(changed_message(path))


def read_export(path: Optional[str], me: str = "auto") -> Export:
    """Read an export and find "me" (chatlike.data.me)."""
    from chatlike.data.me import find_me

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


def read_messages(chat: SourceChat, path: str) -> list[RawMessage]:
    """A chat's messages, decoded; an error names the file and the chat."""
    try:
        return _MESSAGES.decode(chat.messages)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        repaired = _repaired(chat.messages)
        if repaired is None:
            raise ChatlikeError(
                f"{path}: chat {chat.name!r} (id {chat.id}): {_one_line(exc)}; export again from Telegram Desktop"
            ) from None
        return repaired


def _repaired(raw: msgspec.Raw) -> Optional[list[RawMessage]]:
    """Messages whose text holds Telegram's \\xNN escapes, repaired; None when that is not what fails."""
    mended = _unescaped(bytes(raw))
    if mended is None:
        return None
    try:
        return _MESSAGES.decode(mended)
    except msgspec.DecodeError:
        return None


def _unescaped(data: bytes) -> Optional[bytes]:
    """Telegram's \\xNN escapes (not JSON) written as \\u00NN; None when there are none."""
    return _BAD_ESCAPE.sub(rb"\1\\u00\2", data) if b"\\x" in data else None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 near byte {exc.start}"
    return str(exc).splitlines()[0]


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
