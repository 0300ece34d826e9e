"""The conversation format, in one place: how a chat is written for the model, and read back.

A training sample, a chat session and a bot's chat are the same thing to the model: `{"messages":
[system, user, assistant, ...]}` with the chat's training system prompt first, me as the assistant
(named), the other side as the user (named), the messages one person sent in a row as one turn
joined by newlines (TURN_JOIN), and in a group each user turn led by its speaker
(persona.group_speaker_format, "{name}: {text}": chat templates drop `name`). prepare writes it
(chatlike.data.persona), chat, the bot and eval talk in it, serve tells its clients.

How those messages become the model's text is the model's chat template, a `Template` value built
from the run's tokenizer: its end-of-turn text and stop ids, whether it has a system role (Gemma's
has none: the system prompt goes into the first user turn) and whether it demands strict
user/assistant alternation (my turn may open a conversation of ours), never one model family's constants.

Imports nothing heavy (the data side uses it; prepare must start fast): a Template takes the
tokenizer it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from chatlike.data.chats import ChatInfo

TURN_JOIN = "\n"  # between the messages of one turn, as segment joins them
_PROBE = "CHATLIKE_PROBE"


def messages_of(turn: str) -> list[str]:
    """A turn split into the messages it joins (a generated one too); blank lines are no message."""
    return [line.strip() for line in turn.split(TURN_JOIN) if line.strip()]


def speaker_content(speaker_format: str, speaker: str, text: str) -> str:
    """A group's user turn: its text led by the speaker, as persona.group_speaker_format says."""
    return speaker_format.format(name=speaker, text=text)


def fit(messages: list[dict], count_tokens: Callable[[list[dict]], int], budget: int) -> list[dict]:
    """Drop the oldest messages (never the system prompt, never the newest message) until
    count_tokens(messages) fits in `budget`; the newest alone may still be over it."""
    system = list(messages[:1]) if messages and messages[0]["role"] == "system" else []
    turns = list(messages[len(system) :])
    while len(turns) > 1 and count_tokens(system + turns) > budget:
        turns = turns[1:]
    return system + turns


@dataclass
class Conversation:
    """One live chat with the clone (the chat stage's, a Telegram chat's) in the training format:
    the chat's system prompt, then the turns. `speaker_format` is a group's (None: a personal chat)."""

    system: str
    me: str  # the assistant's name, as in the samples
    speaker_format: Optional[str] = None
    turns: list[dict] = field(default_factory=list)

    @classmethod
    def of(
        cls, chat: ChatInfo, me: str, group_speaker_format: str, turns: Iterable[dict] = ()
    ) -> Conversation:
        """A conversation of `chat` (data/chats.json's): its system prompt, speakers named in a group."""
        return cls(chat.system, me, group_speaker_format if chat.group else None, list(turns))

    def heard(self, speaker: str, text: str) -> None:
        """A message from the other side. One speaker's messages in a row are one turn, joined as
        training joined them; in a group the turn starts with the speaker's name."""
        last = self.turns[-1] if self.turns else None
        if last is not None and last["role"] == "user" and last["name"] == speaker:
            last["content"] += TURN_JOIN + text
            return
        if self.speaker_format is not None:
            text = speaker_content(self.speaker_format, speaker, text)
        self.turns.append({"role": "user", "name": speaker, "content": text})

    def said(self, messages: Iterable[str]) -> None:
        """My messages (what the clone sent, as the other side saw them) as one turn."""
        text = TURN_JOIN.join(messages)
        if text:
            self.turns.append({"role": "assistant", "name": self.me, "content": text})

    def forget(self) -> None:
        self.turns.clear()

    def messages(self) -> list[dict]:
        """The messages so far, as a copy (a later message of the same turn changes no draft)."""
        return [{"role": "system", "content": self.system}, *(dict(t) for t in self.turns)]

    def fit(self, count_tokens: Callable[[list[dict]], int], budget: int) -> None:
        """Drop the oldest turns until the prompt fits the model's context (never the newest)."""
        self.turns = fit(self.messages(), count_tokens, budget)[1:]


