"""The bot stage, for real: `python -m chatlike ... stages=[bot]` (aiogram) pointed at a Telegram Bot
API stand-in on 127.0.0.1 (tests/support/standins.py) and at the real `transformers serve` of the smoke
clone; an OpenAI-compatible stand-in only where the tiny clone cannot be made to say something
(a phone number), to be slow, or where what is checked is Telegram's side (drafts, delivery)."""

import json
import os
import shutil
import signal
import socket
import time

import pytest

from chatlike.bot.telegram import telegram_messages
from chatlike.config import DISCLOSURE
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats, write_chats
from chatlike.rundir import RunDir
from tests.support.cli import run_cli
from tests.support.drafts import Turn, draft_session
from tests.support.processes import Serving, alive, environ_of, free_port
from tests.support.standins import ModelStandin, TelegramStandin

TOKEN = "123456789:AAH-test-secret-0f3c9e5b7d_chatlike"  # must show up nowhere but the stand-in's URL
SECRET = TOKEN.split(":")[1]
LORENZO, GIULIA, ANNA, STRANGER, OWNER = 1001, 1002, 1003, 6666, 4242
GROUP = -500  # a group the owner writes in, not allowed
ALLOW = f"bot.allow={{{LORENZO}: Lorenzo, {GIULIA}: Giulia Russo, @anna_s: Anna Smith}}"
ENV = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": "not-for-the-engine"}
UNAVAILABLE = "Sorry, I can't answer right now."
REFUSAL = "Sorry, I don't know you: this is a private bot."


def disclosure() -> str:
    return DISCLOSURE.format(owner="Pasquale Esposito")


def copy_run(trained_run, dest):
    shutil.copytree(
        trained_run, dest, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*", "bot")
    )
    return dest


def records(run) -> list[dict]:
    """The exchanges of RUN/bot/conversations.jsonl (not its /forget lines)."""
    path = RunDir(run).bot_record
    lines = (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )
    return [r for r in lines if r.get("event", "exchange") == "exchange"]


def wait_records(run, chat_id: int, count: int, timeout: float = 60) -> list[dict]:
    """The exchanges of one chat in RUN/bot/conversations.jsonl, once there are `count` (the bot
    writes one just after its last message is sent)."""
    deadline = time.time() + timeout
    while len(mine := [r for r in records(run) if r["telegram_chat_id"] == chat_id]) < count:
        assert time.time() < deadline, mine
        time.sleep(0.05)
    return mine


def texts(messages: list[dict]) -> list[str]:
    return [m["text"] for m in messages]


def no_secret_anywhere(run, *outputs: str) -> None:
    files = [f for f in run.rglob("*") if f.is_file() and f.stat().st_size < 20_000_000]
    leaking = [str(f) for f in files if SECRET.encode() in f.read_bytes()]
    assert not leaking, leaking
    assert all(SECRET not in out for out in outputs)


def start_bot(run, telegram, *overrides, stages="stages=[bot]") -> Serving:
    bot = Serving(
        "experiment=smoke", f"hydra.run.dir={run}", f"bot.telegram_api={telegram.url}", "bot.delay_seconds=0",
        "chat.temperature=0", ALLOW, *overrides, env=ENV, stages=stages,
    )  # fmt: skip
    bot.wait_for("Ctrl-C stops it")
    return bot


