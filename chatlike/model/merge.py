"""Folding a run's adapter into its base model: RUN/merged/, a plain Hugging Face model folder.

RUN/merged/ holds safetensors, the config, a generation config with the end-of-turn stop ids, the
tokenizer with the training chat template, and system_prompts.json; vLLM, transformers (and
`transformers serve`) or llama.cpp's converter load it without peft or chatlike. The merge stage
and serve (when an engine cannot take the adapter) both call `merge`; whether RUN/merged is current
is chatlike.model.trained's answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatlike.config import Config
from chatlike.data.chats import read_chats
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder, write_text
from chatlike.model.trained import TrainedModel, trained_model
from chatlike.rundir import RunDir


def merge(cfg: Config, run: Path | RunDir | TrainedModel) -> Path:
    """Write RUN/merged/ from the base model and RUN/train's adapter; return its path."""
    from chatlike.model import load

    trained = trained_model(cfg, run)
    if trained.kind == "full":
        raise ChatlikeError(
            f"{trained.run.train} holds a full fine-tune, already a whole model: serve {trained.run.train} itself"
        )
    if trained.adapter is None:
        trained.require()
        raise ChatlikeError(
            f"no adapter in {trained.run.train}: {trained.merged} is already the merged model"
        )
    prompts = {chat.name: chat.system for chat in read_chats(trained.run.chats).chats}
    print(f"merge: loading {trained.base} with the adapter in {trained.adapter.path}", flush=True)
    model = load.load_model(cfg, trained)
    template = load.load_template(cfg, trained)
    tokenizer = template.tokenizer
    tokenizer.padding_side = "right"  # left padding is only for chatlike's batched generation
    merged = model.merge_and_unload()
    # a server stops where chatlike's generation stops: at the end of a turn (not only at EOS)
    merged.generation_config.eos_token_id = list(template.stop_ids)
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    dtype = _saved_dtype(trained.base)
    if dtype is not None:  # load_model computes in float32 on CPU; keep the base's precision (bf16)
        merged = merged.to(dtype)
    save(merged, tokenizer, prompts, trained.merged)
    print(f"merge: wrote {trained.merged} ({_size_mb(trained.merged):,.0f} MB)", flush=True)
    return trained.merged


def save(model, tokenizer, system_prompts: dict[str, str], out: Path) -> None:
    """Write model, tokenizer and the system prompt of each chat (system_prompts.json, keyed by
    contact or group name: a client must send the training one; in a group each user message
    starts with its speaker as persona.group_speaker_format says) to `out`, all or nothing: a failed
    or interrupted merge keeps the RUN/merged/ there was."""
    with atomic_folder(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        text = json.dumps(system_prompts, ensure_ascii=False, indent=2) + "\n"
        write_text(tmp / "system_prompts.json", text)


def _saved_dtype(path: str):
    """The torch dtype the base model's weights are stored in, per its config (None if unknown)."""
    import torch
    from transformers import AutoConfig

    dtype = getattr(AutoConfig.from_pretrained(path, local_files_only=True), "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else None


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
