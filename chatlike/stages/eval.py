"""eval: does the tuned model answer the conversation like the person, or only sound like them?
And did it forget general ability?

For held-out replies of data/test.jsonl it generates the tuned and the base model's replies (greedy;
with eval.sampling=chat also as chat samples them) and draws the parrot's (random training replies),
judges every set against the real replies (style distance, chrF, memorisation, score), scores the
real replies' likelihood under their own and a shuffled context with lm-eval (context gain), runs
the regression tasks, and compares the tuned model with the parrot. With eval.privacy=true (an audit
run, whose training data holds canaries) it also runs the privacy audit (chatlike/eval/privacy.py).

Reads RUN/data/{train,test}.jsonl, RUN/data/chats.json and RUN/train/; writes RUN/eval/{results.json,
samples.jsonl, blind_test.md, blind_key.json, tasks/}, RUN/plots/eval.png and the eval section of
RUN/report.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import msgspec

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.eval import baselines, blind, likelihood, metrics, privacy, report
from chatlike.eval.items import held_out
from chatlike.eval.results import EvalResults, Generation, LmEval, write_results
from chatlike.files import write_text
from chatlike.rundir import RunDir


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.eval import generate
    from chatlike.model import load
    from chatlike.model.trained import trained_model

    e, run, started = cfg.eval, RunDir(run_dir), time.time()
    items, train_replies = held_out(run, e.max_samples, e.seed)

    model = load.load_model(cfg, run_dir, adapter=True)
    template = load.load_template(cfg, run_dir)
    prompts = generate.prompts(cfg, model, template, [it["context"] for it in items])
    real = [it["real"] for it in items]
    replies = generate.replies(cfg, run_dir, model, template, prompts)  # decoding -> tuned/base -> replies
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
    # lm-eval: the real replies' likelihood under their own and a shuffled context; the regression tasks
    scored = likelihood.score(cfg, run_dir, model, template, list(zip(prompts, real)))
    greedy = baselines.compare(judged["greedy"], parrot, e.seed, scored["tuned"].context_gain)
    audited = privacy.audit(cfg, run_dir, model, template) if e.privacy else None  # an audit run's canaries
    results = EvalResults(
        **msgspec.structs.asdict(greedy),
        score=greedy.scores["tuned"],
        context_gain_bpb={n: scored[n].context_gain for n in ("base", "tuned")},
        distance_terms={
            n: metrics.distance_terms(judged["greedy"][n].style, judged["greedy"]["real"].style)
            for n in ("base", "tuned")
        },  # fmt: skip
        lm_eval=LmEval(
            {n: scored[n].replies for n in ("base", "tuned")},
            {n: scored[n].tasks for n in ("base", "tuned")},
            e.limit,
        ),  # fmt: skip
        regression=likelihood.regression(scored["base"].tasks, scored["tuned"].tasks, e.tolerance),
        generation=Generation(
            e.max_new_tokens,
            e.sampling,
            generate.chat_sampling(cfg),
            len(items),
            str(next(model.parameters()).device),
        ),  # fmt: skip
        sampled=baselines.compare(judged["chat"], parrot, e.seed) if "chat" in judged else None,
        blind_pairs=blind.write_blind_test(run.root, samples, e.blind_pairs, e.seed),
        seconds=round(time.time() - started, 1),
        privacy=audited,
        clone="feedback" if trained_model(cfg, run).feedback else "sft",
    )
    write_results(run.eval_results, results)
    report.write_plot(run.root, results.style)
    report.write_section(run.root, results)
    report.print_summary(results, run.root)
    if e.fail_on_regression and not results.regression.ok:
        raise ChatlikeError(
            f"eval: tuned model regressed beyond eval.tolerance={e.tolerance} on {results.regression.regressed} "
            f"(see {run.eval_results})"
        )
