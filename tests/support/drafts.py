"""A draft-mode session of the bot for real (`stages=[bot]`, aiogram against the Bot API stand-in, a
model stand-in proposing): the owner sends, discards and corrects drafts. The bot's tests check the
session; the feedback tests learn from what it leaves in RUN/bot/conversations.jsonl."""

import json
import os
import time
from dataclasses import dataclass
from typing import Optional

from tests.support.processes import Serving
from tests.support.standins import ModelStandin, TelegramStandin

TOKEN = "123456789:AAH-test-secret-0f3c9e5b7d_chatlike"
OWNER, LORENZO = 4242, 1001
ENV = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}


@dataclass(frozen=True)
class Turn:
    asked: str  # what Lorenzo writes
    proposed: str  # what the model proposes
    decision: str  # send | discard | edit
    correction: Optional[str] = None  # edit: what the owner replies to the draft


@dataclass
class Session:
    telegram: TelegramStandin
    model: ModelStandin
    output: str


def buttons(draft: dict) -> dict[str, str]:
    """A draft's buttons: label -> callback data."""
    return {b["text"]: b["callback_data"] for b in json.loads(draft["reply_markup"])["inline_keyboard"][0]}


def wait(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, what
        time.sleep(0.05)


def draft_session(run, turns: list[Turn], *overrides: str) -> Session:
    """The owner starts the bot, then decides each of Lorenzo's drafts in turn; the bot is stopped
    once every exchange is recorded."""
    model, telegram = ModelStandin(""), TelegramStandin(TOKEN)
    bot = Serving(
        "experiment=smoke", f"hydra.run.dir={run}", f"bot.telegram_api={telegram.url}", "bot.delay_seconds=0",
        f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.mode=draft", f"bot.owner={OWNER}",
        "bot.disclosure=null", f"bot.allow={{{LORENZO}: Lorenzo}}", *overrides, env=ENV, stages="stages=[bot]",
    )  # fmt: skip
    record = run / "bot" / "conversations.jsonl"

    def recorded() -> int:
        return len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0

    try:
        bot.wait_for("Ctrl-C stops it")
        telegram.say(OWNER, "/start")
        telegram.wait_sent(OWNER, 1)
        for turn in turns:
            before, shown = recorded(), len(telegram.sent(OWNER))
            model.reply = turn.proposed
            telegram.say(LORENZO, turn.asked)
            draft = telegram.wait_sent(OWNER, shown + 1)[-1]
            message = {"message_id": draft["message_id"], "date": int(time.time()),
                       "chat": {"id": OWNER, "type": "private"}, "text": draft["text"]}  # fmt: skip
            if turn.decision == "edit":
                telegram.press(OWNER, message, buttons(draft)["Edit"])  # it explains the reply gesture
                telegram.say(OWNER, turn.correction, reply_to=draft)
            else:
                telegram.press(
                    OWNER, message, buttons(draft)["Send" if turn.decision == "send" else "Discard"]
                )
            wait(lambda b=before: recorded() > b, f"no exchange recorded for {turn}:\n{bot.output}")
    finally:
        bot.stop()
        telegram.close()
        model.close()
    return Session(telegram, model, bot.output)
