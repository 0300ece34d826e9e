"""The preference round's Axolotl side: its datasets in the formats Axolotl 0.19 reads, and its
config (RUN/feedback/axolotl.yaml), the SFT run's own axolotl.yaml with the round's keys.

Which dataset types fit every model's template: Axolotl's KTO types are `chatml`, `llama3` and
`user_defined`, so the KTO rows carry the prompt already rendered by the run's own chat template
(chatlike.conversation.Template: Gemma's missing system role, strict alternation) and the reply with
its end-of-turn text, read as they are by `user_defined`. DPO's `chat_template.default` renders a
`messages` list (shaped for the template) with `chosen` / `rejected` through the template training
used. The round continues the run's adapter (`lora_model_dir: ./train`) into RUN/feedback/train.
"""

from __future__ import annotations

import copy
from typing import Any

from chatlike.config import FeedbackConfig
from chatlike.conversation import Template
from chatlike.feedback.data import Preferences
from chatlike.rundir import IN_RUN

# what the SFT config says that a preference round sets otherwise (or must not say)
_REPLACED = (
    "datasets", "test_datasets", "eval_steps", "eval_sample_packing", "val_set_size", "eval_strategy",
    "sample_packing", "pad_to_sequence_len", "auto_resume_from_checkpoints", "max_steps", "num_epochs",
    "learning_rate", "warmup_steps", "micro_batch_size", "gradient_accumulation_steps", "save_steps",
    "output_dir", "dataset_prepared_path", "loss_watchdog_threshold", "loss_watchdog_patience",
    "excess_length_strategy",
)  # fmt: skip


def rows(prefs: Preferences, method: str, template: Template) -> list[dict]:
    """The round's dataset lines."""
    if method == "dpo":
        return [
            {"messages": template.shaped(p.prompt), "chosen": p.chosen, "rejected": p.rejected}
            for p in prefs.pairs
        ]
    end = template.end_of_turn.rstrip("\n")
    return [
        {"prompt": template.prompt(e.prompt), "completion": e.completion + end, "label": e.label}
        for e in prefs.examples
    ]


def round_config(sft: dict[str, Any], method: str, f: FeedbackConfig, steps_hint: int) -> dict[str, Any]:
    """RUN/feedback/axolotl.yaml from the run's axolotl.yaml (same base, adapter, hardware)."""
    doc = {k: copy.deepcopy(v) for k, v in sft.items() if k not in _REPLACED}
    data = IN_RUN.feedback_train.as_posix()
    if method == "dpo":
        dataset = {"path": data, "ds_type": "json", "split": "train", "type": "chat_template.default",
                   "field_messages": "messages", "field_chosen": "chosen", "field_rejected": "rejected"}  # fmt: skip
    else:
        dataset = {"path": data, "ds_type": "json", "split": "train",
                   "type": {"field_prompt": "prompt", "field_completion": "completion", "field_label": "label"}}  # fmt: skip
    doc.update(
        {
            "rl": method,
            "rl_beta": f.beta,
            "datasets": [dataset],
            "lora_model_dir": f"./{IN_RUN.train.as_posix()}",  # on top of the SFT adapter
            "output_dir": IN_RUN.feedback_adapter.as_posix(),
            "dataset_prepared_path": IN_RUN.feedback_prepared.as_posix(),
            "val_set_size": 0.0,
            "eval_strategy": "no",
            "sample_packing": False,  # preference trainers take one sequence per row
            "remove_unused_columns": False,
            "micro_batch_size": f.micro_batch_size,
            "gradient_accumulation_steps": 1,
            "num_epochs": f.num_epochs,
            "learning_rate": f.learning_rate,
            "warmup_steps": 0,
            "save_steps": max(1, steps_hint),
            "save_total_limit": 1,
            "logging_steps": 1,
        }
    )
    if f.max_steps:
        doc["max_steps"] = f.max_steps
    return doc
