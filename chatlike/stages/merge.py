"""merge: fold the run's adapter into the base model and save a standalone model to RUN/merged/.

RUN/merged/ is an ordinary Hugging Face model folder (safetensors, config, generation config with the
end-of-turn stop ids, tokenizer with the training chat template) that vLLM, transformers or
llama.cpp's converter load without peft or chatlike.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model.samples import personas
from chatlike.model.tiny import base_model_path

DIR_NAME = "merged"


def run(cfg: Config, run_dir: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded: a missing model is an error
    from chatlike.model import load

    run_dir = Path(run_dir)
    train = load.trained_dir(run_dir)
    if not load.has_adapter(run_dir):
        if (train / "config.json").is_file():
            raise ChatlikeError(
                f"{train} holds a full fine-tune, already a whole model: serve {train} itself"
            )
        raise ChatlikeError(f"no adapter in {train}; run stages=[train] first")
    out = run_dir / DIR_NAME
    load.check_trained_base(cfg, run_dir)
    print(f"merge: loading {base_model_path(cfg, run_dir)} with the adapter in {train}", flush=True)
    model = load.load_model(cfg, run_dir)
    tokenizer = load.load_tokenizer(cfg, run_dir)
    tokenizer.padding_side = "right"  # left padding is only for chatlike's batched generation
    merged = model.merge_and_unload()
    # a server stops where chatlike's generation stops: at the end of a turn (not only at EOS)
    merged.generation_config.eos_token_id = load.stop_ids(tokenizer)
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    dtype = _saved_dtype(base_model_path(cfg, run_dir))
    if dtype is not None:  # load_model computes in float32 on CPU; keep the base's precision (bf16)
        merged = merged.to(dtype)
    data = run_dir / "data"
    prompts = {
        c: p.system for c, p in personas(data / "train.jsonl", cfg.persona, data / "stats.json").items()
    }
    save(merged, tokenizer, prompts, out)
    print(
        f"merge: wrote {out} ({_size_mb(out):,.0f} MB); serve it with vLLM, transformers or llama.cpp (README)"
    )


def save(model, tokenizer, system_prompts: dict[str, str], out: Path) -> None:
    """Write model, tokenizer and the system prompt of each chat (system_prompts.json, keyed by
    contact or group name: a client must send the training one; in a group each user message
    starts with its speaker as persona.group_speaker_format says) into a temporary folder beside `out`, then swap it in: a failed or
    interrupted merge never leaves a half-written RUN/merged/."""
    tmp, old = out.with_name(f".{out.name}.tmp"), out.with_name(f".{out.name}.old")
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_text(tmp / "system_prompts.json", json.dumps(system_prompts, ensure_ascii=False, indent=2) + "\n")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _saved_dtype(path: str):
    """The torch dtype the base model's weights are stored in, per its config (None if unknown)."""
    import torch
    from transformers import AutoConfig

    dtype = getattr(AutoConfig.from_pretrained(path), "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else None


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
