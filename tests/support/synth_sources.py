"""Synthetic exports of the other messengers, written as those apps write them
(docs/export-formats.md): WhatsApp's Export chat (.txt, .zip) in the line layouts of several phone
locales, DiscordChatExporter's JSON, and Meta's message_N.json with its mojibake.

A conversation is built once as `Line`s (who says what when) and written in any format, so a test
can check that every reader gives the same messages. `large_whatsapp` writes the benchmark's big
.txt from tests/support/synth.py's chat generator.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple, Optional

ME = "Pasquale Esposito"
LRM, NNBSP, BOM = "\u200e", "\u202f", "\ufeff"
T0 = 1_717_405_200  # 2024-06-03 09:00 UTC


class Line(NamedTuple):
    """One thing that happens in a chat: `kind` is text, media (text = the media kind: photo,
    video, audio, sticker, gif, document, media), deleted, edited (a text edited later) or system
    (no sender)."""

    kind: str
    t: int
    sender: Optional[str]
    text: str = ""


def say(t: int, sender: str, text: str) -> Line:
    return Line("text", t, sender, text)


def media(t: int, sender: str, kind: str = "photo") -> Line:
    return Line("media", t, sender, kind)


def deleted(t: int, sender: str) -> Line:
    return Line("deleted", t, sender)


def edited(t: int, sender: str, text: str) -> Line:
    return Line("edited", t, sender, text)


def system(t: int, text: str) -> Line:
    return Line("system", t, None, text)


def talk(n: int, contact: str = "Lorenzo", start: int = T0, gap: int = 7200, me: str = ME) -> list[Line]:
    """n conversations `gap` seconds apart: the contact asks, I answer a minute later."""
    out = []
    for k in range(n):
        t = start + k * gap
        out += [say(t, contact, f"domanda {k}"), say(t + 60, me, f"risposta {k}")]
    return out


# ---- WhatsApp ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Locale:
    """How one phone writes a message's date and time."""

    layout: str  # android: "date, time - Name: text"; ios: "[date, time] Name: text"
    order: str  # dmy | mdy | ymd
    sep: str = "/"
    year_digits: int = 4
    clock: int = 24
    ampm: tuple[str, str] = ("AM", "PM")
    space: str = " "  # before AM/PM: newer phones write a narrow no-break space
    between: str = ", "  # between date and time
    time_sep: str = ":"
    pad: bool = True  # 05/06 rather than 5/6

    @property
    def seconds(self) -> bool:
        return self.layout == "ios"


LOCALES = {
    "en_GB android": Locale("android", "dmy"),  # 25/12/2023, 21:30 - Name: text
    "en_US android": Locale("android", "mdy", year_digits=2, clock=12, space=NNBSP, pad=False),
    "en_IN android": Locale("android", "dmy", year_digits=2, clock=12, ampm=("am", "pm")),
    "de android": Locale("android", "dmy", sep=".", year_digits=2),  # 25.12.23, 21:30 - Name: text
    "es android": Locale("android", "dmy", year_digits=2, clock=12, ampm=("a. m.", "p. m."), space=NNBSP),
    "sv android": Locale("android", "ymd", sep="-", between=" "),  # 2023-12-25 21:30 - Name: text
    "it ios": Locale("ios", "dmy", year_digits=2),  # [25/12/23, 21:30:05] Name: text
    "en_US ios": Locale("ios", "mdy", year_digits=2, clock=12, space=NNBSP, pad=False),
    "fi ios": Locale("ios", "dmy", sep=".", between=" klo ", time_sep=".", pad=False),
    "nl ios": Locale("ios", "dmy", sep="-", year_digits=4),  # [25-12-2023 21:30:05]
}
ENCRYPTED = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, "
    "can read or listen to them."
)
_IOS_MEDIA = {"photo": "image omitted", "video": "video omitted", "audio": "audio omitted",
              "sticker": "sticker omitted", "gif": "GIF omitted", "document": "document omitted",
              "media": "image omitted"}  # fmt: skip


