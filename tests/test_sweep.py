"""Sweeps: a real Hydra multirun prepares one dataset per job, and the callback compares them."""

import json
import time
from pathlib import Path

import msgspec
import pytest
from conftest import run_cli
from test_eval import make_results
from test_report import small_export

from chatlike.data.stats import DatasetStats, FilterStats, Gaps, SampleCounts, SegmentStats, Settings
from chatlike.eval.results import write_results
from chatlike.quantiles import Summary
from chatlike.sweep import BEST, collect, plot, render, summarize, write_summary

PNG = b"\x89PNG\r\n\x1a\n"
# the smoke experiment, shorter: 60 steps already teach the tiny model a habit of yours (its replies
# are "ahah" where the base model's are noise), so the clones' scores differ and the ranking means something
SMOKE_SWEEP = ("train.max_steps=60", "eval.max_samples=8", "eval.blind_pairs=2")


def test_gap_sweep_prepares_each_job_and_summarizes_them(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m", "segment.gap_minutes=5,60", "stages=[prepare]", f"hydra.sweep.dir={sweep}", check=True
    )
    assert "Traceback" not in proc.stderr and "sweep summary" in proc.stderr
    for job in ("0", "1"):
        for split in ("train", "val", "test"):
            assert (sweep / job / "data" / f"{split}.jsonl").stat().st_size > 0
        assert (sweep / job / "report.md").is_file()
    summary = (sweep / "sweep_summary.md").read_text(encoding="utf-8")
    assert "segment.gap_minutes=5" in summary and "segment.gap_minutes=60" in summary
    assert (sweep / "sweep_summary.png").read_bytes().startswith(PNG)
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))["jobs"]
    assert [r["overrides"] for r in rows] == [
        ["segment.gap_minutes=5", "stages=[prepare]"],
        ["segment.gap_minutes=60", "stages=[prepare]"],
    ]
    # a longer silence needed to split means fewer (or as many) conversations
    assert rows[1]["conversations"] <= rows[0]["conversations"]
    assert rows[0]["total"] == rows[0]["train"] + rows[0]["val"] + rows[0]["test"]


def test_failed_job_is_listed_and_the_summary_still_written(tmp_path):
    export = small_export(tmp_path / "result.json")
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m",
        f"source.path={export},{tmp_path / 'missing.json'}",
        "stages=[prepare]",
        f"hydra.sweep.dir={sweep}",
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "chatlike: error:" in proc.stderr and "missing.json" in proc.stderr
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))["jobs"]
    assert rows[0]["total"] > 0 and "error" not in rows[0] and "failed" not in rows[0]
    assert "failed" in rows[1]["error"] and "missing.json: no such file" in rows[1]["failed"]
    summary = (sweep / "sweep_summary.md").read_text(encoding="utf-8")
    assert "missing.json" in summary and "failed" in summary


def _job(folder, num, overrides, stats=None):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {num}\n")
    if stats is not None:
        (folder / "data").mkdir()
        (folder / "data" / "stats.json").write_text(stats)


def test_jobs_are_ordered_by_number_and_unreadable_stats_are_reported(tmp_path):
    _job(tmp_path / "10", 10, ["a=10"], stats="{")
    _job(tmp_path / "2", 2, ["a=2"])
    assert [(r["job"], "error" in r) for r in collect(tmp_path)] == [("2", True), ("10", True)]
    assert "unreadable" in collect(tmp_path)[1]["error"]
    assert write_summary(tmp_path).is_file()


def test_no_jobs_write_no_summary(tmp_path):
    assert write_summary(tmp_path) is None and write_summary(tmp_path / "absent") is None
    assert not (tmp_path / "sweep_summary.md").exists()


# a job's data/stats.json, written through its type as prepare writes it
STATS = msgspec.json.encode(
    DatasetStats(
        me="Pasquale",
        sources={},
        settings=Settings(60.0, 5.0, 2048, 2),
        filter=FilterStats(),
        segment=SegmentStats(conversations=4, conversations_kept=4),
        gaps=Gaps(),
        samples=SampleCounts(5, 1, 2, 8),
        turns_per_sample=Summary(8, p50=3),
        chars_per_sample=Summary(8, p50=40),
        approx_tokens_per_sample=Summary(8, p50=20),
        my_share_of_turns=0.5,
        contacts={},
    )
).decode()


def _eval(folder, score=9.0, distance=0.05, regressed=(), tasks=("chatlike_mc",)):
    """An eval/results.json as the eval stage writes it, with made-up numbers."""
    write_results(folder / "eval" / "results.json", make_results(score, distance=distance, regressed=regressed,
                                                                 tasks=tasks))  # fmt: skip


