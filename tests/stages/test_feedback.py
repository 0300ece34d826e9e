"""The feedback stage for real: a draft session of the bot (tests/drafts.py) on the trained smoke
clone, then `stages=[feedback]`: the owner's decisions become KTO examples and DPO pairs, a real
Axolotl preference round trains on top of the run's adapter, and is measured on the held-out part."""

import json
import shutil

import pytest
import yaml

from chatlike.bot.record import read_exchanges
from chatlike.feedback.data import preferences
from chatlike.rundir import RunDir
from tests.support.cli import run_cli
from tests.support.drafts import Turn, draft_session

# four of each decision: 8 desirable (4 sent proposals, 4 corrections), 8 undesirable (4 discarded,
# 4 corrected proposals), 4 pairs
TURNS = [
    Turn(
        f"domanda {i}?", f"proposta {i}\nforse", decision, f"risposta mia {i}" if decision == "edit" else None
    )
    for i, decision in enumerate(["send", "discard", "edit"] * 4)
]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def taught(trained_run, tmp_path_factory):
    """The trained smoke run after the owner decided 12 drafts."""
    run = tmp_path_factory.mktemp("feedback") / "run"
    shutil.copytree(
        trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*", "bot")
    )
    draft_session(run, TURNS)
    return run


def feedback(run, *overrides: str):
    return run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[feedback]", *overrides)


@pytest.mark.slow
def test_the_owners_decisions_are_the_preference_data(taught):
    prefs = preferences(read_exchanges(RunDir(taught).bot_record))
    assert (prefs.desirable, prefs.undesirable, len(prefs.pairs)) == (8, 8, 4)
    edit = prefs.pairs[0]
    assert (edit.chosen, edit.rejected) == ("risposta mia 2", "proposta 2\nforse")
    assert (
        edit.prompt[-1]["content"] == "domanda 1?\ndomanda 2?"
    )  # a discarded draft leaves the question and edit.prompt[0]["role"] == "system"
    sent = [e for e in prefs.examples if e.exchange == 0]
    assert [(e.completion, e.label) for e in sent] == [("proposta 0\nforse", True)]


@pytest.mark.slow
def test_too_little_feedback_is_one_line_saying_how_much_is_needed(taught):
    proc = feedback(taught)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "chatlike: error: feedback: too little to train on: 4 correction(s), 8 sent and 8 discarded or "
        "corrected proposal(s); 20 examples needed (feedback.min_examples), some sent and some not: "
        "decide more drafts in the bot"
    )
    assert not RunDir(taught).feedback_adapter.exists()
    proc = feedback(taught, "feedback.method=dpo")
    assert proc.stderr.strip().splitlines()[-1] == (
        "chatlike: error: feedback: too little to train a DPO round: 4 correction(s), 20 needed "
        "(feedback.min_examples): correct more drafts in the bot"
    )


