"""The blind preference pack: contexts with the real and the tuned reply in shuffled order, for a
friend to tell the person from the clone; the answer key goes to a separate file."""

from __future__ import annotations

import json
import random
from pathlib import Path

from chatlike.files import write_text
from chatlike.rundir import RunDir

CONTEXT_MESSAGES = 6  # the last messages of the conversation shown before the two replies


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in (text or "(empty)").split("\n"))


def write_blind_test(run_dir: Path, samples: list[dict], pairs: int, seed: int) -> int:
    """Write RUN/eval/blind_test.md and blind_key.json from samples (context, real, tuned); return
    the count."""
    run = RunDir(run_dir)
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(samples)), min(pairs, len(samples))))
    doc = [
        "# Blind test: who wrote it?",
        "",
        "Each item shows the end of a conversation and two replies: one is the real person's, the "
        "other is the fine-tuned model's. Note which one you think is real (A or B); the answers are "
        f"in `{run.blind_key.name}` (do not open it first).",
        "",
    ]
    key = []
    for n, i in enumerate(chosen, 1):
        s = samples[i]
        real_first = rng.random() < 0.5
        a, b = (s["real"], s["tuned"]) if real_first else (s["tuned"], s["real"])
        doc += [f"## {n}", ""]
        for m in [m for m in s["context"] if m["role"] != "system"][-CONTEXT_MESSAGES:]:
            who = m.get("name") or ("them" if m["role"] == "user" else "me")
            doc += [f"**{who}:**", "", _quote(m["content"]), ""]
        doc += ["**Reply A:**", "", _quote(a), "", "**Reply B:**", "", _quote(b), ""]
        key.append({"item": n, "real": "A" if real_first else "B", "clone": "B" if real_first else "A"})
    write_text(run.blind_test, "\n".join(doc))
    write_text(run.blind_key, json.dumps(key, indent=1) + "\n")
    return len(key)
