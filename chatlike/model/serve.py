"""The clone behind an OpenAI-compatible API, served by an existing engine: `transformers serve` or
vLLM. chatlike writes what the engine needs, builds its command line, starts it in the background,
waits until it answers, and stops it; the HTTP server is the engine's.

What each engine is given:
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
Both get generation_config.json with the end-of-turn stop ids, so every reply ends at the end of
its turn, and chat's sampling (chat.temperature, top_p, repetition_penalty, max_new_tokens) as the
defaults a request's own values override.

`start` returns a running `Server` (its URL, its clones, its process): the serve stage keeps it in the
foreground until Ctrl-C, and a later stage can use it in the background and `stop` it.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatlike.config import Config, ServeConfig, valid_model_name
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder, write_text
from chatlike.model.tiny import base_model_path
from chatlike.proc import Background, tool_env
from chatlike.rundir import RunDir

API_KEY_ENV = "CHATLIKE_API_KEY"
# The ranks vLLM's --max-lora-rank accepts (vllm.config.lora.MaxLoRARanks); its default is 16.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
_HUB_REVISION = "0" * 40  # the one snapshot of each served model in RUN/serve/hub
_ENGINE_NAMES = {"transformers": "transformers serve", "vllm": "vLLM"}


@dataclass(frozen=True)
class Clone:
    """One served model: a run's clone, under the name clients use."""

    name: str
    run: Path
    index: ChatIndex  # the run's chats, each with its training system prompt


@dataclass
class Server:
    """A started engine: where it listens, what it serves, its process."""

    engine: str
    base_url: str  # http://HOST:PORT/v1
    clones: list[Clone]
    process: Background
    api_key: str | None  # from CHATLIKE_API_KEY; never printed or written

    @property
    def engine_name(self) -> str:
        return _ENGINE_NAMES[self.engine]

    def wait(self) -> int:
        """Block until the engine exits (or Ctrl-C); its exit code."""
        return self.process.process.wait()

    def stop(self) -> None:
        self.process.stop()


# -- what is served -------------------------------------------------------------------------------


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
        clones[name] = Clone(name, run, read_chats(RunDir(run).chats))
    return list(clones.values())