def _sweep(tmp_path, *evals):
    """One job per entry (a dict of _eval's arguments, or None for a job without an eval), swept over a=0,1,..."""
    for num, kwargs in enumerate(evals):
        _job(tmp_path / str(num), num, [f"a={num}", "experiment=smoke"], stats=STATS)
        if kwargs is not None:
            _eval(tmp_path / str(num), **kwargs)
    out = write_summary(tmp_path)
    summary = json.loads((tmp_path / "sweep_summary.json").read_text(encoding="utf-8"))
    assert (tmp_path / "sweep_summary.png").read_bytes().startswith(PNG)
    return summary, out.read_text(encoding="utf-8")


def _ranks(summary):
    return [r.get("eval", {}).get("rank") for r in summary["jobs"]]


def test_clones_are_ranked_by_their_eval_score_and_the_best_is_named(tmp_path):
    summary, md = _sweep(tmp_path, {"score": 12.5}, {"score": 30.25, "distance": 0.5}, None)
    assert [r["job"] for r in summary["jobs"]] == ["0", "1", "2"]  # the dataset table keeps the job order
    assert _ranks(summary) == [2, 1, None] and summary["ranked_by"] == "score"
    assert summary["best"] == {"job": "1", "label": "a=1", "ranked_by": "score", "value": 30.25,
                               "regression": "ok", "all_regressed": False}  # fmt: skip
    assert summary["jobs"][1]["eval"] == {
        "score": 30.25, "parrot_score": 1.0, "chrf": 40.0, "context_gain_bpb": 0.2, "distance": 0.5,
        "distance_base": 0.3, "bits_per_byte": 2.5, "bits_per_byte_base": 4.0, "copy_share": 0.25,
        "regression": "ok", "regressed": [], "friends": None, "rank": 1}  # fmt: skip
    assert summary["jobs"][2]["total"] == 8 and "eval" not in summary["jobs"][2]  # no eval: its dataset only
    assert "**Best clone: job 1** (`a=1`), score **30.2**, among the jobs without a regression." in md
    ranking = md.split("## Clones ranked by score")[1]
    assert ranking.index("`a=1`") < ranking.index("`a=0`") and "`a=2`" not in ranking
    assert (
        "| 1 | 1 | `a=1` | **30.2** | 1.0 | 40.0 | +0.200 | 0.500 / 0.300 | 2.500 / 4.000 | 25% | ok |"
        in ranking
    )


def test_a_clone_that_regressed_ranks_after_every_clone_that_did_not(tmp_path):
    summary, md = _sweep(tmp_path, {"score": 40.0, "regressed": ["chatlike_mc"]}, {"score": 10.0})
    assert _ranks(summary) == [2, 1]
    assert summary["best"]["job"] == "1" and not summary["best"]["all_regressed"]
    assert "| 2 | 0 | `a=0` | **40.0** |" in md and "**regressed**: chatlike_mc |" in md
    assert "Every job regressed" not in md


def test_when_every_clone_regressed_the_best_of_all_is_named_and_flagged(tmp_path):
    summary, md = _sweep(
        tmp_path, {"score": 4.0, "regressed": ["chatlike_mc"]}, {"score": 6.0, "regressed": ["chatlike_mc"]}
    )
    assert _ranks(summary) == [2, 1]
    assert summary["best"] | {"value": None} == {"job": "1", "label": "a=1", "ranked_by": "score", "value": None,
                                                 "regression": "regressed", "all_regressed": True}  # fmt: skip
    assert "**Best clone: job 1** (`a=1`), score **6.0**. **Every job regressed**" in md
    bars = [p for p in plot(summary).axes[4].patches]  # the clones' scores, job 0 then job 1
    assert [b.get_hatch() for b in bars] == ["//", "//"]  # both regressed, the best too
    assert all(
        b.get_facecolor()[:3] != _rgb(BEST) for b in bars
    )  # and the best is not drawn as a clean winner


def _rgb(color: str) -> tuple:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_the_best_clone_without_a_regression_is_drawn_as_the_winner(tmp_path):
    summary, _ = _sweep(tmp_path, {"score": 4.0, "regressed": ["chatlike_mc"]}, {"score": 3.0})
    job0, job1 = plot(summary).axes[4].patches
    assert job1.get_facecolor()[:3] == _rgb(BEST) and not job1.get_hatch()
    assert job0.get_hatch() == "//" and job0.get_facecolor()[:3] != _rgb(BEST)


def test_a_job_with_no_regression_check_is_not_a_regressed_one(tmp_path):
    summary, md = _sweep(tmp_path, {"score": 5.0, "tasks": ()}, {"score": 3.0, "regressed": ["arc_easy"]})
    assert summary["best"]["job"] == "0" and summary["best"]["regression"] == "not run"
    assert "no regression check ran" in md


