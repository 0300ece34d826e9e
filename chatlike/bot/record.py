"""RUN/bot/conversations.jsonl, the bot's record: one line per exchange (and one per /forget), as a
Struct that the bot writes and every reader (the bot on restart, the feedback stage, the `bot`
source) decodes through.

An exchange holds the conversation so far in the training format (`messages`: the chat's system
prompt, the turns, and, when something was sent, my turn as sent last), what the model proposed,
what was sent, and the owner's decision in draft mode: send, discard, edit (the owner answered the
draft with the reply they would have sent: that was sent instead) or dropped (never decided). Auto
mode leaves `owner` null. Imports only msgspec: the data side reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import msgspec

from chatlike.errors import ChatlikeError

EXCHANGE, FORGET = "exchange", "forget"
DECISIONS = ("send", "discard", "edit", "dropped")


class Exchange(msgspec.Struct, frozen=True):
    telegram_chat_id: int
    chat: str  # the chat's key in data/chats.json ("telegram:123")
    time: str
    messages: list[dict] = []
    contact: str = ""
    mode: str = "auto"
    proposed: Optional[str] = None
    sent: Optional[list[str]] = None
    owner: Optional[str] = None  # send | discard | edit | dropped; null in auto mode
    event: str = EXCHANGE  # forget: /forget, the chat's history ends here

    @property
    def prompt(self) -> list[dict]:
        """What the model was answering: the messages before my turn as sent (all of them when
        nothing was sent)."""
        return self.messages[:-1] if self.sent else self.messages


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Exchange)


def encode(exchange: Exchange) -> str:
    return _encoder.encode(exchange).decode()


def read_exchanges(path: Path) -> list[Exchange]:
    """Every line of a bot record; one line naming the file and line when one is not the bot's."""
    return decode_exchanges(path, path.read_bytes()) if path.is_file() else []


def decode_exchanges(path: Path, data: bytes) -> list[Exchange]:
    out = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(_decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise ChatlikeError(f"{path}:{number}: not an exchange of the bot ({exc})") from None
    return out


def histories(exchanges: list[Exchange]) -> dict[int, tuple[str, list[dict]]]:
    """Each Telegram chat's turns as the bot last had them (its latest exchange, without the system
    prompt), with its chat's key; a chat whose latest line is a /forget has none."""
    out: dict[int, tuple[str, list[dict]]] = {}
    for e in exchanges:
        if e.event == FORGET:
            out.pop(e.telegram_chat_id, None)
        else:
            out[e.telegram_chat_id] = (e.chat, [m for m in e.messages if m["role"] != "system"])
    return out
