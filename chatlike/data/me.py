"""Who "me" is in the exports of a messenger without account data: the sender whose replies the
model learns. (Telegram's export has account data: its reader finds me, chatlike.data.sources.telegram.)

WhatsApp, Discord, Instagram and Messenger (`find_me_among`): a name (or, on Discord, an id) the
user gives; else the one sender who writes in every chat of that messenger in the run (and is no
chat's named contact); else the one a one-to-one chat's title or file name says is not the contact;
else the name "me" has in another source of the run (Telegram's account name). Otherwise, always,
one line listing the senders.
"""

from __future__ import annotations

from chatlike.data.records import ReadChat
from chatlike.errors import ChatlikeError


def listing(senders: dict[str, str]) -> str:
    """Senders as an error lists them: "name = id", at most 30."""
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
    return listing({i.split(":", 1)[1]: name for i, name in senders.items()})


def _files(reads: list[ReadChat]) -> str:
    first = reads[0].chat.path
    return first if len(reads) == 1 else f"{first} (and {len(reads) - 1} more {reads[0].chat.source} chats)"
