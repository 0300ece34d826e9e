"""One Telegram chat with the clone, as training data: pure functions and a small record, no I/O.

The model saw conversations as `{"messages": [system, user, assistant, ...]}` with a turn's
messages joined by newlines and, in a group, each user turn led by its speaker
(persona.group_speaker_format). The bot builds exactly that, so the served model gets what it was
trained on, and RUN/bot/conversations.jsonl can be trained on again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from chatlike.data.redact import redact
from chatlike.model.load import fit_context

TELEGRAM_LIMIT = 4096  # characters of one Telegram text message


@dataclass
class Conversation:
    """The history of one Telegram chat: the training system prompt, then the turns."""

    system: str
    me: str  # the assistant's name in the training data
    speaker_format: Optional[str] = None  # a group's: persona.group_speaker_format ("{name}: {text}")
    turns: list[dict] = field(default_factory=list)

    def heard(self, speaker: str, text: str) -> None:
        """A message from the other side. One speaker's messages in a row are one turn, joined by
        newlines as training joined them; in a group a turn starts with the speaker's name."""
        last = self.turns[-1] if self.turns else None
        if last is not None and last["role"] == "user" and last["name"] == speaker:
            last["content"] += "\n" + text
            return
        if self.speaker_format is not None:
            text = self.speaker_format.format(name=speaker, text=text)
        self.turns.append({"role": "user", "name": speaker, "content": text})

    def said(self, messages: list[str]) -> None:
        """What the clone sent, as one assistant turn (what the other side saw, redacted or not)."""
        if messages:
            self.turns.append({"role": "assistant", "name": self.me, "content": "\n".join(messages)})

    def forget(self) -> None:
        self.turns.clear()

    def messages(self) -> list[dict]:
        return [{"role": "system", "content": self.system}, *self.turns]

    def fit(self, count_tokens: Callable[[list[dict]], int], budget: int) -> None:
        """Drop the oldest turns until the prompt fits the model's context (never the newest)."""
        self.turns = fit_context(self.messages(), count_tokens, budget)[1:]


def telegram_messages(reply: str, redact_replies: bool) -> list[str]:
    """A generated turn as the Telegram messages to send: one per line the model wrote (training
    joined a turn's messages with newlines), personal data redacted, none over Telegram's limit."""
    out = []
    for line in reply.split("\n"):
        line = line.strip()
        if not line:
            continue
        out += _chunks(redact(line) if redact_replies else line, TELEGRAM_LIMIT)
    return out


def _chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the last space when there is one."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces
