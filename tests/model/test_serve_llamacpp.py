"""serve=llamacpp: llama.cpp's OpenAI-compatible server (llama-cpp-python's) on the run's GGUF,
started, described in RUN/serve.json and stopped like the other engines; real llama.cpp, on the
smoke clone that llama.cpp can read (model.tiny_tokenizer=smollm2); the bot, unchanged, answers
through it (against the Telegram Bot API stand-in)."""

import json
import os
import shutil
import signal

import httpx
import pytest

from chatlike.bot.telegram import telegram_messages
from chatlike.config import DISCLOSURE
from chatlike.errors import ChatlikeError
from chatlike.model.engines import llamacpp_command, prepare_llamacpp
from chatlike.model.gguf import threads
from chatlike.rundir import RunDir
from tests.support.cli import run_cli, smoke_cfg
from tests.support.processes import Serving, alive, environ_of, free_port
from tests.support.standins import TelegramStandin

SECRET = "sk-chatlike-test-llamacpp-51d2"
TOKEN = "123456789:AAH-test-llamacpp-bot-7e21"
LORENZO = 1001
OVERRIDES = ("experiment=smoke", "model.tiny_tokenizer=smollm2", "train.max_steps=200", "serve=llamacpp")


def test_the_command_serves_the_gguf_under_the_clones_name_on_all_cores_but_one(tmp_path):
    cfg = smoke_cfg("serve=llamacpp", "serve.port=8123")
    cmd = llamacpp_command(tmp_path / "smoke-q4_k_m.gguf", "smoke", cfg.serve, 2048, "python")
    assert cmd[:3] == ["python", "-m", "llama_cpp.server"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags["--model"] == str(tmp_path / "smoke-q4_k_m.gguf") and flags["--model_alias"] == "smoke"
    assert flags["--n_threads"] == str(threads()) == str(max(1, os.cpu_count() - 1))
    assert flags["--port"] == "8123" and "--api_key" not in cmd  # the key goes by the environment


def test_several_runs_are_one_line_saying_to_serve_each_alone(tmp_path):
    cfg = smoke_cfg("serve=llamacpp")
    with pytest.raises(ChatlikeError, match="serves one run"):
        prepare_llamacpp(cfg, RunDir(tmp_path), [object(), object()], "python")


@pytest.mark.slow
def test_serve_llamacpp_exports_first_answers_the_openai_client_checks_the_key_and_stops(
    exportable_run, tmp_path
):
    from openai import AuthenticationError, OpenAI

    run = tmp_path / "run"
    shutil.copytree(
        exportable_run, run, ignore=shutil.ignore_patterns("export", "prepared", "checkpoint-*", "serve*")
    )
    port = free_port()
    env = {**os.environ, "CHATLIKE_API_KEY": SECRET}
    serving = Serving(*OVERRIDES, f"hydra.run.dir={run}", f"serve.port={port}", env=env)
    try:
        serving.wait_for("Ctrl-C stops the server", timeout=900)
        out = serving.output
        assert "exporting the clone first" in out and RunDir(run).exports.gguf("smoke", "q4_k_m").is_file()
        assert f"llama.cpp's server at http://127.0.0.1:{port}/v1" in out
        serve_json = json.loads(RunDir(run).serve_json.read_text(encoding="utf-8"))
        assert serve_json["engine"] == "llamacpp" and serve_json["api_key_env"] == "CHATLIKE_API_KEY"
        prompts = serve_json["models"]["smoke"]["system_prompts"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401  # the key is checked
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=serve_json["base_url"], api_key="wrong", max_retries=0).models.list()
        client = OpenAI(base_url=serve_json["base_url"], api_key=SECRET, timeout=120, max_retries=0)
        assert [m.id for m in client.models.list()] == ["smoke"]
        messages = [
            {"role": "system", "content": prompts["Lorenzo"]},
            {"role": "user", "content": "ciao! ci sei?"},
        ]
        reply = client.chat.completions.create(model="smoke", messages=messages, temperature=0, max_tokens=64)
        assert reply.choices[0].finish_reason == "stop"  # at the end of its turn (the template's EOG)
        assert reply.usage.completion_tokens < 64 and "<|" not in reply.choices[0].message.content
        stream = client.chat.completions.create(
            model="smoke", messages=messages, temperature=0, max_tokens=64, stream=True
        )
        text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
        assert text == reply.choices[0].message.content  # greedy: the same reply, streamed
        # the bot against llama.cpp's server, as against any engine: the clone's greedy reply to
        # Lorenzo, as chat samples it, arrives as Telegram messages after the AI disclosure
        direct = client.chat.completions.create(model="smoke", messages=messages, temperature=0, top_p=0.9,
                                                max_tokens=256).choices[0].message.content.strip()  # fmt: skip
        telegram = TelegramStandin(TOKEN)
        bot = Serving(*OVERRIDES, f"hydra.run.dir={run}", f"bot.telegram_api={telegram.url}", "bot.delay_seconds=0",
                      "chat.temperature=0", f"bot.allow={{{LORENZO}: Lorenzo}}", stages="stages=[bot]",
                      env={**env, "TELEGRAM_BOT_TOKEN": TOKEN})  # fmt: skip
        try:
            bot.wait_for("Ctrl-C stops it")
            telegram.say(LORENZO, "ciao! ci sei?")
            expected = telegram_messages(direct, True)
            sent = [m["text"] for m in telegram.wait_sent(LORENZO, 1 + len(expected))]
            assert sent == [DISCLOSURE.format(owner="Pasquale Esposito"), *expected]
        finally:
            assert bot.stop(signal.SIGINT) == 0
            telegram.close()
        pids = serving.engine_pids()
        engine = environ_of(pids[0])
        assert engine.get("API_KEY") == SECRET and "CHATLIKE_API_KEY" not in engine  # only as it reads it
        assert SECRET not in " ".join(open(f"/proc/{pids[0]}/cmdline").read().split("\0"))
    finally:
        code = serving.stop(signal.SIGINT)
    assert code == 0 and serving.lines[-2:] == ["serve: stopping llama.cpp's server", "serve: stopped"]
    assert not RunDir(run).serve_json.exists() and not any(alive(p) for p in pids)
    files = [f for f in run.rglob("*") if f.is_file() and f.stat().st_size < 10_000_000]
    assert not any(SECRET.encode() in f.read_bytes() or TOKEN.encode() in f.read_bytes() for f in files)


def test_a_run_without_a_gguf_llama_cpp_can_make_is_one_line(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(
        trained_run, run, ignore=shutil.ignore_patterns("merged", "prepared", "checkpoint-*", "serve*")
    )
    proc = run_cli("experiment=smoke", "serve=llamacpp", f"hydra.run.dir={run}", f"serve.port={free_port()}",
                   "stages=[serve]")  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "model.tiny_tokenizer=smollm2" in proc.stderr.strip().splitlines()[-1]