def _name_part(folder: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", folder)).strip("-.") or "run"


@dataclass(frozen=True)
class Adapter:
    """What adapter_config.json says about a run's LoRA adapter."""

    path: Path
    rank: int  # the largest rank of any module
    dora: bool
    modules_to_save: tuple[str, ...]

    @classmethod
    def read(cls, train: Path) -> Adapter:
        config = train / "adapter_config.json"
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            ranks = [int(data.get("r") or 0), *(int(r) for r in (data.get("rank_pattern") or {}).values())]
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ChatlikeError(f"{config}: cannot read it ({exc}); train again") from None
        return cls(
            path=train,
            rank=max(ranks),
            dora=bool(data.get("use_dora")),
            modules_to_save=tuple(data.get("modules_to_save") or ()),
        )

    def vllm_refusal(self) -> str | None:
        """Why vLLM cannot serve this adapter as an adapter (None: it can)."""
        if self.dora:
            return "vLLM rejects DoRA adapters"
        if self.modules_to_save:
            return f"vLLM rejects adapters with modules_to_save; this one trains {', '.join(self.modules_to_save)} whole"
        return None


def vllm_lora_rank(rank: int) -> int:
    """The smallest --max-lora-rank vLLM accepts that holds `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ChatlikeError(
        f"the adapter's rank {rank} is above vLLM's largest ({VLLM_LORA_RANKS[-1]}); merge it"
    )


def full_model(run_dir: Path) -> Path | None:
    """RUN/train when it holds a full fine-tune (a whole model, no adapter)."""
    train = RunDir(run_dir).train
    if (train / "adapter_config.json").is_file() or not (train / "config.json").is_file():
        return None
    return train if any(train.glob("*.safetensors")) or any(train.glob("*.bin")) else None


def whole_model(cfg: Config, run_dir: Path) -> Path:
    """A whole model folder of the run: a full fine-tune's RUN/train, else RUN/merged (merging first
    when it is missing or older than the adapter)."""
    from chatlike.model import merge

    run = RunDir(run_dir)
    full = full_model(run_dir)
    if full is not None:
        return full
    if not (run.train / "adapter_config.json").is_file():
        if merge.is_current(run_dir) and not run.train.exists():
            return run.merged  # only the merged model was kept (or copied here)
        raise ChatlikeError(f"no adapter in {run.train}; run stages=[train] first")
    if not merge.is_current(run_dir):
        why = "is older than the adapter" if run.merged.exists() else "is missing"
        print(f"serve: {run.merged} {why}; merging the adapter into the base model first", flush=True)
        merge.merge(cfg, run_dir)
    return run.merged


@dataclass(frozen=True)
class VllmModel:
    """What one vLLM serves: a base model with named adapters, or one whole model under a name."""

    model: str  # the base model (a path or hub id), or a whole model's folder
    served_name: str | None  # the clone's name for a whole model; a base keeps its own name
    adapters: dict[str, Path]  # clone name -> adapter folder (RUN/train)
    max_lora_rank: int | None
    tokenizer: str | None  # the training tokenizer, saved beside the adapter
    whole_because: str | None  # why a run is served as a whole model rather than as its adapter


def vllm_model(cfg: Config, clones: list[Clone]) -> VllmModel:
    """What vLLM serves for `clones`: their adapters on the base model when vLLM can load them all;
    for one run whose adapter it refuses (or a full fine-tune), the whole model (RUN/merged, which
    `whole_model` makes, or RUN/train). Several runs must all be adapters on the configured base."""
    from chatlike.model import load

    for clone in clones:
        load.check_trained_base(cfg, clone.run)
    if len(clones) == 1:
        (clone,) = clones
        train = RunDir(clone.run).train
        full = full_model(clone.run)
        if full is not None:
            return VllmModel(str(full), clone.name, {}, None, None, "a full fine-tune is a whole model")
        if not (train / "adapter_config.json").is_file():
            if RunDir(clone.run).merged.is_dir() and not train.exists():
                because = "only the merged model is here"
                return VllmModel(str(RunDir(clone.run).merged), clone.name, {}, None, None, because)
            raise ChatlikeError(f"no adapter in {train}; run stages=[train] first")
        refusal = Adapter.read(train).vllm_refusal()
        if refusal is not None:
            return VllmModel(str(RunDir(clone.run).merged), clone.name, {}, None, None, refusal)
    adapters: dict[str, Adapter] = {}
    for clone in clones:
        train = RunDir(clone.run).train
        if not (train / "adapter_config.json").is_file():
            raise ChatlikeError(
                f"serve.runs: {clone.run} has no adapter in {train} (one vLLM serves several runs as "
                "adapters of one base model); serve it alone"
            )
        adapter = Adapter.read(train)
        refusal = adapter.vllm_refusal()
        if refusal is not None:
            raise ChatlikeError(
                f"serve.runs: vLLM cannot load {train} as an adapter ({refusal}), so it cannot share a "
                "server with other runs; serve that run alone (it is merged then), or use serve=transformers"
            )
        adapters[clone.name] = adapter
    first = clones[0].run
    tokenizer = RunDir(first).train if (RunDir(first).train / "tokenizer_config.json").is_file() else None
    return VllmModel(
        model=base_model_path(cfg, first),
        served_name=None,
        adapters={name: a.path for name, a in adapters.items()},
        max_lora_rank=vllm_lora_rank(max(a.rank for a in adapters.values())),
        tokenizer=str(tokenizer) if tokenizer else None,
        whole_because=None,
    )


# -- the engines' command lines -------------------------------------------------------------------


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


def transformers_command(names: list[str], s: ServeConfig, transformers: str = "transformers") -> list[str]:
    """`transformers serve`: one clone is preloaded and pinned (a request for another name is a
    400); several are loaded by name from RUN/serve/hub and kept loaded (--model-timeout -1)."""
    cmd = [transformers, "serve"]
    cmd += names if len(names) == 1 else ["--model-timeout", "-1"]
    return [*cmd, "--host", s.host, "--port", str(s.port), *s.extra_args]


# -- the files the engine reads -------------------------------------------------------------------


def generation_config(model_dir: Path | str | None, tokenizer: Any, cfg: Config) -> dict:
    """The model's generation_config.json (when it has one) with the end-of-turn stop ids and chat's
    sampling as the defaults."""
    from chatlike.model import load

    config: dict = {}
    path = Path(model_dir) / "generation_config.json" if model_dir and Path(model_dir).is_dir() else None
    if path is not None and path.is_file():
        config = json.loads(path.read_text(encoding="utf-8"))
    c = cfg.chat
    config.update(
        eos_token_id=load.stop_ids(tokenizer),
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


# -- starting, checking, stopping -----------------------------------------------------------------


def start(cfg: Config, run_dir: Path) -> Server:
    """Start the configured engine for the run's clone (or serve.runs), wait until it answers with
    the clones' names listed, write RUN/serve.json; the running Server."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    s, run = cfg.serve, RunDir(run_dir)
    api_key = os.environ.get(API_KEY_ENV) or None
    if not is_loopback(s.host) and api_key is None:
        raise ChatlikeError(
            f"serve.host={s.host} listens beyond this machine: set the {API_KEY_ENV} environment variable "
            "(clients send it as their API key), or keep serve.host=127.0.0.1"
        )
    if s.engine == "transformers" and not is_loopback(s.host):
        raise ChatlikeError(
            f"serve.host={s.host}: transformers serve checks no API key, so it only listens on this "
            "machine; use serve=vllm (which checks CHATLIKE_API_KEY), or an SSH tunnel"
        )
    if s.engine == "transformers" and api_key is not None:
        print(f"serve: {API_KEY_ENV} is set, but transformers serve checks no API key; it listens on "
              f"{s.host} only", flush=True)  # fmt: skip
        api_key = None
    env = tool_env()
    for key in (API_KEY_ENV, "VLLM_API_KEY", "TRANSFORMERS_CACHE"):
        env.pop(key, None)
    executable = _executable(s.engine, env)
    check_port(s.host, s.port)
    clones = clones_of(cfg, run_dir)
    run.serve_json.unlink(missing_ok=True)  # it describes a running server: never an earlier one
    run.serve.mkdir(parents=True, exist_ok=True)
    if s.engine == "transformers":
        cmd = prepare_transformers(cfg, run, clones, executable)
        env["HF_HUB_CACHE"] = str(run.serve_hub.resolve())  # its own cache: the clones, by name
    else:
        m = prepare_vllm(cfg, run, clones)
        cmd = vllm_command(m, s, run.serve_template, run.serve_generation, executable)
        if api_key:
            env["VLLM_API_KEY"] = api_key
    print(
        f"serve: starting {_ENGINE_NAMES[s.engine]} on {s.host}:{s.port} (log: {run.serve_log})", flush=True
    )
    process = Background(cmd, env, run.serve_log)
    server = Server(s.engine, f"http://{_url_host(s.host)}:{s.port}/v1", clones, process, api_key)
    try:
        wait_ready(server, [c.name for c in clones], s.start_timeout_s)
    except BaseException:
        server.stop()
        raise
    write_serve_json(run.serve_json, server, cfg)
    return server


