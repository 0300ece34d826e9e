"""The replies eval judges: the tuned and the base model's to every held-out context, greedily (so
runs compare) and, with eval.sampling=chat, also as the chat stage samples them; by transformers'
generate here, or by vLLM on a GPU box (eval.engine=vllm)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from chatlike.config import Config
from chatlike.conversation import Template, fit
from chatlike.eval.results import ChatSampling


def prompts(cfg: Config, model: Any, template: Template, contexts: list[list[dict]]) -> list[str]:
    """Each context as the chat-template prompt for the next reply, its oldest turns dropped until
    it fits the model's context beside eval.max_new_tokens."""
    from chatlike.model import load

    budget = load.context_budget(cfg, model, cfg.eval.max_new_tokens)
    return [template.prompt(fit(c, template.count, budget)) for c in contexts]


def chat_sampling(cfg: Config) -> ChatSampling | None:
    """How eval.sampling=chat samples (chat's settings, seeded by eval.seed); None when greedy only."""
    if cfg.eval.sampling != "chat":
        return None
    c = cfg.chat
    return ChatSampling(c.temperature, c.top_p, c.repetition_penalty, cfg.eval.seed)


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


def replies(cfg: Config, run_dir: Path, model: Any, template: Template, prompts: list[str]) -> dict:
    """{decoding: {"tuned": [...], "base": [...]}}, one reply per prompt; decoding is "greedy", and
    "chat" with eval.sampling=chat."""
    from chatlike.model import load

    e, sampling = cfg.eval, chat_sampling(cfg)
    decodings = {"greedy": dict(temperature=0.0)}
    if sampling is not None:
        decodings["chat"] = dict(temperature=sampling.temperature, top_p=sampling.top_p,
                                 repetition_penalty=sampling.repetition_penalty)  # fmt: skip
    out: dict[str, dict[str, list[str]]] = {}
    for decoding, options in decodings.items():
        print(
            f"eval: generating {len(prompts)} replies ({decoding}) with the tuned and the base model",
            flush=True,
        )
        if e.engine == "vllm":  # batched by vLLM on a GPU box; the same prompts, as token ids
            from chatlike.eval.vllm import vllm_replies

            ids = [template.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
            tuned, base = vllm_replies(cfg, run_dir, ids, list(template.stop_ids), e.max_new_tokens,
                                       options["temperature"], options.get("top_p", 1.0), e.seed)  # fmt: skip
            out[decoding] = {"tuned": tuned, "base": base}
            continue
        common = dict(max_new_tokens=e.max_new_tokens, batch_size=e.batch_size, seed=e.seed, **options)
        out[decoding] = {"tuned": load.generate(model, template, prompts, **common)}
        with base_of(model, cfg, run_dir) as base_model:
            out[decoding]["base"] = load.generate(base_model, template, prompts, **common)
    return out
