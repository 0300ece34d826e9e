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
# " ;; " separates alternatives, a leading "?" makes a line optional. In a message, `{a|b|c}` picks
# one (`{a|}`: maybe a; " / " inside: a burst), `{slot}` a value of the bank that holds for the whole
# topic (`{slot2}`: another one; `{slot.1}`: the second part of a pair), `{~slot}` a fresh value each
# time. "T>M: when where" is a question and its answer: T asks one of those kinds (one not asked yet
# in this topic), M answers it. A conversation combines parts (maybe an opener, a topic or two, maybe
# a closer, maybe my last word), and each person's habits (my "ahah", emoji and shorthand, Lorenzo's
# "fra", Giulia's capitals, Dmitri's brackets) are added at a rate: as in a real chat, few of my
# replies, and no opening, come back word for word.

_SLOTS_IT = {
    "hour": ["18", "18:30", "19", "19:30", "19:45", "20", "20:15", "20:30", "21", "21:15", "21:30", "22"],
    "day": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "when": ["stasera", "domani sera", "sabato sera", "venerdì sera", "domenica a pranzo", "dopo il lavoro"],
    "month": ["marzo", "aprile", "maggio", "giugno", "luglio", "settembre", "ottobre", "dicembre"],
    "food": [
        "pizza",
        "sushi",
        "un panino",
        "la carbonara",
        "il ramen",
        "una frittatina",
        "il kebab",
        "la genovese",
        "il fritto misto",
        "gli spaghetti alle vongole",
        "la parmigiana",
        "un hamburger",
    ],
    "place": [
        "da Michele",
        "al solito bar",
        "sul lungomare",
        "in piazza Bellini",
        "al Vomero",
        "da Sorbillo",
        "al pub irlandese",
        "da Ciro",
        "a Chiaia",
        "sotto casa mia",
        "al Gambrinus",
        "a Mergellina",
        "da Concettina",
        "al centro commerciale",
    ],
    "film": [
        "Dune",
        "Oppenheimer",
        "Perfect Days",
        "Parthenope",
        "Il Gladiatore 2",
        "Past Lives",
        "Conclave",
    ],
    "series": [
        "The Bear",
        "Gomorra",
        "Succession",
        "Shogun",
        "Mare Fuori",
        "Severance",
        "Il Problema dei 3 Corpi",
    ],
    "drink": ["una birra", "uno spritz", "un caffè", "due birre", "un amaro", "una pizza", "la cena"],
    "player": ["Kvara", "Osimhen", "Lobotka", "Di Lorenzo", "McTominay", "Lukaku", "Politano", "Anguissa"],
    "team": ["la Juve", "l'Inter", "il Milan", "la Roma", "l'Atalanta", "la Lazio", "la Fiorentina"],
    "city": ["Roma", "Milano", "Bologna", "Torino", "Lisbona", "Berlino", "Barcellona", "Parigi", "Londra"],
    "n": ["2", "3", "4", "5", "10", "15", "20"],
    "pts": ["54", "58.5", "61", "63", "66.5", "68", "70", "72.5", "75", "78", "81"],
    "age": ["9", "10", "11", "12", "13", "14"],
    "score": ["2-1", "1-1", "3-0", "0-0", "2-2", "3-2", "1-0", "0-1", "4-1"],
    "price": ["40", "65", "80", "120", "150", "190", "230", "300"],
    "friend": ["Marco", "Ciccio", "Simone", "Gennaro", "Sara", "Peppe", "Fabio", "Alessia", "Totò", "Vale"],
    "thing": [
        "il trapano",
        "le chiavi della cantina",
        "il caricabatterie",
        "la bici",
        "lo zaino grande",
        "la tenda",
        "il cavo HDMI",
        "la PlayStation",
        "il libro della Ferrante",
        "la scala",
    ],
    "reason": [
        "ho una riunione fino a tardi",
        "sto da mia madre",
        "devo finire un lavoro",
        "sono distrutto",
        "c'è mia zia a cena",
        "devo accompagnare mia sorella",
        "domani mi sveglio alle 6",
        "ho il raffreddore",
        "mi tocca il turno di sera",
        "arriva il tecnico della caldaia",
        "ho promesso a mia nonna di passare",
        "sto senza macchina",
    ],
    "book": [
        "L'amica geniale",
        "Lessico famigliare",
        "La Storia",
        "Il Gattopardo",
        "Le otto montagne",
        "Il nome della rosa",
        "Cent'anni di solitudine",
    ],
    "lost": [
        ("il mio ombrello ☔", "te lo"),
        ("la mia sciarpa", "te la"),
        ("i miei occhiali da sole", "te li"),
        ("il caricabatterie", "te lo"),
        ("le mie cuffie", "te le"),
    ],
    "gift": ["un libro", "una pianta", "una borsa", "un buono per la spa", "una cena", "le cuffie"],
    "n10": ["8", "9", "10", "11"],
    "nmiss": ["uno", "due", "il portiere"],
    "quota": ["5", "6", "7", "8"],
    "lol": ["ahah", "ahahah", "ahahahah", "ahaha", "ahahahahah"],
    "yes": [
        "sì",
        "sìsì",
        "certo",
        "ovvio",
        "assolutamente",
        "eh sì",
        "ok",
        "ci sto",
        "dai",
        "perché no",
        "volentieri",
    ],
    "ok": ["ok", "va bene", "perfetto", "d'accordo", "ok ok", "vabbuò", "okk", "top", "ok dai", "certo"],
    "wow": ["noo", "ma dai", "davvero?", "non ci credo", "ma che dici", "oddio", "seriamente?", "ma va"],
    "tlol": ["AHAHAHAH", "AHAHAHAHAHA", "ahahahah", "😂😂", "AHAHAH", "ahahah"],
}
_SLOTS_EN = {
    "hour": ["7", "7:30", "8", "6pm", "noon", "9", "6:30", "half 7", "1pm", "5"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "when": ["tonight", "tomorrow", "this weekend", "on friday", "next week", "after work"],
    "food": ["pizza", "ramen", "tacos", "a curry", "pasta", "dumplings", "brunch", "a roast"],
    "place": [
        "the pub by the station",
        "that cafe in Shoreditch",
        "the museum",
        "the park",
        "Dishoom",
        "the market",
        "that new place on Brick Lane",
        "the river",
        "the Barbican",
    ],
    "film": [
        "Dune",
        "Oppenheimer",
        "Past Lives",
        "Poor Things",
        "Anatomy of a Fall",
        "Challengers",
        "Conclave",
    ],
    "book": [
        "Tomorrow, and Tomorrow, and Tomorrow",
        "Klara and the Sun",
        "The Secret History",
        "Piranesi",
        "Normal People",
        "Project Hail Mary",
        "My Brilliant Friend",
        "Intermezzo",
    ],
    "city": ["London", "Lisbon", "Berlin", "Edinburgh", "Paris", "Amsterdam", "Naples", "Porto"],
    "month": ["march", "april", "may", "june", "september", "october", "november"],
    "n": ["2", "3", "4", "5", "10", "20"],
    "price": ["40", "60", "85", "120", "150", "200"],
    "friend": ["Tom", "Priya", "Jess", "Sam", "Olly", "Mia"],
    "thing": ["the charger", "your umbrella", "the book", "my jacket", "the keys"],
    "reason": [
        "i have a deadline",
        "i'm working late",
        "my sister is visiting",
        "i'm so tired",
        "i have an early flight",
        "i'm a bit sick",
        "i promised my mum a call",
    ],
    "word": [
        ("abbiocco", "when you're sleepy after a big lunch"),
        ("magari", "like 'i wish' but also 'maybe'"),
        ("boh", "no idea, with a shrug"),
        ("cazzimma", "being cunning in a naughty way"),
        ("scialla", "relax, take it easy"),
        ("struscio", "walking up and down the main street to be seen"),
    ],
    "lol": ["ahah", "ahahah", "ahahahah", "ahaha"],
    "tlol": ["haha", "hahaha", "😂", "lol", "Haha"],
}
_SLOTS_RU = {
    "city": ["Berlin", "Tbilisi", "Belgrade", "Lisbon", "Napoli", "Istanbul", "Yerevan", "Riga"],
    "opening": [
        "Sicilian",
        "Caro-Kann",
        "Queen's Gambit",
        "London System",
        "King's Indian",
        "French Defence",
    ],
    "lang": ["Rust", "Go", "Python", "Kotlin", "TypeScript", "C++"],
    "n": ["2", "3", "5", "10", "15"],
    "hour": ["7", "8", "9", "19:00", "20:00", "21:00", "22:00", "10"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "game": ["Elden Ring", "Baldur's Gate", "Factorio", "Hades", "Civilization"],
    "arr": ["xs", "items", "names", "rows", "users", "scores"],
    "rating": ["1450", "1520", "1600", "1680", "1710", "1800"],
    "lol": ["ahah", "ahahah", "ahahahah", "ahaha"],
    "tlol": ["Ахах", "ахаха", "))", "Хаха)", "😂"],
}

LORENZO_SCRIPTS = [
    """T: {fra |oh |}{when} {food}? ;; ti va {food} {when}? ;; {when} usciamo? | {tipo|pensavo} {food}
M: {~yes}{| fra}{| ci sto}{| / ho una fame|, non mangio da stamattina} ;; {mmm|uhm|eh} {sì dai|ok ci sto|perché no} | {ho una fame|non mangio da stamattina|era ora|{food} mi mancava}
T>M: when where who
?M>T: when who
T: {perfetto|ok|top|va bene|andata|affare fatto}{| fra}{| 👍|| 🍻}
?M: {chiamo anche {friend}?|lo dico a {friend}?|dico pure a {friend}|porto {friend} se non ti dispiace|avviso {friend}}{| che si lamenta sempre}
?T: {sì sì chiamalo|ok|dai chiamalo|no stasera solo noi|{friend}? sì va bene|meglio di no, ci ha dato buca l'ultima volta}""",
    """T: {when} ci sei?{| fra} ;; {when} {food} con {friend}, vieni? ;; {when} andiamo {place}?
M: {no|nah|purtroppo no|eh no|mannaggia}{| fra}{| {when}} | {reason} ;; {stavolta passo|non ce la faccio|mi sa di no}{| mi dispiace} | {reason}
T: {dai|nooo|uffa|ma come}{| 😩} ;; {vabbè|ok} {la prossima allora|sarà per la prossima}
M: {facciamo {day}?|{day} sono libero|recuperiamo {day}?|{day} ci sto sicuro|che dici di {day}?}{| giuro| promesso| offro io}
T: {ok {day}|va bene {day}|{day} ci sta|segnato: {day}}{| 👍}
?T>M: when where""",
    """T: {hai visto {player}??|{player} ieri sera MAMMA MIA|ma {player}?? {~tlol}|che partita ieri} ;; {fra|oh} ma ieri {player}? | {che gol|che giocata|non ci credo ancora}
M: {~lol} {sì|eh sì|visto|ho visto} | {pazzesco|assurdo|che roba|un fenomeno|{player} è di un altro pianeta}{| proprio} ;; {non me ne parlare|lascia stare|guarda}{| fra} | {la difesa fa pena|il secondo tempo è stato un disastro|senza {player2} non giochiamo|l'arbitro ci ha rovinato}
?T: {ma come ha fatto quel gol|io ancora non ci credo|l'allenatore non l'ha capito}
T: {e {day} c'è {team}|{day} con {team} come finisce?|ho paura per {day} con {team}|{day} {team}, dimmi che vinciamo}
M: {vinciamo {score}|finisce {score} vedrai|{score} secco|boh {score}?|tranquillo, {score} per noi|secondo me {score}}{| fidati| e segna {player}| con gol di {player2}}
?T: {speriamo 🙏|se lo dici tu|{score}? sei ottimista|magari fra}
?M: {sempre forza napoli 💙|la vediamo da te?|la guardiamo {place}?|io porto le birre}""",
    """M: {lorè|fra|oh} {hai finito|sei arrivato alla fine di|a che punto sei con|hai iniziato} {series}?
T: {no sto alla seconda stagione|no sto alla terza stagione|sono a metà|manco l'ho iniziata} ;; sì ieri notte | non ho dormito
M: {io sono all'ultima puntata|io l'ho finita ieri|io la sto riguardando|io l'ho mollata alla seconda|io sono alla quarta puntata}{| e ti dico solo una cosa| e mi manca già| 🙈}
T: {NON SPOILERARE 😂|ti prego zitto|non dire niente|se spoileri ti blocco}
M: {~lol} {ok ok|tranquillo|muto|non dico niente|sto zitto}{| / 🙈| 🤐}{| ma preparati| ma poi ne parliamo}
?T>M: opinion""",
    """T: {Pasquale mi serve un favore|fra mi aiuti con una cosa?|fra posso chiederti una cosa?|oh mi fai un favore?}
M: {dimmi|dimmi tutto|che succede?|spara|che ti serve?|dimmi fra}{| / tutto a posto?}
T: domani mi accompagni all'aeroporto? | ho il volo alle {hour} 😩 ;; {mi presti {thing}?|mi tieni il gatto {day}?|mi dai una mano col trasloco {day}?}
M: {~ok}{| fra} | {passo io|quando ti serve?|fammi sapere l'orario|te lo porto {when}|ci sono io} ;; {{day} non posso|purtroppo no}{| mannaggia} | {reason} | {ma {day2} sì|chiedi a {friend}?|{day2} invece ci sono}
T: {sei un grande ❤️|grazie fra|ti offro {drink}|ti devo un favore}
?M: {tranquillo|figurati|mi devi {drink}|per così poco|ci mancherebbe}{| fra|| ahah}""",
    """M: ho appena visto il prezzo dei biglietti per {city} | {follia|pazzesco|ma stiamo scherzando} ;; {fra andiamo a {city} a {month}?|sto guardando i voli per {city}|{city} a {month}, ci stai?}
T>M: cost
T: {~tlol} ;; {che furto|vabbè allora andiamo in treno|aspetta i saldi|e il treno?}
M: {no dai|vediamo|boh ci penso|facciamo a {month2}?|guardo meglio e ti dico|in treno ci mettiamo una vita}{| / stasera ti dico| chiedo anche a {friend}}
?T>M: who day""",
    """T: {raga|fra} {calcetto {day} confermato?|{day} calcetto?|ci sei {day} per il calcetto?}
M: {sì io ci sono|presente|ci sono|confermo|ci sono sicuro}{| / porto il pallone| ma arrivo alle {hour}} ;; {forse|non lo so ancora|in dubbio} | {reason}
T: {manca uno|siamo in 9|ci manca il portiere|siamo in 8 per ora}
M: {chiedo a {friend}|provo con {friend}|scrivo a {friend}|{friend} forse viene|sento mio cugino}{| / ti faccio sapere| tra poco ti dico}
?T>M: when
T: {ok fammi sapere entro stasera|perfetto|ok aggiornami|dai che lo troviamo}""",
    """T: {AHAHAHAHA hai visto il video che ha mandato {friend} nel gruppo?|guarda il gruppo 😂|ma hai visto cosa ha scritto {friend}??}
M: {~lol} {sì|ho visto|visto visto} | {sto piangendo 😂|non ce la faccio|è un genio|sto ancora ridendo}
T: {è un genio|quello è fuori|{friend} non si smentisce mai|io sono morto}
M: {lo ha fatto apposta secondo me|gli voglio bene|lo devo salvare|gli dobbiamo fare un premio|lo stampo e lo appendo|lo mando a mia madre}{| / giuro| 😂}""",
    """M: ciao fra | sei a casa? ;; {lorè sei a casa?|fra ci sei a casa {when}?|sei a casa {when}?}
T: {no sto al lavoro|sì perché?|fino alle {hour} no|sì ma esco tra poco}
M: {ti devo ridare {thing}|volevo passare a prendere {thing}|ti porto {thing}|devo riprendermi {thing}}{| / che mi serve {when}}
T: {passa dopo le {hour}|vieni quando vuoi|passa {when}|lascialo a mia madre}
M: {~ok} {passo verso le {hour}|ci vediamo dopo|arrivo tra un'ora|allora passo {when}|ti scrivo quando sono sotto}
?T: {citofona che il campanello non va|chiamami quando sei sotto|lascia stare il portone, è rotto}""",
    """T: {hai sentito di {friend}?|sai cosa ha fatto {friend}?|novità su {friend}}
M: {no che è successo?|no dimmi|che ha combinato?|no, che ha fatto?|cosa?}{| / dimmi tutto}
T: {si è fidanzato!!|ha lasciato il lavoro|si trasferisce a {city}|ha preso un cane|si sposa a {month}}
M: {~wow}{| 😱} | {grande|era ora|chi l'avrebbe detto|me lo sentivo|pazzesco}{| / gli scrivo subito}
T: {giuro|me l'ha detto ieri|te lo giuro} ;; {giuro|me l'ha detto ieri} | fai finta di niente però
?M: {gli scrivo|lo chiamo dopo|ok muto|ci dobbiamo festeggiare|non dico niente}{| / ahah}""",
    """M: {lorè|fra} {{day} ci sei?|{when} che fai?|{when} sei libero?}
T: {sì dimmi|niente perché?|dipende|libero fra}
M: {cena da me|vieni a cena?|vieni da me?} | {faccio {food}|cucino {food}|ho comprato tutto per {food}}
T: {ooh|grande|ci sto|arrivo|troppo bello}
T>M: when bring who
?T: {perfetto|ok top|segnato|non vedo l'ora}""",
    """T: {quanto hai fatto al fantacalcio?|fantacalcio: com'è andata?|hai messo la formazione?}
M: {pts} punti | {una tragedia|non ne parliamo|mi vergogno} ;; {{pts} punti|male male, {pts}|{pts}, sempre ultimo} ;; {{player} mi ha salvato|{player} mi ha rovinato} | {pts} punti
T: {~tlol} io {pts2} ;; {io peggio|io ho vinto|a me è andata bene}
M: {il prossimo anno non lo faccio più|basta fantacalcio|è colpa di {player}|mi ritiro|vendo tutti|cambio modulo}{| / giuro| fra}
?T: {lo dici ogni anno 😂|sì sì come no|ok ok}""",
    """T: {buongiorno ☀️|bella fra|sveglio?} | {caffè?|colazione?|scendi per un caffè?}
M: {sono sveglio da 5 minuti|arrivo|dammi 10 minuti|già fatto ma ne prendo un altro|scendo tra poco}{| / sto mettendo le scarpe} ;; {non posso|sto al lavoro|sto in riunione} | {dopo?|alle {hour}?|facciamo pranzo?}
T: {ti aspetto al bar sotto|ok|al solito posto|ok ti aspetto}
?M: {{n} minuti|arrivo|scendo|sto uscendo}{| / prendimi un cornetto}""",
    """M: {ho perso la partita a FIFA contro mio nipote|mio nipote mi ha battuto a FIFA|ho perso {score} a FIFA con mio nipote}
T: {~tlol} | {quanti anni ha?|ma è bravo?|sei scarso}
M: {{age} 🙈|{age} anni|ha {age} anni fra|{age} e gioca da quando ne ha 5}{| / mi ha pure preso in giro}
T: {sei finito fra|ritirati|vergogna|pure io perdevo con mio cugino}
M: {lo so|vero|rivincita {day}|mi alleno e lo distruggo|la prossima volta lo batto|mi sono fatto vecchio}{| / non dirlo a nessuno| / è stato umiliante| giuro}""",
    """T: {come va al lavoro?|tutto bene al lavoro?|come va col nuovo capo?}
M: {un casino|tutto ok dai|stressato|si sopravvive|non me ne parlare} | {{reason}|abbiamo la consegna {day}|il capo è fuori di testa|siamo sotto di due persone}
T: {ti capisco|eh lo so|dai che {day} è weekend|resisti fra}
?M>T: howare
?M: {almeno {day} c'è la partita|stasera {drink}?|ho bisogno di ferie}""",
    """T: {che caldo oggi|si muore di caldo|38 gradi fra|non si respira}
M: {non me ne parlare|mi sto sciogliendo|qui si muore|sto sotto il condizionatore}{| / e la casa è un forno}
T: {domenica mare?|andiamo al mare {day}?|{day} si va al mare?}
M: {sì ti prego|ci sto|ovvio|dipende dall'orario|se non piove}{| / porto io l'ombrellone|, passo a prenderti| / porto le frittatine| / chiediamo anche a {friend}}
?T>M: where when
?T: {ok allora ci organizziamo|dai che è bello|porto l'ombrellone}""",
]
LORENZO_OPEN = [
    "T: {uee|oh|uè|bella|ueee|oh fra}{| Pasquà| fra}{| come butta?| che si dice?}\n?M: {uè|ciao|oh|bella} {|fra|lorè}{| dimmi| tutto a posto?}",
    "M: {ciao fra|lorè|uè|oh fra}{| come va?| ci sei?}\n?T: {dimmi|uè|eccomi|tutto bene tu?}",
]
LORENZO_CLOSE = [
    "T: {ok|va bene|perfetto} {a dopo|ci sentiamo|a stasera|ci vediamo}{| fra}{| 👍}",
    "M: {ciao|a dopo|ok a dopo|ci sentiamo|vado|ci vediamo|👋|ci aggiorniamo}{| fra| lorè}{|| 👋| 👍| allora}",
]

GIULIA_SCRIPTS = [
    """T: {Ciao Pasquale! Come stai? 😊|Ehi! Tutto bene?|Ciao! Come va?|Pasquale! Come stai?}
M: {ciao giuli|ehi|ciao} | {tutto bene tu?|bene dai e tu?|si sopravvive, tu?|bene! tu?}
T: {Bene dai, un po' stanca per il lavoro|Tutto ok, settimana pesante|Bene! Finalmente ho finito gli esami|Insomma, la casa è un cantiere}
M: {eh ti capisco|anche io|beata te|mi immagino|dai che è quasi finita|che invidia}{| / ti serve una pausa}
T: {Ci vediamo questa settimana?|Prendiamo un caffè uno di questi giorni?|Quando ci vediamo?|Mi manchi, ci vediamo?}
M>T: day
T>M: when where
?M: {ok ❤️|perfetto|a {day} allora|non vedo l'ora|segnato}""",
    """T: {Hai visto {film}?|Sei andato a vedere {film}?|Stasera danno {film}, lo conosci?}
M: {no ancora|non ancora|no} ;; {no ancora|no} | {com'è?|merita?} ;; sì l'ho visto {sabato|ieri|al cinema} | {bellissimo|mi è piaciuto tanto|un po' lento}
T: {Bellissimo, te lo consiglio davvero|Mah, un po' lungo ma merita|A me è piaciuto un sacco|Non mi ha convinto}
M: {ok allora lo vedo nel weekend|lo metto in lista|lo vediamo insieme?|io sono d'accordo|allora {film} stasera}{| / grazie del consiglio}
?T: {Poi mi dici! 😊|Dai, fammi sapere|Sì! Organizziamo}""",
    """T: {Domani è il compleanno di Sara, ci sei alla festa?|Sabato festa per Sara, vieni?|Hai saputo della festa di Sara?}
M: {~yes} | {a che ora?|dove la fa?} ;; forse | {reason} ;; non so, {reason}
T: {Alle {hour} da lei|Verso le {hour}, a casa sua|Alle {hour} {place}}
M: {cosa le regaliamo?|facciamo un regalo insieme?|hai già pensato al regalo?}
T: {Pensavo a {gift} 🌿|Forse {gift}, che dici?|{gift} o {gift2}?}
M: {{gift} va benissimo|meglio {gift2}|{gift}, le piacerà|ok {gift}|vada per {gift}} | {faccio io il bonifico|ti mando i soldi|quanto mettiamo?|lo compro io domani}
?T: {Perfetto, grazie!|Ok, 15 a testa|Ci penso io a comprarlo}""",
    """M: {giuli mi consigli un ristorante a {city}?|giuli tu sei stata a {city}, dove si mangia bene?|vado a {city} {day}, hai un posto da consigliarmi?}
T: {Certo! Che tipo di cucina?|Sì! Per quanti siete?|Dipende, quanto vuoi spendere?}
M: {qualcosa di tipico|siamo in {n}|niente di troppo caro|boh sorprendimi|tipico ma non turistico}
T: Ti mando il link, è quello dove siamo andati l'anno scorso ;; Aspetta che lo cerco ;; Ce n'è uno buonissimo vicino alla stazione
T: https://www.example.org/ristoranti/{city}
M: {grazie ❤️|perfetto grazie|sei un tesoro|ti porto qualcosa da {city}|salvato}{| / ti faccio sapere com'è}""",
    """T: {Come è andato il colloquio?|Allora, il colloquio?|Novità dal colloquio?}
M: {bene credo|benissimo|boh non lo so|così così} | {mi richiamano la settimana prossima|erano in tre a farmi domande|mi hanno chiesto di fare un test|mi hanno chiesto dello stipendio}
T: {Dai che va bene! Incrocio le dita 🤞|Sono sicura che li hai conquistati|Vedrai che ti prendono}
M: {grazie|speriamo|incrocio anche io|grazie giuli}{| / ti faccio sapere| sono in ansia}
?T: {Fammi sapere appena ti chiamano|Poi festeggiamo!}""",
    """T: {Ho fatto la torta di mele di tua nonna!|Ho provato la ricetta che mi hai dato|Ho fatto la parmigiana con la tua ricetta}
M: {noo|davvero?|grande|brava} | {e com'è venuta?|ha funzionato?|foto?}
T: {Buonissima, ma un po' bruciata sotto 😅|Perfetta! Mio padre ha fatto il bis|Insomma, troppo sale}
M: {succede anche a lei|la prossima volta forno più basso|te l'avevo detto del sale|complimenti|mia nonna sarebbe fiera}{| allora| / voglio assaggiare| / sei migliorata tanto}
T: {La prossima volta la porto|Ti tengo una fetta|Me la rifai tu?}
?M: {sì ti prego|ci conto|affare fatto|tienimene due fette}{| / la porto a mia madre| / ti porto il vino}""",
    """M: {giuli {when} che fai?|giuli sei libera {when}?|che fai di bello {when}?}
T: {Niente di che, divano e {series}|Lavoro fino a tardi purtroppo|Ho la cena con le colleghe|Pensavo di andare al cinema}
M: {uguale|che invidia|sembra un bel piano|io {series} l'ho finita ieri|peccato}{| / volevo proporti {drink}}
T: {Allora sentiamoci dopo|Ti chiamo appena finisco|Vuoi venire anche tu?}
?M: {ok 😊|ci sentiamo dopo|magari la prossima|volentieri}""",
    """T: {Pasquale hai ancora {lost}?|Ho lasciato {lost} in macchina tua?|Hai visto {lost}?}
M: {sì|credo di sì|ce l'ho io|aspetta che controllo} | {lost.1} {porto {day}|lascio al portiere|do {when}}
T: {Grazie! Non c'è fretta|Perfetto|Sei un angelo}
?M: {👍|figurati|{day} allora|ci mancherebbe|scusa se l'ho tenuto tanto|me l'ero scordato}{| giuli| / ci vediamo {day}}""",
    """T: {Vieni al mare {day}?|{day} Procida, ci sei?|Si va al mare {day}, vieni?}
M: {dove andate?|con chi andate?|a che ora partite?|chi guida?}
T: {A Procida, prendiamo l'aliscafo delle {hour}|Andiamo a Ischia con {friend}|Pensavamo a Marechiaro, partiamo alle {hour}}
M: {mi piacerebbe|che bello} | {vediamo se riesco col lavoro|{reason}} ;; {ci sto|ok vengo|contate su di me} | {porto io il pranzo|passo a prendervi io|porto la frittata di maccheroni|mi serve un passaggio al porto}
T: {Dai vieni! 🌊|Ti teniamo un posto|Fammi sapere entro {day}}
?M: {ok ci provo|ti dico stasera|vengo vengo|contateci}""",
    """T: {Mi consigli un libro?|Sto cercando un libro da leggere, idee?|Ho finito la Ferrante, e ora?}
M: {dipende, cosa ti va?|giallo o romanzo?|hai letto {book2}?}
T: {Qualcosa di leggero|Un romanzo, ma non triste|Un giallo!}
M: {allora {book}|leggi {book}, bellissimo|{book} senza dubbio} ;; {book} | {te lo presto io|ce l'ho, te lo porto {day}}
T: {Grazie! Lo cerco domani|Perfetto, me lo segno|Ok, mi fido 😊}""",
]
GIULIA_OPEN = [
    "T: {Ciao!|Buongiorno 😊|Ehi Pasquale|Ciao Pasquale!|Buonasera}\n?M: {ciao giuli|ehi|buongiorno|ciao}{| dimmi| come va?}",
    "M: {ciao giuli|ehi|buongiorno giuli|giuli}{| ci sei?| tutto bene?}\n?T: {Ciao! Dimmi|Eccomi|Sì dimmi 😊}",
]
GIULIA_CLOSE = [
    "T: {Buonanotte! 🌙|A presto 😊|Ciao ciao|Un abbraccio|Ci sentiamo!}",
    "M: {notte|a presto|ciao|un bacio|ci sentiamo|buonanotte|❤️|sogni d'oro}{| giuli}{|| ❤️| 😊| a presto}",
]

ANNA_SCRIPTS = [
    """T: {Hey Pasquale! How's Naples?|Hi! How are things?|How's life in Italy?}
M: {hey anna|hi|hey} | {all good|not bad|great} | {it's so hot here|work is crazy|the city is full of tourists|i just got back from the beach}
T: {Lucky you, it's raining here as usual 😅|Here it's grey and cold|London is London haha}
M: {classic london|i miss the rain a bit|come here and get some sun|poor you}{| / bring an umbrella to naples}
T: {When are you coming to visit?|You should come over soon!|When do I see you?}
M: {maybe in {n} weeks|in {month}?|after the summer|soon i promise} | {i need to check flights|depends on work|i'll look at dates tonight}
T: {Let me know, you can stay at mine|Yes! The sofa bed is yours|Great, I'll show you {place}}
?M: {thanks ❤️|deal|can't wait|you're the best}""",
    """T: {Have you read {book}?|Have you read {book} yet?|I just finished {book}!}
M: {no|not yet|i started it} | {is it good?|what's it about?|should i?}
T: {It's amazing, I couldn't put it down|It's slow at first, then brilliant|Honestly one of the best this year}
M: {ok adding it to my list|i'll buy it tomorrow|you always pick good ones|ok you convinced me}{| / i need something for the train}
?T: {I'll lend you my copy next time|Tell me when you start!}""",
    """M: anna quick question | how do you say "{word}" in english ;; {anna|hey} is there an english word for "{word}"?
T: {Haha what does it mean?|No idea, explain!|Ooh, tell me}
M: {word.1}
T: {I don't think we have one!|We don't have that haha|That's beautiful}
M: {so italian is better|i win|another point for italy|ok i'll teach you more|i'll send you a list}{| / next word tomorrow| / use it at work| ahah}""",
    """T: {Did you see the news about the train strike?|Are you still flying on {day}?|Is your flight still on?}
M: {yes|i think so|no idea} | {i hope it's fine|i'll check tonight|the app says on time}
T: {Check the airline's app, mine was cancelled last month|Fingers crossed 🤞|Send me your flight number}
M: {ok thanks|will do|sent|done|thanks anna} | {i land at {hour}|i'll text you when i land|see you at the airport?|the flight is at {hour}|if it's cancelled i take the train}""",
    """T: {We're going to {place} on {day}, want to join?|{day}: {place} with {friend}, you in?|Fancy {place} {when}?}
M: {sounds good|yes please|sure|i'd love to}
M>T: when who
M: {i'm in|perfect|ok see you there|great, see you at {hour}}{| / can't wait}""",
    """M: {i finally watched {film}|we watched {film} last night|i saw {film} on the plane}
T: {And??|What did you think?|Finally!}
M: {loved it|not bad|so good|meh} | {the ending though 🙈|too long|the music was amazing|i want to watch it again}
T: {Right?? I cried haha|I know, I fell asleep|Agreed!}
M: {me too a bit|you fell asleep??|let's watch the next one together|we need to talk about it|i'm still thinking about it}{| / next time you choose| / that scene with the music}""",
    """T: {Can you send me the recipe for the pasta you made?|That pasta was incredible, recipe please!|What was in that sauce?}
M: {sure|of course|it's a secret} | {it's easy|only four things}
M: {pasta, garlic, oil, chili|tomatoes, basil, oil, salt} | {and a lot of parmigiano|and good olive oil}
T: {That's it?? 😂|No way|Too easy}
M: {that's it|trust me} | {the secret is the pasta water|don't overcook it|cook it two minutes less|never break the spaghetti}
?T: {Noted! Thank you ❤️|Trying it tonight}""",
    """T: {Happy birthday!! 🎉🎂|Happy birthday Pasquale!! 🥳|Happy birthday you!}
M: {thank you anna ❤️|thanks!!|grazie ❤️|thank youuu}
T: {Any plans for tonight?|How are you celebrating?|What's the plan?}
M: dinner with friends | {pizza obviously|{food} probably} ;; {nothing big, {food} at home|my mum is cooking|a small party at mine}
T: {Of course haha. Have fun!|Perfect. Enjoy!|Save me a slice}""",
    """T: {How's the new job going?|How's work?|How was your first week?}
M: {good|a lot to learn|tiring} | {the team is nice|my boss is ok|too many meetings|i'm learning a lot}
T: {You'll be great, I'm sure|Give it time|That's normal at the start}
?M: {thanks 🙈|hope so}
T>M: howare""",
    """T: {Flat hunting is a nightmare|I'm looking at flats again 😩|Found a flat!}
M: {oh no|really?|finally} | {where?|how much?|is it nice?}
T: {London prices...|It's tiny but it has a balcony|Near {place}, I'm signing on {day}}
M: {good luck|fingers crossed|so happy for you} | {send me photos|i'll come and visit|i'll help you move|we need a housewarming}""",
]
ANNA_OPEN = [
    "T: {Hey!|Hi Pasquale|Hello you|Morning!}\n?M: {hey anna|hi|hey}{| what's up?| all good?}",
    "M: {hey anna|hi|anna!}{| are you around?| got a minute?}\n?T: {Hey! Yes|Hi! What's up?|Here!}",
]
ANNA_CLOSE = [
    "T: {Talk soon!|Bye 👋|Night night|Speak soon x|Love to everyone}",
    "M: {bye|talk soon|night|ciao|speak soon|👋|good night}{| anna}{|| 👋| x| ❤️}",
]

DMITRI_SCRIPTS = [
    """T: {Привет! Как дела?|Привет, Паскуале)|Как ты?}
M: {привет dima!|privet!|hey dima} | {all good|fine|tired} | {you?|and you?}
T: {Нормально, много работы)|Отлично, спасибо|Устал, но живой}
M: {same|i know the feeling|hang in there|me too}{| / we need a holiday}
T: {Когда в {city}?|Ты приедешь в {city}?|Будешь в {city} летом?}
M: {maybe next month|in {n} weeks|i hope in summer|not this year}{| / i'm saving money| if work lets me}
T: {Давай, пиши)|Жду!|Напиши заранее}""",
    """T: {Сыграем в шахматы вечером?|Партию в блиц?|Реванш сегодня?}
M: {da da|sure|ok|yes} | {at {hour}?|after {hour}?}
T: {Ок) Опять {opening}?|Ок, в {hour}|Давай)}
M: {you always win with that|i've been studying the {opening}|this time i win|my rating is {rating} now}{| / be nice}
T: {Ничего, научу))|Посмотрим)|Ха, удачи}""",
    """M: {dima do you know {lang}?|dima you know {lang} right?|dima quick {lang} question}
T: {Немного. А что?|Да. Что случилось?|Конечно. Что там?}
M: {i have a bug i don't understand|my loop crashes|python hates me} | `index out of range`
T: {Скинь код|Покажи|Кидай сюда}
M: ```python
for i in range(len({arr}) + 1):
    print({arr}[i])
```
T: Ну вот, range(len({arr}) + 1) | убери +1) ;; {+1 лишний)|Смотри на range: там +1 лишний}
M: {omg|no way|i'm an idiot} | {spasibo 🙈|thanks dima|i owe you a beer|you're a genius}""",
    """T: Смотри что нашёл https://www.example.org/chess/puzzle-{n}
M: {nice|cool|oh no} | {too hard for me|i'll try tonight|give me a hint}
T: {Мат в три хода)|Подсказка: ферзь)|Попробуй конём}
M: {i'll try tonight|got it!|still nothing|the knight! ok}{| / give me ten minutes}""",
    """T: {С днём рождения!!! 🎉|С днюхой, Паскуале!|Поздравляю!!}
M: {spasibo dima ❤️|thanks!!|spasibo}
T: {Как отмечаешь?|Что делаешь сегодня?|Где празднуешь?}
M: {pizza with friends|dinner at my mum's|a party at home} | {and you are invited next time you're in napoli|come to napoli next year|i'll send you a photo}
T: {Обязательно приеду)|Договорились)|В следующем году точно}""",
    """M: {dima how do you say "cheers" in russian?|dima what do you say when you drink?|how do russians say cheers?}
T: {За здоровье!|Будем!|Ну, за встречу!}
M: {za zdorovye|budem|za vstrechu} | {ok|noted|i'll practice|easy}
T: {Произношение потом проверим))|Почти!|Отлично)}""",
    """T: {Ты видел новости про {city}?|Слышал про {city}?|Что там в {city}?}
M: {no what happened?|no?|tell me}
T: {Открыли новый музей, говорят очень крутой|Там фестиваль в эти выходные|Там закрыли аэропорт из-за тумана}
M: {cool|crazy|wow} | {we should go|i want to see it|next year maybe|send me the link}
T: {Давай в следующем году)|Поехали)|Посмотрим}""",
    """T: {Ты играл в {game}?|Играл в {game}?|Знаешь {game}?}
M: {yes|not yet|a bit} | {is it good?|how many hours did you play?|why?}
T: {Уже {n}0 часов)|Очень затягивает|Я застрял на боссе}
M: {i'll buy it|my weekend is gone|i'll help you on {day}|ok i'm downloading it|send me a screenshot}{| / it's on sale| / we can play together}""",
    """M: {dima are you free on {day}?|dima call on {day}?|can we talk on {day}?}
T>M: when
T: {Ок|Договорились|Хорошо}{|)}""",
]
DMITRI_OPEN = [
    "T: {Привет)|Хей|Добрый вечер|Привет, как ты?}\n?M: {privet!|hey dima|привет}{| what's up?}",
    "M: {privet!|hey dima|привет|dima!}{| are you there?}\n?T: {Да, привет)|Привет!|Тут)}",
]
DMITRI_CLOSE = [
    "T: {Пока)|Давай, до связи|Спокойной ночи|Удачи!}",
    "M: {poka|bye|spokoynoy nochi|talk soon|👋|see you}{| dima}{|| 👋| ahah}",
]

# Each kind of question and its answers, with the topic's slots (a time asked gets a time, a place a
# place): the contact asks, I answer; in `_QA_*_MINE` I ask and the contact answers.
_QA_IT = {
    "when": (
        "{a che ora|che ora facciamo|per che ora|a che ora ci vediamo|orario}?",
        "{alle|verso le|tipo alle|facciamo alle} {hour}{|?| ok?| va bene?} ;; {hour}{| o poco dopo} ;; non prima delle {hour} | {reason} ;; alle {hour} che prima {ho da fare|devo passare a casa}",
    ),
    "where": (
        "{dove|dove ci vediamo|dove andiamo|ci vediamo dove}?",
        "{place} ;; {pensavo|facciamo|meglio} {place}{|?} ;; {place}{| che è comodo| che si sta bene}",
    ),
    "who": (
        "{chi viene|chi c'è|siamo solo noi|viene qualcun altro}?",
        "{io, te e {friend}|anche {friend}|solo noi due|{friend} e {friend2}}{| forse| credo} ;; {friend} {ha detto di sì|forse|non risponde}",
    ),
    "day": (
        "{quando|che giorno}{| ti va| ti va bene}?",
        "{day}{| sera| pomeriggio} ;; {day} o {day2}{|, decidi tu} ;; {day}{| o quando vuoi tu}",
    ),
    "cost": (
        "{quanto|quanto costa|quanto viene|quanto hai pagato}?",
        "{price} euro{| più o meno| circa} ;; {tipo|sui} {price} euro | {una follia|un furto|ci sta}",
    ),
    "howare": (
        "{come stai|tutto bene|come va}?",
        "{bene|tutto bene|si va avanti}{| dai| grazie} | {e tu?|tu?} ;; {stanco morto|un po' di corsa} | {reason}",
    ),
    "bring": (
        "{porto qualcosa|devo portare qualcosa|porto io qualcosa}?",
        "{porta {drink}|se vuoi {drink}|niente tranquillo|il dolce se ti va|porta solo la fame}",
    ),
    "opinion": (
        "{com'è|ne vale la pena|merita|ti piace}?",
        "{merita|bello|carino|mah}{| ma un po' lungo| il finale non l'ho capito| te lo consiglio} ;; {una bomba|una noia}{| giuro}",
    ),
}
_QA_EN = {
    "when": (
        "{what time|when shall we meet|what time works}?",
        "{at|around|let's say} {hour}{|?| ok?} ;; {hour}{| or a bit later} ;; not before {hour} | {reason}",
    ),
    "where": ("{where|where shall we meet|where to}?", "{place} ;; {maybe|what about} {place}{|?}"),
    "who": (
        "{who's coming|who else|just us}?",
        "{just us|me and {friend}|{friend} and {friend2}}{| i think}",
    ),
    "day": ("{when|which day}{| works}?", "{day}{| evening} ;; {day} or {day2}{|, you choose}"),
    "cost": (
        "{how much|how much was it}?",
        "{price} euros{| more or less} ;; about {price} | {crazy|not bad}",
    ),
    "howare": (
        "{how are you|how are things|all good}?",
        "{good|all good|busy}{| thanks} | {you?|and you?} ;; {tired|so busy} | {reason}",
    ),
}
_QA_RU = {  # Dmitri asks in Russian, I answer in English
    "when": (
        "{Во сколько?|Когда удобно?|В какое время?}",
        "{at|around} {hour}{|?} ;; {hour} ;; after {hour}{| is better}",
    ),
    "howare": ("{Как ты?|Как дела?|Как жизнь?}", "{good|fine|busy} | {you?|and you?}"),
}
_QA_IT_MINE = _QA_IT
_QA_EN_MINE = _QA_EN
_QA_RU_MINE = {  # I ask in English, Dmitri answers in Russian
    "when": ("{what time?|when?|what time is good?}", "{В {hour}|Давай в {hour}|После {hour})}"),
    "howare": ("{how are you?|how's life?|and you?}", "{Нормально)|Хорошо, спасибо|Устал, но живой}"),
}

GROUP_SCRIPTS = [
    """A: {Raga {day} ci siamo tutti?|Chi c'è {day}?|Appello per {day} 📋|{day} calcetto, chi c'è?}
M: {io sì|presente|ci sono|io ci sono}{| / porto la pettorina|, arrivo alle {hour}}
?L: {presente 🔥|ci sono|io sì ma arrivo tardi}
B: {Io arrivo tardi, tipo alle {hour}|Ci sono|Forse, vi dico entro stasera|Io no raga, {reason}}
?C: {ci sono|io sì|presente}
A: {Perfetto siamo in {n10}|Siamo in {n10}, manca {nmiss}|Ok, ci manca ancora qualcuno}""",
    """B: {Chi porta il pallone?|Il pallone ce l'ha qualcuno?|Raga il pallone?}
L: {io no l'ho bucato 😂|io l'ho lasciato in macchina di {friend}|non guardate me}
M: {lo porto io|ce l'ho io|ne porto due}{| / quello nuovo|, tranquilli}
?B: {Grande Pasquale|Sei un mito|Ok, allora siamo a posto}""",
    """A: {Risultato di {day}: {score} per noi 💪|Finita {score}, ben giocato raga|{score} e tre pali, che sfortuna}
L: {MVP Pasquale 👑|che gol di Ciccio|la difesa oggi un muro}
M: {grazie raga|merito di tutti|ho ancora male al ginocchio|la prossima ne faccio tre}
?C: {la prossima volta però non sbaglio il rigore 😅|io voglio la rivincita|stavolta offrite voi la birra}
?B: {ahahah|🔥🔥|grandi}""",
    """C: {Raga il campo {day} è chiuso, si sposta a {day2}|Attenzione: cambio campo, ci vediamo al Centro Sportivo|Il campo {day} non c'è, proviamo {day2}?}
A: {Ancora??|Noo|Per me è uguale|Di nuovo?}
M: {per me ok|{day2} ci sono|{day2} non posso, {reason}|va bene, l'importante è giocare}
?L: {anche per me|{day2} ci sto|io vedo}
B: {Io {day2} non posso 😩|Ok|Vado bene uguale}""",
    """A: {Chi mi deve ancora i soldi del campo? {quota} euro a testa|Quota campo: {quota}€|Raga, {quota} euro a testa per il campo}
M: {io te li do {day}|ti faccio il bonifico stasera|te li do alla prossima partita|pagato 👍}
?L: {ti ho mandato il bonifico 👍|io ho pagato|satispay fatto}
C: {scusa mi ero dimenticato, ti mando subito|ti do tutto {day}|quanto era? {quota}?}""",
    """L: {ragazzi pizza dopo la partita? 🍕|birra dopo?|chi viene {place} dopo?}
M: {sìì|ci sto|io sì|solo se non facciamo tardi}
?B: {Ci sto|Io passo|Se finiamo presto sì}
A: {Solo se paga chi perde 😂|Io ci sono|Prenoto per {n10}?}
?C: {allora paga Lorenzo|ok io vengo|dipende da come va la partita}""",
    """D: {Raga mi sono fatto male alla caviglia 😩|Io questa settimana salto, ho la febbre|Scusate {day} non ci sono}
A: {Noo, riprenditi|Forza! Ci vediamo la prossima|Chi lo sostituisce?}
M: {riprenditi|cura la caviglia|ti aspettiamo}{| / provo a chiedere a mio cugino| / posso chiamare {friend}}
?L: {guarisci presto|ti aspettiamo fra}""",
    """B: {Qualcuno ha visto la partita ieri?|Che partita il Napoli|{player} ieri sera 🔥}
L: {visto, pazzesco|{player} mamma mia|l'arbitro però...}
M: {una partita incredibile|{player} il migliore|il secondo tempo da dimenticare|{score} meritato}
?A: {Raga parliamo di calcetto qui 😂|Giovedì giochiamo come {player}}""",
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
    voice: str = ""  # how they write: casual, neat or brackets (default: by language)
    _compiled: list = field(default_factory=list, repr=False)
    _openers: list = field(default_factory=list, repr=False)
    _closers: list = field(default_factory=list, repr=False)


Line = tuple[str, bool, list[list[str]]]  # speaker ("T>M": a question), optional, alternatives (bursts)
_LINE_START = re.compile(r"\??[MTLABCD](>[MT])?:")


def _alternatives(text: str) -> list[list[str]]:
    alts = [[part.strip() for part in alt.split(" | ")] for alt in text.strip().split(" ;; ")]
    for part in (p for alt in alts for p in alt):
        if part.count("{") != part.count("}"):
            raise ValueError(f"unbalanced braces (a ' | ' inside {{...}}?): {part!r}")
    return alts


def _compile(script: str) -> list[Line]:
    lines = []
    for raw in script.strip().split("\n"):
        if not _LINE_START.match(raw):
            lines[-1][2][-1][-1] += "\n" + raw  # continuation of a multi-line message (pre block)
            continue
        optional = raw.startswith("?")
        who, text = raw.lstrip("?").split(":", 1)
        lines.append((who, optional, _alternatives(text)))
    return lines


# Questions by kind, compiled once per language: kind -> (asked, answered) alternatives, for the
# contact asking me and for me asking the contact.
_QA = {"it": (_QA_IT, _QA_IT_MINE), "en": (_QA_EN, _QA_EN_MINE), "ru": (_QA_RU, _QA_RU_MINE)}
_QA_COMPILED: dict = {}


def _questions(lang: str, mine: bool) -> dict[str, tuple[list[list[str]], list[list[str]]]]:
    key = (lang, mine)
    if key not in _QA_COMPILED:
        bank = _QA[lang][mine]
        _QA_COMPILED[key] = {k: (_alternatives(q), _alternatives(a)) for k, (q, a) in bank.items()}
    return _QA_COMPILED[key]


class _Ids:
    def __init__(self, rng: random.Random, start: int, gaps: bool):
        self.rng, self.next, self.gaps = rng, start, gaps

    def __call__(self) -> int:
        i = self.next
        self.next += 1 + (self.rng.randrange(1, 40) if self.gaps and self.rng.random() < 0.25 else 0)
        return i


_BRACES = re.compile(r"\{([^{}]*)\}")
_LOOSE = re.compile(r"(?<=\S) {2,}| +(?=[?!,])")


class _Fill:
    """Fills a phrase's braces (see the phrase banks): choices, slots bound until `forget`, fresh slots."""

    def __init__(self, rng: random.Random, bank: dict):
        self.rng, self.bank = rng, bank
        self.bound: dict[str, Any] = {}

    def forget(self) -> None:
        self.bound.clear()

    def __call__(self, s: str) -> str:
        if "{" not in s:
            return s
        while "{" in s:
            s = _BRACES.sub(self._pick, s)
        return "\n".join(_LOOSE.sub(" ", line).rstrip() for line in s.strip().split("\n"))

    def _pick(self, m: re.Match) -> str:
        inner = m.group(1)
        if "|" in inner:
            return self.rng.choice(inner.split("|"))
        if inner.startswith("~"):
            value = self.rng.choice(self.bank[inner[1:]])
            return value if isinstance(value, str) else value[0]
        name, _, part = inner.partition(".")
        if name not in self.bound:
            slot = name.rstrip("0123456789")
            taken = [v for k, v in self.bound.items() if k.rstrip("0123456789") == slot]
            self.bound[name] = self.rng.choice([v for v in self.bank[slot] if v not in taken])
        value = self.bound[name]
        return value if isinstance(value, str) else value[int(part or 0)]


_SEGUES = {
    "it": ["comunque ", "ah ", "senti ", "ah senti ", "cambiando discorso, "],
    "en": ["anyway ", "oh and ", "btw "],
    "ru": ["btw ", "oh and "],
}
_ACKS = {
    "it": ["ok", "👍", "ahah", "perfetto", "ok 👍", "va bene", "ahahah", "😂", "top", "ok ❤️", "sì"],
    "en": ["ok", "👍", "ahah", "perfect", "cool", "❤️", "ok ahah"],
    "ru": ["ok", "👍", "ahah", "spasibo", "ok)", "da"],
}
_LAUGHS = ["ahah", "ahahah", "ahahahah", "ahaha"]
_MY_EMOJI = ["😂", "🙈", "😅", "👍", "❤️", "🙌", "😎", "🤣"]
_SHORT_IT = [("comunque", "cmq"), ("perché", "xké"), ("però", "xò"), ("non ", "nn "), ("messaggio", "msg")]


def _my_habits(rng: random.Random, text: str, lang: str) -> str:
    """How I write, at a rate: a stretched vowel, a laugh before or after, an emoji, Italian shorthand."""
    if len(text) < 12 and text[-1] in "aeiouì" and rng.random() < 0.1:
        text += text[-1] * rng.randrange(1, 3)  # "daiii", "sììì"
    if "ah" not in text.lower() and "😂" not in text:
        r = rng.random()
        if r < 0.03:
            text = f"{rng.choice(_LAUGHS)} {text}"
        elif r < 0.1:
            text = f"{text} {rng.choice(_LAUGHS)}"
    if rng.random() < 0.04:
        text = f"{text} {rng.choice(_MY_EMOJI)}"
    if lang == "it":
        for long, short in _SHORT_IT:
            if long in text and rng.random() < 0.3:
                text = text.replace(long, short, 1)
    return text


def _their_habits(rng: random.Random, text: str, voice: str) -> str:
    """How a contact writes: casual (lowercase, "fra"), neat (capitals, "!" and 😊), brackets (")")."""
    last = text[-1]
    if voice == "casual":
        r = rng.random()
        if r < 0.08 and "fra" not in text:
            text = f"{text[:-1]} fra?" if last == "?" else f"{text} fra"
        elif r < 0.11:
            text += rng.choice([" 😂", " 🔥", " 😅"])
    elif voice == "neat":
        text = text[0].upper() + text[1:]
        r = rng.random()
        if last.isalpha() and r < 0.15:
            text += "!"
        elif last.isalpha() and r < 0.25:
            text += rng.choice([" 😊", " 😅", " haha" if "hah" not in text.lower() else " 🙂"])
    elif voice == "brackets" and last not in ")?" and rng.random() < 0.25:
        text += rng.choice([")", "))"])
    return text


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
        voice: Optional[str] = None,
    ):
        self.rng, self.me, self.lang, self.ids, self.t = rng, me, lang, ids, t
        self.fill = _Fill(rng, slots)
        self.voice = voice  # the contact's habits; None: their lines as written
        self.chat_index, self.media_dir = chat_index, media_dir
        self.recent: list[tuple[int, Peer]] = []
        self.photos = 0
        self.deck: list[int] = []

    def _photo_path(self) -> str:
        self.photos += 1
        stamp = local_iso(self.t)
        d, h = stamp[:10].split("-"), stamp[11:].replace(":", "-")
        return f"{self.media_dir}photos/photo_{self.photos}@{d[2]}-{d[1]}-{d[0]}_{h}.jpg"

    def _habits(self, who: Peer, text: str) -> str:
        if not text or text[0] in "`/" or "http" in text:  # code, commands and links as written
            return text
        if who is self.me:
            return _my_habits(self.rng, text, self.lang)
        return _their_habits(self.rng, text, self.voice) if self.voice else text

    def text(self, who: Peer, line: str, others: list[Peer], habits: bool = True) -> dict:
        """One text message (a phrase filled, with its writer's habits), sometimes edited, a reply, or reacted to."""
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
            self._habits(who, self.fill(line)) if habits else line,
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
    """One conversation: maybe an opener, one topic or two, maybe a closer; quirks sprinkled in."""
    rng = w.rng
    parts: list[list[Line]] = []
    if rng.random() < 0.3:
        parts.append(rng.choice(pro._openers))
    for _ in range(2 if rng.random() < 0.06 else 1):
        if not w.deck:  # every topic once, in a shuffled order, before any comes back
            w.deck = list(range(len(pro._compiled)))
            rng.shuffle(w.deck)
        parts.append(pro._compiled[w.deck.pop()])
    if rng.random() < 0.3:
        parts.append(rng.choice(pro._closers))
    # phone calls happen instead of or right before chatting
    if rng.random() < 0.02:
        caller = rng.choice([w.me, pro.person])
        reason = rng.choice(["hangup", "hangup", "missed", "busy"])
        extra = {"duration_seconds": rng.randrange(20, 1800)} if reason == "hangup" else {}
        yield service(w.ids(), w.t, caller, "phone_call", **extra, discard_reason=reason)
        w.t += extra.get("duration_seconds", 30) + rng.randrange(30, 300)
    last = None
    others = [p for p in speakers.values()]
    topics = 0
    for lines in parts:
        w.fill.forget()  # each topic its own time, place, film...
        asked: set[str] = set()
        topics += len(lines) > 2
        for n_line, (who, alts) in enumerate(_said(rng, lines, pro.lang, asked)):
            who = speakers[who]
            burst = [piece for part in rng.choice(alts) for piece in w.fill(part).split(" / ")]
            for k, line in enumerate(burst):
                if topics == 2 and n_line == k == 0 and line[:1].islower():  # a second topic
                    line = rng.choice(_SEGUES[pro.lang]) + line
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
    if last is not w.me and rng.random() < 0.15:  # the last word, often the same few
        w.tick(same_sender=False)
        yield w.text(w.me, rng.choice(_ACKS[pro.lang]), [pro.person])
    if rng.random() < 0.004 and w.recent:
        w.tick(same_sender=False)
        yield service(w.ids(), w.t, w.me, "pin_message", message_id=w.recent[-1][0])


def _said(rng: random.Random, lines: list[Line], lang: str, asked: set[str]) -> Iterator[tuple[str, list]]:
    """A topic's lines as (speaker, alternatives): optional lines kept half the time, each question
    line "T>M: kinds" as its question (a kind not asked yet) and the answer."""
    for who, optional, alts in lines:
        if optional and rng.random() < 0.5:
            continue
        if ">" not in who:
            yield who, alts
            continue
        asker, answerer = who.split(">")
        kinds = alts[0][0].split()
        kind = rng.choice([k for k in kinds if k not in asked] or kinds)
        asked.add(kind)
        question, answer = _questions(lang, mine=asker == "M")[kind]
        yield asker, question
        yield answerer, answer


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
        pro._openers = [_compile(s) for s in pro.openers]
        pro._closers = [_compile(s) for s in pro.closers]
    voice = pro.voice or {"it": "casual", "en": "neat", "ru": "brackets"}[pro.lang]
    ids = _Ids(rng, rng.randrange(1, 5000), gaps=True)
    w = _Writer(rng, index, me, pro.lang, ids, start, pro.slots, media_dir, voice)
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
            voice="neat",
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
        w.fill.forget()
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
            for line in (piece for part in rng.choice(alts) for piece in w.fill(part).split(" / ")):
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
    fill = _Fill(rng, _SLOTS_IT)
    for i in range(24):
        t += rng.randrange(1, 20) * 86400 + rng.randrange(0, 30000)
        mid += rng.randrange(50, 4000)
        fill.forget()
        line = fill(SUPERGROUP_MINE[i % len(SUPERGROUP_MINE)])
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
    out.append(
        message(
            *nxt(40), LORENZO, "<:5368324170671202286|🔥> chiedi a <@100000006|Marco>: marco.esp@example.com"
        )
    )
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