def stamp(t: int, loc: Locale) -> str:
    """The date and time as `loc` writes them (the phone's local time: here UTC)."""
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    year = f"{d.year % 100:02d}" if loc.year_digits == 2 else str(d.year)
    day, month = (f"{d.day:02d}", f"{d.month:02d}") if loc.pad else (str(d.day), str(d.month))
    parts = {
        "dmy": (day, month, year),
        "mdy": (month, day, year),
        "ymd": (year, f"{d.month:02d}", f"{d.day:02d}"),
    }
    date = loc.sep.join(parts[loc.order])
    if loc.clock == 12:
        hour = f"{d.hour % 12 or 12}"
    else:
        hour = f"{d.hour:02d}"
    time = f"{hour}{loc.time_sep}{d.minute:02d}"
    if loc.seconds:
        time += f"{loc.time_sep}{d.second:02d}"
    if loc.clock == 12:
        time += loc.space + loc.ampm[d.hour >= 12]
    return f"{date}{loc.between}{time}"


def whatsapp_text(
    lines: Iterable[Line],
    locale: Locale | str = "en_GB android",
    chat: str = "Lorenzo",
    me: str = ME,
    *,
    notice: bool = True,
    bom: bool = False,
    crlf: bool = False,
) -> str:
    """A chat's Export chat .txt, as a phone of `locale` writes it (`chat`: the contact or group)."""
    loc = LOCALES[locale] if isinstance(locale, str) else locale
    out = []
    lines = list(lines)
    if notice and lines:
        out.append(_line(system(lines[0].t, ENCRYPTED), loc, chat, me))
    out += [_line(line, loc, chat, me) for line in lines]
    text = "\n".join(out) + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    return (BOM if bom else "") + text


def _line(line: Line, loc: Locale, chat: str, me: str) -> str:
    ios = loc.layout == "ios"
    when = stamp(line.t, loc)
    head = f"[{when}] " if ios else f"{when} - "
    if line.kind == "system":
        return f"{LRM}{head}{chat}: {LRM}{line.text}" if ios else f"{head}{line.text}"
    if line.kind == "text":
        body = line.text
    elif line.kind == "edited":
        body = (
            f"{line.text} {LRM}<This message was edited>" if ios else f"{line.text} <This message was edited>"
        )
    elif line.kind == "media":
        return (
            f"{LRM}{head}{line.sender}: {LRM}{_IOS_MEDIA[line.text]}"
            if ios
            else f"{head}{line.sender}: <Media omitted>"
        )
    elif line.kind == "deleted":
        mine = line.sender == me
        text = "You deleted this message" if mine else "This message was deleted"
        body = f"{LRM}{text}." if ios else text
    else:
        raise ValueError(line.kind)
    return f"{head}{line.sender}: {body}"


def whatsapp_zip(text: str, name: str = "_chat.txt", media: bool = False) -> bytes:
    """The .zip WhatsApp shares a chat in (iOS always; Android "with media")."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text.encode("utf-8"))
        if media:
            z.writestr("00000003-PHOTO-2024-06-03-09-01-00.jpg", b"\xff\xd8\xff")
    return buf.getvalue()


def from_telegram(messages: Iterable[dict], me_id: str) -> Iterator[Line]:
    """tests/support/synth.py's Telegram messages as what a WhatsApp chat would show of them."""
    for m in messages:
        t = int(m["date_unixtime"]) if "date_unixtime" in m else T0
        if m["type"] != "message":
            if m.get("action") == "phone_call":
                yield system(t, "Missed voice call")
            continue
        text = (
            m["text"]
            if isinstance(m["text"], str)
            else "".join(p if isinstance(p, str) else p["text"] for p in m["text"])
        )
        sender = ME if m.get("from_id") == me_id else (m.get("from") or "+39 333 000 0000")
        if text:
            yield say(t, sender, text)
        else:
            yield media(t, sender, "media")


