"""A Hydra callback: at the end of a multirun, compare the datasets the jobs prepared and rank the
clones they evaluated.

`python -m chatlike -m segment.gap_minutes=5,30,60,120` leaves one job folder per value in the
multirun folder; this writes sweep_summary.md, sweep_summary.json and sweep_summary.png beside them.
Jobs that ran eval are ranked by their eval/results.json `score` (chatlike/eval/metrics.py), best first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from chatlike.files import write_bytes, write_text

SPLITS = ("train", "val", "test")


def _read_yaml(path: Path) -> Any:
    import yaml  # comes with omegaconf; plain YAML, no interpolation

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _job_key(job: Path, sweep_dir: Path) -> tuple:
    """Hydra's job number when its snapshot says it, so job 10 comes after job 9."""
    hydra_cfg = _read_yaml(job / ".hydra" / "hydra.yaml") or {}
    num = (hydra_cfg.get("hydra", {}).get("job", {}) or {}).get("num")
    return (0, int(num)) if isinstance(num, int) else (1, str(job.relative_to(sweep_dir)))


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job folder (any `hydra.sweep.subdir`): its overrides and, when it prepared a dataset,
    the numbers to compare; a job without data/stats.json (failed, or no prepare stage) has `error`."""
    jobs = sorted(
        {p.parent.parent for p in sweep_dir.rglob("overrides.yaml") if p.parent.name == ".hydra"},
        key=lambda job: _job_key(job, sweep_dir),
    )
    rows = []
    for job in jobs:
        overrides = _read_yaml(job / ".hydra" / "overrides.yaml")
        row: dict[str, Any] = {
            "job": str(job.relative_to(sweep_dir)),
            "overrides": [str(o) for o in overrides] if isinstance(overrides, list) else [],
        }
        try:
            stats = json.loads((job / "data" / "stats.json").read_text(encoding="utf-8"))
            row |= {
                **{k: stats["samples"][k] for k in (*SPLITS, "total")},
                "conversations": stats["segment"]["conversations_kept"],
                "turns_p50": stats["turns_per_sample"].get("p50", 0),
                "chars_p50": stats["chars_per_sample"].get("p50", 0),
                "my_share": stats["my_share_of_turns"],
            }
        except FileNotFoundError:
            row["error"] = "no data/stats.json: the job failed, or did not run the prepare stage"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            row["error"] = f"unreadable data/stats.json ({type(exc).__name__}: {exc})"
        clone = _eval_of(job)
        if clone is not None:
            row["eval"] = clone
        rows.append(row)
    ranked = sorted((r for r in rows if "score" in r.get("eval", {})), key=lambda r: -r["eval"]["score"])
    for rank, row in enumerate(ranked, 1):
        row["eval"]["rank"] = rank
    return rows


def _eval_of(job: Path) -> dict[str, Any] | None:
    """The headline numbers of a job's eval/results.json; None when it has none, {"error"} when it
    cannot be read or predates the score."""
    path = job / "eval" / "results.json"
    if not path.is_file():
        return None
    try:
        r = json.loads(path.read_text(encoding="utf-8"))
        return {
            "score": r["score"],
            "parrot_score": r["parrot"]["score"]["median"],
            "chrf": r["chrf"]["tuned"]["value"],
            "context_gain_bpb": r["context_gain_bpb"]["tuned"]["value"],
            "distance": r["distance"]["tuned"],
            "copy_share": r["memorisation"]["tuned"]["copy_share"],
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"error": f"unreadable eval/results.json ({type(exc).__name__}: {exc}); run eval again"}


def labels(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Each job's label (the overrides that differ between jobs) and the overrides all jobs share."""
    common = [o for o in rows[0]["overrides"] if all(o in r["overrides"] for r in rows)] if rows else []
    names = [" ".join(o for o in r["overrides"] if o not in common) or f"job {r['job']}" for r in rows]
    return names, common


