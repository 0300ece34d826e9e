"""Reading a WhatsApp "Export chat" file: the .txt, or the .zip WhatsApp shares it in (the spec:
docs/export-formats.md, WhatsApp).

One file is one chat. A message starts a line with its date and time, as the exporting phone's
locale writes them; the lines that follow, up to the next such line, continue it:

    Android  25/12/2023, 21:30 - Lorenzo: text        12/25/23, 9:30 PM - Lorenzo: text
    iOS      [25/12/2023, 21:30:05] Lorenzo: text     [12/25/23, 9:30:05 PM] Lorenzo: text

The whole file is scanned by one regular expression; the day-month order is decided once, from all
its dates (`date_order`). Times are local with no zone, read as UTC (as Telegram's undated exports
are), which keeps the gaps right. Only names identify senders: a sender's id is "whatsapp:NAME".
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

from chatlike.data.records import ReadChat, SourceChat, SourceMessage
from chatlike.data.sources.snapshot import read_file
from chatlike.errors import ChatlikeError

SOURCE = "whatsapp"
_MARKS = "\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069"  # BOM, direction marks and embeddings
_SP = "[ \u00a0\u202f]"  # iOS and newer Androids put a (narrow) no-break space before AM/PM
# group 1: "[" (iOS); 2: the date; 3: the time, with its AM/PM; 4: the sender (None: a system line)
_HEADER = re.compile(
    rf"\n[{_MARKS}]*(\[)?"
    r"(\d{1,4}[./-] ?\d{1,2}[./-] ?\d{1,4}\.?)"
    rf",?{_SP}(?:[^\W\d_]{{1,4}}\.?{_SP})?"  # a word some locales put before the time: "klo", "à"
    rf"(\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}})?(?:{_SP}?[AaPp]\.?{_SP}?[Mm]\.?)?)"
    rf"(?(1)\]{_SP}|{_SP}?[-–]{_SP})"
    r"(?:([^:\n]+): )?",  # greedy: it stops at the first colon anyway, and is 2x faster than lazy
)
_DIGITS = re.compile(r"\d+")
_NAME_TRIM = "".join(chr(c) for c in (0xFEFF, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_FILE_TITLE = re.compile(
    r"^(?:WhatsApp[ _-]Chat[ _](?:with|-|mit)|Chat[ _]de[ _]WhatsApp[ _]con|Chat[ _]WhatsApp[ _]con"
    r"|Conversa[ _]d[oe][ _]WhatsApp[ _]com|Discussion[ _]WhatsApp[ _]avec|Чат[ _]WhatsApp[ _]с)[ _](.+)$",
    re.I,
)
_GROUP_EVENT = re.compile(  # system lines only a group has (English, Italian)
    r" created group | created this group|^You created group | added | removed | left$| changed the subject "
    r"| changed this group's | changed the group | joined using this group's invite link"
    r"|^Messages to this group are now| ha creato il gruppo | ha aggiunto | è uscito| ha cambiato l'oggetto ",
)
# The notice that opens every chat, told by its text whatever sender the line shows (some phones
# write a group's notices as sent by the group): its first sentence in the languages chatlike knows,
# and the older English ones
_NOTICE = re.compile(
    r"Messages and calls are end-to-end encrypted\."
    r"|Messages (?:to this group|you send to this (?:chat|group)(?: and calls)?) are now secured with end-to-end"
    r"|I messaggi e le chiamate sono crittografati end-to-end\."
    r"|Los mensajes y las llamadas están cifrados de extremo a extremo\."
    r"|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt\."
    r"|Les messages et les appels sont chiffrés de bout en bout\."
    r"|As mensagens e (?:as )?chamadas são (?:protegidas com a criptografia de ponta a ponta|encriptadas ponto a ponto)"
    r"|Сообщения и звонки защищены сквозным шифрованием\."
    r"|Berichten en oproepen (?:zijn|worden) end-to-end versleuteld\."
)
_SUBJECT = re.compile(
    r"(?:created group|changed the subject from .+ to|changed the subject to) [\"“](.+)[\"”]$"
)

# Whole messages that are not text, as Android and (after their leading U+200E) iOS write them, in
# the languages chatlike knows: a kind the report counts ("no_text:photo"), "deleted" or "service".
_NOT_TEXT = {
    "media": ("<media omitted>", "<media omessi>", "<multimedia omitido>", "<medien ausgeschlossen>",
              "<médias omis>", "<mídia oculta>", "<arquivo de mídia oculto>", "<без медиафайлов>",
              "<media weggelaten>", "<fichier omis>", "<archivo omitido>", "null",
              "you received a view once message. for added privacy, you can only open it on your phone."),
    "photo": ("image omitted", "<image omitted>", "photo omitted"),
    "video_file": ("video omitted", "<video omitted>"),
    "voice_message": ("audio omitted", "<audio omitted>"),
    "sticker": ("sticker omitted", "<sticker omitted>"),
    "animation": ("gif omitted", "<gif omitted>"),
    "file": ("document omitted", "<document omitted>"),
    "contact": ("contact card omitted", "<contact card omitted>"),
    "deleted": ("this message was deleted", "you deleted this message", "questo messaggio è stato eliminato",
                "hai eliminato questo messaggio", "se eliminó este mensaje", "eliminaste este mensaje",
                "diese nachricht wurde gelöscht", "du hast diese nachricht gelöscht",
                "ce message a été supprimé", "vous avez supprimé ce message", "esta mensagem foi apagada",
                "você apagou esta mensagem", "это сообщение удалено", "вы удалили это сообщение"),
    "service": ("missed voice call", "missed video call", "waiting for this message. this may take a while.",
                "waiting for this message. check your phone."),
}  # fmt: skip


def _spellings(text: str) -> list[str]:
    """As WhatsApp may write a placeholder: lower case or capitalised, with or without a full stop."""
    inner = text[1:] if text.startswith("<") else text
    cap = (text[:1] if text.startswith("<") else "") + inner[:1].upper() + inner[1:]
    return [w + end for w in (text, cap) for end in ("", ".")]


_PLACEHOLDERS = {w: kind for kind, texts in _NOT_TEXT.items() for t in texts for w in _spellings(t)}
_EDITED = (
    "<This message was edited>", "<Questo messaggio è stato modificato>", "<Este mensaje fue editado>",
    "<Se editó este mensaje.>", "<Diese Nachricht wurde bearbeitet>", "<Ce message a été modifié>",
    "<Esta mensagem foi editada>",
)  # fmt: skip
_ATTACHED = (("PHOTO", "photo"), ("VIDEO", "video_file"), ("AUDIO", "voice_message"),
             ("STICKER", "sticker"), ("GIF", "animation"))  # fmt: skip


def read_chat(path: Path, date_order: str = "auto") -> ReadChat:
    """The chat of one export file (.txt, or a .zip holding it)."""
    data, version = read_file(path)
    text = _text(path, data)
    messages, senders, chat_sender, events, shape = _messages(path, text, date_order)
    stem = path.stem
    titled = _FILE_TITLE.match(re.sub(r" \(\d+\)$", "", stem.replace("_", " ")))  # "… (1)": a copy
    title = titled.group(1).strip() if titled else None
    # iOS writes system lines as if the chat sent them: a group's name, or the contact's
    group_name = chat_sender if chat_sender and f"{SOURCE}:{chat_sender}" not in senders else None
    group = (
        len(senders) > 2
        or (group_name is not None and len(senders) > 1)
        or any(_GROUP_EVENT.search(e) for e in events)
    )
    if group:
        subject = next((m.group(1) for e in reversed(events) if (m := _SUBJECT.search(e))), None)
        name = group_name or title or subject or stem
        others: frozenset[str] = frozenset()
    else:
        name = title or chat_sender or stem
        others = frozenset({f"{SOURCE}:{n}" for n in (title, chat_sender) if n} & senders.keys())
    first = messages[0].time if messages else 0
    key = "\0".join([SOURCE, *sorted(senders.values()), str(first)])
    chat_id = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 11
    kind = "private_group" if group else "personal_chat"
    chat = SourceChat(chat_id, name, kind, messages, SOURCE, str(path), "", len(data))
    return ReadChat(chat, senders, others, shape, [(path, version)])


def _text(path: Path, data: bytes) -> str:
    """The chat's text: the file's, or that of the chat inside a .zip."""
    if data[:4] == b"PK\x03\x04":
        data = _from_zip(path, data)
    if not data.strip():
        raise ChatlikeError(
            f"{path}: the file is empty; export the chat again (WhatsApp > the chat > Export chat)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise ChatlikeError(
            f"{path}: not valid UTF-8 near byte {bad.start}; this is not a chat WhatsApp exported "
            "(was it re-saved in another encoding?)"
        ) from None
    return text.replace("\r\n", "\n") if "\r" in text else text


def _from_zip(path: Path, data: bytes) -> bytes:
    """The chat .txt of the zip WhatsApp shares ("_chat.txt" from iOS, "WhatsApp Chat with ….txt")."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            texts = [n for n in z.namelist() if n.lower().endswith(".txt") and not n.startswith("__MACOSX/")]
            texts.sort(key=lambda n: (Path(n).name != "_chat.txt", "whatsapp" not in n.lower(), n))
            if not texts:
                raise ChatlikeError(
                    f"{path}: a zip without a WhatsApp chat (no .txt in it); export the chat again "
                    "(Export chat > Without media) and give the .zip or the .txt in it"
                )
            return z.read(texts[0])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ChatlikeError(
            f"{path}: not a readable zip ({exc}); was the download or copy cut short?"
        ) from None


