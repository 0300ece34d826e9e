"""Segmentation: messages -> turns (one sender, within the turn window) -> conversations (split at
silences longer than the gap) -> training windows that fit the token budget and end on my turn."""

from __future__ import annotations

from typing import Callable, Iterable

from chatlike.data.records import Chat, Conversation, Message, Turn

TokenCounter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """A conservative token count without a tokenizer: Llama 3's BPE averages about 4 bytes of
    UTF-8 per token in English and about 3 in Italian or Russian; count 1 per 3 bytes."""
    return (len(text) if text.isascii() else len(text.encode("utf-8"))) // 3 + 1


TURN_OVERHEAD_TOKENS = 8  # a turn's header and end-of-turn tokens in the llama3 template


def split_turns(messages: Iterable[Message], window_s: float) -> list[Turn]:
    """Consecutive messages of one sender, each within `window_s` of the previous, form a turn."""
    turns: list[Turn] = []
    append = turns.append
    sender = None
    texts: list[str] = []
    first = last = 0
    name = ""
    mine = False
    for m in messages:
        if m.sender_id == sender and m.time - last <= window_s:
            texts.append(m.text)
            last = m.time
            continue
        if texts:
            text = texts[0] if len(texts) == 1 else "\n".join(texts)
            n = len(text) if text.isascii() else len(text.encode("utf-8"))  # approx_tokens, inlined
            append(Turn(sender, name, mine, text, len(texts), first, last, n // 3 + 1))
        sender, name, mine, texts, first, last = m.sender_id, m.sender, m.mine, [m.text], m.time, m.time
    if texts:
        text = "\n".join(texts)
        append(Turn(sender, name, mine, text, len(texts), first, last, approx_tokens(text)))
    return turns


def gaps(messages: list[Message]) -> list[int]:
    """Seconds between consecutive messages."""
    times = [m.time for m in messages]
    return [b - a for a, b in zip(times, times[1:])]


def split_conversations(
    chat: Chat,
    gap_s: float,
    window_s: float,
    silences: list[int] | None = None,
) -> list[Conversation]:
    """Every kept message lands in exactly one conversation, in order; a silence longer than
    `gap_s` starts a new one. `silences` is `gaps(chat.messages)` when the caller has it."""
    messages = chat.messages
    if silences is None:
        silences = gaps(messages)
    cuts = [i + 1 for i, g in enumerate(silences) if g > gap_s]
    conversations = []
    for start, end in zip([0, *cuts], [*cuts, len(messages)]):
        if end > start:
            turns = split_turns(messages[start:end], window_s)
            conversations.append(Conversation(chat.id, chat.name, chat.type, tuple(turns)))
    return conversations


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
        if sum(t.tokens for t in turns) + TURN_OVERHEAD_TOKENS * len(turns) <= budget:
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