def render(rows: list[dict[str, Any]]) -> str:
    names, common = labels(rows)
    head = ["job", "overrides", "conversations", *SPLITS, "total", "turns p50", "chars p50", "my share"]
    keys = ["conversations", *SPLITS, "total", "turns_p50", "chars_p50"]
    lines = ["# chatlike sweep summary", ""]
    if common:
        lines += ["Every job: " + " ".join(f"`{o}`" for o in common), ""]
    lines += [
        "Samples per split, conversations kept, and the median turns and characters per sample of "
        "each job's dataset (its report: `JOB/report.md`).",
        "",
        "![the datasets compared](sweep_summary.png)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in zip(names, rows):
        if "error" in r:
            cells = [r["job"], f"`{name}`", f"failed: {r['error']}", *[""] * (len(head) - 3)]
        else:
            cells = [r["job"], f"`{name}`", *(f"{r[k]:,}" for k in keys), f"{r['my_share']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _ranking(names, rows)
    if any("error" in r for r in rows):
        lines += [
            "",
            "A failed job printed its error on the terminal (`chatlike: error: ...`). Hydra stops a "
            "sweep at the first failed job, so the jobs after it did not run.",
        ]
    return "\n".join(lines) + "\n"


def _ranking(names: list[str], rows: list[dict[str, Any]]) -> list[str]:
    """The clones ranked by score, best first (only when some job ran eval)."""
    evaluated = [(n, r) for n, r in zip(names, rows) if "eval" in r]
    if not evaluated:
        return []
    ranked = sorted(evaluated, key=lambda nr: nr[1]["eval"].get("rank", len(rows) + 1))
    lines = [
        "",
        "## Clones ranked by score",
        "",
        "`score` = chrF to the real reply × (1 − style distance) × (1 − share of 20+ character replies "
        "copied from training beyond your own rate), 0 to 100 (chatlike/eval/metrics.py); the parrot answers "
        "with random replies of yours; context gain is in bits per byte (each job's report: `JOB/report.md`).",
        "",
        "| rank | job | overrides | score | parrot score | chrF | context gain | style distance | verbatim copies |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in ranked:
        e = r["eval"]
        if "error" in e:
            lines.append(f"| – | {r['job']} | `{name}` | {e['error']} | | | | | |")
            continue
        gain = "–" if e["context_gain_bpb"] is None else f"{e['context_gain_bpb']:+.3f}"
        lines.append(f"| {e['rank']} | {r['job']} | `{name}` | **{e['score']:.1f}** | {e['parrot_score']:.1f} | "
                     f"{e['chrf']:.1f} | {gain} | {e['distance']:.3f} | {e['copy_share']:.0%} |")  # fmt: skip
    return lines


def plot(rows: list[dict[str, Any]]):
    """Four panels, one bar group per job: samples per split, conversations, turns p50, my share."""
    import textwrap

    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from chatlike.data.report import SPLIT_COLORS

    names, _ = labels(rows)
    # jobs that differ in the same keys show their values, and the keys name the axis
    pairs = [[n.partition("=")[::2] for n in name.split(" ")] for name in names]
    keys = [k for k, _ in pairs[0]]
    if all("=" in name for name in names) and all([k for k, _ in p] == keys for p in pairs):
        names, axis_label = [" / ".join(v for _, v in p) for p in pairs], " / ".join(keys)
    else:
        axis_label = "overrides"
    names = [textwrap.fill(n, 20, break_long_words=True) for n in names]
    xs = list(range(len(rows)))
    fig = Figure(figsize=(max(8, 1.3 * len(rows) + 3), 6.5), layout="constrained")
    (samples, convs), (turns, share) = fig.subplots(2, 2, sharex=True)
    ok = [i for i, r in enumerate(rows) if "error" not in r]
    bottom = [0] * len(ok)
    for split in SPLITS:
        values = [rows[i][split] for i in ok]
        bars = samples.bar(ok, values, bottom=bottom, color=SPLIT_COLORS[split], label=split)
        bottom = [a + b for a, b in zip(bottom, values)]
    samples.bar_label(bars, labels=[f"{t:,}" for t in bottom], fontsize=7.5)
    samples.set_title("samples per split")
    samples.legend(fontsize=7.5)
    for ax, key, title, fmt in (
        (convs, "conversations", "conversations kept", "{:,}"),
        (turns, "turns_p50", "turns per sample (median)", "{:g}"),
        (share, "my_share", "my share of turns", "{:.0%}"),
    ):
        bars = ax.bar(ok, [rows[i][key] for i in ok], color="#8da0cb")
        ax.bar_label(bars, labels=[fmt.format(rows[i][key]) for i in ok], fontsize=7.5)
        ax.set_title(title)
    share.set_ylim(0, 1)
    share.yaxis.set_major_formatter(PercentFormatter(1.0))
    for ax in (samples, convs, turns, share):
        for i, r in enumerate(rows):
            if "error" in r:
                ax.text(i, 0, "failed", ha="center", va="bottom", color="#c44e52", fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
    for ax in (turns, share):
        ax.set_xticks(xs, names, fontsize=8)
        ax.set_xlabel(axis_label)
    fig.suptitle("chatlike sweep: the datasets compared")
    return fig


def write_summary(sweep_dir: Path) -> Path | None:
    """sweep_summary.{md,json,png} in the multirun folder; None when no job left a folder."""
    rows = collect(sweep_dir) if sweep_dir.is_dir() else []
    if not rows:
        return None
    out = sweep_dir / "sweep_summary.md"
    write_text(sweep_dir / "sweep_summary.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    from chatlike.data.plots import png_bytes, style  # matplotlib: imported only to draw

    with style():
        write_bytes(sweep_dir / "sweep_summary.png", png_bytes(plot(rows)))
    write_text(out, render(rows))
    return out


class SweepSummary(Callback):
    def on_multirun_end(self, config, **kwargs: Any) -> None:
        # Hydra calls this even when a job failed (in a `finally`): raising here would hide that
        # job's own error, so a problem with the summary is one warning line
        try:
            out = write_summary(Path(config.hydra.sweep.dir))
        except Exception as exc:  # noqa: BLE001
            print(f"chatlike: warning: no sweep summary ({type(exc).__name__}: {exc})", file=sys.stderr)
            return
        if out:
            print(f"chatlike: sweep summary in {out}", file=sys.stderr)