def _messages(
    path: Path, text: str, date_order: str
) -> tuple[list[SourceMessage], dict[str, str], str | None, list[str], str]:
    """The messages, in time order; the senders (id -> name) of real messages; the sender iOS gives
    the chat's first system line (the chat's name); the texts of system lines (group events); and
    the layout, "android" or "ios"."""
    first = _HEADER.search("\n" + text[:4096])
    if first is None:
        raise ChatlikeError(f"{path}: {_no_lines(text)}")
    shape = "ios" if first.group(1) else "android"
    # iOS marks what is not text with U+200E (U+200F in right-to-left locales); on Android a
    # right-to-left text may start with U+200F
    not_text_marks = ("\u200e", "\u200f") if shape == "ios" else ("\u200e",)
    # a newline before the first line, and a last header after the last message, so that each
    # header ends the message before it (the last header is never a message itself)
    text = "\n" + text.rstrip("\n") + "\n1/1/2000, 00:00 - "
    clock: dict[str, int] = {}
    names: dict[str, tuple[str, str]] = {}  # the sender as written -> (id, name)
    senders: dict[str, str] = {}
    chat_sender = None
    events: list[str] = []
    days: list[tuple[int, str]] = []  # (index of the first message of a day, the date as written)
    out: list[SourceMessage] = []
    keep = out.append
    day = None
    date = time = who = None
    end = -1
    for m in _HEADER.finditer(text):
        if end < 0:  # the first header: nothing before it is a message
            date, time, who = m.group(2, 3, 4)
            end = m.end()
            continue
        body = text[end : m.start()]
        if date != day:
            day = date
            days.append((len(out), date))
        t = clock.get(time)
        if t is None:
            t = clock[time] = _seconds(time)
        kind, body = _kind(body, not_text_marks)
        if who is None:  # an Android system line
            events.append(body)
            keep(SourceMessage(t, "service"))
        else:
            sender = names.get(who)
            if sender is None:
                clean = who.strip(_NAME_TRIM + " ").lstrip("~").strip(_NAME_TRIM + " \u00a0\u202f")
                sender = names[who] = (f"{SOURCE}:{clean}", clean)
            if kind is None and sender[1] == chat_sender and shape == "android" and sender[0] not in senders:
                # the sender of an Android notice who never wrote: the group; its events are notices too
                kind = "service" if _GROUP_EVENT.search(body) else None
            if kind is None:
                keep(SourceMessage(t, sender_id=sender[0], sender=sender[1], text=body))
                if sender[0] not in senders:
                    senders[sender[0]] = sender[1]
            elif kind == "service" or kind == "deleted":
                if kind == "service":
                    events.append(body)
                    if not out:  # the encryption notice that opens the chat
                        chat_sender = sender[1]
                keep(SourceMessage(t, kind))
            else:
                keep(SourceMessage(t, sender_id=sender[0], sender=sender[1], media=kind))
                senders.setdefault(sender[0], sender[1])
        date, time, who = m.group(2, 3, 4)
        end = m.end()
    midnight = _days(path, dict.fromkeys(d for _, d in days), date_order)
    bounds = [i for i, _ in days[1:]] + [len(out)]
    for (lo, date), hi in zip(days, bounds):
        base = midnight[date]
        for m in out[lo:hi]:
            m.time += base
    if any(b.time < a.time for a, b in zip(out, out[1:])):
        out.sort(key=lambda m: m.time)  # a phone's clock set back: keep time order
    return out, senders, chat_sender, events, shape


