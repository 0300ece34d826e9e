"""Who "me" is in an export: the sender whose replies the model learns.

Never guessed from display names alone unless the user names one (`source.me`): from
`personal_information.user_id`, else the Saved Messages chat (only mine), else, in a single personal
chat export, the sender who is not the chat's peer. Otherwise one line listing the senders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from chatlike.data.export import PersonalInformation, RawChat, normalize_from_id, read_messages
from chatlike.errors import ChatlikeError


def find_me(
    path: Path, info: Optional[PersonalInformation], chats: list[RawChat], shape: str, me: str
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


def _senders(path: Path, chats: list[RawChat]) -> dict[str, str]:
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
