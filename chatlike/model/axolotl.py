"""Axolotl's side of a run: the config it reads (axolotl.yaml, deepspeed.json), its own schema check,
and the commands that run it (launch.sh and the train stage run the same ones).

Every path in axolotl.yaml is relative to the run dir and the commands run inside it, so a run dir can
be copied to a rented GPU box and trained there with `bash RUN/launch.sh` from anywhere.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Any

from chatlike.config import Config
from chatlike.conversation import Template
from chatlike.errors import ChatlikeError
from chatlike.model.plan import Plan
from chatlike.rundir import IN_RUN, RunDir


def pad_token_needed(cfg: Config, template: Template | None) -> str | None:
    """The pad token to set: None when the tokenizer has one that ends no reply, else
    cfg.model.pad_token (a pad that is the end of turn masks it out of the loss, so the model never
    learns to stop: Llama 3 ships no pad, the folder transformers makes of SmolLM2's GGUF pads with
    <|im_end|>). `template` is None when the tokenizer is not on disk."""
    if template is None:
        return cfg.model.pad_token if cfg.model.chat_template.startswith("llama3") else None
    tok, pad = template.tokenizer, cfg.model.pad_token
    if tok.pad_token is not None and tok.pad_token_id not in template.stop_ids:
        return None
    if tok.get_vocab().get(pad) in template.stop_ids:
        raise ChatlikeError(
            f"model.pad_token={pad!r} ends a reply in {cfg.model.base_model}'s chat template (its stops: "
            f"{', '.join(tok.convert_ids_to_tokens(list(template.stop_ids)))}): set model.pad_token to another token"
        )
    return pad


def end_of_turn_keys(template: Template | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Axolotl's keys that train the end of each of my turns (the model learns to stop): the
    template's end-of-turn tokens as `eot_tokens` (root), and per dataset `train_on_eot`, with
    `train_on_eos` only where EOS is such a token (else EOS, written elsewhere, is not trained).
    Without a template (the tokenizer not on disk) Axolotl takes EOS as the end of turn."""
    if template is None or not template.end_tokens:
        return {}, {"train_on_eos": "turn"}
    eos = template.tokenizer.eos_token
    return {"eot_tokens": list(template.end_tokens)}, {
        "train_on_eot": "turn",
        "train_on_eos": "turn" if eos in template.end_tokens else "none",
    }