@dataclass(frozen=True)
class Template:
    """A model's chat template as a value: how messages become the text of the next reply, and
    what ends a turn. `Template.of(tokenizer)` reads each fact from the tokenizer and its template
    (by rendering probe conversations), so Llama 3, ChatML, Gemma or Mistral need no constants here."""

    tokenizer: Any = field(repr=False)  # a transformers tokenizer with its chat template set
    end_of_turn: str  # what the template writes after my message: "<|eot_id|>", "<|im_end|>\n"
    stop_ids: tuple[int, ...]  # the tokens that end a reply: end of turn's special tokens, and EOS
    system_role: bool = True  # False: the system prompt is folded into the first user turn
    alternating: bool = False  # True: user and assistant strictly alternate, user first
    end_tokens: tuple[str, ...] = ()  # end of turn's special tokens: what training teaches to stop with

    @classmethod
    def of(cls, tokenizer: Any) -> Template:
        def renders(messages: list[dict]) -> bool:
            try:
                text = tokenizer.apply_chat_template(messages, tokenize=False)
            except Exception:  # jinja's raise_exception: the template refuses this shape
                return False
            return all(m["content"] in text for m in messages)

        user = {"role": "user", "content": "u"}
        system_role = renders([{"role": "system", "content": _PROBE}, user])
        alternating = not (
            renders([user, {"role": "user", "content": "v"}])
            and renders([{"role": "assistant", "content": "a"}, user])
        )
        probe = [user, {"role": "assistant", "content": _PROBE}]
        text = tokenizer.apply_chat_template(probe, tokenize=False)
        end_of_turn = text.split(_PROBE, 1)[1]
        special = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
        ids = tokenizer(end_of_turn.strip(), add_special_tokens=False)["input_ids"]
        ends = [i for i in ids if i in special]
        stops = set(ends)
        if tokenizer.eos_token_id is not None:
            stops.add(tokenizer.eos_token_id)
        end_tokens = tuple(dict.fromkeys(tokenizer.convert_ids_to_tokens(ends)))
        return cls(tokenizer, end_of_turn, tuple(sorted(stops)), system_role, alternating, end_tokens)

    def shaped(self, messages: list[dict]) -> list[dict]:
        """`messages` as this template takes them: role and content only (templates drop `name`);
        where there is no system role, the system prompt opens the first user turn (a user turn of
        its own when my turn opens the conversation); where turns must alternate, a side's turns
        in a row joined, and my turns before the first user turn left out (the oldest context)."""
        plain = [{"role": m["role"], "content": m["content"]} for m in messages]
        if not self.system_role and plain and plain[0]["role"] == "system":
            system = plain.pop(0)["content"]
            if plain and plain[0]["role"] == "user":
                plain[0] = {"role": "user", "content": system + "\n\n" + plain[0]["content"]}
            else:
                plain.insert(0, {"role": "user", "content": system})
        if self.alternating:
            head = [m for m in plain[:1] if m["role"] == "system"]
            body = plain[len(head) :]
            while body and body[0]["role"] != "user":
                body.pop(0)
            merged: list[dict] = []
            for m in body:  # fresh dicts: joined in place
                if merged and merged[-1]["role"] == m["role"]:
                    merged[-1]["content"] += TURN_JOIN + m["content"]
                else:
                    merged.append(m)
            plain = head + merged
        return plain

    def prompt(self, messages: list[dict]) -> str:
        """The text the model continues with my next turn: `messages` through the template, then
        the assistant's header. It holds the BOS token: tokenize it with add_special_tokens=False."""
        return self.tokenizer.apply_chat_template(
            self.shaped(messages), tokenize=False, add_generation_prompt=True
        )

    def count(self, messages: list[dict]) -> int:
        """The prompt's length in tokens."""
        return len(self.tokenizer(self.prompt(messages), add_special_tokens=False)["input_ids"])

    def length(self, messages: list[dict]) -> int:
        """A whole conversation's length in tokens, as training renders it (no reply header)."""
        text = self.tokenizer.apply_chat_template(self.shaped(messages), tokenize=False)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def unfit(self, messages: list[dict]) -> Optional[str]:
        """Why this template cannot train `messages` as they are (None: it can): the trainer renders
        a sample as written, so a system prompt needs a system role, and two turns of one side in a
        row or my turn first need a template that does not demand alternation."""
        roles = [m["role"] for m in messages]
        if not self.system_role and "system" in roles:
            return (
                "its chat template has no system role, and every sample opens with the chat's system prompt"
            )
        turns = [r for r in roles if r != "system"]
        if self.alternating and (turns[:1] != ["user"] or any(a == b for a, b in zip(turns, turns[1:]))):
            return (
                "its chat template demands strict user/assistant alternation, user first, and a "
                "conversation of ours may open with my turn or hold two turns of one side in a row"
            )
        return None
