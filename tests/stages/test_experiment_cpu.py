"""experiment=cpu: the real SmolLM2-135M-Instruct through every stage on CPU, as a user runs it
(prepare, configure with its plan, Axolotl LoRA training, eval), then chat, merge, serve and the bot on
its run dir, as on experiment=smoke. Few steps and few replies here (about 5 minutes on 2 cores);
the full run (60 steps, every held-out reply, ~15 minutes) is what the README reports."""

from __future__ import annotations

import json
import os

import pytest

from chatlike.config import DISCLOSURE
from chatlike.eval.results import read_results
from chatlike.rundir import RunDir
from tests.support.cli import run_cli
from tests.support.processes import Serving, free_port
from tests.support.standins import TelegramStandin

TOKEN = "123456789:AAH-test-secret-0f3c9e5b7d_experiment_cpu"
LORENZO = 1001


@pytest.mark.slow
def test_experiment_cpu_runs_every_stage_with_smollm2_and_its_run_chats_merges_serves_and_bots(
    smollm2_folder, tmp_path
):
    run = tmp_path / "run"
    cpu = ("experiment=cpu", f"hydra.run.dir={run}")
    few = ("train.max_steps=2", "eval.max_samples=4", "eval.max_new_tokens=8", "eval.parrot_draws=3")
    proc = run_cli(*cpu, *few, check=True)
    out = proc.stdout
    assert "training plan:" in out and "sequence_len (longest, rounded up, capped)" in out
    assert f"wrote {RunDir(run).axolotl_yaml} and {RunDir(run).launch_sh} (2 steps, sequence_len 256)" in out
    assert (RunDir(run).train / "adapter_model.safetensors").is_file()
    results = read_results(RunDir(run).eval_results)
    assert results.generation.samples == 4 and 0 <= results.score <= 100

    chat = run_cli(
        *cpu, "stages=[chat]", "chat.temperature=0", "chat.max_new_tokens=16", input="ciao!\n", check=True
    )
    assert chat.stdout.endswith("\n\n") and "<|im" not in chat.stdout  # one reply, ended at <|im_end|>

    run_cli(*cpu, "stages=[merge]", check=True)
    merged = json.loads((RunDir(run).merged / "generation_config.json").read_text())
    assert merged["eos_token_id"] == [2]  # <|im_end|>, SmolLM2's end of turn (and EOS)

    # the laptop: llama.cpp's own converter on the trained ChatML clone, checked against transformers
    run_cli(*cpu, "stages=[export]", "export.contact=Lorenzo", check=True)
    exported = json.loads(RunDir(run).exports.checks.read_text())
    checks = exported["checks"]
    assert checks["passed"] and checks["prompt_ids_match"] and checks["greedy_match"]
    assert checks["compared_tokens"] == 16 and checks["quantized"]["quant"] == "q4_k_m"
    modelfile = (RunDir(run).exports.folder / "Modelfile").read_text()
    assert 'PARAMETER stop "<|im_end|>"' in modelfile and "<|im_start|>" in modelfile

    telegram = TelegramStandin(TOKEN)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    both = Serving(
        *cpu, f"serve.port={free_port()}", f"bot.telegram_api={telegram.url}", "bot.delay_seconds=0",
        "chat.temperature=0", "chat.max_new_tokens=16", f"bot.allow={{{LORENZO}: Lorenzo}}",
        env=env, stages="stages=[serve,bot]",
    )  # fmt: skip
    try:
        both.wait_for("Ctrl-C stops it")
        telegram.say(LORENZO, "ciao! ci sei stasera?")
        sent = telegram.wait_sent(LORENZO, 2, timeout=180)
        disclosure = DISCLOSURE.format(owner="Pasquale Esposito")
        assert sent[0]["text"] == disclosure and all("<|im" not in m["text"] for m in sent[1:])
    finally:
        assert both.stop() == 0, both.output
        telegram.close()


@pytest.mark.slow
def test_a_run_the_loss_watchdog_stopped_is_one_line_not_a_trained_clone(smollm2_folder, tmp_path):
    run = tmp_path / "run"
    proc = run_cli(
        "experiment=cpu", f"hydra.run.dir={run}", "stages=[prepare,configure,train,eval]",
        "train.max_steps=10", "train.loss_watchdog_threshold=1", "train.loss_watchdog_patience=1",
    )  # fmt: skip
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith(
        "chatlike: error: Axolotl's loss watchdog stopped training after 2 logged steps (loss "
    )
    assert "train.loss_watchdog_threshold=1 " in line and not RunDir(run).eval_results.exists()
