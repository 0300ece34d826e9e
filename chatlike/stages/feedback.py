"""feedback: the owner's draft decisions (RUN/bot/conversations.jsonl, and feedback.paths) as a
preference round on top of the run's adapter, trained with Axolotl as train does, and measured.

Writes RUN/feedback/: train.jsonl and heldout.jsonl (the round's rows), axolotl.yaml, train/ (the
feedback clone's adapter), train.log, feedback.json (the counts, the round, preference accuracy on
the held-out feedback, and eval's held-out replies answered by the SFT clone and the feedback clone
side by side, with the verdict whether the feedback clone is better). Too little feedback is one line
saying how much there is and how much is needed (feedback.min_examples).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Optional

import msgspec

from chatlike.bot.record import read_exchanges
from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.feedback.data import held_out, method_for, preferences, split
from chatlike.feedback.measure import Accuracy, SideBySide
from chatlike.files import write_bytes, write_text
from chatlike.rundir import IN_RUN, RunDir


class FeedbackSummary(msgspec.Struct):
    """RUN/feedback/feedback.json."""

    method: str
    exchanges: int  # lines read from the bot records
    desirable: int  # sent proposals and corrections
    undesirable: int  # discarded or corrected proposals
    pairs: int  # corrections
    train_rows: int
    heldout_rows: int
    steps: int
    sft: Optional[Accuracy] = None
    feedback: Optional[Accuracy] = None
    heldout_eval: Optional[SideBySide] = None  # eval's held-out replies: the SFT and the feedback clone


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.feedback.round import round_config, rows
    from chatlike.model.axolotl import preprocess_command, to_yaml, train_command, validate
    from chatlike.model.trained import trained_model
    from chatlike.proc import run_streamed
    from chatlike.stages.train import environment, error_line

    # the round starts from, and is measured against, the SFT clone, whatever feedback.use says
    cfg = dataclasses.replace(cfg, feedback=dataclasses.replace(cfg.feedback, use=False))
    f, run = cfg.feedback, RunDir(Path(run_dir).resolve())
    sources = [run.bot_record, *(Path(p).expanduser() for p in f.paths)]
    missing = [str(p) for p in sources[1:] if not p.is_file()]
    if missing:
        raise ChatlikeError(f"feedback.paths: no such file {missing[0]} (a bot's conversations.jsonl)")
    exchanges = [e for path in sources for e in read_exchanges(path)]
    prefs = preferences(exchanges)
    method, line = method_for(prefs, f.method, f.min_examples)
    if method is None:
        raise ChatlikeError(line)
    trained = trained_model(cfg, run).require()
    if trained.kind != "adapter" or not run.axolotl_yaml.is_file():
        raise ChatlikeError(
            f"feedback: the round continues the run's adapter, and {run.train} holds none (train with "
            "train=lora or train=qlora first)"
        )
    print(line, flush=True)
    train_p, held = split(prefs, held_out(prefs, method, f.holdout, f.seed))

    import yaml  # PyYAML comes with Hydra/OmegaConf

    from chatlike.model.load import load_template

    template = load_template(cfg, run)
    train_rows, held_rows = rows(train_p, method, template), rows(held, method, template)
    if not train_rows:
        raise ChatlikeError(f"feedback: every {method.upper()} example is held out; lower feedback.holdout")
    steps = f.max_steps or math.ceil(len(train_rows) / f.micro_batch_size) * f.num_epochs
    sft = yaml.safe_load(run.axolotl_yaml.read_text(encoding="utf-8"))
    doc = round_config(sft, method, f, steps)
    validate(doc, run.root)
    for stale in (run.feedback_adapter, run.feedback_prepared):  # a new round on new data
        shutil.rmtree(stale, ignore_errors=True)
    run.feedback.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    write_bytes(run.feedback_train, b"".join(encoder.encode(r) + b"\n" for r in train_rows), private=True)
    write_bytes(run.feedback_heldout, b"".join(encoder.encode(r) + b"\n" for r in held_rows), private=True)
    write_text(run.feedback_yaml, to_yaml(doc))

    env, log, config = environment(cfg), run.feedback_log, IN_RUN.feedback_yaml
    for cmd in (preprocess_command(config), train_command(cfg, config)):
        rc, tail = run_streamed(cmd, env=env, cwd=run.root, log_path=log)
        if rc != 0:
            raise ChatlikeError(
                f"feedback: {' '.join(cmd[:2])} failed (exit {rc}): {error_line(tail)} (full log: {log})"
            )
    if not (run.feedback_adapter / "adapter_model.safetensors").is_file():
        raise ChatlikeError(f"feedback: Axolotl ended without writing {run.feedback_adapter} (see {log})")

    summary = FeedbackSummary(method, len(exchanges), prefs.desirable, prefs.undesirable, len(prefs.pairs),
                              len(train_rows), len(held_rows), steps)  # fmt: skip
    summary.sft, summary.feedback, summary.heldout_eval = measure(cfg, run, template, held)
    write_bytes(run.feedback_summary, msgspec.json.format(encoder.encode(summary)) + b"\n")
    print(report(summary), flush=True)


def measure(
    cfg: Config, run: RunDir, template, held
) -> tuple[Optional[Accuracy], Optional[Accuracy], Optional[SideBySide]]:
    """Preference accuracy on the held-out feedback, and eval's held-out replies, for the SFT clone
    and the feedback clone (its adapter loaded beside the SFT one, PEFT's own switch)."""
    from chatlike.feedback.measure import accuracy, side_by_side
    from chatlike.model.load import load_model

    model = load_model(cfg, run)
    sft = accuracy(model, template, held) if held.examples else None
    model.load_adapter(str(run.feedback_adapter), adapter_name="feedback")
    model.set_adapter("feedback")
    feedback = accuracy(model, template, held) if held.examples else None
    try:
        side = side_by_side(cfg, run, model, template)
    except ChatlikeError as exc:  # a run without held-out replies still gets its round and accuracy
        print(f"feedback: no side-by-side eval: {exc}", flush=True)
        side = None
    return sft, feedback, side


def report(s: FeedbackSummary) -> str:
    lines = [f"feedback: {s.method.upper()} round of {s.steps} step(s) on {s.train_rows} row(s), "
             f"{s.heldout_rows} held out"]  # fmt: skip

    def pct(x: Optional[float]) -> str:
        return "n/a" if x is None else f"{100 * x:.0f}%"

    for name, acc in (("SFT clone", s.sft), ("feedback clone", s.feedback)):
        if acc is not None:
            lines.append(f"  {name:15} prefers the owner's choice: corrections {pct(acc.pairs)} "
                         f"({acc.n_pairs}), sent over discarded {pct(acc.examples)}")  # fmt: skip
    if (h := s.heldout_eval) is not None:
        for name, c in (("SFT clone", h.sft), ("feedback clone", h.feedback)):
            lines.append(f"  {name:15} on {h.items} held-out replies: score {c.score:.1f}, chrF {c.chrf.value:.1f} "
                         f"[{c.chrf.low:.1f}, {c.chrf.high:.1f}], style distance {c.distance:.2f}")  # fmt: skip
        g = h.chrf_gain
        verdict = ("better: chat, serve, the bot and export now use it (feedback.use=false: the SFT clone)"
                   if h.better else "not better: the SFT clone stays the default")  # fmt: skip
        lines.append(
            f"  the feedback clone's chrF gain {g.value:+.1f} [{g.low:+.1f}, {g.high:+.1f}]: {verdict}"
        )
    return "\n".join(lines)
