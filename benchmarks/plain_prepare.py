"""The yardstick: chatlike's prepare done the plain way, with `json.load` and Python lists.

The same work as `chatlike.stages.prepare` with the default config (personal chats; drop service,
unsupported, forwarded, via-bot and text-less messages; 5 min turns, 60 min conversations, windows
under 2048 approximate tokens ending on my turn; system prompt; de-duplicate; time-based test split,
seeded val split; JSONL), written the way a person would without msgspec: one walk over the loaded
JSON, each sample's line made once by `json.dumps` (it is both the de-duplication key and what is
written), the cyclic GC off as chatlike's own prepare has it. Plain, not deliberately slow: the
fastest plain way is the honest yardstick. Its JSONL
files are byte-identical to chatlike's, which the benchmark checks.

    python benchmarks/plain_prepare.py EXPORT OUT_DIR
"""

from __future__ import annotations

import gc
import json
import math
import random
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

CHAT_TYPES = {"personal_chat"}
MIN_MESSAGES, MIN_MY_MESSAGES = 10, 3
TURN_WINDOW_S, GAP_S = 5 * 60, 60 * 60
MAX_TOKENS, MIN_TURNS, TURN_OVERHEAD = 2048, 2, 8
TEST_FRACTION, VAL_FRACTION, SEED = 0.1, 0.05, 0
SYSTEM = "You are {me}, chatting with {contact}. Respond naturally in their conversational style."
DELETED = "Deleted Account"


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError:
            f.seek(0)
            text = re.sub(r"(?<!\\)((?:\\\\)*)\\x([0-9a-fA-F]{2})", r"\1\\u00\2", f.read())
            return json.loads(text)


def find_me(export: dict) -> tuple[str, str]:
    info = export.get("personal_information")
    if info and info.get("user_id"):
        return f"user{info['user_id']}", " ".join(
            x for x in (info.get("first_name"), info.get("last_name")) if x
        )
    for chat in export.get("chats", {}).get("list", []):
        if chat.get("type") == "saved_messages":
            return f"user{chat['id']}", ""
    raise SystemExit("cannot tell which sender is me")


def flatten(text) -> str:
    if isinstance(text, str):
        return text
    return "".join(p if isinstance(p, str) else p.get("text", "") for p in text)


def timestamp(m: dict) -> int:
    if m.get("date_unixtime"):
        return int(m["date_unixtime"])
    return int(datetime.fromisoformat(m["date"]).replace(tzinfo=UTC).timestamp())


def sender_id(m: dict) -> str:
    fid = m.get("from_id")
    if fid is None:
        return ""
    return f"user{fid}" if isinstance(fid, int) else fid


def kept_messages(chat: dict, me_id: str, me_name: str) -> list[tuple]:
    """(time, sender id, sender name, text, mine) of each text message."""
    out = []
    for m in chat.get("messages", []):
        if m.get("type") != "message" or "forwarded_from" in m or m.get("via_bot"):
            continue
        text = flatten(m.get("text", ""))
        if not text.strip():
            continue
        sid = sender_id(m)
        mine = sid == me_id
        name = me_name if mine else (m.get("from") if m.get("from") is not None else DELETED)
        out.append((timestamp(m), sid, name, text, mine))
    return out


def approx_tokens(text: str) -> int:
    return len(text.encode("utf-8")) // 3 + 1


def conversations_of(messages: list[tuple]) -> list[list[dict]]:
    """Turns (one sender's messages, each within the turn window of the previous), grouped into
    conversations (split at silences longer than the gap)."""
    convs, turns, last_time = [], [], None
    for time, sid, name, text, mine in messages:
        if last_time is not None and time - last_time > GAP_S:
            convs.append(turns)
            turns = []
        last = turns[-1] if turns else None
        if last and last["sender_id"] == sid and time - last["end"] <= TURN_WINDOW_S:
            last["texts"].append(text)
            last["end"] = time
        else:
            turns.append(
                {"sender_id": sid, "sender": name, "mine": mine, "texts": [text], "start": time, "end": time}
            )
        last_time = time
    if turns:
        convs.append(turns)
    for turns in convs:
        for t in turns:
            t["text"] = "\n".join(t["texts"])
            t["tokens"] = approx_tokens(t["text"]) + TURN_OVERHEAD
    return convs


