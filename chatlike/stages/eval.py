"""eval: does the tuned model reply more like the person than the base model, and did it forget
general ability?

Reads RUN/data/{train,test}.jsonl, RUN/data/chats.json and RUN/train/; writes RUN/eval/{results.json,
samples.jsonl, blind_test.md, blind_key.json, tasks/}, RUN/plots/eval.png and the eval section of
RUN/report.md.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any, Iterator

from chatlike.config import Config
from chatlike.data.chats import read_chats
from chatlike.errors import ChatlikeError
from chatlike.eval import blind, likelihood, metrics, report
from chatlike.files import write_text
from chatlike.model.samples import read_samples
from chatlike.rundir import RunDir


def reply_items(samples: list[dict], chats: dict[str, str], max_samples: int, seed: int) -> list[dict]:
    """Every assistant turn of the test conversations with what came before it (system prompt
    included) and the name of its chat (`chats`: system prompt -> name, as data/chats.json lists
    them); a seeded subset of max_samples when there are more, kept in file order."""
    items = []
    for sample in samples:
        messages = sample["messages"]
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
        contact = chats.get(system)
        for i, m in enumerate(messages):
            if m["role"] == "assistant" and i > 0:
                items.append({"contact": contact, "context": messages[:i], "real": m["content"]})
    if len(items) > max_samples:
        keep = sorted(random.Random(seed).sample(range(len(items)), max_samples))
        items = [items[i] for i in keep]
    return items


@contextlib.contextmanager
def base_of(model: Any, cfg: Config, run_dir: Path) -> Iterator[Any]:
    """The base model: the loaded one with its adapter switched off, or (after a full fine-tune)
    a second model loaded for the while."""
    if hasattr(model, "disable_adapter"):
        with model.disable_adapter():
            yield model
    else:
        from chatlike.model.load import load_model

        base = load_model(cfg, run_dir, adapter=False)
        yield base
        del base


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.model import load

    e = cfg.eval
    started = time.time()
    run = RunDir(run_dir)
    chats = {c.system: c.name for c in read_chats(run.chats).chats}
    train_replies = [m["content"] for s in read_samples(run.split("train"))
                     for m in s["messages"] if m["role"] == "assistant"]  # fmt: skip
    items = reply_items(read_samples(run.split("test")), chats, e.max_samples, e.seed)
    if not items:
        raise ChatlikeError(f"{run.split('test')} has no assistant turns to compare with; "
                            "raise split.test_fraction or add data")  # fmt: skip

    model = load.load_model(cfg, run_dir, adapter=True)
    tokenizer = load.load_tokenizer(cfg, run_dir)
    budget = load.context_budget(cfg, model, e.max_new_tokens)
    contexts = [load.fit_context(it["context"], lambda m: load.prompt_tokens(tokenizer, m), budget)
                for it in items]  # fmt: skip
    prompts = [load.build_prompt(tokenizer, c) for c in contexts]
    options = dict(max_new_tokens=e.max_new_tokens, temperature=e.temperature, top_p=e.top_p,
                   batch_size=e.batch_size, seed=e.seed)  # fmt: skip
    print(f"eval: generating {len(prompts)} replies with the tuned and the base model", flush=True)
    if e.engine == "vllm":  # batched by vLLM on a GPU box; the same prompts, as token ids
        from chatlike.model.serve import vllm_replies

        ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        tuned, base = vllm_replies(cfg, run_dir, ids, load.stop_ids(tokenizer), e.max_new_tokens,
                                   e.temperature, e.top_p, e.seed)  # fmt: skip
    else:
        tuned = load.generate(model, tokenizer, prompts, **options)
        with base_of(model, cfg, run_dir) as base_model:
            base = load.generate(base_model, tokenizer, prompts, **options)
    real = [it["real"] for it in items]

    samples = [{"contact": it["contact"], "context": it["context"], "real": r, "base": b, "tuned": t}
               for it, r, b, t in zip(items, real, base, tuned)]  # fmt: skip
    write_text(run.eval_samples, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))

    profile_words = metrics.frequent_words(train_replies)
    profile_ngrams = metrics.char_ngrams(train_replies)
    style = {name: metrics.style(replies, profile_words, profile_ngrams)
             for name, replies in (("real", real), ("base", base), ("tuned", tuned))}  # fmt: skip
    distance = {name: metrics.distance(style[name], style["real"]) for name in ("base", "tuned")}

    # lm-eval: the likelihood of the real replies (every item) and the regression tasks (limit)
    task_dir = likelihood.write_reply_task(
        run.eval_tasks, tokenizer, list(zip(prompts, real)), load.end_of_turn_text(tokenizer)
    )
    reply_task = [likelihood.REPLY_TASK]
    manager = likelihood.task_manager([likelihood.SHIPPED_TASKS, task_dir], reply_task + e.tasks)
    together = e.limit is None or e.limit >= len(items)  # one lm-eval call when the limit spares the replies
    scores: dict[str, dict] = {}
    for name in ("tuned", "base"):
        with contextlib.ExitStack() as stack:
            m = model if name == "tuned" else stack.enter_context(base_of(model, cfg, run_dir))
            if together:
                found = likelihood.evaluate(
                    m, tokenizer, reply_task + e.tasks, manager, e.limit, e.batch_size
                )
            else:
                found = likelihood.evaluate(m, tokenizer, reply_task, manager, None, e.batch_size)
                if e.tasks:
                    found |= likelihood.evaluate(m, tokenizer, e.tasks, manager, e.limit, e.batch_size)
        scores[name] = {"replies": found.pop(likelihood.REPLY_TASK), "tasks": found}
    regression = likelihood.regression(scores["base"]["tasks"], scores["tuned"]["tasks"], e.tolerance)

    pairs = blind.write_blind_test(run.root, samples, e.blind_pairs, e.seed)
    results = {
        "style": style,
        "distance": distance,
        "distance_terms": {n: metrics.distance_terms(style[n], style["real"]) for n in ("base", "tuned")},
        "lm_eval": {
            "replies": {n: scores[n]["replies"] for n in ("base", "tuned")},
            "tasks": {n: scores[n]["tasks"] for n in ("base", "tuned")},
            "limit": e.limit,
        },
        "regression": regression,
        "generation": {"max_new_tokens": e.max_new_tokens, "temperature": e.temperature, "top_p": e.top_p,
                       "samples": len(items), "device": str(next(model.parameters()).device)},
        "blind_pairs": pairs,
        "seconds": round(time.time() - started, 1),
    }  # fmt: skip
    write_text(run.eval_results, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    report.write_plot(run.root, style)
    report.write_section(run.root, results)
    _print_summary(results, run.root)
    if e.fail_on_regression and not regression["ok"]:
        raise ChatlikeError(
            f"eval: tuned model regressed beyond eval.tolerance={e.tolerance} on {regression['regressed']} "
            f"(see {run.eval_results})"
        )


def _print_summary(results: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    s = results["style"]
    table = Table(title=f"chatlike eval: {run_dir}")
    for col in ("", "real", "base", "tuned"):
        table.add_column(col, justify="right")
    for key in ("mean_chars", "mean_lines", "emoji_share", "starts_lowercase", "question_share",
                "frequent_word_share", "repeated_3gram_share"):  # fmt: skip
        table.add_row(
            key, *("n/a" if s[n][key] is None else f"{s[n][key]:.3f}" for n in ("real", "base", "tuned"))
        )
    table.add_row(
        "distance", "0", f"{results['distance']['base']:.3f}", f"{results['distance']['tuned']:.3f}"
    )
    like = results["lm_eval"]["replies"]
    table.add_row("reply bits/byte", "", *(f"{like[n].get('bits_per_byte', float('nan')):.3f}"
                                           for n in ("base", "tuned")))  # fmt: skip
    for task, v in results["regression"]["tasks"].items():
        table.add_row(f"{task} {v['metric']}", "", f"{v['base']:.3f}", f"{v['tuned']:.3f}")
    table.add_row("seconds", "", "", f"{results['seconds']}")
    Console(stderr=True).print(table)
