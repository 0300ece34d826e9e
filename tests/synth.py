"""Synthetic Telegram Desktop exports: the bundled sample, big benchmark files and quirky test cases.

Everything is deterministic (one `random.Random` per chat, seeded from the seed and the chat) and
written the way Telegram Desktop writes `result.json` (../shared/telegram-export-format.md): keys in
its order, one-space indentation, UTF-8 unescaped, control bytes as `\\xNN`. Pure Python + msgspec.

Building blocks for tests: `message`, `service`, `unsupported`, the media helpers (`sticker`,
`photo`, `voice_message`, ...), `personal_chat`, `group_chat`, `full_export`, `single_chat_export`,
`as_written_before` (version drift), `migrated_history`, and `quirky_exports()` (one small file
per quirk). The demo is `sample_export()`; `large_export()` streams a big file chat by chat.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator, NamedTuple, Optional, Union

import msgspec

from chatlike.files import atomic_open

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
TOO_BIG = "(File exceeds maximum size. Change data exporting settings to download.)"
ABOUT = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't sell your data and we "
    "don't use it to target ads. Learn more: https://telegram.org/privacy#7-3-data-exports"
)
CHATS_ABOUT = "This page lists all chats from this export."
LEFT_ABOUT = (
    "This page lists all supergroups and channels from this export that you've left or were banned from."
)
CONTACTS_ABOUT = (
    "If you allow access, Telegram continuously synchronizes your contacts to show you which of your "
    "contacts are on Telegram."
)
FREQUENT_ABOUT = (
    "This page lists people you use to frequently communicate with. Telegram uses this information to "
    "suggest contacts when you share or forward messages."
)
MIGRATED_SHIFT = 1_000_000_000  # history of a basic group before its upgrade to a supergroup
_ABSENT = object()


class Peer(NamedTuple):
    """A sender as messages name it: display name (None for a deleted account) and prefixed id."""

    name: Optional[str]
    id: str  # "user123", "channel123", "chat123"

    @property
    def bare(self) -> int:
        """The numeric id, as chat objects and personal_information write it."""
        return int(self.id.lstrip("userchanl"))


def user(name: Optional[str], user_id: int) -> Peer:
    """A user peer (`from_id` "user<id>")."""
    return Peer(name, f"user{user_id}")


def channel(name: Optional[str], channel_id: int) -> Peer:
    """A channel or supergroup peer (`from_id` "channel<id>")."""
    return Peer(name, f"channel{channel_id}")


# ---------------------------------------------------------------------------------------------
# Dates: `date` is the exporting machine's local time with no offset; ours is Europe/Rome (EU rule).


_DST_CACHE: dict[int, tuple[int, int]] = {}


def _last_sunday_1utc(year: int, month: int) -> int:
    day = dt.datetime(year, month + 1, 1, 1, tzinfo=dt.UTC) - dt.timedelta(days=1)
    day -= dt.timedelta(days=(day.weekday() + 1) % 7)
    return int(day.timestamp())


def local_iso(ts: int) -> str:
    """Epoch seconds -> naive ISO local time in Rome (CET, CEST from the last Sunday of March)."""
    year = dt.datetime.fromtimestamp(ts, dt.UTC).year
    bounds = _DST_CACHE.get(year)
    if bounds is None:
        bounds = _DST_CACHE[year] = (_last_sunday_1utc(year, 3), _last_sunday_1utc(year, 10))
    offset = 7200 if bounds[0] <= ts < bounds[1] else 3600
    return dt.datetime.fromtimestamp(ts + offset, dt.UTC).replace(tzinfo=None).isoformat()


def epoch(iso_utc: str) -> int:
    """'2024-06-01T12:00:00' read as UTC -> epoch seconds."""
    return int(dt.datetime.fromisoformat(iso_utc).replace(tzinfo=dt.UTC).timestamp())


def _dates(d: dict, key: str, ts: int) -> None:
    d[key] = local_iso(ts)
    d[key + "_unixtime"] = str(ts)


# ---------------------------------------------------------------------------------------------
# Text and entities


Part = Union[str, tuple]  # "plain" | (type, text) | (type, text, {extra keys})


def text_parts(parts: Iterable[Part]) -> tuple[Union[str, list], list]:
    """(`text`, `text_entities`) from parts: a lone plain part is a string, else a mixed list."""
    text: list = []
    entities: list = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if text and isinstance(text[-1], str):
                text[-1] += part
                entities[-1]["text"] += part
            else:
                text.append(part)
                entities.append({"type": "plain", "text": part})
        else:
            obj = {"type": part[0], "text": part[1]}
            if len(part) > 2:
                obj.update(part[2])
            text.append(obj)
            entities.append(dict(obj))
    if not text:
        return "", []
    if len(text) == 1 and isinstance(text[0], str):
        return text[0], entities
    return text, entities


# Lightweight markup for the phrase banks: **bold** __italic__ ++underline++ ~~strike~~ %%spoiler%%
# `code` ```lang\npre``` [words](https://href) <@123|Name> (mention_name) <:456|🔥> (custom_emoji),
# and what Telegram detects by itself: links, @mentions, #hashtags, $CASHTAGS, e-mails, phones, /commands.
_MARKUP = re.compile(
    r"```(?P<lang>\w*)\n(?P<pre>.*?)```"
    r"|`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|__(?P<italic>.+?)__"
    r"|\+\+(?P<underline>.+?)\+\+"
    r"|~~(?P<strikethrough>.+?)~~"
    r"|%%(?P<spoiler>.+?)%%"
    r"|\[(?P<tl>[^\]]+)\]\((?P<href>https?://[^)\s]+)\)"
    r"|<@(?P<uid>\d+)\|(?P<mname>[^>]+)>"
    r"|<:(?P<doc>\d+)\|(?P<cemoji>[^>]+)>"
    r"|(?P<link>https?://[^\s]+[^\s.,!?)])"
    r"|(?P<email>[\w.+-]+@[\w-]+\.[a-z]{2,})"
    r"|(?P<mention>(?<![\w@])@\w{4,})"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
    r"|(?P<cashtag>(?<![\w$])\$[A-Z]{3,5}\b)"
    r"|(?P<phone>\+\d{1,3}[\d ]{8,13}\d)"
    r"|(?P<bot_command>^/\w+)",
    re.S,
)
_SIMPLE = (
    "code",
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "link",
    "email",
    "mention",
    "hashtag",
    "cashtag",
    "phone",
    "bot_command",
)
_MARKUP_CHARS = re.compile(r"[`*_+~%\[<@#$/]|https?:")


def parse_markup(s: str) -> list[Part]:
    """Phrase-bank markup -> parts for `text_parts` (plain strings and entity tuples)."""
    if not _MARKUP_CHARS.search(s):
        return [s]
    parts: list[Part] = []
    pos = 0
    for m in _MARKUP.finditer(s):
        parts.append(s[pos : m.start()])
        pos = m.end()
        g = m.groupdict()
        if g["pre"] is not None:
            parts.append(("pre", g["pre"], {"language": g["lang"]}))
        elif g["tl"] is not None:
            parts.append(("text_link", g["tl"], {"href": g["href"]}))
        elif g["uid"] is not None:
            parts.append(("mention_name", g["mname"], {"user_id": int(g["uid"])}))
        elif g["doc"] is not None:
            parts.append(("custom_emoji", g["cemoji"], {"document_id": g["doc"]}))
        else:
            kind = next(k for k in _SIMPLE if g[k] is not None)
            parts.append((kind, g[kind]))
    parts.append(s[pos:])
    return parts


def rich(s: str) -> tuple[Union[str, list], list]:
    """(`text`, `text_entities`) of a phrase-bank line with markup."""
    return text_parts(parse_markup(s))


# ---------------------------------------------------------------------------------------------
# Messages, in Telegram's key order


def message(
    id: int,
    ts: int,
    sender: Peer,
    text: Union[str, list] = "",
    *,
    edited: Optional[int] = None,
    author: Optional[str] = None,
    forwarded_from: Any = _ABSENT,
    saved_from: Optional[str] = None,
    reply_to: Optional[int] = None,
    reply_to_peer: Optional[str] = None,
    via_bot: Optional[str] = None,
    media: Optional[dict] = None,
    buttons: Optional[list] = None,
    reactions: Optional[list] = None,
) -> dict:
    """A `type: message`; `text` is a string (markup parsed) or a list of parts for `text_parts`."""
    m: dict = {"id": id, "type": "message"}
    _dates(m, "date", ts)
    if edited is not None:
        _dates(m, "edited", edited)
    m["from"] = sender.name
    m["from_id"] = sender.id
    if author:
        m["author"] = author
    if forwarded_from is not _ABSENT:
        m["forwarded_from"] = forwarded_from
    if saved_from:
        m["saved_from"] = saved_from
    if reply_to is not None:
        m["reply_to_message_id"] = reply_to
        if reply_to_peer:
            m["reply_to_peer_id"] = reply_to_peer
    if via_bot:
        m["via_bot"] = via_bot
    if media:
        m.update(media)
    m["text"], m["text_entities"] = rich(text) if isinstance(text, str) else text_parts(text)
    if buttons:
        m["inline_bot_buttons"] = buttons
    if reactions:
        m["reactions"] = reactions
    return m


def service(id: int, ts: int, actor: Optional[Peer], action: str, **extra: Any) -> dict:
    """A `type: service` message: actor/actor_id (no from), action, its keys, empty text."""
    m: dict = {"id": id, "type": "service"}
    _dates(m, "date", ts)
    if actor is not None:
        m["actor"] = actor.name
        m["actor_id"] = actor.id
    m["action"] = action
    m.update(extra)
    m["text"] = ""
    m["text_entities"] = []
    return m


def unsupported(id: int) -> dict:
    """A message of unsupported media: only id and type, no date and no text."""
    return {"id": id, "type": "unsupported"}


def reaction(emoji: str, who: Peer, ts: int) -> dict:
    """One emoji reaction with its recent reactor (exports since v5.5.7)."""
    recent = {"from": who.name, "from_id": who.id}
    _dates(recent, "date", ts)
    return {"type": "emoji", "count": 1, "emoji": emoji, "recent": [recent]}


def sticker(emoji: Optional[str], *, size: int = 24_000, animated: bool = False) -> dict:
    """Media keys of a sticker (not downloaded by default)."""
    d = {
        "file": NOT_INCLUDED,
        "file_size": size,
        "thumbnail": NOT_INCLUDED,
        "thumbnail_file_size": size // 5,
        "media_type": "sticker",
    }
    if emoji:
        d["sticker_emoji"] = emoji
    d["mime_type"] = "application/x-tgsticker" if animated else "image/webp"
    d.update(width=512, height=512)
    return d


def photo(
    path: str = NOT_INCLUDED,
    *,
    size: int = 95_000,
    width: int = 1280,
    height: int = 960,
    spoiler: bool = False,
) -> dict:
    """Media keys of a photo (no media_type); a full export downloads photos up to 8 MB."""
    d: dict = {"photo": path, "photo_file_size": size, "width": width, "height": height}
    if spoiler:
        d["media_spoiler"] = True
    return d


def voice_message(seconds: int) -> dict:
    """Media keys of a voice message."""
    return {
        "file": NOT_INCLUDED,
        "file_size": 1900 * seconds + 800,
        "media_type": "voice_message",
        "mime_type": "audio/ogg",
        "duration_seconds": seconds,
    }


def video_message(seconds: int) -> dict:
    """Media keys of a round video message."""
    return {
        "file": NOT_INCLUDED,
        "file_size": 60_000 * seconds,
        "thumbnail": NOT_INCLUDED,
        "thumbnail_file_size": 7_200,
        "media_type": "video_message",
        "mime_type": "video/mp4",
        "duration_seconds": seconds,
        "width": 384,
        "height": 384,
    }


def animation(seconds: int = 3, *, file_name: str = "giphy.mp4") -> dict:
    """Media keys of a GIF (an mp4 animation)."""
    return {
        "file": NOT_INCLUDED,
        "file_name": file_name,
        "file_size": 310_000,
        "thumbnail": NOT_INCLUDED,
        "thumbnail_file_size": 9_800,
        "media_type": "animation",
        "mime_type": "video/mp4",
        "duration_seconds": seconds,
        "width": 480,
        "height": 270,
    }


def document(file_name: str, mime_type: str = "application/pdf", size: int = 240_000) -> dict:
    """Media keys of a plain file (no media_type)."""
    return {"file": NOT_INCLUDED, "file_name": file_name, "file_size": size, "mime_type": mime_type}


def audio_file(performer: str, title: str, seconds: int) -> dict:
    """Media keys of a music file."""
    return {
        "file": NOT_INCLUDED,
        "file_name": f"{performer} - {title}.mp3",
        "file_size": 16_000 * seconds,
        "media_type": "audio_file",
        "performer": performer,
        "title": title,
        "mime_type": "audio/mpeg",
        "duration_seconds": seconds,
    }


def poll(question: str, answers: list[tuple[str, int, bool]], *, closed: bool = False) -> dict:
    """Media key of a poll: answers are (text, voters, chosen by me)."""
    return {
        "poll": {
            "question": question,
            "closed": closed,
            "total_voters": sum(a[1] for a in answers),
            "answers": [{"text": t, "voters": v, "chosen": c} for t, v, c in answers],
        }
    }


def location(latitude: float, longitude: float, live_seconds: Optional[int] = None) -> dict:
    """Media keys of a location (live when `live_seconds` is given)."""
    d: dict = {"location_information": {"latitude": latitude, "longitude": longitude}}
    if live_seconds:
        d["live_location_period_seconds"] = live_seconds
    return d


def venue(place_name: str, address: str, latitude: float, longitude: float) -> dict:
    """Media keys of a venue."""
    return {
        "place_name": place_name,
        "address": address,
        "location_information": {"latitude": latitude, "longitude": longitude},
    }


def shared_contact(first_name: str, last_name: str, phone_number: str) -> dict:
    """Media key of a shared contact."""
    return {
        "contact_information": {
            "first_name": first_name,
            "last_name": last_name,
            "phone_number": phone_number,
        }
    }


# ---------------------------------------------------------------------------------------------
# Chats and exports


def chat(type: Optional[str], id: int, messages: Iterable[dict], name: Any = _ABSENT) -> dict:
    """A chat object: name (absent for saved_messages; None for a deleted account), type, id, messages.

    `messages` may be any iterable: `write_export` streams a generator without building a list."""
    c: dict = {} if name is _ABSENT else {"name": name}
    c["type"] = type
    c["id"] = id
    c["messages"] = messages if isinstance(messages, list) else _Lazy(messages)
    return c


def personal_chat(contact: Peer, messages: Iterable[dict]) -> dict:
    """A personal chat: its `id` is the other person's bare user id."""
    return chat("personal_chat", contact.bare, messages, name=contact.name)


