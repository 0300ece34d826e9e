"""The prepared samples (RUN/data/*.jsonl) as the model side reads them (plan, eval), and the hash of
data/train.jsonl kept beside what is made from it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec

from chatlike.errors import ChatlikeError
from chatlike.rundir import RunDir

# Beside what was made from data/train.jsonl (RUN/tiny_model, RUN/train, RUN/prepared): its sha256,
# so a rerun of prepare is noticed instead of training on, or resuming from, the old data.
DATA_HASH_FILE = "chatlike_data.sha256"


def data_hash(run_dir: Path) -> str:
    """sha256 of RUN/data/train.jsonl."""
    digest = hashlib.sha256()
    with open(RunDir(run_dir).split("train"), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def made_from(folder: Path) -> str | None:
    """The data hash stored in `folder` (None when there is none)."""
    path = Path(folder) / DATA_HASH_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


class _Sample(msgspec.Struct):
    messages: list[dict[str, Any]]
    chat: str | None = None  # its chat's key (chatlike.data.chats.chat_key); None from an older prepare


_DECODER = msgspec.json.Decoder(_Sample)


def read_samples(path: Path, missing_ok: bool = False) -> list[dict]:
    """The samples of a JSONL file, each {"messages": [...], "chat": key} as written; [] for a
    missing file when `missing_ok`, else an error saying to run prepare."""
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return []
        raise ChatlikeError(f"{path} is missing; run the prepare stage first ('stages=[prepare]')")
    out = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    sample = _DECODER.decode(line)
                    out.append({"messages": sample.messages, "chat": sample.chat})
                except msgspec.DecodeError as exc:
                    raise ChatlikeError(f"{path}:{number}: {exc}; run prepare again") from None
    return out
