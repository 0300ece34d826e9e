"""bot: the clone answers in Telegram (chatlike.bot.telegram), through an OpenAI-compatible server.

It talks to the server RUN/serve.json names (a `stages=[serve]` running beside it, or the one
`stages=[serve,bot]` keeps up while the bot runs: Ctrl-C stops both) or to bot.api_base, and refuses
to start, in one line, when that server does not answer. The bot's token comes from the
TELEGRAM_BOT_TOKEN environment variable only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.proc import secret
from chatlike.rundir import RunDir

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


def run(cfg: Config, run_dir: Path) -> None:
    token = secret(TOKEN_ENV)
    if not token:
        raise ChatlikeError(
            f"bot: set the {TOKEN_ENV} environment variable to your bot's token (from @BotFather); "
            "it is read from there only, never from a config"
        )
    _quiet_logs(token)
    try:
        asyncio.run(_run_bot(cfg, run_dir, token))
    except KeyboardInterrupt:
        pass
    print("bot: stopped", flush=True)


async def _run_bot(cfg: Config, run_dir: Path, token: str) -> None:
    from aiogram.utils.token import TokenValidationError, validate_token

    from chatlike.bot.telegram import CloneBot, check_allow, serve_forever
    from chatlike.data.chats import read_chats
    from chatlike.model import load

    try:
        validate_token(token)
    except TokenValidationError:
        raise ChatlikeError(f"bot: {TOKEN_ENV} does not look like a bot token (123456:ABC...)") from None
    endpoint, clone_run = endpoint_of(cfg, run_dir)
    index = read_chats(RunDir(clone_run).chats)
    check_allow(cfg.bot.allow, index)  # before the tokenizer loads: a typo fails at once
    check_answers(endpoint)
    template = load.load_template(cfg, clone_run)
    clone = CloneBot(
        cfg,
        index,
        endpoint,
        template,
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
    return Endpoint(base, model, secret(API_KEY_ENV)), clone_run


def check_answers(endpoint) -> None:
    """One line when the server the bot would use does not answer, or does not serve its model (a
    serve.json left by a chatlike that was killed, a wrong bot.api_base): the bot would answer every
    message with bot.unavailable."""
    import openai

    client = openai.OpenAI(
        base_url=endpoint.base_url, api_key=endpoint.api_key or "unused", timeout=10, max_retries=0
    )
    try:
        listed = [m.id for m in client.models.list()]
    except openai.APIStatusError as exc:
        raise ChatlikeError(
            f"bot: the server at {endpoint.base_url} answers {exc.status_code} to /models: is it an "
            "OpenAI-compatible server (bot.api_base), with CHATLIKE_API_KEY its key?"
        ) from None
    except openai.OpenAIError:
        raise ChatlikeError(
            f"bot: no server answers at {endpoint.base_url}; start one ('stages=[serve,bot]', or 'stages=[serve]' "
            "in another terminal), or set bot.api_base to an OpenAI-compatible server"
        ) from None
    if endpoint.model not in listed:
        raise ChatlikeError(
            f"bot: the server at {endpoint.base_url} does not serve {endpoint.model!r} (it lists "
            f"{', '.join(listed) or 'nothing'}); set bot.model"
        )


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
