"""configure: the run dir's data + the Hydra config -> axolotl.yaml, deepspeed.json, launch.sh and, for
GPUs, sky.yaml (a SkyPilot task that trains the run on rented ones), after printing the training plan
(chatlike.model.plan). What goes into each file: chatlike.model.axolotl and chatlike.model.sky."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chatlike.config import Config
from chatlike.conversation import Template
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model import axolotl, sky, smollm2, tiny, trained
from chatlike.model import plan as planning
from chatlike.model.load import tokenizer_from, training_template
from chatlike.model.samples import read_samples
from chatlike.rundir import RunDir


def run(cfg: Config, run_dir: Path) -> None:
    run = RunDir(Path(run_dir).resolve())
    train_jsonl = run.split("train")
    if not train_jsonl.is_file() or train_jsonl.stat().st_size == 0:
        raise ChatlikeError(f"{train_jsonl} is missing or empty: run the prepare stage first")
    if cfg.model.tiny:
        tiny.ensure(run.root, seed=cfg.seed, tokenizer=cfg.model.tiny_tokenizer)
    if cfg.model.materialise == "smollm2":
        smollm2.ensure(Path(cfg.model.base_model))
    base = trained.base_model_path(cfg, run.root)
    try:
        tokenizer = tokenizer_from(base)
    except ChatlikeError:
        tokenizer = None
    template = None if tokenizer is None else training_template(cfg, tokenizer, base)
    if template is not None:
        check_template(cfg, template, train_jsonl)
    data = planning.plan_data(cfg, run.root, template)
    if template is None:
        print(
            f"chatlike: tokenizer of {base} not available offline: token counts are approximate "
            "(UTF-8 bytes / 3 per message, as prepare counts)"
        )
    model_dir = Path(base) if Path(base).is_dir() else None
    plan = planning.estimate(cfg, data, model_dir)
    planning.print_plan(cfg, plan)

    cloud = cfg.hardware.device == "cuda"
    gpus, fits = sky.accelerators(cfg, plan) if cloud else ({}, True)
    save_steps = sky.save_steps(cfg, plan, gpus) if cloud and cfg.hardware.spot else None
    doc = axolotl.axolotl_config(cfg, run.root, plan, template, save_steps)
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
    if cloud:
        write_sky(cfg, run, plan, gpus, fits, doc)
    else:
        run.sky_yaml.unlink(missing_ok=True)
        shutil.rmtree(run.upload, ignore_errors=True)
        print(
            "chatlike: no sky.yaml: hardware.device=cpu trains here (hardware=single_gpu or multi_gpu writes one)"
        )


def check_template(cfg: Config, template: Template, train_jsonl: Path) -> None:
    """Refuse, in one line, a chat template that cannot train our samples as they are (Gemma's
    has no system role; Mistral's and Gemma's demand strict alternation): Axolotl would stop on
    the first such sample, after loading everything."""
    for number, sample in enumerate(read_samples(train_jsonl), 1):
        why = template.unfit(sample["messages"])
        if why is not None:
            raise ChatlikeError(
                f"model.base_model={cfg.model.base_model}: {why} (sample {number} of {train_jsonl}); "
                "chatlike cannot train it: choose a model whose template takes any turn order with a "
                "system prompt (Llama 3, ChatML: Qwen, SmolLM2, ...)"
            )


def write_sky(
    cfg: Config, run: RunDir, plan: planning.Plan, gpus: dict[str, int], fits: bool, doc: dict
) -> None:
    """RUN/sky.yaml and RUN/upload (exactly what `sky launch` uploads), then the commands that launch it."""
    files = sky.upload_files(doc, run.root)
    data_bytes = sum((run.root / f).stat().st_size for f in files if f.endswith(".jsonl"))
    task = sky.task(cfg, run.root, plan, data_bytes, axolotl_version())
    write_text(run.sky_yaml, sky.to_yaml(task))
    sky.write_upload(run.root, files)
    res = task["resources"]
    where = ", ".join(f"{n}:{k}" for n, k in gpus.items())
    nodes = f" x {cfg.hardware.num_nodes} nodes" if cfg.hardware.num_nodes > 1 else ""
    print(
        f"chatlike: wrote {run.sky_yaml}: one of {where}{nodes}"
        f"{' (spot)' if cfg.hardware.spot else ''}, {res['disk_size']} GB disk, {res['image_id']}. "
        "Train on rented GPUs with SkyPilot:"
    )
    if not fits:
        print(
            f"chatlike: warning: the estimate ({plan.memory_total_gb:.0f} GB per GPU) fills more than "
            f"{sky.HEADROOM:.0%} of {', '.join(gpus)}: use train=qlora, more GPUs, or hardware.accelerators="
        )
    if cfg.hardware.spot and not cfg.hardware.bucket:
        print(
            "chatlike: warning: hardware.spot without hardware.bucket: a preempted job restarts from "
            "step 0, its checkpoints gone with the VM"
        )
    for line in sky.commands(cfg, run.root):
        print(f"  {line}")


def axolotl_version() -> str | None:
    """The installed Axolotl's version (the one whose schema checked axolotl.yaml), None without it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("axolotl")
    except PackageNotFoundError:
        return None
