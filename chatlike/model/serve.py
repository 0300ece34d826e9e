"""The clone behind an OpenAI-compatible API, served by an existing engine: `transformers serve` or
vLLM (chatlike.model.engines says what each is given). chatlike starts the engine in the
background, waits until it answers with the clones listed, tells clients where and how to talk to
it (RUN/serve.json, the printed examples), and stops it; the HTTP server is the engine's.

`start` returns a running `Server` (its URL, its clones, its process): the serve stage keeps it in the
foreground until Ctrl-C, and a later stage can use it in the background and `stop` it.
eval.engine=vllm gets its replies from vLLM the same way (`vllm_replies`).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
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

from chatlike.config import Config, ServeConfig
from chatlike.conversation import speaker_content
from chatlike.data.chats import ChatInfo, read_chats
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model.engines import (
    Clone,
    VllmModel,
    check_on_disk,
    clones_of,
    prepare_transformers,
    prepare_vllm,
    vllm_command,
    vllm_model,
    whole_model,
)
from chatlike.model.tiny import base_model_path
from chatlike.proc import Background, tool_env
from chatlike.rundir import RunDir

API_KEY_ENV = "CHATLIKE_API_KEY"
_ENGINE_NAMES = {"transformers": "transformers serve", "vllm": "vLLM"}


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
    """RUN/serve.json, for programs: the base URL, where the API key comes from, and per model its
    run, each chat's training system prompt (system_prompts.json's text) and who is in it, keyed by
    the chat's shortest name (ChatIndex.refs: "Lorenzo", or "whatsapp:Lorenzo" where two chats
    share a name). In a group chat each user message starts with its speaker, as
    group_speaker_format says."""
    models = {}
    for c in server.clones:
        refs = c.index.refs()
        models[c.name] = {
            "run": str(c.run),
            "me": c.index.me,
            "system_prompts": c.index.system_prompts(),
            "chats": {
                refs[chat.key]: {"source": chat.source, "id": chat.id, "name": chat.name, "kind": chat.kind,
                                 "members": list(chat.members)}
                for chat in c.index.chats
            },
        }  # fmt: skip
    data = {
        "base_url": server.base_url,
        "engine": server.engine,
        "api_key_env": API_KEY_ENV if server.api_key else None,
        "group_speaker_format": cfg.persona.group_speaker_format,
        "models": models,
    }
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def example_chat(cfg: Config, clone: Clone) -> ChatInfo:
    """The chat the printed examples play: chat.contact's when it names one of the clone's, else
    the one with most conversations."""
    try:
        return (
            clone.index.find(cfg.chat.contact, "chat.contact") if cfg.chat.contact else clone.index.chats[0]
        )
    except ChatlikeError:  # not this clone's chat, or two: any example will do
        return clone.index.chats[0]


def banner(server: Server, cfg: Config, serve_json: Path, seconds: float) -> str:
    """What the serve stage prints once the engine is ready: where, what, and two ready examples."""
    clone = server.clones[0]
    chat = example_chat(cfg, clone)
    text = (
        "hi!" if not chat.group else speaker_content(cfg.persona.group_speaker_format, chat.members[0], "hi!")
    )
    messages = [{"role": "system", "content": chat.system}, {"role": "user", "content": text}]
    body = json.dumps({"model": clone.name, "messages": messages}, ensure_ascii=False)
    auth = f' -H "Authorization: Bearer ${API_KEY_ENV}"' if server.api_key else ""
    key = f'os.environ["{API_KEY_ENV}"]' if server.api_key else '"unused"'
    lines = [f"serve: ready in {seconds:.0f} s: {server.engine_name} at {server.base_url}"]
    for c in server.clones:
        lines.append(
            f"  model {c.name!r} ({c.run}): as {c.index.me} with {', '.join(c.index.refs().values())}"
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
        f'system = serve["models"][{_py(clone.name)}]["system_prompts"][{_py(clone.index.refs()[chat.key])}]',
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
