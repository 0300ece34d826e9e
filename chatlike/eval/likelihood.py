"""lm-eval for a run: the reply-likelihood task written into RUN/eval/tasks/, the regression tasks,
and the base-vs-tuned comparison.

The reply task scores each real reply given its context, both as training formatted them with the
chat template. The context is the template text up to the assistant header, the target is the
reply plus the end-of-turn token. lm-eval moves the header's trailing "\\n\\n" into the scored
continuation, so the token count holds those tokens too (their cost is the same for base and
tuned). token_perplexity = exp(-sum loglik / sum tokens); bits_per_byte = -sum loglik /
(ln 2 * sum UTF-8 bytes of the replies). Each reply is also scored under another item's context
(rows with "shuffled": true, see chatlike/eval/context.py): shuffled_bits_per_byte.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlike.config import Config
from chatlike.conversation import Template
from chatlike.errors import ChatlikeError
from chatlike.eval.results import Interval, Likelihood, Regression, TaskCheck
from chatlike.files import write_text

SHIPPED_TASKS = Path(__file__).parent / "tasks"
REPLY_TASK = "chatlike_replies"

_TASK_YAML = f"""\
# Written by chatlike's eval stage: the likelihood of the person's real replies (data/test.jsonl).
task: {REPLY_TASK}
custom_dataset: !function replies.load
test_split: test
output_type: loglikelihood
doc_to_text: context
doc_to_target: target
target_delimiter: ""
process_results: !function replies.process_results
metric_list:
  - metric: token_perplexity
    aggregation: weighted_perplexity
    higher_is_better: false
  - metric: bits_per_byte
    aggregation: bits_per_byte
    higher_is_better: false
  - metric: shuffled_bits_per_byte
    aggregation: bits_per_byte
    higher_is_better: false
metadata:
  version: 2.0