# -- one line for what cannot run -----------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The smoke run prepared and configured (its tiny model built, untrained): enough for a bot
    that asks a model stand-in."""
    run = tmp_path_factory.mktemp("bot_prepared") / "run"
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare,configure]", check=True)
    return run


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("bot.token=123:abc", "comes from the TELEGRAM_BOT_TOKEN environment variable only"),
        ("bot.allow={@lo: Lorenzo}", "bot.allow has '@lo': use a Telegram user id"),
        ("bot.mode=draft", "bot.owner must be set for bot.mode=draft"),
        ("bot.mode=typing", "bot.mode must be one of auto, draft"),
    ],
)
def test_a_bad_bot_setting_is_one_line(prepared, override, message):
    proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", override)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]


def test_without_a_token_in_the_environment_the_bot_says_where_it_comes_from(prepared):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "chatlike: error: bot: set the TELEGRAM_BOT_TOKEN environment variable to your bot's token "
        "(from @BotFather); it is read from there only, never from a config"
    )


def test_with_no_server_up_the_bot_says_how_to_start_one(prepared):
    proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", env=ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "serve.json is missing" in line and "stages=[serve,bot]" in line and "bot.api_base" in line


def test_a_serve_json_whose_server_is_gone_is_one_line_before_the_bot_starts(prepared):
    """A chatlike killed with SIGKILL cannot remove its serve.json; the bot asks before it starts."""
    serve_json = RunDir(prepared).serve_json
    dead = f"http://127.0.0.1:{free_port()}/v1"
    serve_json.write_text(json.dumps({"base_url": dead, "models": {"smoke": {"run": str(prepared)}}}))
    try:
        proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", ALLOW, env=ENV)
    finally:
        serve_json.unlink()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert (
        line.startswith(f"chatlike: error: bot: no server answers at {dead}") and "stages=[serve,bot]" in line
    )
    proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", ALLOW,
                   "bot.api_base=http://127.0.0.1:9/v1", env=ENV)  # fmt: skip
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("chatlike: error: bot: no server answers at http://127.0.0.1:9/v1")
    )


def test_an_allowed_contact_not_in_the_run_is_one_line_listing_the_chats(prepared):
    proc = run_cli("experiment=smoke", f"hydra.run.dir={prepared}", "stages=[bot]", "bot.api_base=http://127.0.0.1:9/v1",
                   'bot.allow={1001: Lorenz}', env=ENV)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "chatlike: error: bot.allow names 'Lorenz', not a chat of this run; "
        "choose one of: Lorenzo, Giulia Russo, Anna Smith, Dmitri Volkov"
    )


def with_a_whatsapp_lorenzo(run):
    """The run's chats and a WhatsApp chat also named Lorenzo, with a prompt of its own."""
    index = read_chats(RunDir(run).chats)
    whatsapp = ChatInfo("Lorenzo", "personal_chat", ("Lorenzo",), "Sei Pasquale, su WhatsApp con Lorenzo.",
                        77, 1, 1, "whatsapp")  # fmt: skip
    write_chats(RunDir(run).chats, ChatIndex(index.me, (*index.chats, whatsapp)))
    return run


def test_a_name_two_chats_share_in_bot_allow_is_one_line_saying_how_to_choose(prepared, tmp_path):
    run = with_a_whatsapp_lorenzo(shutil.copytree(prepared, tmp_path / "run"))
    proc = run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[bot]", "bot.api_base=http://127.0.0.1:9/v1",
                   "bot.allow={1001: Lorenzo}", env=ENV)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("chatlike: error: bot.allow names 'Lorenzo', which is 2 chats of this run: ")
    assert "telegram:Lorenzo (personal_chat" in line and "whatsapp:Lorenzo (personal_chat" in line


# -- auto mode, against the real transformers serve of the smoke clone ----------------------------


@pytest.fixture(scope="module")
def served(trained_run, tmp_path_factory):
    run = copy_run(trained_run, tmp_path_factory.mktemp("bot") / "run")
    port = free_port()
    serving = Serving("experiment=smoke", f"hydra.run.dir={run}", f"serve.port={port}")
    serving.wait_for("Ctrl-C stops the server")
    yield run, serving
    if serving.proc.poll() is None:
        serving.stop()


@pytest.fixture(scope="module")
def telegram():
    standin = TelegramStandin(TOKEN)
    yield standin
    standin.close()


@pytest.fixture(scope="module")
def auto_bot(served, telegram):
    run, _ = served
    bot = start_bot(run, telegram)
    yield bot
    if bot.proc.poll() is None:
        bot.stop()


