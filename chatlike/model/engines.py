"""What each serving engine is given for a run's clone, and its command line.

- transformers serve takes whole models only (no adapter): RUN/merged, merged first when it is
  missing or older than the adapter, or RUN/train after a full fine-tune. It finds a model by its
  Hugging Face id in the HF cache and lists that cache at /v1/models (a 500 when there is none), so it
  gets a cache of its own, RUN/serve/hub, with one entry per clone under the clone's name: the
  model's files linked, the training chat template and a generation config written. The clone's name
  is then its model id, and /v1/models lists exactly the clones.
- vLLM takes the base model with RUN/train as a named LoRA adapter (--lora-modules NAME=RUN/train),
  with --max-lora-rank from adapter_config.json (vLLM refuses a rank above its setting) and the
  training chat template (--chat-template). It refuses DoRA adapters and adapters with
  modules_to_save (chatlike trains a base model's embeddings that way): then it serves RUN/merged.
  Several runs (serve.runs, a sweep's jobs) share one vLLM as one adapter each.
- llama.cpp's server (llama-cpp-python's, serve=llamacpp) takes one GGUF: RUN/export's, exported
  first when missing (stages=[export] says what it holds). It renders the GGUF's own chat template
  and stops at the template's end-of-generation tokens; it keeps no sampling defaults of its own
  that a request does not override, so clients send chat's (the bot and chat do).
transformers serve and vLLM get generation_config.json with the end-of-turn stop ids, so every reply ends at the end of
its turn, and chat's sampling (chat.temperature, top_p, repetition_penalty, max_new_tokens) as the
defaults a request's own values override.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from chatlike.config import Config, ServeConfig, valid_model_name
from chatlike.conversation import Template
from chatlike.data.chats import ChatIndex, read_chats
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder, write_text
from chatlike.model import load, merge
from chatlike.model.trained import TrainedModel, trained_model
from chatlike.rundir import RunDir

# The ranks vLLM's --max-lora-rank accepts (vllm.config.lora.MaxLoRARanks); its default is 16.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
_HUB_REVISION = "0" * 40  # the one snapshot of each served model in RUN/serve/hub


@dataclass(frozen=True)
class Clone:
    """One served model: a run's clone, under the name clients use."""

    name: str
    model: TrainedModel  # what the run's training left
    index: ChatIndex  # the run's chats, each with its training system prompt

    @property
    def run(self) -> Path:
        return self.model.run.root


# -- what is served -----------------------------------------------------------------------------


def clones_of(cfg: Config, run_dir: Path) -> list[Clone]:
    """The runs to serve (serve.runs, else this run) under their names: serve.model_name (default
    the experiment's name), and for several runs that name + '-' + the run dir's folder name."""
    s = cfg.serve
    base = s.model_name or cfg.name
    if not valid_model_name(base):
        raise ChatlikeError(
            f"name={base!r} cannot name a served model (letters, digits, '.', '_', '-'); set serve.model_name"
        )
    runs = [Path(r).expanduser().resolve() for r in s.runs] or [Path(run_dir).resolve()]
    clones: dict[str, Clone] = {}
    for run in runs:
        name = base if len(runs) == 1 else f"{base}-{_name_part(run.name)}"
        if not valid_model_name(name):
            raise ChatlikeError(
                f"serve.runs: {run} gives the model name {name!r}, not a valid one; rename the folder"
            )
        if name in clones:
            raise ChatlikeError(f"serve.runs: {clones[name].run} and {run} would both be served as {name!r}")
        model = trained_model(cfg, RunDir(run)).require()
        clones[name] = Clone(name, model, read_chats(model.run.chats))
    return list(clones.values())


