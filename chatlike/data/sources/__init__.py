"""Reading the exports: `source.path` and `source.paths` (files or folders), each file's format told
from its content (or forced by `source.format`), into the chats the filters take (`SourceChat`, of
`SourceMessage`s: one neutral record whatever the messenger).

One module per messenger, each answering to its section of docs/export-formats.md: telegram
(Telegram Desktop's result.json; who "me" is there), whatsapp (the Export chat .txt or .zip),
discord (DiscordChatExporter's JSON), meta (Instagram's and Messenger's message_N.json), bot (the
bot's RUN/bot/conversations.jsonl: the replies the owner approved are mine); beside them
jsonfile (decoding a JSON export, or one line on what is wrong with it) and snapshot (a file read
once, and whether it changed since). Who "me" is in the messengers without account data:
chatlike.data.me (`source.me`, `source.me_<format>`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import msgspec

from chatlike.config import SourceConfig
from chatlike.data import me
from chatlike.data.records import ReadChat, Source, SourceChat, SourceMessage
from chatlike.data.sample import SAMPLE_EXPORT
from chatlike.data.sources import bot, discord, jsonfile, meta, telegram, whatsapp
from chatlike.data.sources.snapshot import Snapshot, check_unchanged
from chatlike.errors import ChatlikeError

FORMATS = ("telegram", "whatsapp", "discord", "meta", "bot")
_SUFFIXES = (".json", ".txt", ".zip")  # what a folder is searched for
_JSON_READERS = (
    ("bot", bot),
    ("discord", discord),
    ("meta", meta),
    ("telegram", telegram),
)  # in the order they are asked
_JSON_OR_HTML = re.compile(
    rb'[{<]|\[\s*[\[{"\]]'
)  # an object, markup, or an array of arrays, objects, strings
_META_FILE = re.compile(r"message_\d+\.json")


class Sources(msgspec.Struct):
    """Everything a run reads: the chats of every file, in the order given; who I am."""

    chats: list[SourceChat]
    sources: dict[str, Source]  # by label: telegram, whatsapp, discord, instagram, messenger, meta
    files: list[tuple[Path, Snapshot]]  # every file read, and the version of it that was read
    me_ids: frozenset[str]  # my sender id in each source
    me_name: str  # my name: Telegram's account name, else the first source's

    @property
    def size(self) -> int:
        return sum(snapshot.size for _, snapshot in self.files)

    @property
    def paths(self) -> list[str]:
        return [path for source in self.sources.values() for path in source.paths]

    @property
    def where(self) -> str:
        """The run's files as an error names them."""
        first, *rest = self.paths
        return f"{first} (and {len(rest)} more)" if rest else first

    def check_unchanged(self) -> None:
        """Fail (one line) when a file read is no longer the version that was read: the outputs
        would describe a file that is not there any more."""
        for path, version in self.files:
            check_unchanged(path, version)


def messages_of(chat: SourceChat) -> list[SourceMessage]:
    """A chat's messages: Telegram's are decoded only now, once the filters have chosen the chat."""
    return chat.messages if type(chat.messages) is list else telegram.read_messages(chat)


def sniff(head: bytes) -> Optional[str]:
    """The format of a file from its first bytes (up to 64 KB), or None when they are no export
    chatlike reads: a zip, else the first key of a JSON object and what follows it, else WhatsApp's
    message lines (an iPhone's open with "[", as a JSON array would: one byte tells nothing)."""
    h = head.removeprefix(jsonfile.BOM).lstrip()
    if h[:4] == b"PK\x03\x04":
        return "whatsapp"  # a zip: WhatsApp shares a chat in one
    key = jsonfile.first_key(h)
    if key is not None:
        return next((fmt for fmt, reader in _JSON_READERS if reader.looks_like(key, h)), None)
    return "whatsapp" if whatsapp.looks_like(h.decode("utf-8", "replace")) else None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except OSError as exc:
        raise ChatlikeError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _format_of(path: Path) -> str:
    """A file named on its own: its format, or the reader that says best what is wrong with it
    (Telegram's for JSON and HTML, WhatsApp's for text)."""
    head = _head(path)
    found = sniff(head)
    if found:
        return found
    h = head.removeprefix(jsonfile.BOM).lstrip()
    if not h:  # nothing to tell it by but its name
        return "whatsapp" if path.suffix.lower() in (".txt", ".zip") else "telegram"
    return "telegram" if _JSON_OR_HTML.match(h) else "whatsapp"


def _folder(folder: Path, fmt: str) -> list[tuple[Path, str]]:
    """The exports in a folder: Telegram's export folder (its result.json), else every file of a
    format chatlike reads, searched through its subfolders."""
    if fmt in ("auto", "telegram") and (
        (folder / "result.json").is_file() or (folder / "messages.html").is_file()
        or (folder / "export_results.html").is_file()
    ):  # fmt: skip
        return [(telegram.resolve_path(str(folder)), "telegram")]
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if name.lower().endswith(_SUFFIXES):
                kind = sniff(_head(path))
                if kind == "whatsapp" and name.lower().endswith(".zip") and not whatsapp.zip_holds_chat(path):
                    continue  # some other zip (a download's media)
                if kind and fmt in ("auto", kind):
                    found.append((path, kind))
    if not found:
        what = "chat export" if fmt == "auto" else f"{fmt} export"
        raise ChatlikeError(
            f"{folder}: no {what} in this folder (Telegram's result.json, a WhatsApp .txt or .zip, "
            "DiscordChatExporter .json, Meta's message_1.json); point source.path at one"
        )
    return found