def test_an_unreadable_results_json_is_listed_and_not_ranked(tmp_path):
    _job(tmp_path / "0", 0, ["a=1"], stats=STATS)
    (tmp_path / "0" / "eval").mkdir()
    (tmp_path / "0" / "eval" / "results.json").write_text('{"score": 3.0}')  # no style distance, ...
    _job(tmp_path / "1", 1, ["a=2"], stats=STATS)
    (tmp_path / "1" / "eval").mkdir()
    (tmp_path / "1" / "eval" / "results.json").write_text("{")
    _job(tmp_path / "2", 2, ["a=3"], stats=STATS)
    _eval(tmp_path / "2", score=2.0)
    for num, score in ((3, "NaN"), (4, "true")):  # not a number: never a crash of the ranking
        _job(tmp_path / str(num), num, [f"a={num + 1}"], stats=STATS)
        _eval(tmp_path / str(num), score=2.0)
        path = tmp_path / str(num) / "eval" / "results.json"
        path.write_text(path.read_text().replace('"score": 2.0', f'"score": {score}'))
    rows = collect(tmp_path)
    assert all("run eval again" in rows[i]["eval"]["error"] for i in (0, 1, 3, 4))
    assert "`$.score`" in rows[4]["eval"]["error"]
    summary = summarize(rows)
    assert _ranks(summary) == [None, None, 1, None, None] and summary["best"]["job"] == "2"
    md = render(summary)
    assert md.count("| – |") == 4 and md.count("; run eval again |") == 4 and "| 1 | 2 | `a=3` |" in md


def test_a_job_that_failed_after_prepare_keeps_its_dataset_and_is_listed_as_failed(tmp_path):
    _job(tmp_path / "0", 0, ["a=0"], stats=STATS)
    (tmp_path / "0" / "failed.txt").write_text("train: axolotl preprocess failed (see train/train.log)\n")
    _job(tmp_path / "1", 1, ["a=1"], stats=STATS)
    _eval(tmp_path / "1", score=9.0)
    _job(tmp_path / "2", 2, ["a=2"])
    (tmp_path / "2" / "failed.txt").write_text("/x/missing.json: no such file or folder (source.path)\n")
    md = write_summary(tmp_path).read_text(encoding="utf-8")
    rows = json.loads((tmp_path / "sweep_summary.json").read_text(encoding="utf-8"))["jobs"]
    assert rows[0]["total"] == 8 and rows[0]["failed"].startswith("train: axolotl preprocess failed")
    assert rows[2]["failed"].endswith("(source.path)") and "error" in rows[2]
    assert "| 0 | `a=0` | 4 | 5 | 1 | 2 | 8 | 3 | 40 | 50% |" in md  # its dataset columns
    assert "| – | 0 | `a=0` | failed: train: axolotl preprocess failed (see train/train.log) |" in md
    assert "| 2 | `a=2` | failed: /x/missing.json: no such file or folder (source.path) |" in md


def test_a_dataset_sweep_has_no_ranking(tmp_path):
    _job(tmp_path / "0", 0, ["a=1"])
    assert "eval" not in collect(tmp_path)[0]
    summary = json.loads(write_summary(tmp_path).with_suffix(".json").read_text(encoding="utf-8"))
    assert summary["best"] is None and summary["ranked_by"] is None
    assert "ranked by" not in (tmp_path / "sweep_summary.md").read_text(encoding="utf-8")


