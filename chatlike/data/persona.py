"""Persona and format: a window of turns becomes an OpenAI-format sample (system, user, assistant)."""

from __future__ import annotations

import string
from functools import lru_cache
from typing import Callable, Iterable

import msgspec

from chatlike.config import PersonaConfig
from chatlike.conversation import speaker_content
from chatlike.data.records import ChatMessage, Conversation, Turn
from chatlike.data.segment import TURN_OVERHEAD_TOKENS, approx_tokens
from chatlike.errors import ChatlikeError

PERSONAL = "personal_chat"
_FIELDS = {"me", "contact", "chat", "members", "source"}


def check_templates(cfg: PersonaConfig) -> None:
    """Fail before reading a large export when a template names an unknown field."""
    for key, template, allowed in (
        ("persona.system_template", cfg.system_template, _FIELDS),
        ("persona.group_system_template", cfg.group_system_template, _FIELDS),
        ("persona.group_speaker_format", cfg.group_speaker_format, {"name", "text"}),
    ):
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
        except ValueError as exc:
            raise ChatlikeError(f"config: {key} is not a valid template ({exc})") from None
        unknown = names - allowed
        if unknown:
            raise ChatlikeError(
                f"config: {key} uses unknown field(s) {sorted(unknown)}; use {sorted(allowed)}"
            )


def system_prompt(
    cfg: PersonaConfig,
    me: str,
    chat_name: str,
    chat_type: str,
    members: Callable[[], Iterable[str]],
    source: str = "telegram",
) -> str:
    """The system prompt of a chat; `members()` (the other senders' names, in order of first
    appearance) is only called when the template uses {members}; {source} is the messenger."""
    template = cfg.system_template if chat_type == PERSONAL else cfg.group_system_template
    names = ", ".join(members()) if "{members" in template else ""
    return template.format(me=me, contact=chat_name, chat=chat_name, members=names, source=source)


_ENCODER = msgspec.json.Encoder()


class _Line(msgspec.Struct):
    messages: tuple[ChatMessage, ...]
    chat: str  # the chat's key (chatlike.data.chats.chat_key): trainers ignore it, eval reads it


def to_line(
    cfg: PersonaConfig, me: str, conversation: Conversation, turns: tuple[Turn, ...], system: str, chat: str
) -> tuple[bytes, int, int, int]:
    """A window of turns as its JSONL line (chatlike.conversation's format, and the key of its
    `chat`), with its count of my turns, characters and approximate tokens. user = the other side
    (named), assistant = me; in groups the speaker's name leads the content too, since chat
    templates drop the `name` field."""
    group = conversation.chat_type != PERSONAL
    system_message, system_tokens = _system(system)
    messages = [system_message]
    chars = tokens = mine = 0
    for t in turns:
        if t.mine:
            messages.append(ChatMessage("assistant", me, t.text))
            mine += 1
        elif group:
            messages.append(
                ChatMessage("user", t.sender, speaker_content(cfg.group_speaker_format, t.sender, t.text))
            )
        else:
            messages.append(ChatMessage("user", t.sender, t.text))
        chars += len(t.text)
        tokens += t.tokens + TURN_OVERHEAD_TOKENS
    line = _ENCODER.encode(_Line(tuple(messages), chat))
    return line, mine, chars, tokens + system_tokens


@lru_cache(maxsize=256)
def _system(system: str) -> tuple[ChatMessage, int]:
    """The system message and its tokens (with its turn overhead): one chat's samples share them."""
    return ChatMessage(role="system", content=system), approx_tokens(system) + TURN_OVERHEAD_TOKENS