def group_chat(name: str, id: int, messages: Iterable[dict], type: str = "private_group") -> dict:
    """A group, supergroup or channel chat."""
    return chat(type, id, messages, name=name)


def saved_messages(me_id: int, messages: Iterable[dict]) -> dict:
    """The Saved Messages chat: no name key, and its id is my own user id."""
    return chat("saved_messages", me_id, messages)


def personal_information(
    user_id: int, first_name: str, last_name: str = "", phone_number: str = "", username: Optional[str] = None
) -> dict:
    """The `personal_information` section (`user_id` identifies me)."""
    d: dict = {
        "user_id": user_id,
        "first_name": first_name,
        "last_name": last_name,
        "phone_number": phone_number,
    }
    if username:
        d["username"] = username
    return d


def full_export(
    chats: list[dict],
    *,
    info: Optional[dict] = None,
    left_chats: Optional[list[dict]] = None,
    contacts: Optional[list[dict]] = None,
    frequent: Optional[list[dict]] = None,
) -> dict:
    """A full export ("Export Telegram data"): sections in Telegram's order, absent when not exported."""
    root: dict = {"about": ABOUT}
    if info is not None:
        root["personal_information"] = info
    if contacts is not None:
        root["contacts"] = {"about": CONTACTS_ABOUT, "list": contacts}
    if frequent is not None:
        root["frequent_contacts"] = {"about": FREQUENT_ABOUT, "list": frequent}
    if chats:
        root["chats"] = {"about": CHATS_ABOUT, "list": chats}
    if left_chats:
        root["left_chats"] = {"about": LEFT_ABOUT, "list": left_chats}
    return root


def single_chat_export(chat_obj: dict) -> dict:
    """A single-chat export ("Export chat history"): the file is just the chat object."""
    return dict(chat_obj)


def contact_entry(user_id: int, first_name: str, last_name: str, phone_number: str, ts: int) -> dict:
    """One `contacts.list` item."""
    d = {"user_id": user_id, "first_name": first_name, "last_name": last_name, "phone_number": phone_number}
    _dates(d, "date", ts)
    return d


def frequent_entry(
    id: int, name: Optional[str], rating: float, category: str = "people", type: str = "user"
) -> dict:
    """One `frequent_contacts.list` item."""
    return {"id": id, "category": category, "type": type, "name": name, "rating": rating}


def migrated_history(old_messages: list[dict]) -> list[dict]:
    """A basic group's history as its supergroup exports it: ids (and replies) shifted by -1e9."""
    out = []
    for m in old_messages:
        m = dict(m)
        m["id"] -= MIGRATED_SHIFT
        if "reply_to_message_id" in m:
            m["reply_to_message_id"] -= MIGRATED_SHIFT
        out.append(m)
    return out


def _messages_of(root: dict) -> Iterator[dict]:
    if "messages" in root:
        yield from root["messages"]
    for section in ("chats", "left_chats"):
        for c in root.get(section, {}).get("list", []):
            yield from c["messages"]


def as_written_before(root: dict, when: str) -> dict:
    """The same export as an older Telegram Desktop wrote it (in place; returns it).

    when: "2024-09" (no reactions), "2022-09" (no text_entities, < v4.1.2),
    "2022-06" (no *_unixtime, < v3.7.6), "2021-04" (from_id/actor_id bare integers, < v2.7.2)."""
    for m in _messages_of(root):
        m.pop("reactions", None)
        if when <= "2022-09":
            m.pop("text_entities", None)
        if when <= "2022-06":
            for key in [k for k in m if k.endswith("_unixtime")]:
                del m[key]
        if when <= "2021-04":
            for key in ("from_id", "actor_id"):
                if isinstance(m.get(key), str):
                    m[key] = int(m[key].lstrip("userchanl"))
    if when <= "2022-06":
        for item in root.get("contacts", {}).get("list", []):
            item.pop("date_unixtime", None)
    return root


# ---------------------------------------------------------------------------------------------
# Writing, the way Telegram Desktop does


class _Lazy:
    """An iterable of messages written as a JSON array without being held in memory."""

    def __init__(self, items: Iterable[dict]):
        self.items = items

    def __iter__(self) -> Iterator[dict]:
        return iter(self.items)


_ENC = msgspec.json.Encoder()
# msgspec writes \u00NN, \b and \f for control bytes; Telegram writes \xNN (not JSON). An even run
# of backslashes before them is escaped backslashes, so only an odd run is an escape.
_CTRL = re.compile(rb"(?<!\\)((?:\\\\)*)\\(?:u00([01][0-9a-fA-F])|([bf]))")


def _telegram_escapes(b: bytes) -> bytes:
    if b"\\u00" in b or b"\\b" in b or b"\\f" in b:
        b = _CTRL.sub(
            lambda m: (
                m.group(1)
                + b"\\x"
                + (m.group(2).upper() if m.group(2) else (b"08" if m.group(3) == b"b" else b"0C"))
            ),
            b,
        )
    if b"\xe2\x80\xa8" in b or b"\xe2\x80\xa9" in b:
        b = b.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return b


def _format(obj: Any, depth: int) -> bytes:
    b = msgspec.json.format(_ENC.encode(obj), indent=1)
    if depth:
        b = b.replace(b"\n", b"\n" + b" " * depth)
    return _telegram_escapes(b)


def _has_lazy(obj: Any) -> bool:
    if isinstance(obj, _Lazy):
        return True
    if isinstance(obj, dict):
        return any(_has_lazy(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_lazy(v) for v in obj)
    return False


_CHUNK = 2000


def _write(f: IO[bytes], obj: Any, depth: int) -> None:
    if isinstance(obj, _Lazy):
        it = iter(obj)
        first = True
        while True:
            chunk = []
            for item in it:
                chunk.append(item)
                if len(chunk) == _CHUNK:
                    break
            if not chunk:
                break
            # a list formatted at depth d holds its items at d+1: strip the brackets, keep the items
            body = _format(chunk, depth)[2 : -(2 + depth)]
            f.write((b"[\n" if first else b",\n") + body)
            first = False
        f.write(b"[]" if first else b"\n" + b" " * depth + b"]")
    elif isinstance(obj, dict) and _has_lazy(obj):
        pad = b" " * (depth + 1)
        f.write(b"{")
        for i, (k, v) in enumerate(obj.items()):
            f.write((b"\n" if i == 0 else b",\n") + pad + _ENC.encode(k) + b": ")
            _write(f, v, depth + 1)
        f.write(b"\n" + b" " * depth + b"}")
    elif isinstance(obj, list) and _has_lazy(obj):
        pad = b" " * (depth + 1)
        f.write(b"[")
        for i, v in enumerate(obj):
            f.write((b"\n" if i == 0 else b",\n") + pad)
            _write(f, v, depth + 1)
        f.write(b"\n" + b" " * depth + b"]")
    else:
        f.write(_format(obj, depth))


def write_export_to(f: IO[bytes], root: dict) -> None:
    """Write an export to an open binary file (chats' message generators are streamed)."""
    _write(f, root, 0)


def write_export_bytes(root: dict) -> bytes:
    """The bytes Telegram Desktop would write for this export (control bytes as invalid `\\xNN`)."""
    import io

    buf = io.BytesIO()
    _write(buf, root, 0)
    return buf.getvalue()


def write_export(path, root: dict) -> None:
    """Write `result.json` atomically, streaming any message generators."""
    with atomic_open(path, "wb") as f:
        _write(f, root, 0)


# ---------------------------------------------------------------------------------------------
# Phrase banks. Script lines: "M:" is me (Pasquale), "T:" them; " | " splits a burst into messages,
# " ;; " separates alternatives, a leading "?" makes a line optional, {slot}s come from the bank.

_SLOTS_IT = {
    "hour": ["20", "20:30", "21", "21:15", "19:45", "22", "18:30"],
    "day": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "food": ["pizza", "sushi", "un panino", "la carbonara", "il ramen", "una frittatina", "il kebab"],
    "place": [
        "da Michele",
        "al solito bar",
        "sul lungomare",
        "in piazza Bellini",
        "al Vomero",
        "da Sorbillo",
        "al pub irlandese",
        "da Ciro",
    ],
    "film": ["Dune", "Oppenheimer", "Perfect Days", "Parthenope", "Il Gladiatore 2", "Past Lives"],
    "series": ["The Bear", "Gomorra", "Succession", "Shogun", "Mare Fuori", "Severance"],
    "drink": ["una birra", "uno spritz", "un caffè", "due birre", "un amaro"],
    "player": ["Kvara", "Osimhen", "Lobotka", "Di Lorenzo", "McTominay", "Lukaku", "Politano"],
    "team": ["la Juve", "l'Inter", "il Milan", "la Roma", "l'Atalanta", "la Lazio"],
    "city": ["Roma", "Milano", "Bologna", "Torino", "Lisbona", "Berlino", "Barcellona"],
    "n": ["2", "3", "4", "5", "10", "15", "20"],
    "score": ["2-1", "1-1", "3-0", "0-0", "2-2", "3-2", "1-0"],
}
_SLOTS_EN = {
    "hour": ["7", "7:30", "8", "6pm", "noon", "9"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "food": ["pizza", "ramen", "tacos", "a curry", "pasta", "dumplings"],
    "place": ["the pub by the station", "that cafe in Shoreditch", "the museum", "the park", "Dishoom"],
    "film": ["Dune", "Oppenheimer", "Past Lives", "Poor Things", "Anatomy of a Fall", "Challengers"],
    "book": [
        "Tomorrow, and Tomorrow, and Tomorrow",
        "Klara and the Sun",
        "The Secret History",
        "Piranesi",
        "Normal People",
        "Project Hail Mary",
    ],
    "city": ["London", "Lisbon", "Berlin", "Edinburgh", "Paris", "Amsterdam"],
    "n": ["2", "3", "4", "5", "10", "20"],
}
_SLOTS_RU = {
    "city": ["Berlin", "Tbilisi", "Belgrade", "Lisbon", "Napoli", "Istanbul"],
    "opening": ["Sicilian", "Caro-Kann", "Queen's Gambit", "London System", "King's Indian"],
    "lang": ["Rust", "Go", "Python", "Kotlin", "TypeScript"],
    "n": ["2", "3", "5", "10", "15"],
    "hour": ["7", "8", "9", "19:00", "20:00"],
}

LORENZO_SCRIPTS = [
    """T: uee Pasquà | stasera partita? ;; oh fra stasera c'è il Napoli | ci vediamo?
M: sì ahah ;; ovvio ;; certo fra
M: da te o da me?
T: da me, porto le birre 🍺 ;; vieni da me che ho il proiettore
M: perfetto 👍 ;; top
T: alle {hour}? ;; alle {hour} che c'è il prepartita
M: ok ci sto ;; va bene ahah
?T: porta le patatine almeno 😂""",
    """T: hai visto {player}?? ;; {player} ieri sera MAMMA MIA
M: ahahah sì | pazzesco
T: ma come ha fatto quel gol | io ancora non ci credo
M: boh fortuna ;; quello è un fenomeno
?M: cmq la difesa fa pena
T: ahah vabbè dai ;; eh sì quella è da sistemare
T: {day} c'è {team} | ho paura
M: tranquillo vinciamo {score} ;; finisce {score} vedrai
T: speriamo 🙏""",
    """T: fra {food} stasera?
M: mmm sì | dove?
T: {place}
M: ok | alle {hour}?
T: perfetto
?M: chiamo anche Marco?
?T: sì sì chiamalo""",
    """M: lorè ma hai finito {series}?
T: no sto alla seconda stagione ;; sì ieri notte | non ho dormito
M: ahah io sono all'ultima puntata
T: NON SPOILERARE 😂 ;; ti prego zitto
M: ahahah ok ok 🙈
T: poi ne parliamo ;; appena finisco ti scrivo""",
    """T: oh ma sabato che facciamo? ;; sabato ci sei?
M: boh | tu?
T: pensavo {place} ;; c'è una festa {place}
M: mmm dai ok ;; ci sto ahah
T: prendo la macchina io
M: grande 🙌 ;; top fra""",
    """T: Pasquale mi serve un favore ;; fra mi aiuti con una cosa?
M: dimmi
T: domani mi accompagni all'aeroporto? | ho il volo alle 7 😩 ;; mi presti il trapano?
M: ahah ok ;; va bene | passo io
T: sei un grande ❤️ ;; ti offro {drink}
M: tranquillo ;; ahah figurati""",
    """M: ho appena visto il prezzo dei biglietti per {city} | follia
T: quanto?
M: {n}0 euro solo andata
T: AHAHAHA ;; vabbè allora andiamo in treno
M: ahah no dai
?T: aspetta i saldi
M: vediamo ;; boh ci penso""",
    """T: raga calcetto giovedì confermato? ;; giovedì calcetto?
M: sì io ci sono ;; presente ahah
T: manca uno ;; siamo in 9
M: chiedo a mio cugino ;; provo con Simone
T: ok fammi sapere entro stasera
M: 👍""",
    """T: AHAHAHAHA hai visto il video che ha mandato Ciccio nel gruppo? ;; guarda il gruppo 😂
M: ahahah sì | sto piangendo 😂
T: è un genio ;; quello è fuori
M: ahah lo ha fatto apposta secondo me""",
    """M: ciao fra | sei a casa?
T: no sto al lavoro ;; sì perché?
M: ti devo ridare le chiavi ;; volevo passare a prendere il caricabatterie
T: passa dopo le {hour}
M: ok ;; perfetto
?T: citofona che il campanello non va""",
    """T: hai sentito di Marco?
M: no che è successo?
T: si è fidanzato!! ;; ha lasciato il lavoro
M: noo | davvero? ;; ma dai 😱
T: giuro | me l'ha detto ieri
M: ahah grande | gli scrivo
?T: fai finta di niente però""",
    """M: lorè {day} ci sei?
T: sì dimmi
M: cena da me | faccio {food}
T: ooh | porto io il vino 🍷 ;; arrivo con il dolce
M: ok top ahah""",
    """T: quanto hai fatto al fantacalcio?
M: {n}0 punti | una tragedia
T: ahahah io 78 ;; ahah io peggio
M: il prossimo anno non lo faccio più ;; basta fantacalcio
T: lo dici ogni anno 😂""",
    """T: buongiorno ☀️ | caffè?
M: ahah sono sveglio da 5 minuti ;; arrivo
T: ti aspetto al bar sotto
M: 10 minuti""",
    """M: ho perso la partita a FIFA contro mio nipote ;; mio nipote mi ha battuto a FIFA
T: AHAHAHAH | quanti anni ha?
M: 12 🙈
T: sei finito fra
M: ahah lo so""",
]
LORENZO_OPEN = ["T: uee ;; oh fra ;; Pasquà ;; bella fra", "M: ciao fra ;; lorè ;; uè"]
LORENZO_CLOSE = [
    "T: ok a dopo ;; ci sentiamo fra ;; 👍 ;; ok",
    "M: ciao ;; a dopo ;; 👋 ;; ok ahah",
]

GIULIA_SCRIPTS = [
    """T: Ciao Pasquale! Come stai? 😊 ;; Ehi! Tutto bene?
M: ciao giuli | tutto bene tu?
T: Bene dai, un po' stanca per il lavoro
M: eh ti capisco ;; ahah anche io
T: Ci vediamo questa settimana?
M: sì | {day}?
T: Perfetto, {day} alle {hour} {place}
M: ok ❤️""",
    """T: Hai visto {film}?
M: no ancora | com'è?
T: Bellissimo, te lo consiglio davvero ;; Mah, un po' lungo ma merita
M: ok allora lo vedo nel weekend
T: Poi mi dici! 😊
?M: certo""",
    """T: Domani è il compleanno di Sara, ci sei alla festa?
M: sì | a che ora?
T: Alle {hour} da lei
M: cosa le regaliamo?
T: Pensavo a un libro o a una pianta 🌿
M: la pianta ahah | la uccide in una settimana ma vabbè
T: Ahah vero 😂 Allora il libro
M: ok faccio io il bonifico ;; ok ti mando i soldi""",
    """M: giuli mi consigli un ristorante a {city}?
T: Certo! Che tipo di cucina?
M: boh qualcosa di tipico
T: Ti mando il link, è quello dove siamo andati l'anno scorso ;; Aspetta che lo cerco
T: https://www.example.org/ristoranti/{city}
M: grazie ❤️ ;; perfetto grazie""",
    """T: Come è andato il colloquio?
M: bene credo | mi richiamano la settimana prossima
T: Dai che va bene! Incrocio le dita 🤞
M: ahah grazie
?T: Fammi sapere appena ti chiamano""",
    """T: Ho fatto la torta di mele di tua nonna! ;; Ho provato la ricetta che mi hai dato
M: noo | e com'è venuta?
T: Buonissima, ma un po' bruciata sotto 😅
M: ahahah succede anche a lei
T: La prossima volta la porto
M: sì ti prego""",
    """M: giuli stasera che fai?
T: Niente di che, divano e {series}
M: ahah uguale
T: Allora sentiamoci dopo
M: ok 😊""",
    """T: Pasquale hai ancora il mio ombrello? ☔ ;; Ti ho lasciato la sciarpa in macchina?
M: ahah sì | te lo porto {day}
T: Grazie! Non c'è fretta
M: 👍""",
    """T: Vieni al mare {day}?
M: dove andate?
T: A Procida, prendiamo l'aliscafo delle {hour}
M: mi piacerebbe | vediamo se riesco col lavoro
T: Dai vieni! 🌊
M: ok ci provo ahah""",
]
GIULIA_OPEN = ["T: Ciao! ;; Buongiorno 😊 ;; Ehi Pasquale", "M: ciao giuli ;; ehi ;; buongiorno"]
GIULIA_CLOSE = ["T: Buonanotte! 🌙 ;; A presto 😊 ;; Ciao ciao", "M: notte ;; a presto ;; ❤️"]

ANNA_SCRIPTS = [
    """T: Hey Pasquale! How's Naples? ;; Hi! How are things?
M: hey anna | all good ahah | it's so hot here
T: Lucky you, it's raining here as usual 😅
M: ahah classic london
T: When are you coming to visit?
M: maybe in {n} weeks | i need to check flights
T: Let me know, you can stay at mine
M: thanks ❤️""",
    """T: Have you read {book}?
M: no | is it good?
T: It's amazing, I couldn't put it down
M: ok adding it to my list ahah
T: I'll lend you my copy next time
M: deal""",
    """M: anna quick question | how do you say "abbiocco" in english
T: Haha what does it mean?
M: when you're sleepy after a big lunch
T: Food coma! 😂
M: ahah food coma | perfect""",
    """T: Did you see the news about the train strike? ;; Are you still flying on {day}?
M: yes | i hope it's fine
T: Check the airline's app, mine was cancelled last month ;; Fingers crossed 🤞
M: ok thanks | will do""",
    """T: We're going to {place} on {day}, want to join?
M: sounds good | what time?
T: Around {hour}
M: ok i'm in ahah
?T: Great, I'll book a table""",
    """M: i finally watched {film}
T: And??
M: loved it | the ending though 🙈
T: Right?? I cried haha
M: ahah me too a bit""",
    """T: Can you send me the recipe for the pasta you made? ;; That pasta was incredible, recipe please!
M: ahah sure | it's easy
M: pasta, garlic, oil, chili | and a lot of parmigiano
T: That's it?? 😂
M: that's it ahah | the secret is the pasta water
T: Noted! Thank you ❤️""",
    """T: Happy birthday!! 🎉🎂 ;; Happy birthday Pasquale!! 🥳
M: thank you anna ❤️ ahah
T: Any plans for tonight?
M: dinner with friends | pizza obviously
T: Of course haha. Have fun!""",
    """T: How's the new job going?
M: good | a lot to learn ahah
T: You'll be great, I'm sure
M: thanks 🙈
T: Tell me everything next time we call""",
]
ANNA_OPEN = ["T: Hey! ;; Hi Pasquale ;; Hello you", "M: hey anna ;; hi ;; hey"]
ANNA_CLOSE = ["T: Talk soon! ;; Bye 👋 ;; Night night", "M: bye ahah ;; talk soon ;; 👋"]

DMITRI_SCRIPTS = [
    """T: Привет! Как дела? ;; Привет, Паскуале)
M: привет dima! | all good | you?
T: Нормально, много работы) ;; Отлично, спасибо
M: ahah same
T: когда в {city}?
M: maybe next month
T: Давай, пиши)""",
    """T: Сыграем в шахматы вечером? ;; Партию в блиц?
M: da da | at {hour}?
T: Ок) Опять {opening}?
M: ahah you always win with that
T: Ничего, научу))""",
    """M: dima do you know {lang}?
T: Немного. А что?
M: i have a bug i don't understand | `index out of range`
T: Скинь код ;; Покажи
M: ```python
for i in range(len(xs) + 1):
    print(xs[i])
```
T: Ну вот, range(len(xs) + 1) | убери +1)
M: ahah omg | spasibo 🙈""",
    """T: Смотри что нашёл https://www.example.org/chess/puzzle-{n}
M: ahah nice | too hard for me
T: Мат в три хода)
M: i'll try tonight""",
    """T: С днём рождения!!! 🎉
M: spasibo dima ❤️ ahah
T: Как отмечаешь?
M: pizza with friends | and you are invited next time you're in napoli
T: Обязательно приеду)""",
    """M: dima how do you say "cheers" in russian?
T: За здоровье! ;; Будем!
M: za zdorovye | ok ahah
T: Произношение потом проверим))""",
    """T: Ты видел новости про {city}?
M: no what happened?
T: Открыли новый музей, говорят очень крутой ;; Там фестиваль в эти выходные
M: ahah cool | we should go
T: Давай в следующем году)""",
]
DMITRI_OPEN = ["T: Привет) ;; Хей ;; Добрый вечер", "M: privet! ;; hey dima ;; привет"]
DMITRI_CLOSE = ["T: Пока) ;; Давай, до связи ;; Спокойной ночи", "M: poka ahah ;; bye ;; 👋"]

GROUP_SCRIPTS = [
    """A: Raga giovedì ci siamo tutti? ;; Chi c'è giovedì?
M: io sì
L: presente 🔥
B: Io arrivo tardi, tipo alle 21:15
C: ci sono
A: Perfetto siamo in 10""",
    """B: Chi porta il pallone? ;; Il pallone ce l'ha qualcuno?
L: io no l'ho bucato 😂
M: lo porto io ahah
B: Grande Pasquale""",
    """A: Risultato di ieri: {score} per noi 💪 ;; Finita {score}, ben giocato raga
L: MVP Pasquale 👑 ;; che gol di Ciccio
M: ahah grazie raga
C: la prossima volta però non sbaglio il rigore 😅
B: ahahah""",
    """C: Raga il campo giovedì è chiuso, si sposta a venerdì ;; Attenzione: cambio campo, ci vediamo al Centro Sportivo
A: Ancora?? ;; Noo
M: per me ok
L: anche per me
B: Io venerdì non posso 😩""",
    """A: Chi mi deve ancora i soldi del campo? 6 euro a testa ;; Quota campo: 6€
M: io te li do giovedì
L: ti ho mandato il bonifico 👍
C: scusa mi ero dimenticato, ti mando subito""",
    """L: ragazzi pizza dopo la partita? 🍕
M: sìì
B: Ci sto
A: Solo se paga chi perde 😂
C: allora paga Lorenzo""",
]

SAVED_NOTES = [
    "comprare: latte, caffè, pane, pomodori",
    "password wifi casa mamma: `Napoli1926!`",
    "idea regalo giulia: libro di Elena Ferrante",
    "https://www.example.org/ricette/genovese",
    "appuntamento dentista martedì 16:30",
    "ricordarsi di pagare il bollo auto",
    "numero idraulico: +39 333 111 2233",
    "film da vedere: Perfect Days, Past Lives, Parthenope",
    "#todo rinnovare passaporto",
    "chiedere a lorenzo i soldi della pizza",
]
CHANNEL_POSTS = [
    "**Genovese napoletana** 🧅\nIngredienti per 4: 1 kg di cipolle, 600 g di carne, ziti spezzati.\n#ricette #napoli",
    "**Pasta e patate con la provola**\nIl segreto è la crosta di parmigiano. #ricette",
    "__Consiglio del giorno__: l'acqua della pasta va salata quando bolle, mai prima.",
    "Nuova ricetta sul blog: [la pastiera di mia nonna](https://www.example.org/blog/pastiera) 🌸 #pasqua",
    "**Frittatina di pasta**\nBesciamella, piselli, pancetta. Si frigge a 170 gradi. #streetfood",
    "Domani diretta alle 19 su @pasquale_cucina, si fanno i taralli sugna e pepe!",
    "Sondaggio della settimana nel prossimo post 👇",
    "**Ragù della domenica**: almeno 6 ore, a fuoco bassissimo. %%il vino è il segreto%%",
]
SUPERGROUP_MINE = [
    "che partita raga",
    "forza napoli sempre 💙",
    "qualcuno ha un biglietto per domenica?",
    "ahah questo coro è il migliore",
    "ma l'arbitro?? 🤬",
    "chi va in trasferta a {city}?",
    "spalletti ci manchi ahah",
    "ho visto {player} al bar ieri 😱",
    "grande vittoria ragazzi",
]
FORWARDS_IT = [
    (
        "Il Post",
        "Il traffico a Napoli è il peggiore d'Europa secondo una nuova classifica "
        "https://www.example.org/news/traffico-napoli",
    ),
    (
        "SSC Napoli",
        "📣 Biglietti in vendita da domani alle 10 su https://www.example.org/ticket #ForzaNapoli",
    ),
    ("Meteo Campania", "⛈️ Allerta meteo gialla su tutta la regione fino a domani sera"),
]
FORWARDS_EN = [
    ("BBC News", "Scientists discover a new species of frog in the Amazon https://www.example.org/frog"),
    ("The Guardian", "The 25 best books of the year, chosen by our critics https://www.example.org/books"),
]
FORWARDS_RU = [
    ("Chess News", "Магнус Карлсен выиграл турнир в Нью-Йорке https://www.example.org/chess/carlsen"),
    ("Meduza", "Как выбрать хороший кофе: пять простых советов https://www.example.org/coffee"),
]
ENTITY_LINES = {
    "it": [
        "guarda qui https://www.example.org/video/gol",
        "hai visto [questo articolo](https://www.example.org/news/1)?",
        "chiedi a @marco_esp che lui sa",
        "**importante**: portate i documenti",
        "è __bellissimo__ giuro",
        "il codice è `4821`",
        "scrivimi a pasquale.esposito@example.com",
        "il numero del ristorante è +39 081 555 0199",
        "#calcetto stasera",
        "il finale è %%che muoiono tutti%% ahah",
        "<:5368324170671202286|🔥> che roba",
        "ok <@100000006|Marco> ci pensi tu?",
        "~~martedì~~ mercoledì allora",
        "++domani++ non dimenticare",
    ],
    "en": [
        "check this out https://www.example.org/london-events",
        "here's [the link](https://www.example.org/flat)",
        "**don't forget** your passport",
        "it was __so__ good",
        "my email is anna.smith@example.com",
        "call me at +44 20 7946 0018",
        "#throwback to Lisbon",
        "ask @anna_reads",
        "the code is `LDN24`",
    ],
    "ru": [
        "вот ссылка https://www.example.org/chess",
        "**важно**: турнир в субботу",
        "#шахматы сегодня",
        "мой номер +7 912 555 0142",
        "пиши на dmitri.volkov@example.com",
        "попробуй `git rebase -i`",
    ],
}
STICKERS = ["😂", "👍", "❤️", "😘", "🙈", "😎", "🤔", "😭", "🔥", "🥳"]
REACTIONS = ["❤", "👍", "😁", "🔥", "😢", "🤣"]
_PHOTO_CAPTIONS = {
    "it": [
        "guarda che vista",
        "la cena di stasera 😋",
        "indovina dove sono",
        "ahah guarda questo",
        "Napoli oggi",
    ],
    "en": ["the view from my window", "look who I met", "dinner tonight", "this cat 😂"],
    "ru": ["вид из окна", "наш кот", "смотри)"],
}


# ---------------------------------------------------------------------------------------------
# Generation


@dataclass
class Profile:
    """One contact and how a chat with them goes: language, scripts, style, share of the chat."""

    person: Peer
    lang: str  # it | en | ru
    scripts: list[str]
    openers: list[str]
    closers: list[str]
    slots: dict
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    username: str = ""
    _compiled: list = field(default_factory=list, repr=False)


Line = tuple[str, bool, list[list[str]]]  # speaker, optional, alternatives (each a burst)


def _compile(script: str) -> list[Line]:
    lines = []
    for raw in script.strip().split("\n"):
        if not raw or raw[0] not in "?MTLABCD" or (raw[0] != "?" and raw[1] != ":"):
            lines[-1][2][-1][-1] += "\n" + raw  # continuation of a multi-line message (pre block)
            continue
        optional = raw.startswith("?")
        raw = raw.lstrip("?")
        who, text = raw.split(":", 1)
        alts = [[part.strip() for part in alt.split(" | ")] for alt in text.strip().split(" ;; ")]
        lines.append((who, optional, alts))
    return lines


class _Ids:
    def __init__(self, rng: random.Random, start: int, gaps: bool):
        self.rng, self.next, self.gaps = rng, start, gaps

    def __call__(self) -> int:
        i = self.next
        self.next += 1 + (self.rng.randrange(1, 40) if self.gaps and self.rng.random() < 0.25 else 0)
        return i


class _Slots(dict):
    def __init__(self, rng: random.Random, bank: dict):
        super().__init__()
        self.rng, self.bank = rng, bank

    def __missing__(self, key: str) -> str:
        return self.rng.choice(self.bank[key])


class _Writer:
    """Generates one chat's messages: conversations from scripts, with bursts, silences and quirks."""

    def __init__(
        self,
        rng: random.Random,
        chat_index: int,
        me: Peer,
        lang: str,
        ids: _Ids,
        t: int,
        slots: dict,
        media_dir: str,
    ):
        self.rng, self.me, self.lang, self.ids, self.t = rng, me, lang, ids, t
        self.slots = _Slots(rng, slots)
        self.chat_index, self.media_dir = chat_index, media_dir
        self.recent: list[tuple[int, Peer]] = []
        self.photos = 0
        self.deck: list[int] = []

    def _fill(self, s: str) -> str:
        return s.format_map(self.slots) if "{" in s else s

    def _photo_path(self) -> str:
        self.photos += 1
        stamp = local_iso(self.t)
        d, h = stamp[:10].split("-"), stamp[11:].replace(":", "-")
        return f"{self.media_dir}photos/photo_{self.photos}@{d[2]}-{d[1]}-{d[0]}_{h}.jpg"

    def _style(self, who: Peer, text: str) -> str:
        rng = self.rng
        r = rng.random()
        if who is self.me:
            if r < 0.08 and "ahah" not in text:
                text += rng.choice([" ahah", " ahahah", " 😂", " 🙈"])
            return text
        if self.lang == "ru" and r < 0.2 and not text.endswith(")"):
            text += rng.choice([")", "))"])
        elif r < 0.02:
            text += rng.choice([" 😂", " 😅", " 🔥"] if self.lang == "it" else [" 😅", " haha"])
        return text

    def text(self, who: Peer, line: str, others: list[Peer]) -> dict:
        """One text message, sometimes edited, a reply, or reacted to."""
        rng, t = self.rng, self.t
        mid = self.ids()
        reply_to = None
        if self.recent and rng.random() < 0.08:
            cand = [i for i, p in self.recent[-6:] if p is not who]
            reply_to = cand[-1] if cand else None
        edited = t + rng.randrange(5, 300) if rng.random() < 0.04 else None
        reactions = None
        if others and rng.random() < 0.07:
            reactions = [reaction(rng.choice(REACTIONS), rng.choice(others), t + rng.randrange(10, 600))]
        m = message(
            mid,
            t,
            who,
            self._style(who, self._fill(line)),
            edited=edited,
            reply_to=reply_to,
            reactions=reactions,
        )
        self.recent.append((mid, who))
        return m

    def media(self, who: Peer, kind: str) -> dict:
        """A media message of the given kind, from `who`."""
        rng, lang = self.rng, self.lang
        caption = ""
        via = None
        if kind == "sticker":
            med = sticker(
                rng.choice(STICKERS), size=rng.randrange(9_000, 60_000), animated=rng.random() < 0.3
            )
        elif kind == "photo":
            med = photo(
                self._photo_path(),
                size=rng.randrange(40_000, 400_000),
                width=rng.choice([1280, 960, 1600]),
                height=rng.choice([960, 1280, 1200]),
            )
        elif kind == "photo_caption":
            med = photo(self._photo_path(), size=rng.randrange(40_000, 400_000))
            caption = rng.choice(_PHOTO_CAPTIONS[lang])
        elif kind == "voice":
            med = voice_message(rng.randrange(2, 95))
        elif kind == "video_message":
            med = video_message(rng.randrange(3, 40))
        elif kind == "gif":
            med, via = animation(rng.randrange(2, 6)), "@gif"
        elif kind == "document":
            med = document(rng.choice(["biglietto.pdf", "ricevuta.pdf", "foto_vacanze.zip", "cv_2025.pdf"]))
        elif kind == "location":
            med = location(round(40.83 + rng.random() / 20, 6), round(14.22 + rng.random() / 20, 6))
        elif kind == "contact":
            med = shared_contact("Ciro", "Idraulico", "+39 333 555 0101")
        elif kind == "audio":
            med = audio_file("Pino Daniele", "Napule è", 212)
        else:
            raise ValueError(kind)
        mid = self.ids()
        self.recent.append((mid, who))
        return message(mid, self.t, who, caption, via_bot=via, media=med)

    def forward(self, who: Peer) -> dict:
        """A forwarded post (with a link entity, usually)."""
        src, text = self.rng.choice({"it": FORWARDS_IT, "en": FORWARDS_EN, "ru": FORWARDS_RU}[self.lang])
        mid = self.ids()
        self.recent.append((mid, who))
        return message(mid, self.t, who, text, forwarded_from=src)

    def tick(self, same_sender: bool) -> None:
        rng = self.rng
        if same_sender:
            self.t += rng.randrange(2, 45) if rng.random() < 0.9 else rng.randrange(45, 200)
        else:
            delay = int(min(1500, max(4, rng.lognormvariate(math.log(50), 1.0))))
            if rng.random() < 0.04:
                delay += rng.randrange(600, 2400)  # a pause, still the same conversation
            self.t += delay

    def silence(self, median_hours: float) -> None:
        """Jump to the next conversation: hours to days later, at a plausible time of day."""
        rng = self.rng
        hours = max(1.2, rng.lognormvariate(math.log(median_hours), 1.1))
        if rng.random() < 0.03:
            hours += rng.randrange(7 * 24, 21 * 24)  # holidays, busy weeks
        t = self.t + int(hours * 3600)
        local_hour = (t // 3600 + 1) % 24
        if 1 <= local_hour < 8:  # nobody chats at 4am: push to the morning
            t += (8 - local_hour) * 3600 + rng.randrange(0, 3600)
        self.t = t


_QUIRKS = [  # (kind, probability per script line), realistic-ish proportions
    ("sticker", 0.06),
    ("photo", 0.025),
    ("photo_caption", 0.02),
    ("voice", 0.025),
    ("video_message", 0.003),
    ("gif", 0.004),
    ("forward", 0.01),
    ("entity", 0.04),
    ("document", 0.002),
    ("location", 0.0015),
    ("contact", 0.0006),
    ("audio", 0.0005),
    ("unsupported", 0.0006),
]


def _conversation(w: _Writer, pro: Profile, speakers: dict[str, Peer]) -> Iterator[dict]:
    """One conversation: maybe an opener, a topic script, maybe a closer; quirks sprinkled in."""
    rng = w.rng
    parts: list[list[Line]] = []
    if rng.random() < 0.35:
        parts.append(_compile(rng.choice(pro.openers))[:1])
    if not w.deck:  # every script once, in a shuffled order, before any comes back
        w.deck = list(range(len(pro._compiled)))
        rng.shuffle(w.deck)
    parts.append(pro._compiled[w.deck.pop()])
    if rng.random() < 0.3:
        parts.append(_compile(rng.choice(pro.closers))[:1])
    # phone calls happen instead of or right before chatting
    if rng.random() < 0.02:
        caller = rng.choice([w.me, pro.person])
        reason = rng.choice(["hangup", "hangup", "missed", "busy"])
        extra = {"duration_seconds": rng.randrange(20, 1800)} if reason == "hangup" else {}
        yield service(w.ids(), w.t, caller, "phone_call", **extra, discard_reason=reason)
        w.t += extra.get("duration_seconds", 30) + rng.randrange(30, 300)
    last = None
    others = [p for p in speakers.values()]
    for lines in parts:
        for who_key, optional, alts in lines:
            if optional and rng.random() < 0.5:
                continue
            who = speakers[who_key]
            for k, line in enumerate(alts[rng.randrange(len(alts))]):
                w.tick(same_sender=(who is last))
                last = who
                yield w.text(who, line, [p for p in others if p is not who])
                if k == 0:
                    for kind, p in _QUIRKS:
                        if rng.random() < p:
                            w.tick(same_sender=True)
                            if kind == "forward":
                                yield w.forward(who)
                            elif kind == "entity":
                                yield w.text(who, rng.choice(ENTITY_LINES[pro.lang]), [])
                            elif kind == "unsupported":
                                yield unsupported(w.ids())
                            else:
                                sender = (
                                    who if kind != "sticker" or rng.random() < 0.5 else rng.choice(others)
                                )
                                last = sender
                                yield w.media(sender, kind)
    if rng.random() < 0.004 and w.recent:
        w.tick(same_sender=False)
        yield service(w.ids(), w.t, w.me, "pin_message", message_id=w.recent[-1][0])


def _personal_messages(
    seed: Any,
    index: int,
    me: Peer,
    pro: Profile,
    start: int,
    n: Optional[int],
    n_conversations: Optional[int],
    median_gap_hours: float,
    media_dir: str,
) -> Iterator[dict]:
    """A personal chat's messages: `n` exactly, or `n_conversations` whole conversations."""
    rng = random.Random(f"{seed}/{pro.person.id}/{index}")
    if not pro._compiled:
        pro._compiled = [_compile(s) for s in pro.scripts]
    w = _Writer(
        rng, index, me, pro.lang, _Ids(rng, rng.randrange(1, 5000), gaps=True), start, pro.slots, media_dir
    )
    speakers = {"M": me, "T": pro.person}
    count = convs = 0
    while True:
        for m in _conversation(w, pro, speakers):
            yield m
            count += 1
            if n is not None and count >= n:
                return
        convs += 1
        if n_conversations is not None and convs >= n_conversations:
            return
        w.recent.clear()
        w.silence(median_gap_hours)


# ---------------------------------------------------------------------------------------------
# The bundled sample: Pasquale Esposito and his chats

ME_ID = 100000001
ME = user("Pasquale Esposito", ME_ID)
LORENZO = user("Lorenzo", 100000002)
GIULIA = user("Giulia Russo", 100000003)
ANNA = user("Anna Smith", 100000004)
DMITRI = user("Dmitri Volkov", 100000005)
MARCO = user("Marco", 100000006)
CICCIO = user("Ciccio", 100000007)
SIMONE = user("Simone Ferrara", 100000008)
DELETED = user(None, 100000009)
METEO_BOT = user("Meteo Napoli", 5000000001)
GROUP_ID, SUPERGROUP_ID, CHANNEL_ID = 4000000001, 1700000001, 1800000001
SAMPLE_START = epoch("2024-06-03T09:00:00")


def _profiles() -> list[Profile]:
    return [
        Profile(
            LORENZO,
            "it",
            LORENZO_SCRIPTS,
            LORENZO_OPEN,
            LORENZO_CLOSE,
            _SLOTS_IT,
            "Lorenzo",
            "",
            "+39 333 000 0002",
            "@lorenzo_b",
        ),
        Profile(
            GIULIA,
            "it",
            GIULIA_SCRIPTS,
            GIULIA_OPEN,
            GIULIA_CLOSE,
            _SLOTS_IT,
            "Giulia",
            "Russo",
            "+39 347 000 0003",
        ),
        Profile(
            ANNA,
            "en",
            ANNA_SCRIPTS,
            ANNA_OPEN,
            ANNA_CLOSE,
            _SLOTS_EN,
            "Anna",
            "Smith",
            "+44 7700 900003",
            "@anna_reads",
        ),
        Profile(
            DMITRI,
            "ru",
            DMITRI_SCRIPTS,
            DMITRI_OPEN,
            DMITRI_CLOSE,
            _SLOTS_RU,
            "Dmitri",
            "Volkov",
            "+7 912 000 0005",
        ),
    ]


def _group_messages(
    seed: Any,
    index: int,
    start: int,
    n_conversations: Optional[int],
    n: Optional[int] = None,
    median_gap_hours: float = 60,
) -> Iterator[dict]:
    """'Calcetto del giovedì': several members, a deleted account, create/invite service messages, a poll."""
    rng = random.Random(f"{seed}/group/{index}")
    ids = _Ids(rng, rng.randrange(1, 5000), gaps=True)
    w = _Writer(rng, index, ME, "it", ids, start, _SLOTS_IT, f"chats/chat_{index:03d}/")
    members = ["Pasquale Esposito", "Lorenzo", "Marco", "Ciccio", None]
    first = [
        service(ids(), w.t, MARCO, "create_group", title="Calcetto del giovedì", members=members),
        service(ids(), w.t + 40, MARCO, "invite_members", members=["Simone Ferrara"]),
    ]
    w.t += 300
    first.append(message(ids(), w.t, MARCO, "Benvenuti! Qui organizziamo il calcetto del giovedì ⚽"))
    w.t += 120
    first.append(message(ids(), w.t, ME, "grande marco ahah"))
    count = 0
    for m in first:
        yield m
        count += 1
    scripts = [_compile(s) for s in GROUP_SCRIPTS]
    others = [MARCO, CICCIO, SIMONE, DELETED]
    convs = 0
    while (n is None or count < n) and (n_conversations is None or convs < n_conversations):
        w.silence(median_gap_hours)
        rng.shuffle(others)
        speakers = {"M": ME, "L": LORENZO, "A": others[0], "B": others[1], "C": others[2], "D": others[3]}
        if rng.random() < 0.12:
            w.tick(False)
            yield message(
                ids(),
                w.t,
                MARCO,
                "",
                media=poll(
                    "Giovedì ci siamo?",
                    [
                        ("Sì", rng.randrange(4, 9), True),
                        ("No", rng.randrange(0, 3), False),
                        ("Forse", rng.randrange(0, 3), False),
                    ],
                    closed=rng.random() < 0.5,
                ),
            )
            count += 1
        last = None
        for who_key, optional, alts in scripts[rng.randrange(len(scripts))]:
            if optional and rng.random() < 0.5:
                continue
            who = speakers[who_key]
            for line in alts[rng.randrange(len(alts))]:
                w.tick(same_sender=who is last)
                last = who
                yield w.text(who, line, [ME, LORENZO, MARCO])
                count += 1
                if rng.random() < 0.05:
                    w.tick(True)
                    yield w.media(who, rng.choice(["sticker", "gif", "photo_caption"]))
                    count += 1
                if n is not None and count >= n:
                    return
        convs += 1


def _channel_messages(seed: Any, start: int, n: int) -> Iterator[dict]:
    """A private channel of recipes: posts from the channel, some signed, photos and polls."""
    rng = random.Random(f"{seed}/channel")
    chan = channel("Pasquale cucina", CHANNEL_ID)
    t = start
    yield service(1, t, chan, "create_channel", title="Pasquale cucina")
    for i in range(2, n + 1):
        t += rng.randrange(2, 12) * 86400 + rng.randrange(0, 7200)
        post = CHANNEL_POSTS[(i - 2) % len(CHANNEL_POSTS)]
        author = "Pasquale Esposito" if rng.random() < 0.3 else None
        if i % 9 == 0:
            yield message(
                i,
                t,
                chan,
                "",
                author=author,
                media=poll(
                    "Cosa cuciniamo domenica?",
                    [("Genovese", 14, False), ("Ragù", 21, False), ("Parmigiana", 9, False)],
                    closed=True,
                ),
            )
        elif i % 4 == 0:
            yield message(
                i,
                t,
                chan,
                post,
                author=author,
                media=photo(
                    f"chats/chat_009/photos/photo_{i}@{local_iso(t)[8:10]}-{local_iso(t)[5:7]}-{local_iso(t)[:4]}"
                    f"_{local_iso(t)[11:].replace(':', '-')}.jpg",
                    size=rng.randrange(80_000, 300_000),
                ),
            )
        else:
            yield message(i, t, chan, post, author=author, edited=t + 600 if rng.random() < 0.2 else None)


def _saved_messages(seed: Any, start: int, n: int) -> Iterator[dict]:
    """Pasquale's notes to self, a few saved forwards (`saved_from`)."""
    rng = random.Random(f"{seed}/saved")
    t = start
    ids = _Ids(rng, 7, gaps=True)
    for i in range(n):
        t += rng.randrange(1, 15) * 86400 + rng.randrange(0, 36000)
        if i % 7 == 3:
            yield message(
                ids(), t, ME, "AHAHAHA guarda questo", forwarded_from="Lorenzo", saved_from="Lorenzo"
            )
        elif i % 11 == 5:
            yield message(ids(), t, ME, "", media=photo(NOT_INCLUDED, size=2_100_000))
        else:
            yield message(ids(), t, ME, SAVED_NOTES[i % len(SAVED_NOTES)])


def _bot_messages(seed: Any, start: int) -> Iterator[dict]:
    """A bot chat: commands, the bot's answers with inline buttons."""
    rng = random.Random(f"{seed}/bot")
    t = start
    ids = _Ids(rng, 51, gaps=True)
    buttons = [
        [
            {"type": "callback", "text": "Domani", "data": "day_1"},
            {"type": "callback", "text": "Weekend", "data": "weekend"},
        ]
    ]
    for cmd, answer in [
        ("/start", "Ciao Pasquale! Scrivi /meteo per le previsioni di Napoli ☀️"),
        ("/meteo", "**Napoli**: 24°C, sereno ☀️\nVento debole da sud-ovest."),
        ("/meteo", "**Napoli**: 17°C, pioggia 🌧️\nPortati l'ombrello!"),
        ("/meteo", "**Napoli**: 31°C, afa 🥵\nIndice UV alto."),
        ("/help", "Comandi: /meteo, /domani, /stop"),
    ] * 3:
        t += rng.randrange(3, 30) * 86400
        yield message(ids(), t, ME, cmd)
        yield message(ids(), t + 1, METEO_BOT, answer, buttons=buttons if cmd == "/meteo" else None)


def _supergroup_mine(seed: Any, start: int) -> Iterator[dict]:
    """A left public supergroup: only my messages (the "only my messages" trap)."""
    rng = random.Random(f"{seed}/supergroup")
    t, mid = start, 88_000
    slots = _Slots(rng, _SLOTS_IT)
    for i in range(24):
        t += rng.randrange(1, 20) * 86400 + rng.randrange(0, 30000)
        mid += rng.randrange(50, 4000)
        line = SUPERGROUP_MINE[i % len(SUPERGROUP_MINE)].format_map(slots)
        reply = mid - rng.randrange(1, 30) if rng.random() < 0.3 else None  # its target was not exported
        yield message(mid, t, ME, line, reply_to=reply)


def _special_lorenzo(start: int) -> list[dict]:
    """A hand-written exchange with Lorenzo so the demo shows every quirk at least once."""
    t, i = start, 1
    out = []

    def nxt(dt_s: int) -> tuple[int, int]:
        nonlocal t, i
        t += dt_s
        i += 1
        return i, t

    out.append(message(*nxt(0), LORENZO, "fra hai il numero di Ciro?"))
    out.append(message(*nxt(40), ME, "", media=shared_contact("Ciro", "Idraulico", "+39 333 555 0101")))
    out.append(message(*nxt(30), LORENZO, "grazie!! ❤️"))
    out.append(message(*nxt(25), ME, "", media=location(40.852167, 14.268124, live_seconds=900)))
    out.append(message(*nxt(20), ME, "sono qui", reply_to=out[0]["id"]))
    out.append(message(*nxt(15), ME, "vieni?", edited=t + 45))
    out.append(
        message(
            *nxt(60),
            LORENZO,
            "",
            media=venue("Bar Nilo", "Via San Biagio dei Librai 129, Napoli", 40.849, 14.2565),
        )
    )
    out.append(message(*nxt(9), LORENZO, "arrivo"))
    out.append(message(*nxt(70), LORENZO, "", via_bot="@gif", media=animation(3)))
    out.append(unsupported(nxt(2)[0]))
    out.append(
        message(
            *nxt(30), ME, "", media=poll("pizza o sushi stasera?", [("pizza", 1, True), ("sushi", 1, False)])
        )
    )
    out.append(message(*nxt(25), LORENZO, "pizza ovviamente 🍕"))
    out.append(
        message(*nxt(20), ME, "ahah ok", reply_to=out[-1]["id"], reactions=[reaction("👍", LORENZO, t + 30)])
    )
    out.append(service(*nxt(3600 * 3), ME, "phone_call", duration_seconds=312, discard_reason="hangup"))
    out.append(service(*nxt(60), LORENZO, "phone_call", discard_reason="missed"))
    out.append(service(*nxt(20), ME, "pin_message", message_id=out[0]["id"]))
    out.append(message(*nxt(300), LORENZO, "", media=sticker(None)))
    out.append(message(*nxt(20), LORENZO, "```bash\nssh pasquale@casa\n```"))
    out.append(message(*nxt(30), ME, "ahah no"))
    return out


def sample_export(seed: int = 0) -> dict:
    """The bundled demo: Pasquale's full export (personal chats in 3 languages, group, bot, channel...)."""
    profiles = _profiles()
    plan = {LORENZO.id: 92, GIULIA.id: 46, ANNA.id: 38, DMITRI.id: 30}  # conversations per contact
    chats: list[dict] = []
    for index, pro in enumerate(profiles, start=1):
        n_conv = plan[pro.person.id]
        # lognormal silences (sigma 1.1: mean = 1.83 x median) plus rare holidays fill about a year
        msgs = list(
            _personal_messages(
                seed,
                index,
                ME,
                pro,
                SAMPLE_START + index * 4000,
                None,
                n_conv,
                median_gap_hours=max(2.0, (8760 / n_conv - 10) / 2.1),
                media_dir=f"chats/chat_{index:03d}/",
            )
        )
        if pro.person == LORENZO:  # the showcase of quirks, between two conversations
            at = next(
                k
                for k in range(len(msgs) // 2, len(msgs))
                if "date_unixtime" in msgs[k]
                and "date_unixtime" in msgs[k - 1]
                and int(msgs[k]["date_unixtime"]) - int(msgs[k - 1]["date_unixtime"]) > 6 * 3600
            )
            special = _special_lorenzo(int(msgs[at - 1]["date_unixtime"]) + 2 * 86400)
            base = msgs[at - 1]["id"]
            shift = {m["id"]: base + m["id"] for m in special}
            for m in special:
                m["id"] = shift[m["id"]]
                for key in ("reply_to_message_id", "message_id"):
                    if key in m:
                        m[key] = shift[m[key]]
            gap = int(special[-1]["date_unixtime"]) + 3 * 86400 - int(msgs[at]["date_unixtime"])
            later = [_shifted(m, max(gap, 0), len(special) + 1) for m in msgs[at:]]
            msgs = msgs[:at] + special + later
        chats.append(personal_chat(pro.person, msgs))
    chats.append(
        group_chat(
            "Calcetto del giovedì",
            GROUP_ID,
            list(_group_messages(seed, 5, SAMPLE_START + 3 * 86400, 44, median_gap_hours=150)),
        )
    )
    chats.append(saved_messages(ME_ID, list(_saved_messages(seed, SAMPLE_START, 40))))
    chats.append(
        chat("bot_chat", METEO_BOT.bare, list(_bot_messages(seed, SAMPLE_START + 86400)), name=METEO_BOT.name)
    )
    chats.append(
        group_chat(
            "Pasquale cucina",
            CHANNEL_ID,
            list(_channel_messages(seed, SAMPLE_START, 40)),
            type="private_channel",
        )
    )
    left = [
        group_chat(
            "Napoli Tifosi Italia",
            SUPERGROUP_ID,
            list(_supergroup_mine(seed, SAMPLE_START)),
            type="public_supergroup",
        )
    ]
    # Telegram lists dialogs most recent first; chat folders (chats/chat_NNN) keep this order too.
    contacts = [
        contact_entry(p.person.bare, p.first_name, p.last_name, p.phone, SAMPLE_START - 86400 * (40 + k))
        for k, p in enumerate(profiles)
    ]
    contacts += [
        contact_entry(MARCO.bare, "Marco", "Esposito", "+39 333 000 0006", SAMPLE_START - 86400 * 400),
        contact_entry(CICCIO.bare, "Ciccio", "", "+39 333 000 0007", SAMPLE_START - 86400 * 380),
    ]
    frequent = [
        frequent_entry(p.person.bare, p.person.name, r) for p, r in zip(profiles, (0.91, 0.47, 0.33, 0.21))
    ]
    frequent += [
        frequent_entry(GROUP_ID, "Calcetto del giovedì", 0.38, type="private_group"),
        frequent_entry(5000000002, "gif", 0.12, category="inline_bots"),
        frequent_entry(LORENZO.bare, LORENZO.name, 0.05, category="calls"),
    ]
    info = personal_information(ME_ID, "Pasquale", "Esposito", "+39 333 123 4567", "@pasquale_esp")
    return full_export(chats, info=info, left_chats=left, contacts=contacts, frequent=frequent)


def _shifted(m: dict, seconds: int, id_shift: int) -> dict:
    m = dict(m)
    m["id"] += id_shift
    for key in ("reply_to_message_id", "message_id"):
        if key in m:
            m[key] += id_shift
    for key in ("date", "edited"):
        if key + "_unixtime" in m:
            _dates(m, key, int(m[key + "_unixtime"]) + seconds)
    if "reactions" in m:
        m["reactions"] = [
            dict(r, recent=[_shift_recent(x, seconds) for x in r["recent"]]) for r in m["reactions"]
        ]
    return m


def _shift_recent(r: dict, seconds: int) -> dict:
    r = dict(r)
    _dates(r, "date", int(r["date_unixtime"]) + seconds)
    return r


# ---------------------------------------------------------------------------------------------
# Big exports for benchmarks


_FIRST = {
    "it": ["Luca", "Chiara", "Francesca", "Alessandro", "Sofia", "Matteo", "Elena", "Davide"],
    "en": ["James", "Emily", "Oliver", "Grace", "Harry", "Chloe"],
    "ru": ["Ivan", "Olga", "Sergei", "Natalia", "Alexei"],
}
_LAST = {
    "it": ["Romano", "Colombo", "Ricci", "Greco", "Bruno", "Gallo"],
    "en": ["Jones", "Taylor", "Brown", "Wilson"],
    "ru": ["Petrov", "Ivanova", "Sokolov", "Smirnova"],
}
_BANK = {
    "it": (LORENZO_SCRIPTS + GIULIA_SCRIPTS, LORENZO_OPEN, LORENZO_CLOSE, _SLOTS_IT),
    "en": (ANNA_SCRIPTS, ANNA_OPEN, ANNA_CLOSE, _SLOTS_EN),
    "ru": (DMITRI_SCRIPTS, DMITRI_OPEN, DMITRI_CLOSE, _SLOTS_RU),
}


def large_export(path, n_messages: int, seed: int = 0, n_chats: int = 40) -> int:
    """Stream a big full export of exactly `n_messages` messages to `path`, chat by chat.

    Mostly personal chats (a few huge, many small, as real accounts are), plus a group and saved
    messages; the same quirks as the sample. Returns the number of bytes written (~440 per message)."""
    rng = random.Random(f"{seed}/large")
    n_personal = max(1, n_chats - 2)
    weights = [1 / (k + 1) ** 1.1 for k in range(n_personal)]  # one chat dominates, a long tail
    group_share = 0.06 if n_chats >= 3 else 0.0
    saved_share = 0.01 if n_chats >= 2 else 0.0
    budget = n_messages - int(n_messages * group_share) - int(n_messages * saved_share)
    quotas = [int(budget * w / sum(weights)) for w in weights]
    quotas[0] += budget - sum(quotas)
    chats = []
    start = epoch("2019-01-07T09:00:00")
    span_hours = 6.5 * 365 * 24
    for k, quota in enumerate(quotas):
        lang = "it" if k % 5 < 3 else ("en" if k % 5 == 3 else "ru")
        first, last = rng.choice(_FIRST[lang]), rng.choice(_LAST[lang])
        person = user(f"{first} {last}" if k else "Lorenzo", 200000000 + k)
        scripts, opens, closes, slots = _BANK[lang]
        pro = Profile(person, lang, scripts, opens, closes, slots)
        median = max(1.5, span_hours / max(1, quota / 11) / 2.2)
        chats.append(
            personal_chat(
                person,
                _personal_messages(
                    seed, k + 1, ME, pro, start + k * 3600, quota, None, median, f"chats/chat_{k + 1:03d}/"
                ),
            )
        )
    if group_share:
        n = int(n_messages * group_share)
        chats.append(
            group_chat(
                "Calcetto del giovedì",
                GROUP_ID,
                _group_messages(seed, len(chats) + 1, start, None, n, median_gap_hours=6),
            )
        )
    if saved_share:
        chats.append(saved_messages(ME_ID, _saved_messages(seed, start, int(n_messages * saved_share))))
    info = personal_information(ME_ID, "Pasquale", "Esposito", "+39 333 123 4567", "@pasquale_esp")
    root = full_export(chats, info=info, contacts=[], frequent=[])
    with atomic_open(path, "wb") as f:
        _write(f, root, 0)
        return f.tell()


# ---------------------------------------------------------------------------------------------
# Quirky exports for tests: one small file per thing Telegram Desktop really writes


def tiny_personal_chat(contact: Peer = LORENZO, me: Peer = ME, start: int = SAMPLE_START) -> dict:
    """A short personal chat (me and one contact, two conversations, a sticker and a service message)."""
    t = start
    msgs = [
        message(1, t, contact, "ciao! | ci sei stasera?".replace(" | ", "\n")),
        message(2, t + 30, contact, "alle 21"),
        message(3, t + 90, me, "sì ahah", reply_to=1),
        message(4, t + 100, me, "", media=sticker("👍")),
        message(5, t + 4000, contact, ["guarda ", ("link", "https://example.org"), " ", ("bold", "ora")]),
        message(6, t + 4030, me, "visto", edited=t + 4060),
        service(7, t + 5000, me, "phone_call", duration_seconds=60, discard_reason="hangup"),
        message(8, t + 9000, contact, "", media=photo()),
        message(9, t + 9060, me, "bella"),
    ]
    return personal_chat(contact, msgs)


def tiny_group_chat(start: int = SAMPLE_START) -> dict:
    """A small private group with several speakers and a deleted account."""
    t = start
    msgs = [
        service(
            1, t, MARCO, "create_group", title="Calcetto del giovedì", members=["Marco", "Pasquale Esposito"]
        ),
        service(2, t + 10, MARCO, "invite_members", members=["Lorenzo", None]),
        message(3, t + 60, MARCO, "giovedì ci siamo?"),
        message(4, t + 90, DELETED, "io sì"),
        message(5, t + 120, LORENZO, "presente"),
        message(6, t + 150, ME, "ci sono ahah"),
    ]
    return group_chat("Calcetto del giovedì", GROUP_ID, msgs)


def quirky_exports() -> dict[str, bytes]:
    """One small file (the bytes Telegram would write) per quirk the reader must handle."""
    info = personal_information(ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")

    def full(*chats: dict, left: Optional[list] = None) -> dict:
        return full_export(list(chats), info=info, left_chats=left)

    out: dict[str, bytes] = {}
    out["modern_full"] = write_export_bytes(full(tiny_personal_chat(), tiny_group_chat()))
    for when in ("2022-09", "2022-06", "2021-04"):
        out[f"before_{when}"] = write_export_bytes(as_written_before(full(tiny_personal_chat()), when))
    no_info = full_export(
        [tiny_personal_chat(), saved_messages(ME_ID, [message(1, SAMPLE_START, ME, "nota")])]
    )
    out["no_personal_information"] = write_export_bytes(no_info)
    bell = tiny_personal_chat()
    bell["messages"].append(message(10, SAMPLE_START + 9100, LORENZO, "ding\x07dong \\x07 \\\x08"))
    out["control_byte"] = write_export_bytes(full(bell))
    unsup = tiny_personal_chat()
    unsup["messages"].append(unsupported(10))
    out["unsupported"] = write_export_bytes(full(unsup))
    out["single_personal"] = write_export_bytes(single_chat_export(tiny_personal_chat()))
    out["single_group"] = write_export_bytes(single_chat_export(tiny_group_chat()))
    old = [
        message(5, SAMPLE_START, MARCO, "ciao a tutti"),
        message(6, SAMPLE_START + 60, ME, "ciao", reply_to=5),
    ]
    t = SAMPLE_START + 3600
    new = [
        service(1, t, MARCO, "migrate_from_group", title="Calcetto del giovedì"),
        message(2, t + 60, MARCO, "ora siamo un supergruppo"),
        message(3, t + 90, ME, "ahah ok", reply_to=2),
    ]
    out["migrated_group"] = write_export_bytes(
        full(
            group_chat(
                "Calcetto del giovedì", SUPERGROUP_ID, migrated_history(old) + new, type="private_supergroup"
            )
        )
    )
    only_mine = group_chat(
        "Napoli Tifosi Italia",
        SUPERGROUP_ID,
        [message(88001, SAMPLE_START, ME, "forza napoli")],
        type="public_supergroup",
    )
    out["only_my_messages"] = write_export_bytes(full(tiny_personal_chat(), left=[only_mine]))
    return out