def large_whatsapp(path, n_messages: int, seed: int = 0) -> int:
    """A one-to-one chat of `n_messages` lines (Android, dd/mm/yyyy, 24 h), from the same generator
    as tests/support/synth.py's large Telegram export. Returns the bytes written."""
    from tests.support import synth

    pro = synth._profiles()[0]
    msgs = synth._personal_messages(
        seed, 1, synth.ME, pro, synth.epoch("2019-01-07T09:00:00"), n_messages, None, 3.0, ""
    )
    loc = LOCALES["en_GB android"]
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(_line(system(synth.epoch("2019-01-07T09:00:00"), ENCRYPTED), loc, pro.person.name, ME) + "\n")
        for line in from_telegram(msgs, synth.ME.id):
            size += f.write(_line(line, loc, pro.person.name, ME) + "\n")
    return size


# ---- Discord (DiscordChatExporter JSON) --------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    name: str  # the user name
    nickname: Optional[str] = None  # the server nickname or display name
    bot: bool = False


DISCORD_ME = User("111111111111111111", "pasquale.e", "Pasquale Esposito")
DISCORD_LORENZO = User("222222222222222222", "lorenzo_r", "Lorenzo")
DISCORD_MARCO = User("333333333333333333", "marco99", "Marco")
DISCORD_BOT = User("444444444444444444", "MEE6", bot=True)


def discord_iso(t: int) -> str:
    """DiscordChatExporter's timestamps: ISO 8601 with milliseconds and the exporter's offset."""
    d = dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=2)))
    return d.isoformat(timespec="milliseconds")


def discord_message(
    i: int,
    t: int,
    author: User,
    content: str = "",
    *,
    type: str = "Default",
    attachments: Iterable[str] = (),
    stickers: Iterable[str] = (),
    embeds: int = 0,
    reply_to: Optional[int] = None,
    forwarded: bool = False,
) -> dict:
    """One message as DiscordChatExporter's JsonMessageWriter writes it."""
    m = {
        "id": str(900000000000000000 + i),
        "type": "Reply" if reply_to is not None and type == "Default" else type,
        "timestamp": discord_iso(t),
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": content,
        "author": {
            "id": author.id,
            "name": author.name,
            "discriminator": "0000",
            "nickname": author.nickname or author.name,
            "color": None,
            "isBot": author.bot,
            "roles": [],
            "avatarUrl": "https://cdn.discordapp.com/embed/avatars/0.png",
        },
        "attachments": [
            {"id": str(i * 10 + k), "url": f"https://cdn.discordapp.com/attachments/{name}", "fileName": name,
             "fileSizeBytes": 120000}
            for k, name in enumerate(attachments)
        ],
        "embeds": [
            {"title": "", "url": "https://example.org", "timestamp": None, "description": "", "images": [],
             "fields": [], "inlineEmojis": []}
            for _ in range(embeds)
        ],
        "stickers": [{"id": "1", "name": s, "format": "Png", "sourceUrl": "https://x/1.png"} for s in stickers],
        "reactions": [],
        "mentions": [],
    }  # fmt: skip
    if reply_to is not None:
        m["reference"] = {"type": "Default", "messageId": str(900000000000000000 + reply_to),
                          "channelId": "1", "guildId": None}  # fmt: skip
    if forwarded:
        m["forwardedMessage"] = {"timestamp": discord_iso(t - 60), "timestampEdited": None,
                                 "content": "a post", "attachments": [], "embeds": [], "stickers": []}  # fmt: skip
    m["inlineEmojis"] = []
    return m


