"""serve=transformers against serve=llamacpp on the same clone and prompts: time to first token and
decode tokens/s (streamed chunks, one token each) of greedy replies, through the openai client, as a user's program sees them.

    .venv/bin/python benchmarks/bench_serve.py RUN [--overrides experiment=smoke model.tiny_tokenizer=smollm2]

RUN is a trained run (a SmolLM2-tokenizer smoke clone, or experiment=cpu's SmolLM2 clone); each
engine is started with chatlike's own serve.running (llama.cpp's on RUN/export's GGUF, exported
first when missing), warmed with one request, then asked each prompt once (at most `--tokens`
tokens a reply; replies end at their end of turn, so both engines' lengths are printed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

PROMPTS = [
    "ciao! ci sei stasera?",
    "hey, lunch tomorrow?",
    "what are you up to this weekend?",
    "lol that's great",
    "how was the trip?",
]


def measure(server, system: str, prompt: str, tokens: int) -> tuple[float, float, int]:
    """(seconds to the first token, decode tokens/s after it, tokens) of one streamed greedy reply."""
    client = server.client(timeout=600)
    name = server.clones[0].name
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    start = time.perf_counter()
    first, n = None, 0
    stream = client.chat.completions.create(
        model=name, messages=messages, temperature=0, max_tokens=tokens, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            n += 1
    end = time.perf_counter()
    return first - start, (n - 1) / (end - first) if n > 1 else 0.0, n


def bench(run: Path, overrides: list[str], engine: str, tokens: int) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.app import conf_dir
    from chatlike.config import register
    from chatlike.model import serve

    register()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = OmegaConf.to_object(
            compose(config_name="config", overrides=[*overrides, f"serve={engine}", "serve.port=8531"])
        )
    started = time.perf_counter()
    with serve.running(cfg, run) as server:
        ready = time.perf_counter() - started
        system = server.clones[0].index.chats[0].system
        measure(server, system, "hi", 4)  # warm
        rows = [measure(server, system, p, tokens) for p in PROMPTS]
    return {
        "engine": engine,
        "ready_s": ready,
        "ttft_ms": 1000 * statistics.median(r[0] for r in rows),
        "tok_s": statistics.median(r[1] for r in rows),
        "tokens": statistics.median(r[2] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument(
        "--overrides", nargs="*", default=["experiment=smoke", "model.tiny_tokenizer=smollm2"]
    )
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    results = [
        bench(args.run.resolve(), args.overrides, e, args.tokens) for e in ("transformers", "llamacpp")
    ]
    print(
        f"{'engine':<14}{'ready s':>9}{'TTFT ms':>10}{'tokens/s':>10}{'tokens':>8}   (median of {len(PROMPTS)} prompts)"
    )
    for r in results:
        print(
            f"{r['engine']:<14}{r['ready_s']:>9.1f}{r['ttft_ms']:>10.0f}{r['tok_s']:>10.1f}{r['tokens']:>8.0f}"
        )
    t, c = results
    print(
        f"llamacpp / transformers: {c['tok_s'] / t['tok_s']:.1f}x tokens/s, {t['ttft_ms'] / c['ttft_ms']:.1f}x faster first token"
    )


if __name__ == "__main__":
    main()