def prepare_transformers(cfg: Config, run: RunDir, clones: list[Clone], executable: str) -> list[str]:
    """Write RUN/serve/hub for `clones` (merging where needed); the command serving them."""
    from chatlike.model import load

    models = {}
    for clone in clones:
        folder = whole_model(cfg, clone.run)
        tokenizer = load.tokenizer_from(str(folder))
        models[clone.name] = (
            folder,
            _template(cfg, tokenizer, folder),
            generation_config(folder, tokenizer, cfg),
        )
    write_hub(run.serve_hub, models)
    return transformers_command([c.name for c in clones], cfg.serve, executable)


def prepare_vllm(cfg: Config, run: RunDir, clones: list[Clone]) -> VllmModel:
    """Decide what vLLM serves for `clones` (merging where needed) and write its chat template and
    generation config to RUN/serve/."""
    from chatlike.model import load

    m = vllm_model(cfg, clones)
    if m.whole_because is not None:
        (clone,) = clones
        folder = whole_model(cfg, clone.run)
        print(f"serve: vLLM serves {folder} whole ({m.whole_because})", flush=True)
        m = VllmModel(str(folder), clone.name, {}, None, None, m.whole_because)
        tokenizer = load.tokenizer_from(str(folder))
    else:
        check_on_disk(m.model)
        tokenizer = load.load_tokenizer(cfg, clones[0].run)
    write_text(run.serve_template, _template(cfg, tokenizer, m.model))
    source = m.model if Path(m.model).is_dir() else None
    generation = generation_config(source, tokenizer, cfg)
    write_text(run.serve_generation / "generation_config.json", json.dumps(generation, indent=2) + "\n")
    return m


