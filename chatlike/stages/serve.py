"""serve: the run's clone behind an OpenAI-compatible server (transformers serve or vLLM;
chatlike.model.serve says what each engine is given), a long-running service.

Last of the stages (`stages=[serve]`), it runs in the foreground: it prints the URL, the model name,
the contacts and a ready curl and Python example, and waits until Ctrl-C, SIGTERM or SIGHUP, which
stop it. Followed by other stages (`stages=[serve,bot]`), `running` keeps it up while they run and
stops it when they end. Either way RUN/serve.json (base URL, model names, every chat's system
prompt) describes it for other programs exactly as long as it runs. The signals are handled here,
explicitly: started in the background by a script, Python inherits an ignored SIGINT.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.proc import stopping_on_signals


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.model import serve
    from chatlike.rundir import RunDir

    started = time.monotonic()
    with stopping_on_signals(), serve.running(cfg, run_dir) as server:
        print(serve.banner(server, cfg, RunDir(run_dir).serve_json, time.monotonic() - started), flush=True)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            return  # serve.running stops the engine
    for line in server.process.tail():
        print(f"  | {line}", file=sys.stderr)
    raise ChatlikeError(
        f"serve: {server.engine_name} stopped by itself (exit code {code}); its log: {server.process.log_path}"
    )


@contextmanager
def running(cfg: Config, run_dir: Path) -> Iterator[None]:
    """The server in the background while the later stages run; stopped when they end, or on
    Ctrl-C or SIGTERM meanwhile."""
    from chatlike.model import serve

    with stopping_on_signals(), serve.running(cfg, run_dir) as server:
        print(
            f"serve: {server.engine_name} ready at {server.base_url} (log: {server.process.log_path})",
            flush=True,
        )
        yield
