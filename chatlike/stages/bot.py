"""bot: the clone answers in Telegram (chatlike.bot.telegram), through an OpenAI-compatible server.

`stages=[bot]` talks to the server RUN/serve.json names (a `stages=[serve]` running beside it) or
to bot.api_base; `stages=[serve,bot]` starts the server first, and Ctrl-C stops both. The bot's
token comes from the TELEGRAM_BOT_TOKEN environment variable only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.rundir import RunDir

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


def run(cfg: Config, run_dir: Path) -> None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ChatlikeError(
            f"bot: set the {TOKEN_ENV} environment variable to your bot's token (from @BotFather); "
            "it is read from there only, never from a config"
        )
    _quiet_logs(token)
    from chatlike.model import serve

    server = serve.start(cfg, run_dir) if "serve" in cfg.stages else None
    try:
        if server is not None:
            print(f"serve: {server.engine_name} ready at {server.base_url} (log: {server.process.log_path})")
        asyncio.run(_run_bot(cfg, run_dir, token))
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            print(f"bot: stopping {server.engine_name}", flush=True)
            server.stop()
    print("bot: stopped", flush=True)


async def _run_bot(cfg: Config, run_dir: Path, token: str) -> None:
    from aiogram.utils.token import TokenValidationError, validate_token

    from chatlike.bot.telegram import CloneBot, check_allow, serve_forever
    from chatlike.conversation import Template
    from chatlike.data.chats import read_chats
    from chatlike.model import load

    try:
        validate_token(token)
    except TokenValidationError:
        raise ChatlikeError(f"bot: {TOKEN_ENV} does not look like a bot token (123456:ABC...)") from None
    endpoint, clone_run = endpoint_of(cfg, run_dir)
    index = read_chats(RunDir(clone_run).chats)
    check_allow(cfg.bot.allow, index)  # before the tokenizer loads: a typo fails at once
    tokenizer = load.load_tokenizer(cfg, clone_run)
    clone = CloneBot(
        cfg,
        index,
        endpoint,
        Template.of(tokenizer).count,
        budget_of(cfg),
        RunDir(run_dir).bot_record,
    )
    await serve_forever(clone, token, cfg.bot.telegram_api)


def endpoint_of(cfg: Config, run_dir: Path):
    """The server and model to ask (bot.api_base / bot.model, else RUN/serve.json's) and the run
    whose chats and tokenizer the model has."""
    from chatlike.bot.telegram import Endpoint
    from chatlike.model.serve import API_KEY_ENV

    b, path = cfg.bot, RunDir(run_dir).serve_json
    models: dict = {}
    served_at = None
    if path.is_file():
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            models, served_at = dict(info["models"]), str(info["base_url"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ChatlikeError(
                f"{path} is not serve's ({type(exc).__name__}: {exc}); start serve again"
            ) from None
    elif b.api_base is None:
        raise ChatlikeError(
            f"{path} is missing: no server of this run is up; run 'stages=[serve,bot]', or serve in another "
            "terminal ('stages=[serve]'), or set bot.api_base to an OpenAI-compatible server"
        )
    model = b.model or (next(iter(models)) if models else cfg.serve.model_name or cfg.name)
    if b.api_base is None and model not in models:
        raise ChatlikeError(f"bot.model={model!r} is not served ({path} lists {', '.join(models)})")
    base = (b.api_base or served_at).rstrip("/")
    clone_run = Path(models[model]["run"]) if model in models else Path(run_dir)
    return Endpoint(base, model, os.environ.get(API_KEY_ENV) or None), clone_run


def budget_of(cfg: Config) -> int:
    """Tokens a prompt may take: the model's context (vLLM's serve.max_model_len when smaller) less the
    room for the reply (chat.max_new_tokens)."""
    context = cfg.model.max_context
    if cfg.serve.engine == "vllm" and cfg.serve.max_model_len:
        context = min(context, cfg.serve.max_model_len)
    return context - cfg.chat.max_new_tokens


def _quiet_logs(token: str) -> None:
    """The token out of every log line (a library may log a URL holding it), and no line per update."""
    from chatlike.bot.telegram import Redact

    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    for handler in root.handlers:
        handler.addFilter(Redact(token))
    for name in ("aiogram.event", "httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