def inputs(cfg: SourceConfig) -> list[tuple[Path, str]]:
    """Every file to read, with its format: source.path then source.paths, folders searched."""
    given = ([cfg.path] if cfg.path is not None else []) + list(cfg.paths)
    if not given:
        return [(SAMPLE_EXPORT, "telegram")]
    found: list[tuple[Path, str]] = []
    for item in given:
        p = Path(item).expanduser()
        if p.is_dir():
            found += _folder(p, cfg.format)
        elif p.exists():
            fmt = _format_of(p) if cfg.format == "auto" else cfg.format
            found.append((p, fmt))
            if fmt == "meta":  # a thread is all its message_N.json: naming one names them all
                found += [
                    (s, fmt) for s in sorted(p.parent.glob("message_*.json")) if _META_FILE.fullmatch(s.name)
                ]
        else:
            key = "source.path" if item == cfg.path else "source.paths"
            raise ChatlikeError(f"{p}: no such file or folder ({key})")
    seen: set[Path] = set()
    unique = []
    for path, fmt in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((path, fmt))
    return unique


def meta_label(path: Path) -> str:
    """Instagram or Messenger: their files are alike, their download folders are not."""
    where = str(path.resolve()).lower()
    if "instagram" in where:
        return "instagram"
    return "messenger" if "facebook" in where or "messenger" in where else "meta"


def read_sources(cfg: SourceConfig) -> Sources:
    """Read every file of the run and find who I am in each messenger."""
    found = inputs(cfg)
    formats = {fmt for _, fmt in found}

    def me_key(fmt: str) -> str:
        return "source.me" if len(formats) == 1 and getattr(cfg, f"me_{fmt}") is None else f"source.me_{fmt}"

    slots: list[list[SourceChat]] = [[] for _ in found]  # each input's chats, in the order given
    sources: dict[str, Source] = {}
    files: list[tuple[Path, Snapshot]] = []
    me_ids: list[str] = []
    names: list[str] = []  # my names, Telegram's first: they help find me in the other messengers
    for i, (path, fmt) in enumerate(found):
        if fmt == "telegram":
            export = telegram.read_export(str(path), cfg.me_for("telegram"))
            slots[i] = export.chats
            files.append((Path(export.path), export.version))
            _add(sources, "telegram", fmt, export.path, export.shape, export.me_id, export.me_name)
            me_ids.append(export.me_id)
            names.append(export.me_name)
    reads: dict[str, list[tuple[int, ReadChat]]] = {}  # by label
    threads: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for i, (path, fmt) in enumerate(found):
        if fmt == "whatsapp":
            reads.setdefault("whatsapp", []).append((i, whatsapp.read_chat(path, cfg.date_order)))
        elif fmt == "discord":
            reads.setdefault("discord", []).append((i, discord.read_channel(path)))
        elif fmt == "bot":
            reads.setdefault("bot", []).extend((i, r) for r in bot.read_record(path))
        elif fmt == "meta":
            label = meta_label(path)
            threads.setdefault((label, str(path.parent)), []).append((i, path))  # a thread is a folder
    for (label, _), members in threads.items():
        i = members[0][0]
        reads.setdefault(label, []).append((i, meta.read_thread([p for _, p in members], label)))
    for label, indexed in reads.items():
        fmt = label if label in FORMATS else "meta"
        chat_reads = [r for _, r in indexed]
        me_id, me_name = me.find_me_among(label, chat_reads, cfg.me_for(fmt), me_key(fmt), names)
        me_ids.append(me_id)
        names.append(me_name)
        for i, r in indexed:
            slots[i].append(_named(r, me_id))
            files += r.files
            _add(sources, label, fmt, r.chat.path, r.shape, me_id, me_name)
    chats = [chat for slot in slots for chat in slot]
    _check_unique(chats)
    return Sources(chats, sources, files, frozenset(me_ids), names[0] if names else "")


def _add(
    sources: dict[str, Source], label: str, fmt: str, path: str, shape: str, me_id: str, name: str
) -> None:
    if label not in sources:
        sources[label] = Source(fmt, [path], shape, me_id, name)
        return
    source = sources[label]
    source.paths.append(path)
    if shape not in source.shape.split(", "):
        source.shape += f", {shape}"


def _named(read: ReadChat, me_id: str) -> SourceChat:
    """A one-to-one chat is named after its contact, the sender who is not me (as Telegram does)."""
    chat = read.chat
    if chat.type != "personal_chat":
        return chat
    them = [(i, name) for i, name in read.senders.items() if i != me_id]
    if len(them) == 1:
        return msgspec.structs.replace(chat, name=them[0][1], peer=them[0][0])
    return msgspec.structs.replace(chat, peer=them[0][0] if them else f"{chat.source}:{chat.name}")


def _check_unique(chats: list[SourceChat]) -> None:
    """Chat ids key the split and data/chats.json: one chat read twice would be in both."""
    seen: dict[int, SourceChat] = {}
    for chat in chats:
        other = seen.setdefault(chat.id, chat)
        if other is not chat:
            raise ChatlikeError(
                f"{chat.path}: its chat {chat.name!r} is also in {other.path} (the same chat exported "
                "twice?); give only one of them"
            )