"""

_TASK_PY = '''\
"""Hooks of the chatlike_replies task (written by chatlike's eval stage)."""

from chatlike.eval.likelihood import load_replies, process_results  # noqa: F401


def load(**_metadata):
    from pathlib import Path

    return load_replies(Path(__file__).with_name("chatlike_replies.jsonl"))
'''


def load_replies(path: Path) -> dict:
    import datasets

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"test": datasets.Dataset.from_list(rows)}


def process_results(doc: dict, results: list) -> dict:
    loglik, _greedy = results[0]
    if doc["shuffled"]:
        return {"shuffled_bits_per_byte": (loglik, doc["n_bytes"])}
    return {"token_perplexity": (loglik, doc["n_tokens"]), "bits_per_byte": (loglik, doc["n_bytes"])}


def scored_tokens(tokenizer: Any, context: str, target: str) -> int:
    """How many tokens lm-eval scores for this pair (it moves the context's trailing whitespace
    into the continuation and splits the joint encoding at the context's length)."""
    stem = context.rstrip()
    whole = tokenizer(context + target, add_special_tokens=False)["input_ids"]
    return len(whole) - len(tokenizer(stem, add_special_tokens=False)["input_ids"])


def write_reply_task(
    task_dir: Path,
    tokenizer: Any,
    pairs: list[tuple[str, str]],
    end_of_turn: str,
    shuffle: list[int] | None = None,
) -> Path:
    """Write the task (YAML, its hooks, its data) for (prompt, real reply) pairs into task_dir; with
    `shuffle` (a derangement of the items), reply i is also scored after the prompt of item shuffle[i]."""
    rows = []
    scored = [(i, context, False) for i, (context, _) in enumerate(pairs)]
    scored += [(i, pairs[j][0], True) for i, j in enumerate(shuffle or [])]
    for item, context, shuffled in scored:
        reply = pairs[item][1]
        target = reply + end_of_turn
        rows.append({
            "item": item,
            "shuffled": shuffled,
            "context": context,
            "target": target,
            "n_tokens": scored_tokens(tokenizer, context, target),
            "n_bytes": max(1, len(reply.encode("utf-8"))),
        })  # fmt: skip
    write_text(
        task_dir / f"{REPLY_TASK}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    write_text(task_dir / f"{REPLY_TASK}.yaml", _TASK_YAML)
    write_text(task_dir / "replies.py", _TASK_PY)
    return task_dir


def task_manager(task_dirs: list[Path], tasks: list[str]) -> Any:
    """lm-eval's TaskManager with our task folders; lm-eval's own ~10k task files are indexed
    (seconds) only when a task is not one of ours."""
    from lm_eval.tasks import TaskManager

    ours = {p.stem for d in task_dirs for p in Path(d).glob("*.yaml")}
    manager = TaskManager(include_path=[str(d) for d in task_dirs],
                          include_defaults=any(t not in ours for t in tasks))  # fmt: skip
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        raise ChatlikeError(
            f"eval.tasks: lm-eval knows no task {unknown}; use lm-eval task names "
            f"(lm_eval ls tasks) or the shipped chatlike_mc"
        )
    return manager


def evaluate(
    model: Any,
    tokenizer: Any,
    tasks: list[str],
    manager: Any,
    limit: int | None,
    batch_size: int,
    log: tuple[str, ...] = (),
) -> tuple[dict, dict]:
    """Run lm-eval in-process on an already loaded model (a PeftModel inside
    `disable_adapter()` scores the base); return {task: {metric: value}} for the named tasks
    (groups such as mmlu give their aggregate), and lm-eval's per-document records of the tasks
    in `log` ({task: [record]}: each with its "doc" and its per-document metric values)."""
    import lm_eval

    lm = _lm(model, tokenizer, batch_size)
    try:
        out = lm_eval.simple_evaluate(
            model=lm, tasks=tasks, limit=limit, task_manager=manager, log_samples=bool(log),
            bootstrap_iters=0, random_seed=0, numpy_random_seed=0, torch_random_seed=0,
        )  # fmt: skip
    except ChatlikeError:
        raise
    except Exception as exc:  # a dataset that is not on disk offline, most often
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ChatlikeError(
            f"lm-eval failed on eval.tasks={tasks}: {first}; its datasets must be downloadable "
            "or cached (on CPU use eval.tasks=[chatlike_mc])"
        ) from None
    found = {**out.get("results", {}), **out.get("groups", {})}
    logged = {t: out.get("samples", {}).get(t, []) for t in log}
    return {t: _numbers(found.get(t, {})) for t in tasks}, logged


@dataclass(frozen=True)
class Scored:
    """What lm-eval found for one model: the real replies' likelihood, the regression tasks, and
    the context gain (chatlike/eval/context.py)."""

    replies: Likelihood
    tasks: dict[str, dict[str, float]]
    context_gain: Interval


def score(cfg: Config, run_dir: Path, model: Any, template: Template, pairs: list[tuple[str, str]]) -> dict:
    """{"tuned": Scored, "base": Scored} for (prompt, real reply) pairs: the reply task written to
    RUN/eval/tasks (each reply under its own and under a shuffled context) and eval.tasks (limit),
    in one lm-eval call per model when the limit spares the replies."""
    from chatlike.eval import context
    from chatlike.eval.generate import base_of
    from chatlike.rundir import RunDir

    e, tokenizer = cfg.eval, template.tokenizer
    shuffle = context.derangement(len(pairs), e.seed)
    task_dir = write_reply_task(RunDir(run_dir).eval_tasks, tokenizer, pairs, template.end_of_turn, shuffle)
    manager = task_manager([SHIPPED_TASKS, task_dir], [REPLY_TASK, *e.tasks])
    together = e.limit is None or e.limit >= len(pairs) + len(shuffle or [])
    out = {}
    for name in ("tuned", "base"):
        with contextlib.ExitStack() as stack:
            m = model if name == "tuned" else stack.enter_context(base_of(model, cfg, run_dir))
            tasks = [REPLY_TASK, *e.tasks] if together else [REPLY_TASK]
            found, logged = evaluate(m, tokenizer, tasks, manager, e.limit if together else None,
                                     e.batch_size, log=(REPLY_TASK,))  # fmt: skip
            if not together and e.tasks:
                found |= evaluate(m, tokenizer, e.tasks, manager, e.limit, e.batch_size)[0]
        loglik = reply_logliks(logged[REPLY_TASK])
        gain = context.gain(loglik["true"], loglik["shuffled"], loglik["bytes"], e.seed)
        out[name] = Scored(Likelihood(**found.pop(REPLY_TASK)), found, gain)
    return out


def reply_logliks(records: list[dict]) -> dict[str, list]:
    """From the reply task's per-document records: per item (in item order) the log-likelihood of
    the real reply under its own context ("true"), under the shuffled one ("shuffled", when scored)
    and its UTF-8 bytes."""
    true, shuffled, n_bytes = {}, {}, {}
    for record in records:
        doc = record["doc"]
        if doc["shuffled"]:
            shuffled[doc["item"]] = record["shuffled_bits_per_byte"][0]
        else:
            true[doc["item"]] = record["bits_per_byte"][0]
            n_bytes[doc["item"]] = doc["n_bytes"]
    items = sorted(true)
    return {
        "true": [true[i] for i in items],
        "shuffled": [shuffled[i] for i in items] if shuffled else [],
        "bytes": [n_bytes[i] for i in items],
    }


def _lm(model: Any, tokenizer: Any, batch_size: int) -> Any:
    """lm-eval's HFLM around the loaded model, its warnings about what we do on purpose dropped."""
    from lm_eval.models.huggingface import HFLM

    logging.getLogger("lm_eval").setLevel(logging.WARNING)
    for name in ("lm_eval.api.task", "lm_eval.models.huggingface"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Expected) for f in logger.filters):
            logger.addFilter(_Expected())
    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)


class _Expected(logging.Filter):
    """Drops lm-eval's warnings about what we do on purpose (a loaded model, a custom dataset)."""

    NOTED = (
        "Custom kwargs can be passed",
        "`pretrained` model kwarg is not",
        "Passed an already-initialized",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(n in message for n in self.NOTED)


def _numbers(metrics: dict) -> dict[str, float]:
    """lm-eval's 'acc,none' keys as plain 'acc'; stderr and aliases dropped."""
    out = {}
    for key, value in metrics.items():
        name, _, filt = key.partition(",")
        if isinstance(value, (int, float)) and not name.endswith("_stderr") and filt in ("none", ""):
            out[name] = float(value)
    return out


def primary_metric(metrics: dict[str, float]) -> str | None:
    """The accuracy a regression is judged on: acc_norm, else acc, else exact_match, else the first."""
    for name in ("acc_norm", "acc", "exact_match"):
        if name in metrics:
            return name
    return next(iter(metrics), None)


def regression(base: dict, tuned: dict, tolerance: float) -> Regression:
    """Per task: the primary metric for base and tuned and the drop; a drop beyond `tolerance`
    (absolute) is a regression."""
    tasks, regressed = {}, []
    for task, metrics in base.items():
        metric = primary_metric(metrics)
        if metric is None or metric not in tuned.get(task, {}):
            continue
        drop = metrics[metric] - tuned[task][metric]
        tasks[task] = TaskCheck(metric, metrics[metric], tuned[task][metric], drop)
        if drop > tolerance:
            regressed.append(task)
    return Regression(tolerance, tasks, regressed, not regressed)


def logliks(model: Any, tokenizer: Any, pairs: list[tuple[str, str]], batch_size: int) -> list[float]:
    """The log-likelihood of each continuation after its context, by lm-eval on the loaded model
    (its LM.loglikelihood: batched, the context's trailing whitespace moved into the continuation)."""
    from lm_eval.api.instance import Instance

    lm = _lm(model, tokenizer, batch_size)
    requests = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    return [loglik for loglik, _greedy in lm.loglikelihood(requests, disable_tqdm=True)]
