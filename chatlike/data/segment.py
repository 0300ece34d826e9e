"""Segmentation: messages -> turns (one sender, within the turn window) -> conversations (split at
silences longer than the gap) -> training windows that fit the token budget and end on my turn."""

from __future__ import annotations

from operator import attrgetter
from pathlib import Path
from typing import Callable, Optional

from chatlike.data.records import Chat, Conversation, Turn
from chatlike.errors import ChatlikeError

TokenCounter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """A conservative token count without a tokenizer: Llama 3's BPE averages about 4 bytes of
    UTF-8 per token in English and about 3 in Italian or Russian; count 1 per 3 bytes."""
    return (len(text) if text.isascii() else len(text.encode("utf-8"))) // 3 + 1


def token_counter(tokenizer: Optional[str]) -> TokenCounter:
    """Exact counts from a local tokenizer (segment.tokenizer: tokenizer.json or a folder holding it),
    else approximate."""
    if not tokenizer:
        return approx_tokens
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ChatlikeError(
            "segment.tokenizer needs the `tokenizers` package (pip install 'chatlike[train]')"
        ) from None
    path = Path(tokenizer).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ChatlikeError(f"segment.tokenizer: {file} not found (give a local tokenizer.json)")
    tok = Tokenizer.from_file(str(file))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


# A message's header and end-of-turn tokens, for counts made without the model's tokenizer: 5 to 6 in
# Llama 3's, ChatML's (SmolLM2, Qwen) and Gemma's templates on their own tokenizers, so this errs long.
# With the tokenizer at hand the plan counts exactly, with the model's Template (chatlike.conversation).
TURN_OVERHEAD_TOKENS = 8
_TOKENS = attrgetter("tokens")


def segment(chat: Chat, gap_s: float, window_s: float) -> tuple[list[Conversation], list[int]]:
    """One pass over a chat's messages, in order: every message lands in exactly one turn of one
    conversation. A silence longer than `gap_s` starts a new conversation; consecutive messages of
    one sender, each within `window_s` of the previous, form a turn. Also returns the silences
    (seconds between consecutive messages), for the report."""
    conversations: list[Conversation] = []
    silences: list[int] = []
    silence = silences.append
    turns: list[Turn] = []
    turn = turns.append
    join_s = min(window_s, gap_s)  # a turn never spans a conversation break
    started = False
    more: list[str] | None = None  # the texts of a turn of several messages (most turns have one)
    sender, name, mine, first, last, one = None, "", False, 0, 0, ""
    for t, sender_id, sender_name, text, is_mine in chat.messages:
        if started:
            dt = t - last
            silence(dt)
            if dt <= join_s and sender_id == sender:
                if more is None:
                    more = [one, text]
                else:
                    more.append(text)
                last = t
                continue
            if more is None:
                joined, k = one, 1
            else:
                joined, k, more = "\n".join(more), len(more), None
            n = len(joined) if joined.isascii() else len(joined.encode("utf-8"))  # approx_tokens, inlined
            turn(Turn(sender, name, mine, joined, k, first, last, n // 3 + 1))
            if dt > gap_s:
                conversations.append(Conversation(chat.id, chat.name, chat.type, tuple(turns)))
                turns = []
                turn = turns.append
        started = True
        sender, name, mine, one, first, last = sender_id, sender_name, is_mine, text, t, t
    if started:
        joined, k = (one, 1) if more is None else ("\n".join(more), len(more))
        turn(Turn(sender, name, mine, joined, k, first, last, approx_tokens(joined)))
        conversations.append(Conversation(chat.id, chat.name, chat.type, tuple(turns)))
    return conversations, silences


def trainable(turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    """Drop the other side's trailing turns: a sample must end on my (trainable) turn."""
    end = len(turns)
    while end and not turns[end - 1].mine:
        end -= 1
    return turns[:end]


def windows(
    conversation: Conversation,
    max_tokens: int,
    reserved: int,
    count: TokenCounter = approx_tokens,
) -> list[tuple[Turn, ...]]:
    """Cut a conversation into consecutive windows of at most `max_tokens` (after `reserved`, the
    system prompt), each ending on my turn. Turns never repeat across windows; a single turn
    larger than the budget cannot be trained without truncation and is left out."""
    budget = max_tokens - reserved
    turns = trainable(conversation.turns)
    if count is approx_tokens:  # the turns carry their approximate count already
        if sum(map(_TOKENS, turns)) + TURN_OVERHEAD_TOKENS * len(turns) <= budget:
            return [turns] if turns else []
        sizes = [t.tokens + TURN_OVERHEAD_TOKENS for t in turns]
    else:
        sizes = [count(t.text) + TURN_OVERHEAD_TOKENS for t in turns]
    out: list[tuple[Turn, ...]] = []
    start = 0
    while start < len(turns):
        used = 0
        last_mine = -1
        j = start
        while j < len(turns):
            used += sizes[j]
            if used > budget:
                break
            if turns[j].mine:
                last_mine = j
            j += 1
        if last_mine >= start:
            out.append(turns[start : last_mine + 1])
            start = last_mine + 1
        else:
            # none of my turns fits after this one: drop it from the context and retry
            start += 1
    return out


def keep(turns: tuple[Turn, ...], min_turns: int) -> bool:
    """A sample needs one turn of each side and at least `min_turns` turns."""
    if len(turns) < min_turns:
        return False
    mine = turns[0].mine
    for t in turns:
        if t.mine != mine:
            return True
    return False