def _template(cfg: Config, tokenizer: Any, source: Path | str) -> str:
    """The training chat template: Axolotl's model.chat_template, else the tokenizer's own."""
    from chatlike.model import load

    template = load.template_of(cfg.model.chat_template) or tokenizer.chat_template
    if not template:
        raise ChatlikeError(f"{source} has no chat template and model.chat_template is not one of Axolotl's")
    return template


def _executable(engine: str, env: dict[str, str]) -> str:
    """The engine's command, from this environment; one line saying how to install it when missing."""
    if engine == "vllm":
        found = shutil.which("vllm", path=env["PATH"])
        if found is None or importlib.util.find_spec("vllm") is None:
            raise ChatlikeError(
                "serve=vllm needs vLLM, which is not installed here: on a GPU box run "
                "pip install -e '.[serve]' (it brings its own CUDA torch); on CPU use serve=transformers"
            )
        return found
    missing = [m for m in ("fastapi", "uvicorn", "openai") if importlib.util.find_spec(m) is None]
    found = shutil.which("transformers", path=env["PATH"])
    if missing or found is None:
        raise ChatlikeError(
            f"transformers serve needs {', '.join(missing) or 'the transformers command'}: "
            "pip install 'transformers[serving]' (bash setup.sh installs it)"
        )
    return found