def direct_reply(run, contact: str, text: str) -> str:
    """What the served clone answers to `text` as the chat with `contact` (greedy), asked directly."""
    from openai import OpenAI

    serve = json.loads(RunDir(run).serve_json.read_text(encoding="utf-8"))
    client = OpenAI(base_url=serve["base_url"], api_key="unused", timeout=120)
    system = serve["models"]["smoke"]["system_prompts"][contact]
    reply = client.chat.completions.create(
        model="smoke", messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        temperature=0, top_p=0.9, max_tokens=256,
    )  # fmt: skip
    return reply.choices[0].message.content.strip()


@pytest.mark.slow
def test_an_allowed_user_gets_the_persona_reply_as_separate_messages(served, telegram, auto_bot):
    run, _ = served
    # a message the clone answers with several messages of its own (its training replies often are)
    candidates = ["ciao! ci sei stasera?", "dove sei?", "come va?", "ci vediamo dopo?", "hai finito?", "ok"]
    text, expected = next(
        ((t, telegram_messages(r, True)) for t in candidates if len(telegram_messages(r := direct_reply(run, "Lorenzo", t), True)) > 1),
        (None, None),
    )  # fmt: skip
    assert text is not None, "the smoke clone answered every candidate with one message"
    telegram.say(LORENZO, text)
    sent = telegram.wait_sent(LORENZO, 1 + len(expected))
    assert texts(sent) == [disclosure(), *expected]  # the AI disclosure first, once; then the reply
    assert any(
        int(p["chat_id"]) == LORENZO and p["action"] == "typing" for p in telegram.methods("sendChatAction")
    )
    (record,) = wait_records(run, LORENZO, 1)
    system = json.loads(RunDir(run).serve_json.read_text())["models"]["smoke"]["system_prompts"]["Lorenzo"]
    assert record["messages"] == [
        {"role": "system", "content": system},
        {"role": "user", "name": "Lorenzo", "content": text},
        {"role": "assistant", "name": "Pasquale Esposito", "content": "\n".join(expected)},
    ]  # the training format: the owner can train on it
    assert record["sent"] == expected and record["owner"] is None and record["mode"] == "auto"


@pytest.mark.slow
def test_unknown_users_get_one_refusal_and_start_explains_the_ai(served, telegram, auto_bot):
    run, _ = served
    before = len(records(run))
    telegram.say(STRANGER, "ciao, chi sei?")
    telegram.say(STRANGER, "rispondi!")
    telegram.say(ANNA, "/start", username="Anna_S")  # allowed by @username, any case
    assert texts(telegram.wait_sent(ANNA, 1)) == [disclosure()]
    assert texts(telegram.wait_sent(STRANGER, 1)) == [REFUSAL]
    time.sleep(1)
    assert texts(telegram.sent(STRANGER)) == [REFUSAL]  # once, not per message
    assert len(records(run)) == before  # nothing of theirs reached the model


@pytest.mark.slow
def test_forget_clears_the_chats_history(served, telegram, auto_bot):
    run, _ = served
    telegram.say(GIULIA, "ciao!")
    wait_records(run, GIULIA, 1)
    n = len(telegram.sent(GIULIA))
    telegram.say(GIULIA, "/forget")
    assert texts(telegram.wait_sent(GIULIA, n + 1))[-1] == "Forgotten: this chat starts afresh."
    telegram.say(GIULIA, "ci sei?")
    mine = wait_records(run, GIULIA, 2)
    assert [m["content"] for m in mine[-1]["messages"][1:]][:1] == ["ci sei?"]  # nothing before it
    assert mine[0]["messages"][0]["content"].endswith(
        "chatting with Giulia Russo. Respond naturally in their conversational style."
    )


