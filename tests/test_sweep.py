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
