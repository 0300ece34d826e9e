"""chat: talk to the clone from the terminal, as the persona, with the run's adapter.

Interactive (stdin is a terminal): a prompt, the reply streamed as it is generated, each message of
a reply on its own `Me: ` line. Piped (stdin is not a terminal): every non-empty input line is one
message from the contact and gets one reply on stdout: the reply's messages one per line, then an
empty line (so `awk -v RS=` reads one record per reply); everything else goes to stderr.

You play one chat of data/chats.json (chat.contact, default: the first, the one with most
conversations) with its training system prompt. In a group chat you are chat.speaker (default: the
member who spoke most there) and each message is sent as persona.group_speaker_format
("Marco: ..."), as the model saw group messages in training (chatlike.conversation's format).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Optional, TextIO

from chatlike.config import Config
from chatlike.conversation import Conversation, messages_of
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats
from chatlike.errors import ChatlikeError
from chatlike.rundir import RunDir


def chat_of(cfg: Config, index: ChatIndex) -> ChatInfo:
    """The chat to play (chat.contact: a contact's or a group's name, or "whatsapp:Lorenzo" where
    two share it; None = the first of data/chats.json, the one with most conversations)."""
    if cfg.chat.contact is None:
        return index.chats[0]
    return index.find(cfg.chat.contact, "chat.contact")


def speaker_of(cfg: Config, chat: ChatInfo) -> str:
    """Who you are: the contact of a personal chat; in a group chat.speaker (None = the member
    who spoke most in that chat)."""
    if not chat.group:
        if cfg.chat.speaker not in (None, chat.name):
            raise ChatlikeError(
                f"chat.speaker={cfg.chat.speaker!r} is for group chats; {chat.name!r} is a personal chat"
            )
        return chat.name
    return cfg.chat.speaker or chat.members[0]


class Lines:
    """Shows streamed text as chat lines: each non-empty line of the reply behind `prefix`."""

    def __init__(self, out: TextIO, prefix: str):
        self.out, self.prefix, self.open = out, prefix, False

    def write(self, text: str) -> None:
        for i, part in enumerate(text.split("\n")):
            if i and self.open:
                self.out.write("\n")
                self.open = False
            if part and not self.open:
                part = part.lstrip()
                if not part:
                    continue
                self.out.write(self.prefix)
                self.open = True
            self.out.write(part)
        self.out.flush()

    def close(self) -> None:
        if self.open:
            self.out.write("\n")
            self.open = False
        self.out.flush()


class Session:
    """The model, the chat's conversation and the sampling settings of one conversation."""

    def __init__(self, cfg: Config, run_dir: Path):
        from chatlike.model import load

        self.cfg = cfg
        index = read_chats(RunDir(run_dir).chats)
        self.me = index.me
        self.chat = chat_of(cfg, index)
        self.speaker = speaker_of(cfg, self.chat)
        self.model = load.load_model(cfg, run_dir)  # first: "no adapter" before any tokenizer trouble
        self.template = load.load_template(cfg, run_dir)
        self.tokenizer = self.template.tokenizer
        self.budget = load.context_budget(cfg, self.model, cfg.chat.max_new_tokens)
        self.conversation = Conversation.of(self.chat, self.me, cfg.persona.group_speaker_format)

    @property
    def history(self) -> list[dict]:
        return self.conversation.messages()

    def reset(self) -> None:
        self.conversation.forget()

    def reply(self, text: str, on_text: Optional[Callable[[str], None]] = None) -> str:
        """Add the speaker's message (after an empty reply, one more message of the same turn),
        generate the persona's turn (streamed to on_text), return it."""
        conv, budget = self.conversation, self.budget
        conv.heard(self.speaker, text)
        conv.fit(self.template.count, budget)
        length = self.template.count(conv.messages())
        if length > budget:
            conv.turns.pop()
            raise ChatlikeError(
                f"this message does not fit the model's context ({length} tokens > {budget}); "
                "send a shorter one"
            )
        reply = self._generate(self.template.prompt(conv.messages()), on_text)
        conv.said(messages_of(reply))
        return reply

    def _generate(self, prompt: str, on_text: Optional[Callable[[str], None]]) -> str:
        """The reply without special tokens; with on_text, streamed to it (Ctrl-C cuts it short)."""
        from chatlike.model import load

        c = self.cfg.chat
        streamer = None if on_text is None else _streamer(self.tokenizer, on_text)
        try:
            (reply,) = load.generate(
                self.model,
                self.template,
                [prompt],
                max_new_tokens=c.max_new_tokens,
                temperature=c.temperature,
                top_p=c.top_p,
                repetition_penalty=c.repetition_penalty,
                batch_size=1,
                streamer=streamer,
            )
        except KeyboardInterrupt:
            if streamer is None:
                raise
            reply = "".join(streamer.shown)
        for token in self.tokenizer.added_tokens_decoder.values():
            if token.special:
                reply = reply.replace(token.content, "")
        return reply.strip()


def _streamer(tokenizer, on_text: Callable[[str], None]):
    """A transformers streamer that hands each piece of new text to on_text (word by word)."""
    from transformers import TextStreamer

    class Streamer(TextStreamer):
        shown: list[str] = []

        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            self.shown.append(text)
            on_text(text)

    streamer = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    streamer.shown = []
    return streamer


def interactive(session: Session) -> None:
    """A prompt per message; /reset starts over, /quit or Ctrl-D ends."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    me, chat = session.me, session.chat
    where = f"in the group {chat.name} (you are {session.speaker})" if chat.group else f"with {chat.name}"
    print(
        f"chatting as {me} {where} (temperature {session.cfg.chat.temperature}); "
        "/reset starts over, /quit or Ctrl-D ends.",
        file=sys.stderr,
    )
    while True:
        try:
            text = input(f"{session.speaker}> ").strip()
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return
        if text == "/reset":
            session.reset()
            print("(history cleared)", file=sys.stderr)
            continue
        lines = Lines(sys.stdout, f"{me}: ")
        try:
            reply = session.reply(text, lines.write)
        except ChatlikeError as exc:
            print(f"chatlike: {exc}", file=sys.stderr)
            continue
        lines.close()
        if not reply:
            print(f"({me} did not reply)", file=sys.stderr)


def piped(session: Session, lines: TextIO, out: TextIO) -> None:
    """One reply per non-empty input line: its messages one per line, then an empty line."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        try:
            reply = session.reply(text)
        except ChatlikeError as exc:
            print(f"chatlike: {exc}", file=sys.stderr)
            reply = ""
        for message in messages_of(reply):
            out.write(message + "\n")
        out.write("\n")
        out.flush()


def run(cfg: Config, run_dir: Path) -> None:
    _quiet()
    session = Session(cfg, Path(run_dir))
    import torch

    torch.manual_seed(cfg.seed)
    if sys.stdin.isatty():
        interactive(session)
    else:
        piped(session, sys.stdin, sys.stdout)


def _quiet() -> None:
    """No import-time warnings, progress bars or advice between the lines of a chat."""
    import logging
    import warnings

    import torch  # noqa: F401  (first: torch sets up its loggers when imported)

    warnings.filterwarnings("ignore")
    for name in ("torch", "torchao", "bitsandbytes", "peft", "accelerate", "deepspeed"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