def _kind(body: str, not_text_marks: tuple[str, ...]) -> tuple[str | None, str]:
    """What a message's body is (None: text; else a media kind, "deleted" or "service"), and its
    text without WhatsApp's marks and markers."""
    if body[:1] in not_text_marks:
        body = body.lstrip(_NAME_TRIM)
        return _placeholder(body) or "service", body
    if body in _PLACEHOLDERS:
        return _PLACEHOLDERS[body], body
    if _NOTICE.match(body):
        return "service", body
    if body[-1:] == ">":
        return None, _unedited(body)
    if " (file attached)" in body:
        body = body.partition("\n")[2]
        return (None if body else "file"), body
    if body.startswith(("location: https://maps.google.com", "POLL:\n")):
        return ("location" if body[0] == "l" else "poll"), body
    return None, body


def _placeholder(body: str) -> str | None:
    """What an iOS line marked with U+200E is: a media kind, "deleted", or None (a system line)."""
    if body in _PLACEHOLDERS:
        return _PLACEHOLDERS[body]
    if body.startswith("<attached:"):
        return next((kind for tag, kind in _ATTACHED if tag in body), "file")
    if body.endswith(" omitted"):  # "Report.pdf • 3 pages ‎document omitted"
        return _PLACEHOLDERS.get(body.rsplit("\u200e", 1)[-1].strip().lower(), "media")
    return None


