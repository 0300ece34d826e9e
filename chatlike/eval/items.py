"""What eval judges: each held-out reply of mine (data/test.jsonl) with the conversation before it
and its chat, and my training replies (the parrot draws from them)."""

from __future__ import annotations

import random

from chatlike.data.chats import ChatIndex, read_chats
from chatlike.errors import ChatlikeError
from chatlike.model.samples import read_samples
from chatlike.rundir import RunDir


def held_out(run: RunDir, max_samples: int, seed: int) -> tuple[list[dict], list[str]]:
    """The items (reply_items) of data/test.jsonl and my replies in data/train.jsonl; one line when
    either has none."""
    train = [
        m["content"]
        for s in read_samples(run.split("train"))
        for m in s["messages"]
        if m["role"] == "assistant"
    ]
    items = reply_items(read_samples(run.split("test")), read_chats(run.chats), max_samples, seed)
    if not items:
        raise ChatlikeError(f"{run.split('test')} has no assistant turns to compare with; "
                            "raise split.test_fraction or add data")  # fmt: skip
    if not train:
        raise ChatlikeError(f"{run.split('train')} has no assistant turns; the parrot baseline draws "
                            "from them: add data or lower split.test_fraction")  # fmt: skip
    return items, train


def reply_items(samples: list[dict], index: ChatIndex, max_samples: int, seed: int) -> list[dict]:
    """Every assistant turn of the test conversations with what came before it (system prompt
    included), its chat's key and name (each sample names its chat's key, as data/chats.json lists
    it; None for samples of an older prepare, which named none); a seeded subset of max_samples
    when there are more, kept in file order."""
    chats = {c.key: c for c in index.chats}
    items = []
    for sample in samples:
        key = sample.get("chat")
        chat = chats.get(key) if key is not None else None
        if key is not None and chat is None:
            raise ChatlikeError(f"data/test.jsonl names the chat {key!r}, which data/chats.json does not list; "
                                "run prepare again")  # fmt: skip
        messages = sample["messages"]
        for i, m in enumerate(messages):
            if m["role"] == "assistant" and i > 0:
                items.append({"chat": key, "contact": chat.name if chat else None, "context": messages[:i],
                              "real": m["content"]})  # fmt: skip
    if len(items) > max_samples:
        keep = sorted(random.Random(seed).sample(range(len(items)), max_samples))
        items = [items[i] for i in keep]
    return items