def check_port(host: str, port: int) -> None:
    """One line when something already listens on host:port (the engine would fail after loading)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ChatlikeError(
                f"serve.port={port}: cannot listen on {host}:{port} ({exc.strerror or exc}); another server "
                "has it? stop it, or choose another port with serve.port=..."
            ) from None


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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def wait_ready(server: Server, names: list[str], timeout_s: float) -> None:
    """Wait until the engine answers /health, then until its /v1/models lists `names` (transformers
    serve with several models loads each first); one line when it exits or times out first."""
    root = server.base_url.removesuffix("/v1")
    deadline = time.monotonic() + timeout_s
    while _status(f"{root}/health") != 200:
        if not server.process.running():
            _engine_failed(server, f"exited (code {server.process.process.returncode}) before it was ready")
        if time.monotonic() > deadline:
            _engine_failed(server, f"did not answer {root}/health within serve.start_timeout_s={timeout_s:g}")
        time.sleep(0.5)
    if server.engine == "transformers" and len(names) > 1:
        for name in names:
            _load(server, name, deadline)
    try:
        listed = {m["id"] for m in _get_json(f"{server.base_url}/models", server.api_key)["data"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _engine_failed(server, f"answers /health but not {server.base_url}/models ({exc})")
    missing = [n for n in names if n not in listed]
    if missing:
        _engine_failed(
            server, f"does not list {', '.join(missing)} at /v1/models (it lists {sorted(listed)})"
        )


def _load(server: Server, name: str, deadline: float) -> None:
    """Have transformers serve load `name` now (its /load_model streams progress, then ready)."""
    root = server.base_url.removesuffix("/v1")
    request = urllib.request.Request(
        f"{root}/load_model",
        data=json.dumps({"model": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=max(1.0, deadline - time.monotonic())) as response:
            for line in response:
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    if event.get("status") == "error":
                        _engine_failed(server, f"cannot load {name}: {event.get('message', '')}")
                    if event.get("status") == "ready":
                        return
    except (OSError, ValueError) as exc:
        _engine_failed(server, f"did not load {name} ({exc})")
    _engine_failed(server, f"did not say {name} was loaded")


def _engine_failed(server: Server, what: str) -> None:
    """Stop the engine, show its last log lines, and fail in one line."""
    server.stop()
    tail = server.process.tail()
    for line in tail:
        print(f"  | {line}", file=sys.stderr)
    if any("address already in use" in line.lower() for line in tail):
        what = "could not listen: the port is in use; choose another with serve.port=..."
    raise ChatlikeError(f"serve: {server.engine_name} {what}; its log: {server.process.log_path}")


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _get_json(url: str, api_key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read())


# -- eval on vLLM --------------------------------------------------------------------------------


def vllm_replies(
    cfg: Config,
    run_dir: Path,
    prompts: list[list[int]],
    stop_ids: list[int],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
) -> tuple[list[str], list[str]]:
    """(tuned, base) replies to `prompts` (token ids of chat-template prompts, exactly as HF
    generate gets them) from vLLM on this machine (eval.engine=vllm), each batch in one request: one
    server with the adapter and the base side by side when vLLM takes the adapter, else one server
    for the merged model, then one for the base. Each listens on a free port of 127.0.0.1 and takes
    the GPU memory left by what this process already holds (eval's model, for lm-eval)."""
    from openai import OpenAI

    run = RunDir(run_dir)
    env = tool_env()
    for key in (API_KEY_ENV, "VLLM_API_KEY"):
        env.pop(key, None)
    executable = _executable("vllm", env)
    s = replace(
        cfg.serve, host="127.0.0.1", port=_free_port(), gpu_memory_utilization=_free_gpu_share(cfg.serve)
    )
    clone = Clone("tuned", Path(run_dir).resolve(), read_chats(run.chats))
    m = vllm_model(cfg, [clone])
    base = base_model_path(cfg, run_dir)
    check_on_disk(base)
    if m.whole_because is None:
        servers = [(m, {"tuned": "tuned", "base": m.model})]
    else:
        whole = VllmModel(str(whole_model(cfg, run_dir)), "tuned", {}, None, None, m.whole_because)
        servers = [
            (whole, {"tuned": "tuned"}),
            (VllmModel(base, "base", {}, None, None, None), {"base": "base"}),
        ]
    replies: dict[str, list[str]] = {}
    for model, roles in servers:
        print(
            f"eval: starting vLLM for the {' and '.join(roles)} replies (log: {run.eval / 'vllm.log'})",
            flush=True,
        )
        cmd = vllm_command(
            model, s, None, "vllm", executable
        )  # vLLM's own sampling defaults: eval sets them all
        server = Server(
            "vllm", f"http://127.0.0.1:{s.port}/v1", [], Background(cmd, env, run.eval / "vllm.log"), None
        )
        try:
            wait_ready(server, list(roles.values()), s.start_timeout_s)
            client = OpenAI(base_url=server.base_url, api_key="unused", timeout=3600, max_retries=0)
            for role, name in roles.items():
                replies[role] = []
                for start in range(0, len(prompts), 256):
                    batch = prompts[start : start + 256]
                    answer = client.completions.create(
                        model=name, prompt=batch, max_tokens=max_new_tokens, temperature=temperature,
                        top_p=top_p, seed=seed, extra_body={"stop_token_ids": stop_ids},
                    )  # fmt: skip
                    replies[role] += [c.text for c in sorted(answer.choices, key=lambda c: c.index)]
        finally:
            server.stop()
    return replies["tuned"], replies["base"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_gpu_share(s: ServeConfig) -> float:
    """serve.gpu_memory_utilization, or less: 90% of what is free now (vLLM refuses to start when
    the share it is given is more than what is free)."""
    try:
        import torch

        free, total = torch.cuda.mem_get_info()
    except Exception:  # no CUDA here: vLLM says so itself
        return s.gpu_memory_utilization
    return round(min(s.gpu_memory_utilization, 0.9 * free / total), 3)


# -- telling clients ------------------------------------------------------------------------------


def write_serve_json(path: Path, server: Server, cfg: Config) -> None:
    """RUN/serve.json, for programs: the base URL, where the API key comes from, and per model its run
    and every chat's training system prompt (system_prompts.json's text; in a group chat each user
    message starts with its speaker, as group_speaker_format says)."""
    models = {
        c.name: {
            "run": str(c.run),
            "me": c.index.me,
            "system_prompts": {chat.name: chat.system for chat in c.index.chats},
            "groups": {chat.name: list(chat.members) for chat in c.index.chats if chat.group},
        }
        for c in server.clones
    }
    data = {
        "base_url": server.base_url,
        "engine": server.engine,
        "api_key_env": API_KEY_ENV if server.api_key else None,
        "group_speaker_format": cfg.persona.group_speaker_format,
        "models": models,
    }
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def example_chat(cfg: Config, clone: Clone) -> ChatInfo:
    """The chat the printed examples play: chat.contact's when it is one of the clone's, else the
    one with most conversations."""
    return next((c for c in clone.index.chats if c.name == cfg.chat.contact), clone.index.chats[0])


def banner(server: Server, cfg: Config, serve_json: Path, seconds: float) -> str:
    """What the serve stage prints once the engine is ready: where, what, and two ready examples."""
    clone = server.clones[0]
    chat = example_chat(cfg, clone)
    text = (
        "hi!" if not chat.group else cfg.persona.group_speaker_format.format(name=chat.members[0], text="hi!")
    )
    messages = [{"role": "system", "content": chat.system}, {"role": "user", "content": text}]
    body = json.dumps({"model": clone.name, "messages": messages}, ensure_ascii=False)
    auth = f' -H "Authorization: Bearer ${API_KEY_ENV}"' if server.api_key else ""
    key = f'os.environ["{API_KEY_ENV}"]' if server.api_key else '"unused"'
    lines = [f"serve: ready in {seconds:.0f} s: {server.engine_name} at {server.base_url}"]
    for c in server.clones:
        lines.append(
            f"  model {c.name!r} ({c.run}): as {c.index.me} with {', '.join(ch.name for ch in c.index.chats)}"
        )
    lines += [
        f"  every chat's system prompt is in {serve_json}: a client must send the one of the contact it plays",
        "",
        "curl:",
        f"  curl {server.base_url}/chat/completions -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}",
        "",
        "Python (the openai package):",
        "import json" + ("\nimport os" if server.api_key else ""),
        "from openai import OpenAI",
        "",
        f"serve = json.load(open({_py(str(serve_json))}))",
        f'client = OpenAI(base_url=serve["base_url"], api_key={key})',
        f'system = serve["models"][{_py(clone.name)}]["system_prompts"][{_py(chat.name)}]',
        "reply = client.chat.completions.create(",
        f"    model={_py(clone.name)},",
        f'    messages=[{{"role": "system", "content": system}}, {{"role": "user", "content": {_py(text)}}}],',
        ")",
        "print(reply.choices[0].message.content)",
        "",
        f"Ctrl-C stops the server (its log: {server.process.log_path}).",
    ]
    return "\n".join(lines)


def _py(text: str) -> str:
    """A Python string literal of `text`, in double quotes (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)
