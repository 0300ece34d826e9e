"""Persona and format: a window of turns becomes an OpenAI-format sample (system, user, assistant)."""

from __future__ import annotations

import string

from chatlike.config import PersonaConfig
from chatlike.data.records import ChatMessage, Conversation, Sample, Turn
from chatlike.errors import ChatlikeError

PERSONAL = "personal_chat"
_FIELDS = {"me", "contact", "chat", "members"}


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
            raise ChatlikeError(f"config: {key} uses unknown field(s) {sorted(unknown)}; "
                                f"use {sorted(allowed)}")


def system_prompt(cfg: PersonaConfig, me: str, conversation: Conversation, members: tuple[str, ...]) -> str:
    values = {"me": me, "contact": conversation.chat_name, "chat": conversation.chat_name,
              "members": ", ".join(members)}
    template = cfg.system_template if conversation.chat_type == PERSONAL else cfg.group_system_template
    return template.format(**values)


def to_sample(
    cfg: PersonaConfig, me: str, conversation: Conversation, turns: tuple[Turn, ...],
    members: tuple[str, ...],
) -> Sample:
    """user = the other side (named), assistant = me; in groups the speaker's name leads the content
    too, since chat templates drop the `name` field."""
    group = conversation.chat_type != PERSONAL
    messages = [ChatMessage(role="system", content=system_prompt(cfg, me, conversation, members))]
    for t in turns:
        if t.mine:
            messages.append(ChatMessage(role="assistant", name=me, content=t.text))
        elif group:
            content = cfg.group_speaker_format.format(name=t.sender, text=t.text)
            messages.append(ChatMessage(role="user", name=t.sender, content=content))
        else:
            messages.append(ChatMessage(role="user", name=t.sender, content=t.text))
    return Sample(tuple(messages), conversation.chat_id, conversation.chat_name, conversation.start)
