"""eval: does the tuned model answer the conversation like the person, or only sound like them?
And did it forget general ability?

For held-out replies of data/test.jsonl it generates the tuned and the base model's replies (greedy;
with eval.sampling=chat also as chat samples them) and draws the parrot's (random training replies),
judges every set against the real replies (style distance, chrF, memorisation, score), scores the
real replies' likelihood under their own and a shuffled context with lm-eval (context gain), runs
the regression tasks, and compares the tuned model with the parrot.

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
from chatlike.data.chats import ChatIndex, read_chats
from chatlike.errors import ChatlikeError
from chatlike.eval import baselines, blind, bootstrap, context, likelihood, metrics, report
from chatlike.files import write_text
from chatlike.model.samples import read_samples
from chatlike.rundir import RunDir


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
    train_replies = [m["content"] for s in read_samples(run.split("train"))
                     for m in s["messages"] if m["role"] == "assistant"]  # fmt: skip
    items = reply_items(read_samples(run.split("test")), read_chats(run.chats), e.max_samples, e.seed)
    if not items:
        raise ChatlikeError(f"{run.split('test')} has no assistant turns to compare with; "
                            "raise split.test_fraction or add data")  # fmt: skip
    if not train_replies:
        raise ChatlikeError(f"{run.split('train')} has no assistant turns; the parrot baseline draws "
                            "from them: add data or lower split.test_fraction")  # fmt: skip

    model = load.load_model(cfg, run_dir, adapter=True)
    tokenizer = load.load_tokenizer(cfg, run_dir)
    budget = load.context_budget(cfg, model, e.max_new_tokens)
    contexts = [load.fit_context(it["context"], lambda m: load.prompt_tokens(tokenizer, m), budget)
                for it in items]  # fmt: skip
    prompts = [load.build_prompt(tokenizer, c) for c in contexts]
    real = [it["real"] for it in items]

    # the replies: tuned and base (greedy, and as chat samples them with eval.sampling=chat), and the parrot's
    decodings = {"greedy": dict(temperature=0.0)}
    if e.sampling == "chat":
        decodings["chat"] = dict(temperature=cfg.chat.temperature, top_p=cfg.chat.top_p,
                                 repetition_penalty=cfg.chat.repetition_penalty)  # fmt: skip
    replies: dict[str, dict[str, list[str]]] = {}
    for decoding, options in decodings.items():
        print(
            f"eval: generating {len(prompts)} replies ({decoding}) with the tuned and the base model",
            flush=True,
        )
        if e.engine == "vllm":  # batched by vLLM on a GPU box; the same prompts, as token ids
            from chatlike.model.serve import vllm_replies

            ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
            tuned, base = vllm_replies(cfg, run_dir, ids, load.stop_ids(tokenizer), e.max_new_tokens,
                                       options["temperature"], options.get("top_p", 1.0), e.seed)  # fmt: skip
            replies[decoding] = {"tuned": tuned, "base": base}
            continue
        common = dict(max_new_tokens=e.max_new_tokens, batch_size=e.batch_size, seed=e.seed, **options)
        replies[decoding] = {"tuned": load.generate(model, tokenizer, prompts, **common)}
        with base_of(model, cfg, run_dir) as base_model:
            replies[decoding]["base"] = load.generate(base_model, tokenizer, prompts, **common)
    parrots = baselines.parrot(len(items), train_replies, e.parrot_draws, e.seed)

    samples = [{"chat": it["chat"], "contact": it["contact"], "context": it["context"], "real": it["real"],
                "base": replies["greedy"]["base"][i], "tuned": replies["greedy"]["tuned"][i], "parrot": parrots[0][i],
                **{f"{m}_chat": replies["chat"][m][i] for m in ("base", "tuned") if "chat" in replies}}
               for i, it in enumerate(items)]  # fmt: skip
    write_text(run.eval_samples, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))

    # every text metric of every reply set, against the real replies and the training replies
    ref = metrics.Reference.of(real, train_replies)
    parrot = [metrics.judge(p, ref) for p in parrots]
    judged = {d: {m: metrics.judge(r, ref) for m, r in sets.items()} for d, sets in replies.items()}
    judged["greedy"]["real"] = metrics.judge(real, ref)

    # lm-eval: the likelihood of the real replies under their own and a shuffled context, and the
    # regression tasks (limit)
    shuffle = context.derangement(len(items), e.seed)
    task_dir = likelihood.write_reply_task(
        run.eval_tasks, tokenizer, list(zip(prompts, real)), load.end_of_turn_text(tokenizer), shuffle
    )
    reply_task = [likelihood.REPLY_TASK]
    manager = likelihood.task_manager([likelihood.SHIPPED_TASKS, task_dir], reply_task + e.tasks)
    rows = len(items) + len(shuffle or [])
    together = e.limit is None or e.limit >= rows  # one lm-eval call when the limit spares the replies
    scores: dict[str, dict] = {}
    for name in ("tuned", "base"):
        with contextlib.ExitStack() as stack:
            m = model if name == "tuned" else stack.enter_context(base_of(model, cfg, run_dir))
            if together:
                found, logged = likelihood.evaluate(
                    m, tokenizer, reply_task + e.tasks, manager, e.limit, e.batch_size, log=tuple(reply_task)
                )
            else:
                found, logged = likelihood.evaluate(
                    m, tokenizer, reply_task, manager, None, e.batch_size, log=tuple(reply_task)
                )
                if e.tasks:
                    found |= likelihood.evaluate(m, tokenizer, e.tasks, manager, e.limit, e.batch_size)[0]
        loglik = likelihood.reply_logliks(logged[likelihood.REPLY_TASK])
        scores[name] = {
            "replies": found.pop(likelihood.REPLY_TASK),
            "tasks": found,
            "context_gain": context.gain(loglik["true"], loglik["shuffled"], loglik["bytes"], e.seed),
        }
    regression = likelihood.regression(scores["base"]["tasks"], scores["tuned"]["tasks"], e.tolerance)

    pairs = blind.write_blind_test(run.root, samples, e.blind_pairs, e.seed)
    gain = {n: scores[n]["context_gain"] for n in ("base", "tuned")}
    greedy = text_results(judged["greedy"], parrot, e.seed)
    greedy["versus_parrot"]["context_gain"] = baselines.versus_zero(gain["tuned"])  # a parrot's gain is 0
    results = {
        "score": greedy["scores"]["tuned"],
        **greedy,
        "context_gain_bpb": gain,
        "distance_terms": {n: metrics.distance_terms(judged["greedy"][n]["style"], judged["greedy"]["real"]["style"])
                           for n in ("base", "tuned")},
        "lm_eval": {
            "replies": {n: scores[n]["replies"] for n in ("base", "tuned")},
            "tasks": {n: scores[n]["tasks"] for n in ("base", "tuned")},
            "limit": e.limit,
        },
        "regression": regression,
        "generation": {"max_new_tokens": e.max_new_tokens, "sampling": e.sampling,
                       "chat": {**decodings["chat"], "seed": e.seed} if "chat" in decodings else None,
                       "samples": len(items), "device": str(next(model.parameters()).device)},
        "sampled": text_results(judged["chat"], parrot, e.seed) if "chat" in judged else None,
        "blind_pairs": pairs,
        "seconds": round(time.time() - started, 1),
    }  # fmt: skip
    write_text(run.eval_results, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    report.write_plot(run.root, results["style"])
    report.write_section(run.root, results)
    _print_summary(results, run.root)
    if e.fail_on_regression and not regression["ok"]:
        raise ChatlikeError(
            f"eval: tuned model regressed beyond eval.tolerance={e.tolerance} on {regression['regressed']} "
            f"(see {run.eval_results})"
        )


def text_results(judged: dict[str, dict], parrot: list[dict], seed: int) -> dict:
    """The text metrics of the model reply sets (and the real replies, when judged) beside the
    parrot's: style, distance, chrF with bootstrap intervals, memorisation, scores, the parrot's
    spread over its draws, and whether the tuned model beats it."""
    names = list(judged)
    per_item_parrot = [sum(col) / len(col) for col in zip(*(p["chrf"] for p in parrot))]
    spread = {
        "draws": len(parrot),
        "distance": baselines.spread([p["distance"] for p in parrot]),
        "chrf": baselines.spread([sum(p["chrf"]) / len(p["chrf"]) for p in parrot]),
        "score": baselines.spread([p["score"] for p in parrot]),
    }
    chrf = {n: bootstrap.mean(judged[n]["chrf"], seed) for n in names if n != "real"}
    chrf["parrot"] = bootstrap.mean(per_item_parrot, seed)
    chrf["tuned_minus_parrot"] = bootstrap.mean(
        [t - p for t, p in zip(judged["tuned"]["chrf"], per_item_parrot)], seed
    )
    tuned = judged["tuned"]
    return {
        "style": {**{n: judged[n]["style"] for n in names}, "parrot": parrot[0]["style"]},
        "distance": {**{n: judged[n]["distance"] for n in names if n != "real"},
                     "parrot": spread["distance"]["median"]},
        "chrf": chrf,
        "memorisation": {**{n: judged[n]["memorisation"] for n in names}, "parrot": parrot[0]["memorisation"]},
        "scores": {**{n: judged[n]["score"] for n in names if n != "real"}, "parrot": spread["score"]["median"]},
        "parrot": spread,
        "versus_parrot": {
            "score": baselines.versus_draws(tuned["score"], spread["score"], higher_is_better=True),
            "distance": baselines.versus_draws(tuned["distance"], spread["distance"], higher_is_better=False),
            "chrf": baselines.versus_zero(chrf["tuned_minus_parrot"]),
        },
    }  # fmt: skip


def _print_summary(results: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    def num(x: float | None, digits: int = 3) -> str:
        return "n/a" if x is None else f"{x:.{digits}f}"

    sets = ("real", "base", "tuned", "parrot")
    s, p = results["style"], results["parrot"]
    table = Table(title=f"chatlike eval: {run_dir}")
    for col in ("", *sets):
        table.add_column(col, justify="right")
    for key in ("mean_chars", "mean_lines", "emoji_share", "starts_lowercase", "question_share",
                "frequent_word_share", "repeated_3gram_share"):  # fmt: skip
        table.add_row(key, *(num(s[n][key]) for n in sets))
    d, c, g, sc = results["distance"], results["chrf"], results["context_gain_bpb"], results["scores"]
    table.add_row("distance", "0", num(d["base"]), num(d["tuned"]), f"{num(d['parrot'])} (median)")
    table.add_row("chrF", "100", *(num(c[n]["value"], 1) for n in ("base", "tuned", "parrot")))
    like = results["lm_eval"]["replies"]
    table.add_row("reply bits/byte", "", *(num(like[n].get("bits_per_byte")) for n in ("base", "tuned")))
    table.add_row("context gain bits/byte", "", num(g["base"]["value"]), num(g["tuned"]["value"]), "0")
    mem = results["memorisation"]
    table.add_row("verbatim copies", *(f"{mem[n]['copy_share']:.0%}" for n in sets))
    for task, v in results["regression"]["tasks"].items():
        table.add_row(f"{task} {v['metric']}", "", num(v["base"]), num(v["tuned"]))
    table.add_row("score", "100", num(sc["base"], 1), f"[bold]{num(sc['tuned'], 1)}[/bold]",
                  f"{num(p['score']['median'], 1)} (median)")  # fmt: skip
    table.add_row("seconds", "", "", f"{results['seconds']}")
    Console(stderr=True).print(table)