def _unedited(body: str) -> str:
    """The text without the marker WhatsApp appends to an edited message."""
    for marker in _EDITED:
        if body.endswith(marker):
            return body[: -len(marker)].rstrip(" \u200e")
    return body


def _seconds(time: str) -> int:
    """Seconds into the day of "21:30", "21.30.05", "9:30 PM", "9:30 p. m."."""
    h, m, *s = (int(x) for x in _DIGITS.findall(time))
    marker = time.lstrip("0123456789:. \u00a0\u202f")[:1].lower()
    if marker == "p" and h < 12:
        h += 12
    elif marker == "a" and h == 12:
        h = 0
    return h * 3600 + m * 60 + (s[0] if s else 0)


def _days(path: Path, dates: dict[str, None], date_order: str) -> dict[str, int]:
    """Each date as written -> its midnight in epoch seconds, in the file's one day-month order."""
    parts = [tuple(_DIGITS.findall(d)) for d in dates]
    order = date_order if date_order != "auto" else _order(path, parts, next(iter(dates)))
    out = {}
    for written, (a, b, c) in zip(dates, parts):
        day, month, year = {"dmy": (a, b, c), "mdy": (b, a, c), "ymd": (c, b, a)}[order]
        year_n = int(year) + (2000 if len(year) <= 2 else 0)
        try:
            dt.date(year_n, int(month), int(day))
        except ValueError:
            raise ChatlikeError(
                f"{path}: the date {written!r} is not a date when read as {order} (source.date_order); "
                "set source.date_order to the order this phone writes (dmy, mdy or ymd)"
            ) from None
        out[written] = calendar.timegm((year_n, int(month), int(day), 0, 0, 0))
    return out


def _order(path: Path, parts: list[tuple[str, ...]], example: str) -> str:
    """The day-month order of the whole file: year first when it has four digits; otherwise the
    order every date allows, or, when both do, the one under which the dates run forward in time."""
    if all(len(a) == 4 for a, _, _ in parts):
        return "ymd"
    nums = [(int(a), int(b), int(c)) for a, b, c in parts]
    dmy = all(1 <= a <= 31 and 1 <= b <= 12 for a, b, _ in nums)
    mdy = all(1 <= a <= 12 and 1 <= b <= 31 for a, b, _ in nums)
    if dmy != mdy:
        return "dmy" if dmy else "mdy"
    if dmy:  # both readings are possible: the one under which time goes back less often
        back = [sum(y < x for x, y in zip(keys, keys[1:])) for keys in (
            [(c, b, a) for a, b, c in nums], [(c, a, b) for a, b, c in nums])]  # fmt: skip
        if back[0] != back[1]:
            return "dmy" if back[0] < back[1] else "mdy"
    what = "can be read day-first or month-first" if dmy else "are neither day-month nor month-day"
    raise ChatlikeError(
        f"{path}: its dates (like {example}) {what}; set source.date_order=dmy (day first) or "
        "source.date_order=mdy (month first), as the phone that exported it writes dates"
    )


def _no_lines(text: str) -> str:
    head = text.lstrip(_NAME_TRIM + " \n\t")[:1]
    what = {"{": "this is JSON", "[": "this is JSON", "<": "this is HTML or XML"}.get(head, "no line")
    return (
        f"{what}: no WhatsApp message lines (like '25/12/2023, 21:30 - Name: text' from Android or "
        "'[25/12/2023, 21:30:05] Name: text' from an iPhone); give the .txt or .zip of WhatsApp's Export chat"
    )


def zip_holds_chat(path: Path) -> bool:
    """Whether a zip found in a folder holds a WhatsApp chat (a .txt whose lines are a chat's)."""
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.lower().endswith(".txt") and not name.startswith("__MACOSX/"):
                    with z.open(name) as f:
                        if looks_like(f.read(4096).decode("utf-8", "replace")):
                            return True
    except (zipfile.BadZipFile, OSError, EOFError):
        pass
    return False


def looks_like(head: str) -> bool:
    """Whether a file's first lines are a WhatsApp chat's (format detection)."""
    return any(_HEADER.match("\n" + line) for line in head.replace("\r\n", "\n").split("\n")[:20])
