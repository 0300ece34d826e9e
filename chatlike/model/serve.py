"""The clone behind an OpenAI-compatible API, served by an existing engine: `transformers serve` or
vLLM (chatlike.model.engines says what each is given); the HTTP server is the engine's.

`running(cfg, run_dir)` is serving, for everyone: it starts the configured engine for the run's
clones (or serve.runs) in the background, waits until it answers with the clones listed, tells
clients where and how to talk to it (RUN/serve.json, for exactly as long as the engine runs), and
stops it when the block ends, whichever way it ends. The serve stage holds it in the foreground;
`stages=[serve,bot]` holds it while the bot runs. Its core, `up` (an engine's command started,
ready, stopped), is what eval's vLLM replies use too (chatlike.eval.vllm).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import shlex
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlike.config import Config, ServeConfig
from chatlike.conversation import speaker_content
from chatlike.data.chats import ChatInfo
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model.engines import (
    Clone,
    clones_of,
    prepare_llamacpp,
    prepare_transformers,
    prepare_vllm,
    vllm_command,
)
from chatlike.proc import Background, secret, tool_env
from chatlike.rundir import RunDir

API_KEY_ENV = "CHATLIKE_API_KEY"
_ENGINE_NAMES = {"transformers": "transformers serve", "vllm": "vLLM", "llamacpp": "llama.cpp's server"}


@dataclass
class Server:
    """An engine: where it listens, what it serves, and (once `up`) its process."""

    engine: str
    base_url: str  # http://HOST:PORT/v1
    clones: list[Clone]
    api_key: str | None  # from CHATLIKE_API_KEY; never printed or written
    process: Background | None = None

    @property
    def engine_name(self) -> str:
        return _ENGINE_NAMES[self.engine]

    def wait(self) -> int:
        """Block until the engine exits (or Ctrl-C); its exit code."""
        return self.process.process.wait()

    def stop(self) -> None:
        self.process.stop()

    def client(self, timeout: float) -> Any:
        """An openai client of the engine."""
        from openai import OpenAI

        return OpenAI(
            base_url=self.base_url, api_key=self.api_key or "unused", timeout=timeout, max_retries=0
        )


# -- serving --------------------------------------------------------------------------------------


@contextmanager
def running(cfg: Config, run_dir: Path) -> Iterator[Server]:
    """The configured engine serving the run's clones (or serve.runs), ready, and RUN/serve.json
    saying so until the block ends (Ctrl-C, SIGTERM, an error, or the end of the later stages) or the
    engine dies first; then the engine is stopped and RUN/serve.json removed."""
    s, run = cfg.serve, RunDir(run_dir)
    api_key = _api_key(s)
    # the engine's environment: proc's allow-list; of the secrets only the API key, as the engine reads it
    key_env = "API_KEY" if s.engine == "llamacpp" else "VLLM_API_KEY"
    env = tool_env(secrets={key_env: api_key} if api_key else None)
    executable = executable_of(s.engine, env)
    check_port(s.host, s.port)
    clones = clones_of(cfg, run.root)
    run.serve_json.unlink(missing_ok=True)  # left by a chatlike that was killed: never describe a dead server
    run.serve.mkdir(parents=True, exist_ok=True)
    if s.engine == "transformers":
        cmd = prepare_transformers(cfg, run, clones, executable)
        env.pop("TRANSFORMERS_CACHE", None)  # it would win over HF_HUB_CACHE
        env["HF_HUB_CACHE"] = str(run.serve_hub.resolve())  # its own cache: the clones, by name
    elif s.engine == "llamacpp":
        cmd = prepare_llamacpp(cfg, run, clones, executable)
    else:
        cmd = vllm_command(
            prepare_vllm(cfg, run, clones), s, run.serve_template, run.serve_generation, executable
        )
    print(
        f"serve: starting {_ENGINE_NAMES[s.engine]} on {s.host}:{s.port} (log: {run.serve_log})", flush=True
    )
    server = Server(s.engine, f"http://{_url_host(s.host)}:{s.port}/v1", clones, api_key)
    with up(server, cmd, env, run.serve_log, [c.name for c in clones], s.start_timeout_s):
        try:
            with _described(server, cfg, run.serve_json):
                yield server
        finally:
            if server.process.running():
                print(f"serve: stopping {server.engine_name}", flush=True)
                server.stop()
                print("serve: stopped", flush=True)


@contextmanager
def up(
    server: Server, cmd: list[str], env: dict[str, str], log: Path, names: list[str], timeout_s: float
) -> Iterator[Server]:
    """`cmd` started in the background as `server`, waited for until it answers with `names`
    listed (one line, after its log's tail, when it fails first), and stopped when the block ends."""
    server.process = Background(cmd, env, log)
    try:
        wait_ready(server, names, timeout_s)
        yield server
    finally:
        server.stop()


@contextmanager
def _described(server: Server, cfg: Config, path: Path) -> Iterator[None]:
    """RUN/serve.json while the server runs: written now, removed when the block ends, or as soon as
    the engine dies under it (a thread looks twice a second), so no client aims at a dead server."""
    write_serve_json(path, server, cfg)
    ended, lock = threading.Event(), threading.Lock()

    def watch() -> None:
        while not ended.wait(0.5):
            if server.process.running():
                continue
            with lock:
                if not ended.is_set():
                    path.unlink(missing_ok=True)
                    print(f"serve: {server.engine_name} stopped by itself (exit code {server.process.process.returncode}); "
                          f"{path} removed; its log: {server.process.log_path}", file=sys.stderr, flush=True)  # fmt: skip
            return

    threading.Thread(target=watch, name="serve.json", daemon=True).start()
    try:
        yield
    finally:
        with lock:
            ended.set()
        path.unlink(missing_ok=True)


def _api_key(s: ServeConfig) -> str | None:
    """CHATLIKE_API_KEY for an engine that checks it; one line where listening beyond this machine
    needs one that the engine cannot check."""
    api_key = secret(API_KEY_ENV)
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
        return None
    return api_key


def executable_of(engine: str, env: dict[str, str]) -> str:
    """The engine's command, from this environment; one line saying how to install it when missing."""
    if engine == "vllm":
        found = shutil.which("vllm", path=env["PATH"])
        if found is None or importlib.util.find_spec("vllm") is None:
            raise ChatlikeError(
                "serve=vllm needs vLLM, which is not installed here: on a GPU box run "
                "pip install -e '.[serve]' (it brings its own CUDA torch); on CPU use serve=transformers"
            )
        return found
    if engine == "llamacpp":
        needs = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
        missing = [m for m in needs if importlib.util.find_spec(m) is None]
        if missing:
            raise ChatlikeError(
                f"serve=llamacpp needs {', '.join(missing)}: pip install 'llama-cpp-python[server]' "
                "(the laptop extra; bash setup.sh installs it)"
            )
        return sys.executable
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
    listen(host, port).close()


def listen(host: str, port: int, option: str = "serve.port") -> socket.socket:
    """A socket bound to host:port, listening, so a client that connects before the server's loop runs
    waits in the backlog rather than being refused; one line naming `option` when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ChatlikeError(
            f"{option}={port}: cannot listen on {host}:{port} ({exc.strerror or exc}); another server "
            f"has it? stop it, or choose another port with {option}=..."
        ) from None
    return sock


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
    serve with several models is asked for a token of each first, which loads it); one line when it
    exits or times out first."""
    import httpx
    import openai

    root = server.base_url.removesuffix("/v1")
    # llama.cpp's server has no /health: its model list answers (401 without the key) once it is up
    probe, up = (
        (f"{root}/v1/models", (200, 401)) if server.engine == "llamacpp" else (f"{root}/health", (200,))
    )
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5) as http:
        while _status(http, probe) not in up:
            if not server.process.running():
                _engine_failed(
                    server, f"exited (code {server.process.process.returncode}) before it was ready"
                )
            if time.monotonic() > deadline:
                _engine_failed(server, f"did not answer {probe} within serve.start_timeout_s={timeout_s:g}")
            time.sleep(0.5)
    client = server.client(timeout=max(30.0, deadline - time.monotonic()))
    if server.engine == "transformers" and len(names) > 1:
        for name in names:
            try:
                client.chat.completions.create(
                    model=name, messages=[{"role": "user", "content": "hi"}], max_tokens=1
                )
            except openai.APIStatusError as exc:
                _engine_failed(server, f"cannot load {name}: {exc.message}")
            except openai.OpenAIError as exc:
                _engine_failed(server, f"did not load {name} ({exc})")
    try:
        listed = {m.id for m in client.models.list()}
    except openai.OpenAIError as exc:
        _engine_failed(server, f"answers /health but not {server.base_url}/models ({exc})")
    missing = [n for n in names if n not in listed]
    if missing:
        _engine_failed(
            server, f"does not list {', '.join(missing)} at /v1/models (it lists {sorted(listed)})"
        )


def _status(http: Any, url: str) -> int | None:
    import httpx

    try:
        return http.get(url).status_code
    except httpx.HTTPError:
        return None


def _engine_failed(server: Server, what: str) -> None:
    """Stop the engine, show its last log lines, and fail in one line."""
    server.stop()
    tail = server.process.tail()
    for line in tail:
        print(f"  | {line}", file=sys.stderr)
    if any("address already in use" in line.lower() for line in tail):
        what = "could not listen: the port is in use; choose another with serve.port=..."
    raise ChatlikeError(f"serve: {server.engine_name} {what}; its log: {server.process.log_path}")


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
