"""Who "me" is in an export: the sender whose replies the model learns.

Telegram (`find_me`): never guessed from display names alone unless the user names one
(`source.me`): from `personal_information.user_id`, else the Saved Messages chat (only mine), else,
in a single personal chat export, the sender who is not the chat's peer.

The other messengers (`find_me_among`) export no account data: a name (or, on Discord, an id) the
user gives; else the one sender who writes in every chat of that messenger in the run (and is no
chat's named contact); else the one a one-to-one chat's title or file name says is not the contact;
else the name "me" has in another source of the run (Telegram's account name). Otherwise, always,
one line listing the senders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from chatlike.data.records import ReadChat, SourceChat
from chatlike.data.sources.telegram import PersonalInformation, normalize_from_id, read_messages
from chatlike.errors import ChatlikeError


def find_me(
    path: Path, info: Optional[PersonalInformation], chats: list[SourceChat], shape: str, me: str
) -> tuple[str, str]:
    """My sender id ("user123") and name. Only the slow rules decode chats (to list the senders)."""
    info_name = " ".join(x for x in (info.first_name, info.last_name) if x) if info else ""
    me = (me or "auto").strip()
    senders = lambda: _senders(path, chats)  # noqa: E731  (decodes every chat: only when needed)
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
                f"{path}: no sender is named {me!r} (source.me); senders: {_listing(everyone)}"
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
            return uid, _senders(path, [chat]).get(uid, "") or senders().get(uid, "")
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
        f"Senders: {_listing(senders())}"
    )


def _senders(path: Path, chats: list[SourceChat]) -> dict[str, str]:
    """Every sender id and name of these chats (decodes them all)."""
    names: dict[str, str] = {}
    for chat in chats:
        for m in read_messages(chat, str(path)):
            if m.type == "message" and m.from_id is not None:
                fid = normalize_from_id(m.from_id)
                if fid not in names or (not names[fid] and m.from_):
                    names[fid] = m.from_ or ""
    return names


def _listing(senders: dict[str, str]) -> str:
    items = [f"{name or '(deleted account)'} = {fid}" for fid, name in sorted(senders.items())]
    return ", ".join(items[:30]) + (f" (and {len(items) - 30} more)" if len(items) > 30 else "")


def find_me_among(label: str, reads: list[ReadChat], me: str, key: str, known: list[str]) -> tuple[str, str]:
    """My sender id ("whatsapp:Pasquale", "discord:1234") and name in the chats of one messenger
    (`label`); `me` as source.me_<format> or source.me gives it ("auto" or a name or id), `key` is
    that option's name for errors, `known` my names found in other sources of the run."""
    everyone: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for r in reads:
        everyone.update(r.senders)
        aliases.update(r.aliases)
    where = _files(reads)
    me = (me or "auto").strip()
    if me != "auto":
        ids = sorted(
            i for i, name in everyone.items() if me in (name, i, i.split(":", 1)[1]) or aliases.get(me) == i
        )
        if len(ids) == 1:
            return ids[0], everyone[ids[0]]
        if not ids:
            raise ChatlikeError(f"{where}: no sender is named {me!r} ({key}); senders: {_names(everyone)}")
        raise ChatlikeError(
            f"{where}: several senders are named {me!r}; set {key} to one of the ids: "
            + ", ".join(i.split(":", 1)[1] for i in ids)
        )
    if len(reads) > 1:  # not one a chat's title or file name says is the contact
        common = set.intersection(*(set(r.senders) for r in reads)).difference(*(r.others for r in reads))
        if len(common) == 1:
            (only,) = common
            return only, everyone[only]
    not_them = {i for r in reads if r.others for i in r.senders.keys() - r.others}
    if len(not_them) == 1:
        (only,) = not_them
        return only, everyone[only]
    named = sorted(i for i, name in everyone.items() if name in known)
    if len(named) == 1:
        return named[0], everyone[named[0]]
    if len(everyone) == 1 and all(r.others for r in reads):
        raise ChatlikeError(
            f"{where}: only {_names(everyone)} writes here, so there is nothing of yours to learn from"
        )
    raise ChatlikeError(
        f"{where}: cannot tell which sender is you ({label} exports name no account); set {key} to "
        f"your name there. Senders: {_names(everyone)}"
    )


def _names(senders: dict[str, str]) -> str:
    """Names alone where they are the ids (WhatsApp, Meta), else "name = id" (Discord)."""
    if all(i.endswith(f":{name}") for i, name in senders.items()):
        names = sorted(senders.values())
        return ", ".join(names[:30]) + (f" (and {len(names) - 30} more)" if len(names) > 30 else "")
    return _listing({i.split(":", 1)[1]: name for i, name in senders.items()})


def _files(reads: list[ReadChat]) -> str:
    first = reads[0].chat.path
    return first if len(reads) == 1 else f"{first} (and {len(reads) - 1} more {reads[0].chat.source} chats)"
