"""configure: the run dir's data + the Hydra config -> axolotl.yaml, deepspeed.json, launch.sh, after
printing the training plan (chatlike.model.plan). What goes into each file: chatlike.model.axolotl."""

from __future__ import annotations

import json
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model import axolotl, tiny
from chatlike.model import plan as planning
from chatlike.model.load import tokenizer_from
from chatlike.rundir import RunDir


def run(cfg: Config, run_dir: Path) -> None:
    run = RunDir(Path(run_dir).resolve())
    train_jsonl = run.split("train")
    if not train_jsonl.is_file() or train_jsonl.stat().st_size == 0:
        raise ChatlikeError(f"{train_jsonl} is missing or empty: run the prepare stage first")
    if cfg.model.tiny:
        tiny.ensure(run.root, seed=cfg.seed)
    base = tiny.base_model_path(cfg, run.root)
    try:
        tokenizer = tokenizer_from(base)
    except ChatlikeError:
        tokenizer = None
    data = planning.plan_data(cfg, run.root, tokenizer)
    if tokenizer is None:
        print(
            f"chatlike: tokenizer of {base} not available offline: token counts are approximate "
            "(UTF-8 bytes / 3 per message, as prepare counts)"
        )
    model_dir = Path(base) if Path(base).is_dir() else None
    plan = planning.estimate(cfg, data, model_dir)
    planning.print_plan(cfg, plan)

    doc = axolotl.axolotl_config(cfg, run.root, plan, tokenizer)
    ds = axolotl.deepspeed_config(cfg.hardware.deepspeed) if cfg.hardware.deepspeed else None
    axolotl.validate(doc, run.root, ds)
    if ds is not None:
        write_text(run.deepspeed_json, json.dumps(ds, indent=2) + "\n")
    write_text(run.axolotl_yaml, axolotl.to_yaml(doc))
    write_text(run.launch_sh, axolotl.launch_script(cfg))
    run.launch_sh.chmod(0o755)
    print(
        f"chatlike: wrote {run.axolotl_yaml} and {run.launch_sh} "
        f"({plan.steps} steps, sequence_len {plan.sequence_len})"
    )