@pytest.mark.slow
def test_a_kto_round_trains_with_axolotl_on_top_of_the_adapter_and_is_measured(taught):
    run = RunDir(taught)
    proc = feedback(taught, "feedback.min_examples=6", "feedback.max_steps=3")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "feedback: KTO on 4 correction(s), 8 sent and 8 discarded or corrected proposal(s)" in proc.stdout
    doc = yaml.safe_load(run.feedback_yaml.read_text())
    assert doc["rl"] == "kto" and doc["lora_model_dir"] == "./train" and doc["output_dir"] == "feedback/train"
    train, held = lines(run.feedback_train), lines(run.feedback_heldout)
    assert len(train) + len(held) == 16 and held  # every example, a part held out
    assert sum(r["label"] for r in train + held) == 8
    assert all(r["prompt"].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n") for r in train)
    assert all(r["completion"].endswith("<|eot_id|>") for r in train)
    assert (run.feedback_adapter / "adapter_model.safetensors").is_file()
    summary = json.loads(run.feedback_summary.read_text())
    assert (summary["method"], summary["steps"], summary["pairs"]) == ("kto", 3, 4)
    for clone in ("sft", "feedback"):
        assert 0 <= summary[clone]["examples"] <= 1 and summary[clone]["n_examples"] == len(held)
    assert "feedback clone  prefers the owner's choice" in proc.stdout
    # eval's held-out replies, answered by both clones side by side: which one to use
    side = summary["heldout_eval"]
    assert (
        side["items"] > 0 and {"score", "distance", "chrf"} <= side["sft"].keys() == side["feedback"].keys()
    )
    assert side["better"] == (
        side["feedback"]["score"] > side["sft"]["score"] and side["chrf_gain"]["high"] >= 0
    )
    assert f"feedback clone  on {side['items']} held-out replies: score" in proc.stdout


@pytest.mark.slow
def test_corrections_make_a_dpo_round_chosen_the_owners_reply(taught):
    run = RunDir(taught)
    proc = feedback(taught, "feedback.min_examples=3", "feedback.max_steps=2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert yaml.safe_load(run.feedback_yaml.read_text())["rl"] == "dpo"  # chosen from the data
    rows = lines(run.feedback_train) + lines(run.feedback_heldout)
    assert sorted(r["chosen"] for r in rows) == [f"risposta mia {i}" for i in (11, 2, 5, 8)]
    assert {r["rejected"].split()[0] for r in rows} == {"proposta"}
    assert all(
        "name" not in m and m["role"] in ("system", "user", "assistant") for r in rows for m in r["messages"]
    )
    summary = json.loads(run.feedback_summary.read_text())
    assert summary["sft"]["n_pairs"] == summary["feedback"]["n_pairs"] == 1  # one correction in five held out


@pytest.mark.slow
def test_the_sft_clone_is_the_default_until_a_feedback_round_beats_it(taught, tmp_path):
    import os

    from chatlike.model.trained import trained_model
    from chatlike.stages.export import gguf_path
    from tests.support.cli import smoke_cfg

    bare = shutil.copytree(taught, tmp_path / "bare", ignore=shutil.ignore_patterns("feedback"))
    proc = run_cli(
        "experiment=smoke", f"hydra.run.dir={bare}", "stages=[chat]", "feedback.use=true", input="ciao\n"
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"chatlike: error: feedback.use=true, but {RunDir(bare).feedback_adapter} holds no feedback round; run "
        f"'stages=[feedback]' on {bare} first (or leave feedback.use out: the SFT clone)"
    )
    assert trained_model(smoke_cfg(), bare).adapter.path == RunDir(bare).train  # no round: the SFT clone
    run = RunDir(taught)
    if not (run.feedback_adapter / "adapter_config.json").is_file():
        assert feedback(taught, "feedback.min_examples=3", "feedback.max_steps=1").returncode == 0
    measured = run.feedback_summary.read_text()

    def verdict(better: bool) -> None:  # the round's verdict as the stage writes it
        summary = json.loads(measured)
        summary["heldout_eval"]["better"] = better
        run.feedback_summary.write_text(json.dumps(summary))

    def clone(*overrides: str):
        return trained_model(smoke_cfg(*overrides), run).adapter.path

    try:
        verdict(False)
        assert clone() == run.train  # not better: the SFT clone stays the default
        assert clone("feedback.use=true") == run.feedback_adapter  # unless asked
        verdict(True)
        assert clone() == run.feedback_adapter  # better: the feedback clone is the default
        assert clone("feedback.use=false") == run.train  # unless the owner keeps the SFT clone
        proc = run_cli("experiment=smoke", f"hydra.run.dir={taught}", "stages=[chat]", "chat.max_new_tokens=8",
                       input="ciao\n")  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert (f"chatlike: the feedback clone ({run.feedback_adapter}) beat the SFT clone on the held-out "
                "eval and is used; feedback.use=false for the SFT clone") in proc.stderr  # fmt: skip
        sft = run.train / "adapter_model.safetensors"
        os.utime(run.feedback_summary, (sft.stat().st_mtime - 60,) * 2)
        assert clone() == run.train  # the SFT clone trained again since the round: the verdict is stale
    finally:
        run.feedback_summary.write_text(measured)
    # merged (for serve, vLLM, export) beside the SFT clone's RUN/merged, never over it
    sft_merged = run.merged.exists() and (run.merged / "config.json").stat().st_mtime_ns
    run_cli("experiment=smoke", f"hydra.run.dir={taught}", "stages=[merge]", "feedback.use=true", check=True)
    assert (run.feedback_merged / "config.json").is_file()
    assert (run.merged.exists() and (run.merged / "config.json").stat().st_mtime_ns) == sft_merged
    assert trained_model(smoke_cfg("feedback.use=true"), run).whole == run.feedback_merged
    # exported (and served by serve=llamacpp) from its own folder, under its own name
    assert (
        gguf_path(smoke_cfg("feedback.use=true"), taught)
        == run.feedback / "export/smoke-feedback-q4_k_m.gguf"
    )
    assert gguf_path(smoke_cfg("feedback.use=false"), taught) == run.root / "export/smoke-q4_k_m.gguf"


@pytest.mark.slow
def test_the_replies_the_owner_approved_are_mine_as_a_source(taught, tmp_path):
    from chatlike.data.chats import read_chats
    from chatlike.data.sample import SAMPLE_EXPORT

    out = tmp_path / "next"
    record = RunDir(taught).bot_record
    run_cli(f"hydra.run.dir={out}", f"source.path={SAMPLE_EXPORT}", f"source.paths=[{record}]", "stages=[prepare]",
            check=True)  # fmt: skip
    (chat,) = [c for c in read_chats(RunDir(out).chats).chats if c.source == "bot"]
    assert chat.name == "Lorenzo" and chat.kind == "personal_chat"
    samples = [
        s
        for split in ("train", "val", "test")
        for s in lines(RunDir(out).split(split))
        if s["chat"] == chat.key
    ]
    mine = [m["content"] for s in samples for m in s["messages"] if m["role"] == "assistant"]
    said = "\n".join(mine)
    assert "risposta mia 2" in said and "proposta 0\nforse" in said  # corrected and sent: mine
    assert "proposta 1" not in said and "proposta 2" not in said  # discarded, or corrected away: never mine