@pytest.mark.slow
def test_a_flood_wait_is_waited_out_and_the_reply_still_arrives(served, telegram, auto_bot):
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    attempts = len(telegram.methods("sendMessage"))
    telegram.say(ANNA, "dove sei?", username="anna_s")
    sent = telegram.wait_sent(ANNA, 2)  # the disclosure of /start, then the reply
    calls = [(p, t) for m, p, t in telegram.calls if m == "sendMessage"][attempts:]
    failed, retried = calls[0], calls[1]
    assert "ok" not in failed[0] and failed[0]["text"] == retried[0]["text"] == sent[1]["text"]
    assert retried[1] - failed[1] >= 1.0  # retry_after, honoured
    assert "flood wait on SendMessage: retrying in 1 s" in auto_bot.output


@pytest.mark.slow
def test_the_model_server_stopped_mid_conversation_is_one_notice_and_the_bot_lives_on(
    served, telegram, auto_bot
):
    run, serving = served
    assert serving.stop() == 0
    n = len(telegram.sent(LORENZO))
    telegram.say(LORENZO, "ci sei ancora?")
    assert texts(telegram.wait_sent(LORENZO, n + 1))[-1] == UNAVAILABLE
    telegram.say(LORENZO, "pronto?")
    telegram.say(LORENZO, "/forget")
    assert texts(telegram.wait_sent(LORENZO, n + 2))[-1] == "Forgotten: this chat starts afresh."
    assert texts(telegram.sent(LORENZO))[n:] == [UNAVAILABLE, "Forgotten: this chat starts afresh."]  # once
    assert "no reply from http://127.0.0.1:" in auto_bot.output and auto_bot.proc.poll() is None

    assert auto_bot.stop() == 0 and auto_bot.lines[-1] == "bot: stopped"
    assert "Traceback" not in auto_bot.output
    no_secret_anywhere(run, auto_bot.output, serving.output)


# -- with a model stand-in: what the tiny clone cannot be made to do ------------------------------


