"""Training throughput: chatlike's `train` stage (Axolotl) beside a plain peft + torch loop, on CPU.

Both train model=smollm2 (SmolLM2-135M-Instruct, LoRA r=16 alpha=32 dropout=0.05 on every linear
layer, fp32, eager attention) on the bundled sample prepared by chatlike (RUN/data/train.jsonl), at
the same sequence length, batch, optimizer (AdamW, weight decay 0) and learning rate:
  chatlike    python -m chatlike model=smollm2 hardware=cpu train=lora ... 'stages=[prepare,configure,train]'
              (no evaluation or checkpoint between steps: the plain loop has neither)
  plain loop  the very samples Axolotl tokenised and masked (RUN/prepared), padded per batch as
              Axolotl's collator pads them, in a peft model and a torch loop, in this process
Each trains 1 warm-up step then --steps timed steps. Tokens are real tokens (not padding), counted
the same way for both: the prepared samples' mean length x batch x timed steps.

    python benchmarks/bench_train.py                  # sequence_len 256, batch 4, 10 steps (~10 min on 2 cores)
    python benchmarks/bench_train.py --steps 5 --seq-len 128
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 0.8  # chatlike at least 0.8x the plain loop's tokens/s (issue 23, point 5)
LR = 5e-4  # experiment=cpu's
_PROGRESS = re.compile(r"\|\s*(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)")


def chatlike_overrides(args: argparse.Namespace, run: Path) -> list[str]:
    return [
        "model=smollm2",
        "hardware=cpu",
        "train=lora",
        f"train.max_steps={args.steps + 1}",
        f"train.micro_batch_size={args.batch}",
        "train.gradient_accumulation_steps=1",
        f"train.learning_rate={LR}",
        "train.optimizer=adamw_torch",
        "train.warmup_ratio=0",
        f"train.max_sequence_len={args.seq_len}",
        "train.loss_watchdog_threshold=12.0",
        f"+train.extra.eval_steps={10 * args.steps}",
        f"+train.extra.save_steps={10 * args.steps}",
        f"hydra.run.dir={run}",
        "stages=[prepare,configure,train]",
    ]


def elapsed_at(log: str) -> dict[int, float]:
    """Seconds since training began at each step, from the train progress bar in Axolotl's log."""
    at: dict[int, float] = {}
    for m in _PROGRESS.finditer(log):
        step, total = int(m[1]), int(m[2])
        if total > 1:
            at[step] = int(m[3] or 0) * 3600 + int(m[4]) * 60 + int(m[5])
    return at


def run_chatlike(args: argparse.Namespace, run: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chatlike", *chatlike_overrides(args, run)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"chatlike failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    log = (run / "train" / "train.log").read_text(errors="replace")
    at = elapsed_at(log.split("train_runtime")[0])
    runtime = re.search(r"'train_runtime': '?([\d.]+)", log)
    steps = args.steps + 1
    if 1 not in at or steps not in at:
        sys.exit(f"no progress bar for steps 1 and {steps} in {run / 'train' / 'train.log'}")
    return {
        "wall": wall,
        "warmup": at[1],
        "timed": at[steps] - at[1],
        "train_runtime": float(runtime[1]) if runtime else float("nan"),
    }


def prepared_samples(run: Path) -> list[dict]:
    """The samples Axolotl tokenised and masked for training (input_ids, labels), from RUN/prepared."""
    from datasets import load_from_disk

    folders = [p.parent for p in (run / "prepared").rglob("dataset_info.json")]
    train = [f for f in folders if "test" not in str(f).lower()] or folders
    ds = load_from_disk(str(sorted(train, key=lambda f: -len(load_from_disk(str(f))))[0]))
    return [{"input_ids": list(r["input_ids"]), "labels": list(r["labels"])} for r in ds]


def run_plain(args: argparse.Namespace, run: Path, samples: list[dict]) -> dict[str, float]:
    import random

    import torch
    import yaml
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = yaml.safe_load((run / "axolotl.yaml").read_text())["base_model"]
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, attn_implementation="eager")
    model = get_peft_model(
        model,
        LoraConfig(
            r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
    )
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)
    load = time.perf_counter() - t0
    rng = random.Random(42)
    pad = tok.pad_token_id

    def batch() -> dict:
        rows = rng.sample(samples, args.batch)
        n = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [pad] * (n - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [-100] * (n - len(r["labels"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (n - len(r["input_ids"])) for r in rows]
        return {
            k: torch.tensor(v) for k, v in (("input_ids", ids), ("labels", labels), ("attention_mask", mask))
        }

    def step() -> None:
        loss = model(**batch()).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    t1 = time.perf_counter()
    step()
    warmup = time.perf_counter() - t1
    t2 = time.perf_counter()
    for _ in range(args.steps):
        step()
    return {"load": load, "warmup": warmup, "timed": time.perf_counter() - t2}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seq-len", type=int, default=256, help="train.max_sequence_len (default 256)")
    parser.add_argument("--batch", type=int, default=4, help="micro batch (default 4)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps after 1 warm-up step (default 10)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from chatlike import quiet

    quiet.install()  # the plain loop's imports drop the same harmless library lines as chatlike's
    import torch

    print(
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        run = Path(tmp) / "run"
        c = run_chatlike(args, run)
        samples = [s for s in prepared_samples(run)]
        p = run_plain(args, run, samples)
    mean_len = statistics.fmean(len(s["input_ids"]) for s in samples)
    tokens = mean_len * args.batch * args.steps
    tps_c, tps_p = tokens / c["timed"], tokens / p["timed"]
    print(
        f"{len(samples)} prepared samples, mean {mean_len:.0f} real tokens; {args.steps} timed steps x batch {args.batch}"
    )
    print(f"{'':12} {'tokens/s':>9} {'s/step':>7} {'warm-up':>8}")
    print(f"{'chatlike':12} {tps_c:9.1f} {c['timed'] / args.steps:7.2f} {c['warmup']:7.1f}s")
    print(f"{'plain loop':12} {tps_p:9.1f} {p['timed'] / args.steps:7.2f} {p['warmup']:7.1f}s")
    ratio = tps_c / tps_p
    print(
        f"ratio chatlike / plain: {ratio:.2f} (target >= {TARGET}: {'PASSES' if ratio >= TARGET else 'FAILS'})"
    )
    print(
        f"chatlike's time: whole CLI {c['wall']:.0f} s (prepare, configure, axolotl preprocess, model load, "
        f"{args.steps + 1} steps, save); Axolotl's train_runtime {c['train_runtime']:.0f} s; "
        f"plain loop's model load {p['load']:.1f} s"
    )


if __name__ == "__main__":
    main()
