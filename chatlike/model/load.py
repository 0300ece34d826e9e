"""Loading a run's model, offline (local files only: nothing is downloaded): a tokenizer from a path
(configure's plan too), the run's tokenizer with the training chat template, the base model with the
run's adapter or the run's whole model (eval, chat, merge; what the run holds is
chatlike.model.trained's answer); and batched generation that stops where the chat template
(chatlike.conversation.Template) ends a turn.

Everything heavy (torch, transformers, peft) is imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from chatlike.config import Config
from chatlike.conversation import Template
from chatlike.errors import ChatlikeError
from chatlike.model.trained import TrainedModel, trained_model
from chatlike.rundir import RunDir


def device_of(cfg: Config) -> str:
    """The device: "cuda" when the hardware profile asks for it and a GPU is there, else "cpu"."""
    import torch

    return "cuda" if cfg.hardware.device == "cuda" and torch.cuda.is_available() else "cpu"


def template_of(name: str) -> str | None:
    """Axolotl's chat template `name` (the one training used), read from its package without
    importing Axolotl; None when Axolotl is not installed or has no such template."""
    spec = importlib.util.find_spec("axolotl")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "utils" / "chat_templates" / "templates" / f"{name}.jinja"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def tokenizer_from(path: str) -> Any:
    """The tokenizer in a local folder or the local Hugging Face cache; nothing is downloaded."""
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as exc:
        raise ChatlikeError(
            f"cannot load the tokenizer from {path} ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "download the model first (huggingface-cli download) or set model.base_model to a local path"
        ) from None


def training_template(cfg: Config, tokenizer: Any, source: str) -> Template:
    """`tokenizer` (loaded from `source`) wearing the chat template training uses, Axolotl's
    `model.chat_template` set on it exactly as Axolotl does (else the tokenizer's own, e.g. for
    tokenizer_default), as a Template: the one place the end of a turn and the stops come from."""
    template = template_of(cfg.model.chat_template)
    if template is not None:
        tokenizer.chat_template = template
    if not tokenizer.chat_template:
        raise ChatlikeError(
            f"the tokenizer at {source} has no chat template and model.chat_template="
            f"{cfg.model.chat_template!r} is not one of Axolotl's; install the train extras or fix the name"
        )
    return Template.of(tokenizer)


def load_tokenizer(cfg: Config, run: Path | RunDir | TrainedModel) -> Any:
    """The tokenizer as training used it: the run's copy when there is one (Axolotl saves it beside
    the adapter), else the base model's; with the training chat template (training_template) and
    left padding for batched generation."""
    return load_template(cfg, run).tokenizer


def load_template(cfg: Config, run: Path | RunDir | TrainedModel) -> Template:
    """The run's chat template as a value, on the tokenizer load_tokenizer describes."""
    source = trained_model(cfg, run).tokenizer
    tokenizer = tokenizer_from(source)
    template = training_template(cfg, tokenizer, source)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        # generation masks padding, so any token serves; training sets a distinct pad token itself
        tokenizer.pad_token = tokenizer.eos_token
    return template


def load_model(cfg: Config, run: Path | RunDir | TrainedModel, adapter: bool = True) -> Any:
    """With `adapter`, the run's trained model: the base with the adapter applied (a PeftModel, so
    `with model.disable_adapter():` gives the base model without a second copy in memory), or the
    whole model of a full fine-tune or of a run that holds only RUN/merged. Else the base model.
    On the GPU when the hardware profile says cuda and one is there, in bf16; else CPU fp32."""
    import torch
    from transformers import AutoModelForCausalLM

    trained = trained_model(cfg, run)
    if adapter:
        trained.require()
    device = device_of(cfg)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    path = str(trained.whole) if adapter and trained.kind in ("full", "merged") else trained.base
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=True)
    except Exception as exc:
        raise ChatlikeError(
            f"cannot load the model from {path} ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "it must be on disk (HF cache or a local path), nothing is downloaded"
        ) from None
    if adapter and trained.adapter is not None:
        from peft import PeftModel

        vocab = _saved_vocab_size(trained.adapter.path)
        if vocab and vocab != model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(vocab)  # training added tokens (a pad token, say)
        model = PeftModel.from_pretrained(model, str(trained.adapter.path))
    return model.to(device).eval()


def _saved_vocab_size(train: Path) -> int | None:
    """The vocabulary size training used, when its tokenizer was saved beside the adapter."""
    if not (train / "tokenizer_config.json").is_file():
        return None
    return len(tokenizer_from(str(train)))


def context_budget(cfg: Config, model: Any, max_new_tokens: int) -> int:
    """Tokens a prompt may take: the model's context (config.max_position_embeddings, capped by
    model.max_context) less the room for the reply."""
    positions = getattr(model.config, "max_position_embeddings", None) or cfg.model.max_context
    return min(cfg.model.max_context, positions) - max_new_tokens


def generate(
    model: Any,
    template: Template,
    prompts: list[str],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    repetition_penalty: float = 1.0,
    batch_size: int = 8,
    seed: int | None = None,
    streamer: Any = None,
) -> list[str]:
    """One reply per prompt (from template.prompt), in order. Greedy when temperature is 0.
    A reply ends at the first of the template's stop tokens (not included) or after max_new_tokens;
    a reply that runs on to the cap is returned as generated, special tokens and all, so
    degeneracy shows."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    tokenizer, stops = template.tokenizer, list(template.stop_ids)
    device = next(model.parameters()).device
    sampling = temperature > 0
    options: dict[str, Any] = dict(
        max_new_tokens=max_new_tokens,
        do_sample=sampling,
        eos_token_id=stops,
        pad_token_id=tokenizer.pad_token_id,
        repetition_penalty=repetition_penalty,
    )
    if sampling:
        options.update(temperature=temperature, top_p=top_p)
    else:  # unset the model's own sampling defaults, or transformers warns on every call
        options.update(temperature=None, top_p=None, top_k=None)
    if streamer is not None:
        options["streamer"] = streamer
    # longest first: similar lengths share a batch, and an out-of-memory shows at once
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    replies: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = tokenizer(
            [prompts[i] for i in chunk], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        with torch.no_grad():
            out = model.generate(**batch, **options)
        new = out[:, batch["input_ids"].shape[1] :]
        for i, ids in zip(chunk, new.tolist()):
            cut = next((k for k, t in enumerate(ids) if t in stops), len(ids))
            replies[i] = tokenizer.decode(ids[:cut], skip_special_tokens=False)
    return replies
