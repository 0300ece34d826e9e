"""The LLM judge (filter.judge): it rates the training samples through an OpenAI-compatible server
(a stand-in that rates as told, over real HTTP; and chatlike's own serve of the smoke model, which
cannot follow the format), and drops those rated below the threshold; a server that fails mid-way
is one line and leaves the run dir as it was."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.support import synth
from tests.support.processes import Serving, free_port
from tests.support.standins import ModelStandin

ME, LORENZO = synth.ME, synth.LORENZO
T0 = synth.SAMPLE_START
KEY = "sk-judge-secret-4242"


def export(tmp_path: Path) -> Path:
    """Lorenzo's chat: 12 conversations, every third one of my replies nonsense."""
    msgs = []
    for k in range(12):
        t = T0 + k * 36_000
        mine = f"banana {k} telefono nuvola" if k % 3 == 0 else f"sì, alle {k} al bar"
        msgs += [synth.message(2 * k + 1, t, LORENZO, f"ci vediamo oggi? giro {k}"),
                 synth.message(2 * k + 2, t + 60, ME, mine)]  # fmt: skip
    path = tmp_path / "result.json"
    info = synth.personal_information(synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")
    synth.write_export(path, synth.full_export([synth.personal_chat(LORENZO, msgs)], info=info))
    return path


def rater(body: dict) -> str:
    """Rates each numbered conversation: 1 for coherence where my reply is nonsense, else 5."""
    blocks = re.split(r"Conversation (\d+):\n", body["messages"][-1]["content"])[1:]
    ratings = [{"id": int(i), "relevance": 4, "coherence": 1 if "banana" in text else 5}
               for i, text in zip(blocks[::2], blocks[1::2])]  # fmt: skip
    return "Here you are:\n```json\n" + json.dumps(ratings) + "\n```"


def args(src: Path, run: Path, url: str, *more: str) -> list[str]:
    return [f"source.path={src}", f"hydra.run.dir={run}", "stages=[prepare]", "filter.min_messages=0",
            "split.test_fraction=0.25", "split.val_fraction=0", "split.near_duplicate_threshold=null",
            f"filter.judge.api_base={url}/v1", "filter.judge.batch_size=4", *more]  # fmt: skip


def said(run: Path, split: str) -> str:
    return (run / "data" / f"{split}.jsonl").read_text(encoding="utf-8")


def test_the_judge_drops_the_training_samples_it_rates_below_the_threshold(tmp_path, cli):
    src, run = export(tmp_path), tmp_path / "run"
    judge = ModelStandin(rater, models=("judge-model",))
    try:
        proc = cli(*args(src, run, judge.url), env={**os.environ, "CHATLIKE_JUDGE_API_KEY": KEY}, check=True)
    finally:
        judge.close()
    assert "banana" not in said(run, "train") and said(run, "train").count("\n") == 6
    assert said(run, "test").count("banana") == 1  # held out: not the judge's to drop (9 is in test)
    stats = json.loads((run / "data" / "stats.json").read_text(encoding="utf-8"))
    assert stats["judge"] == {"model": "judge-model", "threshold": 3.0, "judged": 9, "dropped": 3,
                              "scores": {"1": 3, "4": 6}}  # fmt: skip
    assert stats["segment"]["duplicates_dropped"] == 0  # the judge's drops are its own
    assert [len(re.findall("Conversation \\d+:", r["messages"][-1]["content"])) for r in judge.requests] == [
        4,
        4,
        1,
    ]
    assert all(r["model"] == "judge-model" and r["_auth"] == f"Bearer {KEY}" for r in judge.requests)
    assert (
        "Lorenzo: ci vediamo oggi? giro 1\nPasquale Esposito: sì, alle 1 al bar"
        in judge.requests[0]["messages"][-1]["content"]
    )
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "**The LLM judge** (`filter.judge`, model `judge-model`) rated 9 training samples" in report
    assert "dropped the 3 rated below 3" in report
    for f in run.rglob("*"):
        assert not f.is_file() or KEY not in f.read_text(encoding="utf-8", errors="replace"), f
    assert KEY not in proc.stdout + proc.stderr


def outputs(run: Path) -> dict:
    """prepare's files (not Hydra's config snapshots and log), with their bytes and times."""
    return {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in run.rglob("*")
            if f.is_file() and ".hydra" not in f.parts and f.name != "app.log"}  # fmt: skip


def test_a_judge_that_fails_midway_is_one_line_and_nothing_is_written(tmp_path, cli):
    src, run = export(tmp_path), tmp_path / "run"
    cli(*args(src, run, "http://127.0.0.1:9")[:-2], check=True)  # an earlier prepare, no judge
    before = outputs(run)
    judge = ModelStandin(rater, fail_after=1)
    try:
        started = time.time()
        proc = cli(*args(src, run, judge.url))
    finally:
        judge.close()
    assert proc.returncode == 1 and time.time() - started < 120
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert "filter.judge: smoke at" in line and "samples 5-8 of 9: failed" in line
    assert "nothing was written" in line and "Traceback" not in proc.stderr
    assert outputs(run) == before


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("I think they are all fine!", "the answer is not the JSON array of ratings asked for"),
        (
            '[{"id": 1, "relevance": 9, "coherence": 2}]',
            "the answer is not the JSON array of ratings asked for",
        ),
        (
            '[{"id": 1, "relevance": 3, "coherence": 2}]',
            "no rating for conversation(s) [2, 3, 4] of the batch",
        ),
    ],
)
def test_an_answer_out_of_the_format_is_one_line(tmp_path, cli, answer, expected):
    src, run = export(tmp_path), tmp_path / "run"
    judge = ModelStandin(answer)
    try:
        proc = cli(*args(src, run, judge.url))
    finally:
        judge.close()
    assert proc.returncode == 1 and expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (run / "data").exists()


def test_a_judge_elsewhere_is_refused_unless_allowed(tmp_path, cli):
    src, run = export(tmp_path), tmp_path / "run"
    proc = cli(*args(src, run, "http://judge.example.com"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "filter.judge.api_base=http://judge.example.com/v1 is not on this machine" in proc.stderr
    assert "filter.judge.allow_remote=true" in proc.stderr and not (run / "data").exists()


@pytest.mark.slow
def test_the_smoke_models_own_serve_as_the_judge_cannot_follow_the_format_one_line(
    trained_run, tmp_path, cli
):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": ""}
    serving = Serving("experiment=smoke", f"hydra.run.dir={trained_run}", f"serve.port={port}", env=env)
    try:
        serving.wait_for("Ctrl-C stops the server")
        src, run = export(tmp_path), tmp_path / "run"
        proc = cli(*args(src, run, f"http://127.0.0.1:{port}"), "filter.judge.batch_size=2")
    finally:
        assert serving.stop() == 0
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"filter.judge: smoke at http://127.0.0.1:{port}/v1, samples 1-2 of 9" in proc.stderr
    assert "the answer is not the JSON array of ratings asked for" in proc.stderr
    assert not (run / "data").exists()
