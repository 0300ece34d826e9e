"""chat: talk to the clone from the terminal, as the persona, with the run's adapter.

Interactive (stdin is a terminal): a prompt, the reply streamed as it is generated, each message of
a reply on its own `Me: ` line. Piped (stdin is not a terminal): every non-empty input line is one
message from the contact and gets one reply on stdout: the reply's messages one per line, then an
empty line (so `awk -v RS=` reads one record per reply); everything else goes to stderr.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Optional, TextIO

import msgspec

from chatlike.config import Config
from chatlike.errors import ChatlikeError


class _Turn(msgspec.Struct):
    role: str
    content: str = ""
    name: Optional[str] = None


class _Sample(msgspec.Struct):
    messages: list[_Turn]


class Persona(msgspec.Struct, frozen=True):
    """Who talks: the contact, the persona (`me`) and the system prompt training used for them."""

    contact: str
    me: str
    system: str


def personas(train_jsonl: Path) -> dict[str, Persona]:
    """Every contact's persona exactly as in training (the system message of that contact's samples),
    the contact with most samples first. A sample's contact is the `name` on its user turns."""
    if not train_jsonl.is_file():
        raise ChatlikeError(f"{train_jsonl} is missing: run stages=[prepare] first")
    decoder = msgspec.json.Decoder(_Sample)
    systems: dict[str, Counter] = {}
    names: Counter = Counter()
    with open(train_jsonl, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                sample = decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise ChatlikeError(f"{train_jsonl}:{number}: {exc}") from None
            system = next((m.content for m in sample.messages if m.role == "system"), None)
            who = next((m.name for m in sample.messages if m.role == "user" and m.name), None)
            names.update(m.name for m in sample.messages if m.role == "assistant" and m.name)
            if system is not None and who is not None:
                systems.setdefault(who, Counter())[system] += 1
    if not systems:
        raise ChatlikeError(f"{train_jsonl} has no sample with a system prompt and a named contact")
    me = names.most_common(1)[0][0] if names else "me"
    by_count = sorted(systems, key=lambda c: (-systems[c].total(), c))
    return {c: Persona(contact=c, me=me, system=systems[c].most_common(1)[0][0]) for c in by_count}


def persona(train_jsonl: Path, contact: Optional[str]) -> Persona:
    """The persona for `contact`; None = the contact with most samples. Unknown contacts are refused."""
    known = personas(train_jsonl)
    if contact is None:
        return next(iter(known.values()))
    if contact not in known:
        raise ChatlikeError(
            f"chat.contact={contact!r} is not a contact of this run; choose one of: {', '.join(known)}"
        )
    return known[contact]


def fit_history(history: list[dict], count_tokens: Callable[[list[dict]], int], budget: int) -> list[dict]:
    """Drop the oldest turns (never the system prompt, never the newest turn) until the prompt fits."""
    system, turns = history[:1], history[1:]
    while len(turns) > 1 and count_tokens(system + turns) > budget:
        turns = turns[1:]
    return system + turns


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


def messages_of(reply: str) -> list[str]:
    """A generated turn split into its messages (the data joins a turn's messages with newlines)."""
    return [line.strip() for line in reply.split("\n") if line.strip()]


class Session:
    """The model, the persona's history and the sampling settings of one conversation."""

    def __init__(self, cfg: Config, run_dir: Path):
        from chatlike.model import load

        self.cfg = cfg
        self.persona = persona(run_dir / "data" / "train.jsonl", cfg.chat.contact)
        self.model = load.load_model(cfg, run_dir)  # first: "no adapter" before any tokenizer trouble
        self.tokenizer = load.load_tokenizer(cfg, run_dir)
        positions = getattr(self.model.config, "max_position_embeddings", None) or cfg.model.max_context
        self.context = min(cfg.model.max_context, positions)
        self.history: list[dict] = []
        self.reset()

    def reset(self) -> None:
        self.history = [{"role": "system", "content": self.persona.system}]

    def _prompt(self, history: list[dict]) -> str:
        from chatlike.model import load

        return load.build_prompt(self.tokenizer, history)

    def _length(self, history: list[dict]) -> int:
        return len(self.tokenizer(self._prompt(history), add_special_tokens=False)["input_ids"])

    def reply(self, text: str, on_text: Optional[Callable[[str], None]] = None) -> str:
        """Add the contact's message, generate the persona's turn (streamed to on_text), return it."""
        last = self.history[-1]
        if last["role"] == "user":  # the last reply was empty: one more message of the same turn
            last["content"] += "\n" + text
        else:
            self.history.append({"role": "user", "name": self.persona.contact, "content": text})
        budget = self.context - self.cfg.chat.max_new_tokens
        self.history = fit_history(self.history, self._length, budget)
        length = self._length(self.history)
        if length > budget:
            self.history.pop()
            raise ChatlikeError(
                f"this message does not fit the model's context ({length} tokens > {budget}); "
                "send a shorter one"
            )
        reply = self._generate(self._prompt(self.history), on_text)
        if reply:
            self.history.append({"role": "assistant", "name": self.persona.me, "content": reply})
        return reply

    def _generate(self, prompt: str, on_text: Optional[Callable[[str], None]]) -> str:
        """The reply without special tokens; with on_text, streamed to it (Ctrl-C cuts it short)."""
        from chatlike.model import load

        c = self.cfg.chat
        streamer = None if on_text is None else _streamer(self.tokenizer, on_text)
        try:
            (reply,) = load.generate(
                self.model,
                self.tokenizer,
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
    me = session.persona.me
    print(
        f"chatting as {me} with {session.persona.contact} (temperature {session.cfg.chat.temperature}); "
        "/reset starts over, /quit or Ctrl-D ends.",
        file=sys.stderr,
    )
    while True:
        try:
            text = input(f"{session.persona.contact}> ").strip()
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
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded: a missing model is an error
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
