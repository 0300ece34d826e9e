"""Sweeps: a real Hydra multirun prepares one dataset per job, and the callback compares them."""

import json

from conftest import run_cli
from test_report import small_export

from chatlike.sweep import collect, write_summary

PNG = b"\x89PNG\r\n\x1a\n"


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
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))
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
    rows = json.loads((sweep / "sweep_summary.json").read_text(encoding="utf-8"))
    assert rows[0]["total"] > 0 and "error" not in rows[0]
    assert "failed" in rows[1]["error"]
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


def _eval(folder, score, gain=0.2):
    """An eval/results.json with the headline numbers the summary reads."""
    (folder / "eval").mkdir()
    results = {"score": score, "parrot": {"score": {"median": 1.0, "low": 0.5, "high": 2.0}},
               "chrf": {"tuned": {"value": 40.0}}, "context_gain_bpb": {"tuned": {"value": gain}},
               "distance": {"tuned": 0.05}, "memorisation": {"tuned": {"copy_share": 0.25}}}  # fmt: skip
    (folder / "eval" / "results.json").write_text(json.dumps(results))


def test_clones_are_ranked_by_their_eval_score(tmp_path):
    for num, score in ((0, 12.5), (1, 30.25), (2, None)):
        _job(tmp_path / str(num), num, [f"train.lora_r={8 * (num + 1)}"])
        if score is not None:
            _eval(tmp_path / str(num), score)
    rows = collect(tmp_path)
    assert [r["job"] for r in rows] == ["0", "1", "2"]  # the dataset table keeps the job order
    assert [r.get("eval", {}).get("rank") for r in rows] == [2, 1, None]
    assert rows[1]["eval"] == {"score": 30.25, "parrot_score": 1.0, "chrf": 40.0, "context_gain_bpb": 0.2,
                               "distance": 0.05, "copy_share": 0.25, "rank": 1}  # fmt: skip
    summary = write_summary(tmp_path).read_text(encoding="utf-8")
    ranking = summary.split("## Clones ranked by score")[1]
    assert ranking.index("`train.lora_r=16`") < ranking.index("`train.lora_r=8`")
    assert "| 1 | 1 | `train.lora_r=16` | **30.2** | 1.0 | 40.0 | +0.200 | 0.050 | 25% |" in ranking
    assert "lora_r=24" not in ranking


def test_an_eval_without_a_score_is_listed_as_unreadable_and_not_ranked(tmp_path):
    _job(tmp_path / "0", 0, ["a=1"])
    (tmp_path / "0" / "eval").mkdir()
    (tmp_path / "0" / "eval" / "results.json").write_text('{"distance": {"tuned": 0.1}}')
    (row,) = collect(tmp_path)
    assert "run eval again" in row["eval"]["error"] and "rank" not in row["eval"]
    assert "run eval again" in write_summary(tmp_path).read_text(encoding="utf-8")


def test_a_dataset_sweep_has_no_ranking(tmp_path):
    _job(tmp_path / "0", 0, ["a=1"])
    assert "eval" not in collect(tmp_path)[0]
    assert "ranked by score" not in write_summary(tmp_path).read_text(encoding="utf-8")
