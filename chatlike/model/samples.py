"""The prepared samples (RUN/data/*.jsonl) as the model stages read them, and the chats they come from.

One reader for plan, eval, chat and merge. A chat is told by its system prompt (prepare writes one
per chat): a personal chat is named after the contact (the `name` on its user turns), a group after
the group (read back from persona.group_system_template); in a group every user content starts
with its speaker (persona.group_speaker_format), since chat templates drop `name`.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import msgspec

from chatlike.config import PersonaConfig
from chatlike.errors import ChatlikeError

# Beside what was made from data/train.jsonl (RUN/tiny_model, RUN/train, RUN/prepared): its sha256,
# so a rerun of prepare is noticed instead of training on, or resuming from, the old data.
DATA_HASH_FILE = "chatlike_data.sha256"


def data_hash(run_dir: Path) -> str:
    """sha256 of RUN/data/train.jsonl."""
    digest = hashlib.sha256()
    with open(Path(run_dir) / "data" / "train.jsonl", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def made_from(folder: Path) -> str | None:
    """The data hash stored in `folder` (None when there is none)."""
    path = Path(folder) / DATA_HASH_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


class _Sample(msgspec.Struct):
    messages: list[dict[str, Any]]


_DECODER = msgspec.json.Decoder(_Sample)


def read_samples(path: Path, missing_ok: bool = False) -> list[dict]:
    """The samples of a JSONL file, each {"messages": [...]} as written; [] for a missing file when
    `missing_ok`, else an error saying to run prepare."""
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
                    out.append({"messages": _DECODER.decode(line).messages})
                except msgspec.DecodeError as exc:
                    raise ChatlikeError(f"{path}:{number}: {exc}; run prepare again") from None
    return out


class Persona(msgspec.Struct, frozen=True):
    """One chat as training saw it: its name (the contact, or the group), me, the system prompt,
    and for a group its speakers, most frequent first (whose name leads each user content)."""

    contact: str
    me: str
    system: str
    group: bool = False
    speakers: tuple[str, ...] = ()


def _template_pattern(template: str) -> re.Pattern:
    """A regex matching what `template` renders, capturing the chat's name."""
    out, seen = [], set()
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if field is None:
            continue
        if field in ("chat", "contact") and not seen & {"chat", "contact"}:
            out.append("(?P<chat>.+?)")
        elif field in seen:
            out.append(".*?")
        else:
            out.append("(?:.*)" if field == "members" else ".+?")
        seen.add(field)
    return re.compile("".join(out) + r"\Z", re.S)


def personas(
    train_jsonl: Path, persona_cfg: PersonaConfig, stats_json: Optional[Path] = None
) -> dict[str, Persona]:
    """Every chat of the training data as a Persona, keyed by its name; the chat with most
    conversations first (from data/stats.json's per-contact counts when present, which count
    the windows of one conversation once; else by samples)."""
    samples = read_samples(train_jsonl)
    group_pattern = _template_pattern(persona_cfg.group_system_template)
    personal_pattern = _template_pattern(persona_cfg.system_template)
    users: dict[str, Counter] = {}  # system prompt -> user names
    windows: Counter = Counter()
    names: Counter = Counter()
    for sample in samples:
        messages = sample["messages"]
        system = next((m.get("content", "") for m in messages if m.get("role") == "system"), None)
        names.update(m["name"] for m in messages if m.get("role") == "assistant" and m.get("name"))
        if system is None:
            continue
        who = users.setdefault(system, Counter())
        who.update(m["name"] for m in messages if m.get("role") == "user" and m.get("name"))
        windows[system] += 1
    me = names.most_common(1)[0][0] if names else "me"
    chats: dict[str, Persona] = {}
    for system, who in users.items():
        if not who:
            continue
        group_match, personal_match = group_pattern.match(system), personal_pattern.match(system)
        # prepare names the chat in its system prompt; a prompt that neither template renders (the
        # templates changed since) is a group when several people talk under it
        group = bool(group_match) if (group_match or personal_match) else len(who) > 1
        match = group_match if group else personal_match
        if match and "chat" in match.groupdict():
            name = match.group("chat")
        else:
            name = ", ".join(sorted(who)) if group else who.most_common(1)[0][0]
        speakers = tuple(n for n, _ in sorted(who.items(), key=lambda kv: (-kv[1], kv[0])))
        if name in chats:  # two chats under one name: keep the bigger
            if windows[chats[name].system] >= windows[system]:
                continue
        chats[name] = Persona(contact=name, me=me, system=system, group=group, speakers=speakers)
    if not chats:
        raise ChatlikeError(f"{train_jsonl} has no sample with a system prompt and a named contact")
    conversations = _conversations(stats_json)
    order = sorted(chats, key=lambda c: (-conversations.get(c, 0), -windows[chats[c].system], c))
    return {c: chats[c] for c in order}


def _conversations(stats_json: Optional[Path]) -> dict[str, int]:
    """Conversations per chat from prepare's data/stats.json ({} when it is not there)."""
    if stats_json is None or not Path(stats_json).is_file():
        return {}
    try:
        contacts = json.loads(Path(stats_json).read_text(encoding="utf-8")).get("contacts", {})
        return {k: int(v.get("conversations", 0)) for k, v in contacts.items()}
    except (ValueError, AttributeError, TypeError):
        return {}