def windows(turns: list[dict], budget: int) -> list[list[dict]]:
    while turns and not turns[-1]["mine"]:
        turns = turns[:-1]
    out, start = [], 0
    while start < len(turns):
        used, last_mine, j = 0, -1, start
        while j < len(turns):
            used += turns[j]["tokens"]
            if used > budget:
                break
            if turns[j]["mine"]:
                last_mine = j
            j += 1
        if last_mine >= start:
            out.append(turns[start : last_mine + 1])
            start = last_mine + 1
        else:
            start += 1
    return [
        w for w in out if len(w) >= MIN_TURNS and any(t["mine"] for t in w) and any(not t["mine"] for t in w)
    ]


def samples_of(export: dict, me_id: str, me_name: str) -> list[tuple[str, int, int]]:
    """(JSONL line, chat id, conversation start) of every window, in chat order."""
    samples = []
    for chat in export.get("chats", {}).get("list", []) + export.get("left_chats", {}).get("list", []):
        if (chat.get("type") or "unknown") not in CHAT_TYPES:
            continue
        messages = kept_messages(chat, me_id, me_name)
        if len(messages) < MIN_MESSAGES or sum(m[4] for m in messages) < MIN_MY_MESSAGES:
            continue
        contact = chat.get("name") if chat.get("name") is not None else DELETED
        system = SYSTEM.format(me=me_name, contact=contact)
        budget = MAX_TOKENS - (approx_tokens(system) + TURN_OVERHEAD)
        for turns in conversations_of(messages):
            for window in windows(turns, budget):
                msgs = [{"role": "system", "content": system}]
                for t in window:
                    role = "assistant" if t["mine"] else "user"
                    msgs.append({"role": role, "name": t["sender"], "content": t["text"]})
                line = json.dumps({"messages": msgs, "chat": f"telegram:{chat['id']}"}, ensure_ascii=False,
                                  separators=(",", ":"))  # fmt: skip
                samples.append((line, chat["id"], turns[0]["start"]))
    return samples


def dedupe(samples: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    seen, out = set(), []
    for s in samples:
        messages = s[0][: s[0].rindex(',"chat":')]  # the same messages in two chats: one sample
        if messages not in seen:
            seen.add(messages)
            out.append(s)
    return out


def split(samples: list[tuple[str, int, int]]) -> dict[str, list[tuple[str, int, int]]]:
    starts: dict[int, set] = {}
    for _, chat_id, start in samples:
        starts.setdefault(chat_id, set()).add(start)
    test = set()
    for chat_id, st in starts.items():
        ordered = sorted(st)
        n_test = min(len(ordered) - 1, math.ceil(TEST_FRACTION * len(ordered)))
        test.update((chat_id, x) for x in ordered[len(ordered) - n_test :] if n_test > 0)
    rest = sorted({(chat_id, start) for _, chat_id, start in samples} - test)
    n_val = round(VAL_FRACTION * len(rest))
    if n_val == 0 and len(rest) >= 10:
        n_val = 1
    val = set(random.Random(SEED).sample(rest, n_val)) if n_val else set()
    out = {"train": [], "val": [], "test": []}
    for s in samples:
        key = (s[1], s[2])
        out["test" if key in test else "val" if key in val else "train"].append(s)
    return out


def main(export_path: str, out_dir: str) -> dict:
    # as chatlike's prepare does: millions of dicts and lists and no cycles among them, which the
    # cyclic GC would only rescan over and over (without this line the same script takes 1.6x as long)
    gc.disable()
    export = load(Path(export_path))
    me_id, me_name = find_me(export)
    splits = split(dedupe(samples_of(export, me_id, me_name)))
    out = Path(out_dir) / "data"
    out.mkdir(parents=True, exist_ok=True)
    for name, items in splits.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line, _, _ in items)
    stats = {"samples": {k: len(v) for k, v in splits.items()}, "me": me_name, "me_id": me_id}
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