def _launcher(*overrides):
    """hydra.launcher as `python -m chatlike OVERRIDES` composes it, resolved."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.app import conf_dir
    from chatlike.config import register

    register()
    with initialize_config_dir(config_dir=str(conf_dir())):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    return OmegaConf.to_container(cfg.hydra.launcher, resolve=True)


def test_a_slurm_job_takes_its_gpus_from_hardware_and_keeps_the_plugins_other_defaults():
    launcher = _launcher("hydra/launcher=submitit_slurm", "hardware=multi_gpu", "hardware.num_gpus=4",
                         "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=90")  # fmt: skip
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert (launcher["gpus_per_node"], launcher["nodes"], launcher["tasks_per_node"]) == (4, 1, 1)
    assert (launcher["partition"], launcher["timeout_min"], launcher["name"]) == (
        "gpu",
        90,
        "chatlike-default",
    )
    assert launcher["signal_delay_s"] == 120 and launcher["account"] is None  # the plugin's defaults
    assert _launcher("hydra/launcher=submitit_local", "experiment=smoke")["gpus_per_node"] == 1


def test_a_typo_in_a_launcher_key_is_one_line_before_any_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=submitit_slurm", "hydra.launcher.partion=gpu", "segment.gap_minutes=5,60",
                   f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "Key 'partion' not in 'SlurmQueueConf'. Did you mean: 'partition'?" in proc.stderr
    assert not sweep.exists()


def test_a_failed_submitit_job_is_one_line_on_the_launching_terminal_and_in_the_summary(tmp_path):
    export = small_export(tmp_path / "result.json")
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=submitit_local", f"source.path={tmp_path / 'missing.json'},{export}",
                   "stages=[prepare]", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.endswith(
        f"chatlike: error: {tmp_path / 'missing.json'}: no such file or folder (source.path)\n"
    )
    assert list((sweep / ".submitit").glob("*/*_log.err"))  # submitit ran the jobs
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))["jobs"]
    assert "no such file" in rows[0]["failed"] and rows[1]["total"] > 0  # job 0 failed, job 1 ran on


def test_a_submitit_job_that_dies_without_a_result_is_one_line_naming_its_log(tmp_path):
    # a time limit of 0 minutes: submitit kills the job before chatlike starts
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=0", "stages=[prepare]",
                   "segment.gap_minutes=5,60", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("chatlike: error:")]
    assert "a sweep job ended without a result" in line and "has not produced any output" in line
    log = Path(line.rsplit("its log: ", 1)[1])
    assert log.is_file() and log.parent.parent == sweep / ".submitit"


@pytest.mark.slow
def test_a_smoke_sweep_on_submitit_names_the_best_clone_by_each_jobs_own_eval(tmp_path, monkeypatch):
    # the two jobs run side by side: one thread each, or each starts one per core and both crawl
    # (60 steps: 14 s instead of 2 min 20 s on 2 cores)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    sweep = tmp_path / "sweep"
    started = time.monotonic()
    proc = run_cli("-m", "experiment=smoke", "segment.gap_minutes=5,240", "hydra/launcher=submitit_local",
                   *SMOKE_SWEEP, f"hydra.sweep.dir={sweep}", check=True)  # fmt: skip
    print(f"smoke sweep on submitit_local: {time.monotonic() - started:.0f} s")
    assert "Traceback" not in proc.stderr and f"sweep summary in {sweep / 'sweep_summary.md'}" in proc.stderr
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2  # both jobs ran under submitit
    results = [
        json.loads((sweep / job / "eval" / "results.json").read_text(encoding="utf-8")) for job in "01"
    ]
    summary = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))
    # the ranking, recomputed from the jobs' own results: by score, among the jobs without a
    # regression, or among all when each regressed (the tiny model's does, mostly); ties: job order
    regressed = [not r["regression"]["ok"] for r in results]
    pool = [i for i in (0, 1) if not regressed[i]] or [0, 1]
    best = max(pool, key=lambda i: (results[i]["score"], -i))
    assert summary["best"]["job"] == str(best) and summary["best"]["value"] == results[best]["score"]
    assert summary["best"]["all_regressed"] == all(regressed) and summary["ranked_by"] == "score"
    for row, r, gap in zip(summary["jobs"], results, ("5", "240")):
        e = row["eval"]
        assert row["overrides"][1] == f"segment.gap_minutes={gap}" and row["total"] > 0
        assert (e["score"], e["distance"], e["distance_base"]) == (
            r["score"],
            r["distance"]["tuned"],
            r["distance"]["base"],
        )
        assert (e["bits_per_byte"], e["bits_per_byte_base"]) == tuple(
            r["lm_eval"]["replies"][m]["bits_per_byte"] for m in ("tuned", "base")
        )
        assert e["regression"] == ("regressed" if not r["regression"]["ok"] else "ok")
        assert e["rank"] == (1 if row["job"] == str(best) else 2)
    md = (sweep / "sweep_summary.md").read_text(encoding="utf-8")
    gap = ("5", "240")[best]
    assert (
        f"**Best clone: job {best}** (`segment.gap_minutes={gap}`), score **{results[best]['score']:.1f}**"
        in md
    )
    assert ("**Every job regressed**" in md) == all(regressed)
    assert f"| 1 | {best} | `segment.gap_minutes={gap}` | **{results[best]['score']:.1f}** |" in md
    assert (sweep / "sweep_summary.png").read_bytes().startswith(PNG)


def test_a_job_that_fails_with_a_bug_is_failed_in_the_summary_and_shows_its_traceback(tmp_path):
    from test_app import with_a_bug

    sweep = tmp_path / "sweep"
    env = with_a_bug(tmp_path, "cfg.segment.gap_minutes == 60")
    proc = run_cli("-m", "segment.gap_minutes=5,60", "stages=[prepare]", f"hydra.sweep.dir={sweep}", env=env)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: an injected bug" in proc.stderr
    assert "RuntimeError: an injected bug" in (sweep / "1" / "failed.txt").read_text(encoding="utf-8")
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))["jobs"]
    assert "failed" not in rows[0] and rows[0]["total"] > 0
    assert "RuntimeError: an injected bug" in rows[1]["failed"]
    assert "failed: RuntimeError: an injected bug" in (sweep / "sweep_summary.md").read_text(encoding="utf-8")
