"""The LLM judge (filter.judge, as WeClone's): an OpenAI-compatible server rates each training sample
for the relevance and the coherence of my replies, 1 to 5, `batch_size` samples a request; a sample
whose lower rating is under `threshold` leaves the training data. Only train is rated: the held-out
conversations stay as they were, so eval still asks about your real ones.

The server sees the training conversations, so one elsewhere than on this machine is refused unless
filter.judge.allow_remote is set; its API key comes from CHATLIKE_JUDGE_API_KEY only
(chatlike.proc.secret). prepare writes nothing before every batch is rated: a server that fails
mid-way is one line, and the run dir keeps what it had.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Callable
from urllib.parse import urlsplit

import msgspec

from chatlike.config import JudgeConfig
from chatlike.data.records import Sample
from chatlike.data.stats import JudgeStats
from chatlike.errors import ChatlikeError

KEY_VARIABLE = "CHATLIKE_JUDGE_API_KEY"
INSTRUCTIONS = """\
You rate training data for a model that will reply in chats as {me}. Below are numbered \
conversations; in each, rate {me}'s replies on two criteria, from 1 (worst) to 5 (best):
- relevance: do the replies answer what was said to them?
- coherence: do they make sense, on their own and as a conversation?
Short, casual or misspelt replies are fine when they fit. Answer with only a JSON array holding one \
object per conversation, in order: [{{"id": 1, "relevance": 4, "coherence": 5}}, ...]"""

Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]


class Rated(msgspec.Struct):
    id: int
    relevance: Rating
    coherence: Rating


class _Message(msgspec.Struct):
    role: str
    content: str = ""
    name: str = ""


class _Line(msgspec.Struct):
    messages: list[_Message]


_LINE = msgspec.json.Decoder(_Line)
_ANSWER = msgspec.json.Decoder(list[Rated])


def transcript(sample: Sample, me: str) -> str:
    """A sample's turns as the judge reads them: one "Name: text" block per turn."""
    turns = _LINE.decode(sample.line).messages
    return "\n".join(f"{me if t.role == 'assistant' else t.name or 'They'}: {t.content}" for t in turns[1:])


def check_local(cfg: JudgeConfig) -> None:
    """A judge elsewhere than on this machine sees your chats: only with filter.judge.allow_remote."""
    from chatlike.model.serve import is_loopback

    host = urlsplit(cfg.api_base or "").hostname or ""
    if not cfg.allow_remote and not is_loopback(host):
        raise ChatlikeError(
            f"filter.judge.api_base={cfg.api_base} is not on this machine: the judge would send your training "
            "conversations there; use a server on this one (127.0.0.1), or set filter.judge.allow_remote=true "
            "if you mean it"
        )


def rate(
    cfg: JudgeConfig, train: list[Sample], me: str, advance: Callable[[int], None] = lambda n: None
) -> tuple[list[Sample], JudgeStats]:
    """The training samples the judge rates at least cfg.threshold on both criteria, in order, and
    what it did; `advance(samples)` after each batch."""
    check_local(cfg)
    client, model = _client(cfg)
    scores: list[int] = []
    for start in range(0, len(train), cfg.batch_size):
        batch = train[start : start + cfg.batch_size]
        scores += _ask(client, model, cfg, [transcript(s, me) for s in batch], me, start, len(train))
        advance(len(batch))
    kept = [s for s, score in zip(train, scores) if score >= cfg.threshold]
    counted = Counter(scores)
    return kept, JudgeStats(
        model,
        cfg.threshold,
        len(train),
        len(train) - len(kept),
        {str(k): counted[k] for k in sorted(counted)},
    )


def _client(cfg: JudgeConfig) -> tuple[Any, str]:
    try:
        import openai
    except ImportError:
        raise ChatlikeError("filter.judge needs the openai package: pip install 'chatlike[chat]'") from None
    from chatlike.proc import secret

    client = openai.OpenAI(
        base_url=cfg.api_base, api_key=secret(KEY_VARIABLE) or "unused", timeout=cfg.timeout_s, max_retries=1
    )
    if cfg.model is not None:
        return client, cfg.model
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        raise ChatlikeError(f"filter.judge: {cfg.api_base} does not list its models ({_why(exc)})") from None
    if not models:
        raise ChatlikeError(f"filter.judge: {cfg.api_base} serves no model; set filter.judge.model")
    return client, models[0]


def _ask(
    client: Any, model: str, cfg: JudgeConfig, texts: list[str], me: str, start: int, total: int
) -> list[int]:
    """The judge's ratings (the lower of the two) of one batch, in order."""
    import openai

    where = f"filter.judge: {model} at {cfg.api_base}, samples {start + 1}-{start + len(texts)} of {total}"
    numbered = "\n\n".join(f"Conversation {i}:\n{text}" for i, text in enumerate(texts, 1))
    try:
        answer = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": INSTRUCTIONS.format(me=me)},
                {"role": "user", "content": numbered},
            ],
            temperature=0,
        )
        content = answer.choices[0].message.content or ""
    except openai.OpenAIError as exc:
        raise ChatlikeError(f"{where}: failed ({_why(exc)}); nothing was written") from None
    except (IndexError, AttributeError):
        raise ChatlikeError(f"{where}: answered no message; nothing was written") from None
    found = content[content.find("[") : content.rfind("]") + 1]  # a code fence or a preamble around it
    try:
        ratings = {r.id: min(r.relevance, r.coherence) for r in _ANSWER.decode(found or content)}
    except msgspec.DecodeError as exc:
        raise ChatlikeError(
            f"{where}: the answer is not the JSON array of ratings asked for ({exc}: {content[:80]!r}); "
            "nothing was written. A judge must follow instructions: try another model"
        ) from None
    missing = [i for i in range(1, len(texts) + 1) if i not in ratings]
    if missing:
        raise ChatlikeError(
            f"{where}: no rating for conversation(s) {missing} of the batch; nothing was written"
        )
    return [ratings[i] for i in range(1, len(texts) + 1)]


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
