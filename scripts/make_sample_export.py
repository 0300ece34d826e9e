"""Regenerate the bundled sample export, chatlike/data/sample/result.json (deterministic).

.venv/bin/python scripts/make_sample_export.py [--seed 0] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this checkout's chatlike (not the one the venv installed, maybe another checkout's), and tests/synth.py
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from synth import sample_export, write_export  # noqa: E402

from chatlike.data.sample import SAMPLE_EXPORT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=SAMPLE_EXPORT)
    args = parser.parse_args()
    export = sample_export(args.seed)
    write_export(args.out, export)
    chats = export["chats"]["list"] + export.get("left_chats", {}).get("list", [])
    n = sum(len(c["messages"]) for c in chats)
    print(f"{args.out}: {len(chats)} chats, {n} messages, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