def discord_export(
    messages: list[dict],
    kind: str = "DirectTextChat",
    name: str = "lorenzo_r",
    channel_id: str = "555555555555555555",
    guild: str = "Direct Messages",
) -> bytes:
    """A channel's export: kind DirectTextChat (a DM: named after the recipient), DirectGroupTextChat
    or GuildTextChat (a server's channel)."""
    direct = kind.startswith("Direct")
    root = {
        "guild": {"id": "0" if direct else "777777777777777777", "name": guild,
                  "iconUrl": "https://cdn.discordapp.com/embed/avatars/0.png"},
        "channel": {"id": channel_id, "type": kind, "categoryId": None if direct else "1",
                    "category": "Private" if direct else "Text Channels", "name": name, "topic": None},
        "dateRange": {"after": None, "before": None},
        "exportedAt": "2024-07-01T10:00:00.000+02:00",
        "messages": messages,
        "messageCount": len(messages),
    }  # fmt: skip
    return json.dumps(root, ensure_ascii=False, indent=2).encode("utf-8")


def discord_from_lines(lines: Iterable[Line], users: dict[str, User]) -> list[dict]:
    """A conversation's lines as DiscordChatExporter's messages (senders looked up by name)."""
    out = []
    for i, line in enumerate(lines):
        if line.kind == "system":
            out.append(discord_message(i, line.t, DISCORD_ME, "", type="ChannelPinnedMessage"))
        elif line.kind == "media":
            out.append(discord_message(i, line.t, users[line.sender], attachments=["photo.png"]))
        elif line.kind in ("text", "edited"):
            out.append(discord_message(i, line.t, users[line.sender], line.text))
    return out


# ---- Meta: Instagram and Messenger ("Download your information", JSON) -------------------------


def mojibake(text: str) -> str:
    """What Meta writes: each UTF-8 byte of the text as the Latin-1 character of that value."""
    return text.encode("utf-8").decode("latin-1")


def meta_message(t: int, sender: str, content: Optional[str] = None, **extra) -> dict:
    m: dict = {"sender_name": mojibake(sender), "timestamp_ms": t * 1000}
    if content is not None:
        m["content"] = mojibake(content)
    m.update(extra)
    m.setdefault("is_geoblocked_for_viewer", False)
    return m


def meta_from_lines(lines: Iterable[Line]) -> list[dict]:
    """A conversation's lines as Meta's messages (oldest first here; `meta_thread` reverses them)."""
    out = []
    for line in lines:
        if line.kind == "system":
            out.append(meta_message(line.t, ME, "Lorenzo called you.", type="Call", call_duration=0))
        elif line.kind == "media":
            out.append(
                meta_message(
                    line.t, line.sender, photos=[{"uri": "photos/1.jpg", "creation_timestamp": line.t}]
                )
            )
        elif line.kind == "deleted":
            out.append(meta_message(line.t, line.sender, is_unsent=True))
        else:
            out.append(meta_message(line.t, line.sender, line.text))
    return out


def meta_thread(
    messages: list[dict],
    participants: Iterable[str] = ("Lorenzo", ME),
    title: str = "Lorenzo",
    thread_path: str = "inbox/lorenzo_1234567890",
    group: bool = False,
    per_file: int = 10_000,
    messenger: bool = True,
) -> list[bytes]:
    """A thread's message_1.json, message_2.json, ...: newest first, `per_file` messages each, every
    string written as Meta does (mojibake, then ASCII escapes); Messenger's name the thread type,
    Instagram's do not."""
    newest_first = list(reversed(messages))
    chunks = [newest_first[i : i + per_file] for i in range(0, len(newest_first), per_file)] or [[]]
    files = []
    for chunk in chunks:
        root = {
            "participants": [{"name": mojibake(p)} for p in participants],
            "messages": chunk,
            "title": mojibake(title),
            "is_still_participant": True,
            "thread_path": thread_path,
            "magic_words": [],
        }
        if messenger:
            root["thread_type"] = "RegularGroup" if group else "Regular"
        files.append(json.dumps(root, indent=2).encode("ascii"))
    return files