def _name_part(folder: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", folder)).strip("-.") or "run"


def whole_model(cfg: Config, model: TrainedModel) -> Path:
    """A whole model folder of the run: a full fine-tune's RUN/train, else RUN/merged (merging first
    when it is missing or older than the adapter)."""
    if model.whole is not None:
        return model.whole
    why = "is older than the adapter" if model.merged.exists() else "is missing"
    print(f"serve: {model.merged} {why}; merging the adapter into the base model first", flush=True)
    return merge.merge(cfg, model)


def vllm_lora_rank(rank: int) -> int:
    """The smallest --max-lora-rank vLLM accepts that holds `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ChatlikeError(
        f"the adapter's rank {rank} is above vLLM's largest ({VLLM_LORA_RANKS[-1]}); merge it"
    )


@dataclass(frozen=True)
class VllmModel:
    """What one vLLM serves: a base model with named adapters, or one whole model under a name."""

    model: str  # the base model (a path or hub id), or a whole model's folder
    served_name: str | None = None  # the clone's name for a whole model; a base keeps its own name
    adapters: dict[str, Path] = field(default_factory=dict)  # clone name -> adapter folder (RUN/train)
    max_lora_rank: int | None = None
    tokenizer: str | None = None  # the training tokenizer, saved beside the adapter
    whole_because: str | None = None  # why a run is served as a whole model rather than as its adapter


def whole_because(model: TrainedModel) -> str | None:
    """Why vLLM serves the run as a whole model (None: as its adapter, on the base)."""
    if model.kind == "full":
        return "a full fine-tune is a whole model"
    if model.kind == "merged":
        return "only the merged model is here"
    return model.adapter.vllm_refusal() if model.adapter else None


def vllm_model(clones: list[Clone]) -> VllmModel:
    """What vLLM serves for `clones`: their adapters on the base model when vLLM can load them all;
    for one run whose adapter it refuses (or a full fine-tune), the whole model (RUN/merged, which
    `whole_model` makes, or RUN/train). Several runs must all be adapters on the configured base."""
    if len(clones) == 1:
        (clone,) = clones
        because = whole_because(clone.model)
        if because is not None:
            folder = clone.model.whole or clone.model.merged
            return VllmModel(str(folder), served_name=clone.name, whole_because=because)
    for clone in clones:
        if clone.model.adapter is None:
            raise ChatlikeError(
                f"serve.runs: {clone.run} has no adapter in {clone.model.run.train} (one vLLM serves several "
                "runs as adapters of one base model); serve it alone"
            )
        refusal = clone.model.adapter.vllm_refusal()
        if refusal is not None:
            raise ChatlikeError(
                f"serve.runs: vLLM cannot load {clone.model.run.train} as an adapter ({refusal}), so it cannot "
                "share a server with other runs; serve that run alone (it is merged then), or use serve=transformers"
            )
    first = clones[0].model
    return VllmModel(
        first.base,
        adapters={c.name: c.model.adapter.path for c in clones if c.model.adapter},
        max_lora_rank=vllm_lora_rank(max(c.model.adapter.rank for c in clones if c.model.adapter)),
        tokenizer=first.tokenizer if first.tokenizer != first.base else None,
    )


def check_on_disk(model: str) -> None:
    """One line when the base model is neither a local folder nor in the Hugging Face cache."""
    if Path(model).is_dir():
        return
    if Path(model).is_absolute() or model.startswith((".", "~")):
        raise ChatlikeError(f"the base model {model} is not on disk; set model.base_model to its folder")
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model, "config.json"), str):
        raise ChatlikeError(
            f"the base model {model} is not on disk (nothing is downloaded at run time): "
            f"huggingface-cli download {model} first, or set model.base_model to a local folder"
        )


# -- the command lines --------------------------------------------------------------------------


def vllm_command(
    m: VllmModel, s: ServeConfig, chat_template: Path | None, generation: Path | str, vllm: str = "vllm"
) -> list[str]:
    """`vllm serve` for `m` on s.host:s.port. The API key is not on it (a command line is visible to
    every user of the machine and vLLM logs its arguments): the engine gets it as VLLM_API_KEY."""
    cmd = [vllm, "serve", m.model]
    if m.served_name:
        cmd += ["--served-model-name", m.served_name]
    if m.adapters:
        cmd += ["--enable-lora", "--lora-modules", *(f"{name}={path}" for name, path in m.adapters.items())]
        cmd += ["--max-lora-rank", str(m.max_lora_rank), "--max-loras", str(len(m.adapters))]
    if m.tokenizer:
        cmd += ["--tokenizer", m.tokenizer]
    if chat_template is not None:
        cmd += ["--chat-template", str(chat_template)]
    cmd += ["--generation-config", str(generation)]
    if s.max_model_len is not None:  # vLLM refuses a length above the model's own
        cmd += ["--max-model-len", str(min(s.max_model_len, model_context(m.model) or s.max_model_len))]
    cmd += ["--gpu-memory-utilization", str(s.gpu_memory_utilization)]
    cmd += ["--host", s.host, "--port", str(s.port), *s.extra_args]
    return cmd


def model_context(model: str) -> int | None:
    """max_position_embeddings of a model on disk (a folder or in the HF cache); None when unknown."""
    from huggingface_hub import try_to_load_from_cache

    try:
        config = (
            Path(model) / "config.json"
            if Path(model).is_dir()
            else try_to_load_from_cache(model, "config.json")
        )
        data = json.loads(Path(config).read_text(encoding="utf-8"))
        return int(data.get("max_position_embeddings") or data["text_config"]["max_position_embeddings"])
    except (TypeError, OSError, ValueError, KeyError):  # not on disk, not a repo id, no such key
        return None


def llamacpp_command(gguf: Path, name: str, s: ServeConfig, n_ctx: int, python: str) -> list[str]:
    """llama-cpp-python's server on `gguf` as `name`, on all cores but one. The API key is not on it:
    the server reads it from its environment (API_KEY)."""
    from chatlike.model.gguf import threads

    cmd = [python, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", name]
    cmd += ["--n_ctx", str(n_ctx), "--n_threads", str(threads()), "--n_threads_batch", str(threads())]
    return [*cmd, "--host", s.host, "--port", str(s.port), *s.extra_args]


def prepare_llamacpp(cfg: Config, run: RunDir, clones: list[Clone], python: str) -> list[str]:
    """The GGUF of the one clone (exported first when missing); the command serving it."""
    from chatlike.model import gguf
    from chatlike.stages import export

    if len(clones) != 1:
        raise ChatlikeError(
            "serve=llamacpp serves one run (serve.runs names several): serve each on its own port"
        )
    (clone,) = clones
    path = export.gguf_path(cfg, clone.run)
    if not path.is_file():
        print(f"serve: {path} is missing; exporting the clone first (stages=[export])", flush=True)
        export.export(cfg, clone.run)
    own = gguf.metadata(path).context_length
    n_ctx = min(x for x in (cfg.serve.max_model_len, own, 1 << 20) if x)
    write_text(
        run.serve_llamacpp,
        json.dumps({"model": str(path), "name": clone.name, "n_ctx": n_ctx}, indent=2) + "\n",
    )
    return llamacpp_command(path, clone.name, cfg.serve, n_ctx, python)


def transformers_command(names: list[str], s: ServeConfig, transformers: str = "transformers") -> list[str]:
    """`transformers serve`: one clone is preloaded and pinned (a request for another name is a
    400); several are loaded by name from RUN/serve/hub and kept loaded (--model-timeout -1)."""
    cmd = [transformers, "serve"]
    cmd += names if len(names) == 1 else ["--model-timeout", "-1"]
    return [*cmd, "--host", s.host, "--port", str(s.port), *s.extra_args]


# -- the files the engine reads -----------------------------------------------------------------


def prepare_transformers(cfg: Config, run: RunDir, clones: list[Clone], executable: str) -> list[str]:
    """Write RUN/serve/hub for `clones` (merging where needed); the command serving them."""
    models = {}
    for clone in clones:
        folder = whole_model(cfg, clone.model)
        template = load.training_template(cfg, load.tokenizer_from(str(folder)), str(folder))
        models[clone.name] = (
            folder,
            template.tokenizer.chat_template,
            generation_config(folder, template, cfg),
        )
    write_hub(run.serve_hub, models)
    return transformers_command([c.name for c in clones], cfg.serve, executable)


def prepare_vllm(cfg: Config, run: RunDir, clones: list[Clone]) -> VllmModel:
    """Decide what vLLM serves for `clones` (merging where needed) and write its chat template and
    generation config to RUN/serve/."""
    m = vllm_model(clones)
    if m.whole_because is not None:
        (clone,) = clones
        folder = whole_model(cfg, clone.model)
        print(f"serve: vLLM serves {folder} whole ({m.whole_because})", flush=True)
        template = load.training_template(cfg, load.tokenizer_from(str(folder)), str(folder))
    else:
        check_on_disk(m.model)
        template = load.load_template(cfg, clones[0].model)
    write_text(run.serve_template, template.tokenizer.chat_template)
    source = m.model if Path(m.model).is_dir() else None
    generation = generation_config(source, template, cfg)
    write_text(run.serve_generation / "generation_config.json", json.dumps(generation, indent=2) + "\n")
    return m


def generation_config(model_dir: Path | str | None, template: Template, cfg: Config) -> dict:
    """The model's generation_config.json (when it has one) with chat's sampling as the defaults
    and the template's stop ids added to the model's own: a server stops where chatlike does."""
    config: dict = {}
    path = Path(model_dir) / "generation_config.json" if model_dir and Path(model_dir).is_dir() else None
    if path is not None and path.is_file():
        config = json.loads(path.read_text(encoding="utf-8"))
    own = config.get("eos_token_id")
    own = [] if own is None else [own] if isinstance(own, int) else list(own)
    c, tokenizer = cfg.chat, template.tokenizer
    config.update(
        eos_token_id=sorted({*template.stop_ids, *own}),
        do_sample=c.temperature > 0,
        temperature=c.temperature,  # 0: greedy (vLLM reads the temperature, transformers do_sample)
        top_p=c.top_p,
        repetition_penalty=c.repetition_penalty,
        max_new_tokens=c.max_new_tokens,
    )
    if tokenizer.pad_token_id is not None:
        config["pad_token_id"] = tokenizer.pad_token_id
    return config


def write_hub(hub: Path, models: dict[str, tuple[Path, str, dict]]) -> None:
    """RUN/serve/hub: a Hugging Face cache with one entry per served model (name -> (model folder,
    chat template, generation config)): the folder's files linked, template and config written."""
    with atomic_folder(hub) as tmp:
        for name, (folder, template, generation) in models.items():
            entry = tmp / f"models--{name.replace('/', '--')}"
            snapshot = entry / "snapshots" / _HUB_REVISION
            snapshot.mkdir(parents=True)
            write_text(entry / "refs" / "main", _HUB_REVISION)
            for f in sorted(folder.iterdir()):
                if f.is_file() and f.name not in ("generation_config.json", "chat_template.jinja"):
                    # relative links keep working when the run dir moves; a folder elsewhere is absolute
                    target = os.path.relpath(f.resolve(), (hub / snapshot.relative_to(tmp)).resolve())
                    (snapshot / f.name).symlink_to(target)
            write_text(snapshot / "chat_template.jinja", template)
            write_text(snapshot / "generation_config.json", json.dumps(generation, indent=2) + "\n")