@pytest.mark.slow
def test_replies_are_redacted_and_a_slow_server_is_one_notice(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    model = ModelStandin("chiamami al +39 333 123 4567\nscrivimi a mario.rossi@example.com")
    telegram = TelegramStandin(TOKEN)
    bot = start_bot(run, telegram, f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.reply_timeout_s=2",
                    "bot.disclosure=null")  # fmt: skip
    try:
        telegram.say(STRANGER, "ciao")
        assert texts(telegram.wait_sent(STRANGER, 1)) == [REFUSAL]
        telegram.say(LORENZO, "mi dai il numero di Marco?")
        assert texts(telegram.wait_sent(LORENZO, 2)) == ["chiamami al <PHONE>", "scrivimi a <EMAIL>"]
        assert [len(r["messages"]) for r in model.requests] == [2]  # the stranger's never reached it
        assert (
            wait_records(run, LORENZO, 1)[-1]["proposed"] == model.reply
        )  # the record keeps what the model said

        # two chats at once: each waits on the model beside the other, and each keeps its order
        model.delay_s, start = 1.0, len(model.requests)
        for text in ("a1", "a2"):
            telegram.say(GIULIA, text.replace("a", "g"))
            telegram.say(LORENZO, text)
        deadline = time.time() + 60
        while len(model.requests) < start + 4:
            assert time.time() < deadline, model.requests
            time.sleep(0.05)
        first_g, first_l = sorted(
            model.requests[start : start + 2], key=lambda r: r["messages"][0]["content"]
        )
        assert abs(first_g["_t"] - first_l["_t"]) < 0.9  # concurrent: not one after the other's second
        lorenzo = [r for r in model.requests[start:] if "Lorenzo" in r["messages"][0]["content"]]
        assert [m["content"] for m in lorenzo[-1]["messages"][-3:]] == [
            "a1",
            "\n".join(telegram_messages(model.reply, True)),
            "a2",
        ]
        telegram.wait_sent(GIULIA, 4)
        telegram.wait_sent(LORENZO, 6)

        # a fault in one chat (Telegram refuses its message) is a log line, and the bot goes on
        telegram.fail_next("sendMessage", 400, "Bad Request: chat not found")
        telegram.say(GIULIA, "g3")
        deadline = time.time() + 30
        while f"bot: chat {GIULIA}: TelegramBadRequest" not in bot.output:
            assert time.time() < deadline, bot.output
            time.sleep(0.05)

        model.delay_s = 5  # slower than bot.reply_timeout_s
        telegram.say(LORENZO, "ehi")
        assert texts(telegram.wait_sent(LORENZO, 7))[-1] == UNAVAILABLE
        telegram.say(LORENZO, "ehi?")
        time.sleep(3)
        model.delay_s = 0  # back
        telegram.say(LORENZO, "allora?")
        sent = texts(telegram.wait_sent(LORENZO, 9))
        assert sent[6:] == [UNAVAILABLE, "chiamami al <PHONE>", "scrivimi a <EMAIL>"]  # one notice per outage
        assert (
            model.requests[-1]["messages"][-1]["content"] == "ehi\nehi?\nallora?"
        )  # nothing they said is lost
    finally:
        bot.stop()
        telegram.close()
        model.close()
    no_secret_anywhere(run, bot.output)


# -- draft mode, with stages=[serve,bot] ----------------------------------------------------------


@pytest.mark.slow
def test_draft_mode_sends_only_what_the_owner_sends_and_ctrl_c_stops_server_and_bot(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    telegram = TelegramStandin(TOKEN)
    port = free_port()
    bot = start_bot(run, telegram, "bot.mode=draft", f"bot.owner={OWNER}", f"serve.port={port}",
                    stages="stages=[serve,bot]")  # fmt: skip
    try:
        telegram.say(OWNER, "/start")
        assert (
            texts(telegram.wait_sent(OWNER, 2))[1]
            == "You are the owner: each proposed reply comes here first."
        )
        telegram.say(LORENZO, "ciao! ci sei stasera?")
        proposal = telegram.wait_sent(OWNER, 3)[-1]
        assert proposal["text"].startswith("Lorenzo wrote:\nciao! ci sei stasera?\n\nProposed reply:\n")
        buttons = json.loads(proposal["reply_markup"])["inline_keyboard"][0]
        assert [b["text"] for b in buttons] == ["Send", "Edit", "Discard"]
        assert texts(telegram.sent(LORENZO)) == [disclosure()]  # nothing yet but the disclosure
        message = {
            "message_id": 99,
            "date": int(time.time()),
            "chat": {"id": OWNER, "type": "private"},
            "text": proposal["text"],
        }
        telegram.press(OWNER, message, buttons[0]["callback_data"])
        proposed = proposal["text"].split("Proposed reply:\n", 1)[1].split("\n")
        assert texts(telegram.wait_sent(LORENZO, 1 + len(proposed)))[1:] == proposed
        deadline = time.time() + 30
        while not (edits := telegram.methods("editMessageReplyMarkup")):
            assert time.time() < deadline
            time.sleep(0.05)
        assert int(edits[-1]["message_id"]) == 99  # the buttons are gone once decided
        assert telegram.methods("answerCallbackQuery")  # answered before the buttons went

        telegram.say(LORENZO, "e domani?")
        second = telegram.wait_sent(OWNER, 4)[-1]
        telegram.press(
            OWNER, message, json.loads(second["reply_markup"])["inline_keyboard"][0][2]["callback_data"]
        )
        deadline = time.time() + 30
        while len(records(run)) < 2:
            assert time.time() < deadline
            time.sleep(0.1)
        assert len(telegram.sent(LORENZO)) == 1 + len(proposed)  # discarded: nothing more sent
        first, discarded = records(run)
        assert first["owner"] == "send" and first["sent"] == proposed
        assert first["messages"][-1] == {
            "role": "assistant",
            "name": "Pasquale Esposito",
            "content": "\n".join(proposed),
        }
        assert discarded["owner"] == "discard" and discarded["sent"] is None
        assert discarded["messages"][-1]["content"] == "e domani?"  # it ends where the owner stopped it
        assert discarded["messages"][-2]["content"] == "\n".join(proposed)  # what was sent is history
        pids = bot.engine_pids()
        assert pids and RunDir(run).serve_json.is_file()
        engine = environ_of(pids[0])  # the engine has no use for the bot's token, nor any other secret
        assert "TELEGRAM_BOT_TOKEN" not in engine and SECRET not in "".join(engine.values())
        assert "AWS_SECRET_ACCESS_KEY" not in engine and engine["HF_HUB_OFFLINE"] == "1"
    finally:
        code = bot.stop(signal.SIGINT)
        telegram.close()
    assert code == 0, bot.output
    assert bot.lines[-3:] == ["bot: stopped", "serve: stopping transformers serve", "serve: stopped"]
    assert not RunDir(run).serve_json.exists()
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)  # Ctrl-C stopped the server too
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    no_secret_anywhere(run, bot.output)


@pytest.mark.slow
def test_an_engine_that_dies_under_the_bot_takes_serve_json_with_it_and_sigterm_stops_the_bot(
    trained_run, tmp_path
):
    run = copy_run(trained_run, tmp_path / "run")
    telegram = TelegramStandin(TOKEN)
    bot = start_bot(run, telegram, f"serve.port={free_port()}", stages="stages=[serve,bot]")
    try:
        assert RunDir(run).serve_json.is_file()
        for pid in bot.engine_pids():
            os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 10
        while RunDir(run).serve_json.exists():
            assert time.time() < deadline, bot.output
            time.sleep(0.1)
        bot.wait_for("serve: transformers serve stopped by itself")
        assert bot.proc.poll() is None  # the bot lives on: each chat gets bot.unavailable
        telegram.say(LORENZO, "ci sei?")
        assert texts(telegram.wait_sent(LORENZO, 2))[-1] == UNAVAILABLE
        code = bot.stop(signal.SIGTERM)  # as a process manager stops a service
    finally:
        if bot.proc.poll() is None:
            bot.proc.kill()
        telegram.close()
    assert code == 0 and bot.lines[-1] == "bot: stopped", bot.output
    assert "Traceback" not in bot.output


# -- with a model stand-in on a prepared run: drafts, delivery, which chat ------------------------


def wait_output(bot: Serving, text: str, count: int = 1, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while bot.output.count(text) < count:
        assert time.time() < deadline, bot.output
        time.sleep(0.05)


@pytest.mark.slow
def test_drafts_go_to_the_owners_private_chat_only_wait_for_its_start_and_are_bounded(prepared, tmp_path):
    run = shutil.copytree(prepared, tmp_path / "run")
    model, telegram = ModelStandin("ok\nva bene"), TelegramStandin(TOKEN)
    bot = start_bot(run, telegram, f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.mode=draft",
                    f"bot.owner={OWNER}", "bot.max_drafts=2", "bot.disclosure=null")  # fmt: skip
    try:
        telegram.say_in_group(
            GROUP, OWNER, "ciao a tutti"
        )  # the owner writes in a group: drafts never go there
        for i in range(3):
            telegram.say(LORENZO, f"domanda {i}")
        wait_output(
            bot, "bot: a draft for Lorenzo waits: the owner has not started the bot; send it /start", 3
        )
        wait_output(bot, "bot: draft 1 for Lorenzo dropped, undecided: more than bot.max_drafts=2 wait")
        assert telegram.sent(GROUP) == [] and telegram.sent(OWNER) == [] and telegram.sent(LORENZO) == []
        (dropped,) = wait_records(run, LORENZO, 1)
        assert dropped["owner"] == "dropped" and dropped["sent"] is None
        assert dropped["messages"][-1]["content"] == "domanda 0"

        telegram.say(OWNER, "/start")  # the drafts made before it are delivered now, in order
        sent = texts(telegram.wait_sent(OWNER, 3))
        assert sent[0] == "You are the owner: each proposed reply comes here first."
        assert sent[1:] == [f"Lorenzo wrote:\ndomanda {i}\n\nProposed reply:\nok\nva bene" for i in (1, 2)]
        telegram.say_in_group(GROUP, OWNER, "/start")
        telegram.say(LORENZO, "domanda 3")
        assert texts(telegram.wait_sent(OWNER, 4))[-1].startswith("Lorenzo wrote:\ndomanda 3\n")
        time.sleep(0.5)
        assert telegram.sent(GROUP) == [] and telegram.sent(LORENZO) == []
    finally:
        bot.stop()
        telegram.close()
        model.close()


@pytest.mark.slow
def test_only_what_cannot_have_arrived_is_sent_again(prepared, tmp_path):
    run = shutil.copytree(prepared, tmp_path / "run")
    model, telegram = ModelStandin("uno\ndue"), TelegramStandin(TOKEN)
    bot = start_bot(run, telegram, f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.disclosure=null",
                    "bot.telegram_timeout_s=1")  # fmt: skip
    try:
        # delivered, but the answer is lost (a read timeout): never sent twice, the rest of the reply dropped
        telegram.stall_next("sendMessage", 3)
        telegram.say(LORENZO, "ci sei?")
        (record,) = wait_records(run, LORENZO, 1)
        assert record["sent"] == ["uno"] and record["proposed"] == "uno\ndue"
        time.sleep(4)  # longer than any retry would wait
        assert texts(telegram.sent(LORENZO)) == ["uno"]
        assert (
            "bot: chat 1001: message 1 of 2 unconfirmed, not sent again (it may have arrived)" in bot.output
        )

        # a 5xx: whether it was done is unknown too: one attempt
        telegram.fail_next("sendMessage", 502, "Bad Gateway")
        attempts = len(telegram.methods("sendMessage"))
        telegram.say(LORENZO, "pronto?")
        wait_records(run, LORENZO, 2)
        time.sleep(3)
        assert len(telegram.methods("sendMessage")) == attempts + 1

        # refused connections: nothing reached Telegram, so the message is sent once it is back
        model.delay_s, before = 2.0, len(model.requests)
        telegram.say(LORENZO, "e allora?")
        deadline = time.time() + 30
        while len(model.requests) == before:
            assert time.time() < deadline
            time.sleep(0.05)
        telegram.down()
        time.sleep(3.5)
        telegram.up()
        assert texts(telegram.wait_sent(LORENZO, 3, timeout=60)) == ["uno", "uno", "due"]
        assert (
            "SendMessage failed (TelegramNetworkError: HTTP Client says - ClientConnectorError" in bot.output
        )
        wait_records(run, LORENZO, 3)
    finally:
        bot.stop()
        telegram.close()
        model.close()


@pytest.mark.slow
def test_two_chats_of_one_name_are_told_apart_by_their_source(prepared, tmp_path):
    run = with_a_whatsapp_lorenzo(shutil.copytree(prepared, tmp_path / "run"))
    model, telegram = ModelStandin("ciao"), TelegramStandin(TOKEN)
    bot = start_bot(run, telegram, f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.disclosure=null",
                    f'bot.allow={{{LORENZO}: "whatsapp:Lorenzo", {GIULIA}: "telegram:Lorenzo"}}')  # fmt: skip
    try:
        assert f"{LORENZO} as whatsapp:Lorenzo, {GIULIA} as telegram:Lorenzo" in bot.output
        telegram.say(LORENZO, "ehi")
        (record,) = wait_records(run, LORENZO, 1)
        assert model.requests[0]["messages"][0]["content"] == "Sei Pasquale, su WhatsApp con Lorenzo."
        assert record["chat"] == "whatsapp:77" and record["contact"] == "Lorenzo"
        telegram.say(GIULIA, "ehi")
        assert wait_records(run, GIULIA, 1)[0]["messages"][0]["content"].startswith(
            "You are Pasquale Esposito, chatting with Lorenzo"
        )
    finally:
        bot.stop()
        telegram.close()
        model.close()


@pytest.mark.slow
def test_a_restarted_bot_remembers_each_chat_and_what_was_forgotten(prepared, tmp_path):
    run = shutil.copytree(prepared, tmp_path / "run")
    model, telegram = ModelStandin("ciao\ncome va"), TelegramStandin(TOKEN)
    args = (f"bot.api_base={model.url}/v1", "bot.model=smoke", "bot.disclosure=null")
    bot = start_bot(run, telegram, *args)
    try:
        telegram.say(LORENZO, "ehi")
        telegram.say(GIULIA, "ciao!")
        wait_records(run, LORENZO, 1), wait_records(run, GIULIA, 1)
        telegram.say(GIULIA, "/forget")
        telegram.wait_sent(GIULIA, 3)
    finally:
        bot.stop()
        telegram.close()
    telegram = TelegramStandin(TOKEN)  # the updates of the first run were confirmed
    bot = start_bot(run, telegram, *args)
    try:
        telegram.say(LORENZO, "e poi?")
        wait_records(run, LORENZO, 2)
        telegram.say(GIULIA, "ci sei?")
        wait_records(run, GIULIA, 2)
        by_chat = {r["messages"][-1]["content"]: r["messages"] for r in model.requests[-2:]}
        assert [(m["role"], m["content"]) for m in by_chat["e poi?"][1:]] == [
            ("user", "ehi"), ("assistant", "ciao\ncome va"), ("user", "e poi?"),
        ]  # fmt: skip
        assert [m["content"] for m in by_chat["ci sei?"][1:]] == ["ci sei?"]  # forgotten before the restart
    finally:
        bot.stop()
        telegram.close()
        model.close()


SESSION = [
    Turn("ci vediamo stasera?", "certo\nalle 8", "send"),
    Turn("porti il vino?", "no", "discard"),
    Turn("e la torta?", "non so", "edit", "sì, la porto io\ncioccolato"),
]


@pytest.mark.slow
def test_in_draft_mode_the_owner_sends_discards_or_corrects_and_each_exchange_is_recorded(prepared, tmp_path):
    run = shutil.copytree(prepared, tmp_path / "run")
    session = draft_session(run, SESSION)
    assert texts(session.telegram.sent(LORENZO)) == ["certo", "alle 8", "sì, la porto io", "cioccolato"]
    edit_help = [
        q
        for q in session.telegram.methods("answerCallbackQuery")
        if "reply to this draft" in q.get("text", "")
    ]
    assert len(edit_help) == 1 and edit_help[0]["show_alert"] in (True, "true")  # the Edit button explains
    assert texts(session.telegram.sent(OWNER))[-1] == "Sent your reply to Lorenzo."
    sent, discarded, edited = records(run)
    assert (sent["owner"], sent["proposed"], sent["sent"]) == ("send", "certo\nalle 8", ["certo", "alle 8"])
    assert (discarded["owner"], discarded["proposed"], discarded["sent"]) == ("discard", "no", None)
    assert (edited["owner"], edited["proposed"]) == ("edit", "non so")
    assert edited["sent"] == ["sì, la porto io", "cioccolato"]
    assert [(m["role"], m["content"]) for m in edited["messages"][1:]] == [
        ("user", "ci vediamo stasera?"), ("assistant", "certo\nalle 8"),
        ("user", "porti il vino?\ne la torta?"), ("assistant", "sì, la porto io\ncioccolato"),
    ]  # fmt: skip
    # the correction is the chat's history: the next proposal follows it
    assert session.model.requests[-1]["messages"][-1]["content"] == "porti il vino?\ne la torta?"
