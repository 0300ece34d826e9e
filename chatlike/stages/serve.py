"""serve: the run's clone behind an OpenAI-compatible server (transformers serve or vLLM), in the
foreground until Ctrl-C, which stops it (chatlike.model.serve says what each engine is given).
With the bot stage (`stages=[serve,bot]`) the bot starts it in the background instead.

At start it prints the URL, the model name, the contacts and a ready curl and Python example, and
writes RUN/serve.json (base URL, model names, every chat's system prompt) for other programs.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.model import serve
    from chatlike.rundir import RunDir

    if "bot" in cfg.stages:  # stages=[serve,bot]: the bot stage starts the server and stops it with itself
        return
    started = time.monotonic()
    stop_on = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        server = serve.start(cfg, run_dir)
        try:
            print(
                serve.banner(server, cfg, RunDir(run_dir).serve_json, time.monotonic() - started), flush=True
            )
            code = server.wait()
        except KeyboardInterrupt:
            print(f"\nserve: stopping {server.engine_name}", flush=True)
            server.stop()
            print("serve: stopped", flush=True)
            return
        server.stop()
        for line in server.process.tail():
            print(f"  | {line}", file=sys.stderr)
        raise ChatlikeError(
            f"serve: {server.engine_name} stopped by itself (exit code {code}); its log: {server.process.log_path}"
        )
    finally:
        for sig, handler in stop_on.items():
            signal.signal(sig, handler)


def _interrupt(signum, frame) -> None:
    """SIGTERM or a closed terminal stop the server as Ctrl-C does, so no engine outlives chatlike."""
    raise KeyboardInterrupt
