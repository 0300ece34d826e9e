"""Preference accuracy: does a model prefer the reply the owner chose? Measured by log-likelihood
on the held-out feedback, for the SFT clone and the feedback clone alike.

For a pair (a correction), the owner's reply must be likelier than the proposal it replaced (summed
log-probabilities: one prompt, two replies). Unpaired examples (sent, discarded) have different
prompts, so each desirable reply is compared with each undesirable one by the mean log-probability
per token (a ranking accuracy): the share of those comparisons the owner's way.
"""

from __future__ import annotations

from typing import Any, Optional

import msgspec

from chatlike.conversation import Template
from chatlike.eval.results import Interval
from chatlike.feedback.data import Preferences


class Accuracy(msgspec.Struct, frozen=True):
    pairs: Optional[float]  # corrections: the owner's reply likelier than the proposal
    examples: Optional[float]  # sent vs discarded, ranked by mean log-probability per token
    n_pairs: int
    n_examples: int


def likelihood(model: Any, template: Template, prompt: list[dict], reply: str) -> tuple[float, int]:
    """(the summed log-probability of `reply` and its end of turn after `prompt`, its tokens)."""
    import torch

    tok = template.tokenizer
    context = tok(template.prompt(prompt), add_special_tokens=False)["input_ids"]
    answer = tok(reply + template.end_of_turn.rstrip("\n"), add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + answer], device=model.device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(context) - 1 : -1].float()
    logp = torch.log_softmax(logits, dim=-1).gather(1, ids[0, len(context) :, None]).sum()
    return float(logp), len(answer)


def accuracy(model: Any, template: Template, prefs: Preferences) -> Accuracy:
    wins = [
        likelihood(model, template, p.prompt, p.chosen)[0]
        > likelihood(model, template, p.prompt, p.rejected)[0]
        for p in prefs.pairs
    ]
    means = []
    for e in prefs.examples:
        total, count = likelihood(model, template, e.prompt, e.completion)
        means.append((total / max(1, count), e.label))
    good = [m for m, label in means if label]
    bad = [m for m, label in means if not label]
    ranked = [g > b for g in good for b in bad]
    return Accuracy(
        sum(wins) / len(wins) if wins else None,
        sum(ranked) / len(ranked) if ranked else None,
        len(wins),
        len(means),
    )


class Clone(msgspec.Struct, frozen=True):
    """One clone on the held-out replies of data/test.jsonl (eval's measures, greedy)."""

    score: float  # eval's headline score
    distance: float  # the style distance to the real replies (lower: closer)
    chrf: Interval  # closeness to the real replies


class SideBySide(msgspec.Struct, frozen=True):
    """The SFT clone and the feedback clone on the same held-out conversations: which to use."""

    items: int
    sft: Clone
    feedback: Clone
    chrf_gain: Interval  # the feedback clone's chrF minus the SFT clone's, per item (paired)
    better: bool  # a higher score, and chrF not lower beyond its interval: the default clone from now on


def side_by_side(cfg: Any, run: Any, model: Any, template: Template) -> SideBySide:
    """Eval's held-out replies (eval.max_samples, eval.seed) answered greedily by the SFT adapter and
    by the feedback adapter of one PeftModel, judged by eval's metrics against the real replies."""
    from chatlike.eval import bootstrap, generate, metrics
    from chatlike.eval.items import held_out
    from chatlike.model.load import generate as complete

    e = cfg.eval
    items, train_replies = held_out(run, e.max_samples, e.seed)
    prompts = generate.prompts(cfg, model, template, [it["context"] for it in items])
    ref = metrics.Reference.of([it["real"] for it in items], train_replies)
    judged = {}
    for name, adapter in (("sft", "default"), ("feedback", "feedback")):
        model.set_adapter(adapter)
        print(f"feedback: {len(prompts)} held-out replies by the {name} clone", flush=True)
        replies = complete(model, template, prompts, max_new_tokens=e.max_new_tokens, batch_size=e.batch_size,
                           seed=e.seed, temperature=0.0)  # fmt: skip
        judged[name] = metrics.judge(replies, ref)
    clones = {n: Clone(j.score, j.distance, bootstrap.mean(j.chrf, e.seed)) for n, j in judged.items()}
    gain = bootstrap.mean([f - s for f, s in zip(judged["feedback"].chrf, judged["sft"].chrf)], e.seed)
    better = clones["feedback"].score > clones["sft"].score and (gain.high is None or gain.high >= 0)
    return SideBySide(len(items), clones["sft"], clones["feedback"], gain, better)