def axolotl_config(
    cfg: Config, run_dir: Path, plan: Plan, template: Template | None, save_steps: int | None = None
) -> dict[str, Any]:
    """The Axolotl 0.19 config for this run dir (keys as in Axolotl's schema; no deprecated ones);
    `template` is the training chat template on the base model's tokenizer (None when it is not on
    disk); `save_steps` a checkpoint cadence (spot VMs: chatlike.model.sky.save_steps), else one
    with each evaluation."""
    m, t, hw = cfg.model, cfg.train, cfg.hardware
    cpu = hw.device == "cpu"
    base = f"./{IN_RUN.tiny_model.as_posix()}" if m.tiny else m.base_model
    eot, trained_ends = end_of_turn_keys(template)

    def dataset(path: str) -> dict[str, Any]:
        return {
            "path": path,
            "ds_type": "json",
            "split": "train",
            "type": "chat_template",
            "chat_template": m.chat_template,
            "field_messages": "messages",
            "message_property_mappings": {"role": "role", "content": "content"},
            "roles_to_train": ["assistant"],
            **trained_ends,  # the end-of-turn token after each of my turns: the model learns to stop
        }

    doc: dict[str, Any] = {
        "base_model": base,
        "chat_template": m.chat_template,
        **eot,
        "datasets": [dataset(IN_RUN.split("train").as_posix())],
        "dataset_prepared_path": IN_RUN.prepared.as_posix(),
        "output_dir": IN_RUN.train.as_posix(),
        "sequence_len": plan.sequence_len,
        # sequence_len covers the longest sample; only if a cap binds is a longer one cut (the plan warns)
        "excess_length_strategy": "truncate",
        "sample_packing": hw.sample_packing,
        "pad_to_sequence_len": hw.sample_packing,
    }
    if plan.val_samples:
        doc["test_datasets"] = [dataset(IN_RUN.split("val").as_posix())]
        doc["eval_sample_packing"] = False  # a small validation set may not fill one packed batch
        doc["eval_steps"] = plan.eval_steps
    else:
        doc["val_set_size"] = 0.0
        doc["eval_strategy"] = "no"
    pad = pad_token_needed(cfg, template)
    if pad:
        doc["special_tokens"] = {"pad_token": pad}

    if t.adapter:
        doc.update(
            {
                "adapter": t.adapter,
                "load_in_4bit": t.load_in_4bit,
                "load_in_8bit": t.load_in_8bit,
                "lora_r": t.lora_r,
                "lora_alpha": t.lora_alpha,
                "lora_dropout": t.lora_dropout,
                "lora_target_linear": t.lora_target_linear,
            }
        )
        if t.lora_target_modules:
            doc["lora_target_modules"] = list(t.lora_target_modules)
        if t.dora:
            doc["peft_use_dora"] = True
        if not m.instruct:
            # a base model never saw the chat template's special tokens: their rows must learn
            doc["lora_modules_to_save"] = ["embed_tokens", "lm_head"]
        # Axolotl's fused LoRA kernels are Triton/CUDA only, and do not take 8-bit weights
        fused = not cpu and not t.load_in_8bit
        for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel"):
            doc[k] = fused
    else:
        doc.update({"load_in_4bit": False, "load_in_8bit": False})

    doc.update(
        {
            "micro_batch_size": t.micro_batch_size,
            "gradient_accumulation_steps": t.gradient_accumulation_steps,
            "num_epochs": t.num_epochs,
            "optimizer": t.optimizer,
            "lr_scheduler": t.lr_scheduler,
            "learning_rate": t.learning_rate,
            "warmup_steps": plan.warmup_steps,
            "weight_decay": t.weight_decay,
            "bf16": hw.bf16,
            "fp16": False,
            "tf32": not cpu,
            "gradient_checkpointing": hw.gradient_checkpointing,
            "logging_steps": max(1, plan.steps // 100),
            "save_steps": save_steps or max(1, plan.eval_steps),
            "save_total_limit": 2,
            "auto_resume_from_checkpoints": True,  # a rerun continues from the last checkpoint in train/
            "loss_watchdog_threshold": watchdog_threshold(cfg, run_dir),  # stop a diverging run
            "loss_watchdog_patience": t.loss_watchdog_patience,
            "seed": t.seed,
        }
    )
    if t.max_steps:
        doc["max_steps"] = t.max_steps
    if hw.gradient_checkpointing:
        doc["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if hw.attn_implementation:
        doc["attn_implementation"] = hw.attn_implementation
    if hw.liger and not cpu:
        doc["plugins"] = ["axolotl.integrations.liger.LigerPlugin"]
        doc.update(
            {
                "liger_rope": True,
                "liger_rms_norm": True,
                "liger_glu_activation": True,
                "liger_fused_linear_cross_entropy": True,
            }
        )
    if hw.deepspeed:
        doc["deepspeed"] = IN_RUN.deepspeed_json.as_posix()
    if t.wandb_project:
        doc["wandb_project"] = t.wandb_project
    doc.update(copy.deepcopy(dict(t.extra)))
    return doc


def watchdog_threshold(cfg: Config, run_dir: Path) -> float:
    """train.loss_watchdog_threshold, raised for the tiny model: its random init starts at a loss of
    ln(vocab) (~6), above the threshold that suits a pretrained model (~2x its starting loss)."""
    threshold = cfg.train.loss_watchdog_threshold
    config = RunDir(run_dir).tiny_model / "config.json"
    if cfg.model.tiny and config.is_file():
        vocab = json.loads(config.read_text(encoding="utf-8"))["vocab_size"]
        threshold = max(threshold, round(2 * math.log(vocab), 1))
    return threshold


def deepspeed_config(stage: str) -> dict[str, Any]:
    """ZeRO-2 shards gradients and optimizer state over the GPUs; ZeRO-3 shards the weights too.
    "auto" values are filled in by the HF Trainer from axolotl.yaml."""
    zero: dict[str, Any] = {
        "stage": 2 if stage == "zero2" else 3,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
    }
    if stage == "zero3":
        zero.update(
            {
                "sub_group_size": 0,
                "stage3_prefetch_bucket_size": "auto",
                "stage3_param_persistence_threshold": "auto",
                "stage3_max_live_parameters": 0,
                "stage3_max_reuse_distance": 0,
                "stage3_gather_16bit_weights_on_model_save": True,
            }
        )
    else:
        zero["allgather_partitions"] = True
        zero["reduce_scatter"] = True
    return {
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"},
        "fp16": {
            "enabled": "auto",
            "auto_cast": False,
            "loss_scale": 0,
            "initial_scale_power": 32,
            "loss_scale_window": 1000,
            "hysteresis": 2,
            "min_loss_scale": 1,
        },
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "wall_clock_breakdown": False,
    }


def validate(doc: dict[str, Any], run_dir: Path, ds: dict[str, Any] | None = None) -> None:
    """Check `doc` with Axolotl's own schema, in-process; refuse with the failing keys.
    Without Axolotl (a prepare-only install) the config is written unchecked, with a warning."""
    try:
        from axolotl.utils.config import prepare_plugins, validate_config
        from axolotl.utils.dict import DictDefault
    except ImportError:
        print(
            "chatlike: warning: axolotl is not installed: axolotl.yaml was NOT checked against its "
            "schema (pip install 'chatlike[train]')",
            file=sys.stderr,
        )
        return
    cfg = DictDefault(copy.deepcopy(doc))
    if ds is not None:
        cfg["deepspeed"] = copy.deepcopy(ds)  # the file is written only once the config passes
    try:
        prepare_plugins(cfg)
        validate_config(cfg)
    except Exception as exc:
        raise ChatlikeError(
            f"axolotl.yaml for {run_dir} fails Axolotl's schema: {schema_errors(exc)}"
        ) from None


def schema_errors(exc: Exception) -> str:
    """Pydantic's errors as `key: message; ...` on one line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            key = ".".join(str(x) for x in e.get("loc", ())) or "config"
            parts.append(f"{key}: {e.get('msg', '')}".replace("\n", " "))
        return "; ".join(parts)
    return " ".join(str(exc).split())


def to_yaml(doc: dict[str, Any]) -> str:
    import yaml  # PyYAML comes with Hydra/OmegaConf

    head = "# Written by `chatlike` (configure stage); paths are relative to this run dir.\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)


def launch_script(cfg: Config) -> str:
    """RUN/launch.sh: the exact commands that train this run dir, from any working directory."""
    lines = [
        "#!/usr/bin/env bash",
        "# Written by `chatlike` (configure stage): trains this run dir's axolotl.yaml.",
        "# On a rented GPU box: launch/run_on_gpu_box.sh RUN_DIR (installs chatlike[train,gpu] first).",
        "set -euo pipefail",
        'cd "$(dirname "${BASH_SOURCE[0]}")"',
        "export AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 HF_HUB_DISABLE_TELEMETRY=1",
    ]
    if cfg.train.wandb_project:
        lines.append(f"export WANDB_PROJECT={shlex.quote(cfg.train.wandb_project)}")
    else:
        lines.append("export WANDB_MODE=disabled")
    lines.append(" ".join(preprocess_command()))
    lines.append(" ".join(train_command(cfg)))
    return "\n".join(lines) + "\n"


def preprocess_command(config_path: Path = IN_RUN.axolotl_yaml) -> list[str]:
    """Tokenizes the datasets into prepared/ once (Axolotl's advice), run inside the run dir."""
    return ["axolotl", "preprocess", config_path.as_posix()]


def train_command(cfg: Config, config_path: Path = IN_RUN.axolotl_yaml) -> list[str]:
    """The training command (of RUN/axolotl.yaml, or another config of the run), run inside the run dir."""
    hw = cfg.hardware
    config = config_path.as_posix()
    if hw.device == "cpu":
        return ["axolotl", "train", config, "--launcher", "python"]
    if hw.num_gpus * hw.num_nodes == 1:
        return ["axolotl", "train", config]
    if hw.num_nodes == 1:
        cmd = ["accelerate", "launch", "--num_processes", str(hw.num_gpus)]
    else:
        # the counts default to the config's; SkyPilot's run (chatlike.model.sky) sets them from the
        # cluster it got, as it sets the rank and the main node's address
        cmd = [
            "accelerate",
            "launch",
            "--num_processes",
            f'"${{NUM_PROCESSES:-{hw.num_gpus * hw.num_nodes}}}"',
            "--num_machines",
            f'"${{NUM_MACHINES:-{hw.num_nodes}}}"',
            "--multi_gpu",  # without it, one GPU per node would launch a single process
            "--machine_rank",
            '"${MACHINE_RANK:?set MACHINE_RANK}"',
            "--main_process_ip",
            '"${MAIN_PROCESS_IP:?set MAIN_PROCESS_IP}"',
            "--main_process_port",
            '"${MAIN_PROCESS_PORT:-29500}"',
        ]
    return cmd + ["-m", "axolotl.cli.train", config]
