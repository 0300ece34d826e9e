"""A Hydra callback: at the end of a multirun, compare the datasets the jobs prepared and rank the
clones they evaluated.

`python -m chatlike -m segment.gap_minutes=5,30,60,120` leaves one job folder per value in the
multirun folder; this writes sweep_summary.md, sweep_summary.json and sweep_summary.png beside them.
It runs in the launching process whatever the launcher (Hydra's basic one, or submitit's local
processes and SLURM jobs: conf/hydra/launcher/), and reads only what the jobs left in their folders.

The clones (jobs with an eval/results.json) are ranked by eval's headline `score`
(chatlike/eval/metrics.py); jobs whose regression check failed come after the others, so the best clone is one without a
regression, unless every job regressed (the tiny smoke model does), when it is the best of all,
flagged as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec
from hydra.experimental.callback import Callback

from chatlike.data.stats import read_stats
from chatlike.errors import ChatlikeError
from chatlike.eval.results import read_results
from chatlike.files import write_bytes, write_text
from chatlike.rundir import RunDir

SPLITS = ("train", "val", "test")
BEST, OTHER = "#55a868", "#8da0cb"  # the best clone's bar (when it did not regress), the others'


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
    """One row per job folder (any `hydra.sweep.subdir`): its overrides; when it prepared a dataset,
    the numbers to compare, else `error`; `failed`, the one-line error of a job that failed
    (app.py leaves it in RUN/failed.txt); `eval`, the headline numbers of its eval/results.json."""
    jobs = sorted(
        {p.parent.parent for p in sweep_dir.rglob("overrides.yaml") if p.parent.name == ".hydra"},
        key=lambda job: _job_key(job, sweep_dir),
    )
    rows = []
    for job in jobs:
        run = RunDir(job)
        overrides = _read_yaml(job / ".hydra" / "overrides.yaml")
        row: dict[str, Any] = {
            "job": str(job.relative_to(sweep_dir)),
            "overrides": [str(o) for o in overrides] if isinstance(overrides, list) else [],
        }
        try:
            stats = read_stats(run.stats)
            row |= {
                **{k: getattr(stats.samples, k) for k in (*SPLITS, "total")},
                "conversations": stats.segment.conversations_kept,
                "turns_p50": stats.turns_per_sample.p50 or 0,
                "chars_p50": stats.chars_per_sample.p50 or 0,
                "my_share": stats.my_share_of_turns,
            }
        except ChatlikeError as exc:  # missing (the job failed, or did not prepare), or unreadable
            row["error"] = str(exc)
        try:
            row["failed"] = run.failed.read_text(encoding="utf-8").strip() or "failed"
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as exc:
            row["failed"] = f"failed (unreadable {run.failed.name}: {exc})"
        clone = _eval_of(run.eval_results)
        if clone is not None:
            row["eval"] = clone
        rows.append(row)
    return rows


def _eval_of(path: Path) -> dict[str, Any] | None:
    """The numbers of a job's eval/results.json the sweep compares; None when it has none, {"error"}
    when it cannot be read (chatlike.eval.results says which field does not fit)."""
    if not path.is_file():
        return None
    try:
        r = read_results(path)
    except ChatlikeError as exc:
        return {"error": str(exc)}
    tuned, base = r.lm_eval.replies.get("tuned"), r.lm_eval.replies.get("base")
    return {
        "score": r.score,
        "parrot_score": r.parrot.score.median,
        "chrf": r.chrf["tuned"].value,
        "context_gain_bpb": r.context_gain_bpb["tuned"].value,
        "distance": r.distance["tuned"],
        "distance_base": r.distance.get("base"),
        "bits_per_byte": tuned and tuned.bits_per_byte,
        "bits_per_byte_base": base and base.bits_per_byte,
        "copy_share": r.memorisation["tuned"].copy_share,
        "regression": "not run" if not r.regression.tasks else "ok" if r.regression.ok else "regressed",
        "regressed": list(r.regression.regressed),
        "friends": msgspec.to_builtins(r.friends.overall)
        if r.friends and r.friends.overall.answers
        else None,
    }


def rank(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The clones' order (row indices, best first) by score, a job that regressed after every job that
    did not (ties keep the job order); None when no job has a readable eval."""
    clones = [i for i, r in enumerate(rows) if "eval" in r and "error" not in r["eval"]]
    if not clones:
        return None
    order = sorted(
        clones, key=lambda i: (rows[i]["eval"]["regression"] == "regressed", -rows[i]["eval"]["score"])
    )
    return {
        "by": "score",
        "order": order,
        "all_regressed": rows[order[0]]["eval"]["regression"] == "regressed",
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """sweep_summary.json: the jobs in job order (an evaluated one with its `rank`), what they are
    ranked by, and the best clone (its job folder, its label: the overrides that set it apart)."""
    names, common = labels(rows)
    ranking = rank(rows)
    jobs = [dict(r) for r in rows]
    best = None
    if ranking:
        for k, i in enumerate(ranking["order"], 1):
            jobs[i]["eval"] = {**rows[i]["eval"], "rank": k}
        b = ranking["order"][0]
        e = rows[b]["eval"]
        best = {"job": rows[b]["job"], "label": names[b], "ranked_by": ranking["by"], "value": e[ranking["by"]],
                "regression": e["regression"], "all_regressed": ranking["all_regressed"]}  # fmt: skip
    return {"common_overrides": common, "ranked_by": ranking and ranking["by"], "best": best, "jobs": jobs}


def labels(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Each job's label (the overrides that differ between jobs) and the overrides all jobs share."""
    common = [o for o in rows[0]["overrides"] if all(o in r["overrides"] for r in rows)] if rows else []
    names = [" ".join(o for o in r["overrides"] if o not in common) or f"job {r['job']}" for r in rows]
    return names, common


def render(summary: dict[str, Any]) -> str:
    rows = summary["jobs"]
    names, common = labels(rows)
    head = ["job", "overrides", "conversations", *SPLITS, "total", "turns p50", "chars p50", "my share"]
    keys = ["conversations", *SPLITS, "total", "turns_p50", "chars_p50"]
    lines = ["# chatlike sweep summary", ""]
    if common:
        lines += ["Every job: " + " ".join(f"`{o}`" for o in common), ""]
    lines += _best(summary)
    lines += [
        "Samples per split, conversations kept, and the median turns and characters per sample of "
        "each job's dataset (its report: `JOB/report.md`).",
        "",
        "![the datasets and clones compared](sweep_summary.png)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in zip(names, rows):
        if "error" in r:
            cells = [r["job"], f"`{name}`", f"failed: {r.get('failed', r['error'])}", *[""] * (len(head) - 3)]
        else:
            cells = [r["job"], f"`{name}`", *(f"{r[k]:,}" for k in keys), f"{r['my_share']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _ranking(names, summary)
    if any("error" in r or "failed" in r for r in rows):
        lines += [
            "",
            "A failed job's one-line error is in its folder (`JOB/failed.txt`) and on the terminal "
            "that ran the sweep; the other jobs ran on. A job that died outside chatlike (killed, out "
            "of memory, past its time limit) left its log in `.submitit/` (submitit launchers).",
        ]
    return "\n".join(lines) + "\n"


def _best(summary: dict[str, Any]) -> list[str]:
    """The line that names the best clone (only when some job ran eval)."""
    b = summary["best"]
    if not b:
        return []
    line = f"**Best clone: job {b['job']}** (`{b['label']}`), score **{b['value']:.1f}**"
    if b["all_regressed"]:
        line += (
            ". **Every job regressed** on the regression check (`eval.tasks`), so this is the best of "
            "them all, not a clone without a regression: see each job's `JOB/report.md`."
        )
    elif b["regression"] == "ok":
        line += ", among the jobs without a regression."
    else:
        line += "; no regression check ran (`eval.tasks` empty)."
    return [line, ""]


def _fmt(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def _pass(p: dict | None) -> str:
    """A friends' test pass rate (chatlike.eval.results.PassRate): the share, its interval, the count."""
    return "–" if p is None else f"{p['rate']:.0%} [{p['low']:.0%}, {p['high']:.0%}] of {p['answers']}"


def _ranking(names: list[str], summary: dict[str, Any]) -> list[str]:
    """The clones, best first, then evals that cannot be read and jobs that failed before eval."""
    rows = summary["jobs"]
    evaluated = [(n, r) for n, r in zip(names, rows) if "eval" in r]
    if not evaluated:
        return []
    ranked = sorted(evaluated, key=lambda nr: nr[1]["eval"].get("rank", len(rows) + 1))
    friends = any(r["eval"].get("friends") for _, r in evaluated)  # a column once a job ran the friends' test
    lines = [
        "",
        "## Clones ranked by score (higher is better)",
        "",
        "`score` = chrF to the real reply × (1 − style distance) × (1 − share of 20+ character replies "
        "copied from training beyond your own rate), 0 to 100 (chatlike/eval/metrics.py); the parrot answers "
        "with random replies of yours; context gain and bits per byte are of your real held-out replies under "
        "the model (lower bits per byte: the model expects them better); style distance is to those replies, "
        "0 = indistinguishable. A job whose regression check (`eval.tasks`) failed ranks after every job "
        "whose check passed (each job's report: `JOB/report.md`).",
    ]
    lines += [
        "",
        "| rank | job | overrides | score | parrot score | chrF | context gain | style distance: tuned / base "
        "| bits per byte: tuned / base | verbatim copies | regression check |"
        + (" friends' pass rate |" if friends else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if friends else ""),
    ]
    for name, r in ranked:
        e = r["eval"]
        if "error" in e:
            lines.append(f"| – | {r['job']} | `{name}` | {e['error']} | | | | | | | |")
            continue
        score, distance = f"**{e['score']:.1f}**", f"{e['distance']:.3f}"
        verdict = {"ok": "ok", "not run": "–"}.get(
            e["regression"], f"**regressed**: {', '.join(e['regressed'])}"
        )
        lines.append(
            f"| {e['rank']} | {r['job']} | `{name}` | {score} | {_fmt(e['parrot_score'], '.1f')} | "
            f"{_fmt(e['chrf'], '.1f')} | {_fmt(e['context_gain_bpb'], '+.3f')} | "
            f"{distance} / {_fmt(e['distance_base'], '.3f')} | "
            f"{_fmt(e['bits_per_byte'], '.3f')} / {_fmt(e['bits_per_byte_base'], '.3f')} | "
            f"{_fmt(e['copy_share'], '.0%')} | {verdict} |" + (f" {_pass(e['friends'])} |" if friends else "")
        )
    for name, r in zip(names, rows):
        if "failed" in r and "eval" not in r:
            lines.append(f"| – | {r['job']} | `{name}` | failed: {r['failed']} | | | | | | | |")
    return lines


def _axis(rows: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The x tick labels and the axis name: jobs that differ in the same keys show their values
    (the swept values), and the keys name the axis."""
    import textwrap

    names, _ = labels(rows)
    pairs = [[n.partition("=")[::2] for n in name.split(" ")] for name in names]
    keys = [k for k, _ in pairs[0]]
    if all("=" in name for name in names) and all([k for k, _ in p] == keys for p in pairs):
        names, axis_label = [" / ".join(v for _, v in p) for p in pairs], " / ".join(keys)
    else:
        axis_label = "overrides"
    return [textwrap.fill(n, 20, break_long_words=True) for n in names], axis_label


def plot(summary: dict[str, Any]):
    """One bar group per job, against the swept value: samples per split, conversations, turns p50,
    my share; and when jobs ran eval, the number they are ranked by (the best marked, regressed
    jobs hatched) and the tuned and base style distance."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from chatlike.data.report import SPLIT_COLORS

    rows = summary["jobs"]
    names, axis_label = _axis(rows)
    xs = list(range(len(rows)))
    ranked = summary["ranked_by"] is not None
    fig = Figure(figsize=(max(8, 1.3 * len(rows) + 3), 9.5 if ranked else 6.5), layout="constrained")
    axes = fig.subplots(3 if ranked else 2, 2, sharex=True)
    (samples, convs), (turns, share) = axes[0], axes[1]
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
    if ranked:
        _plot_clones(axes[2][0], axes[2][1], summary)
    for ax in axes.flat:
        for i, r in enumerate(rows):
            if "error" in r:
                ax.text(i, 0, "failed", ha="center", va="bottom", color="#c44e52", fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
    for ax in axes[-1]:
        ax.set_xticks(xs, names, fontsize=8)
        ax.set_xlabel(axis_label)
    fig.suptitle("chatlike sweep: the datasets" + (" and clones" if ranked else "") + " compared")
    return fig


def _plot_clones(ranked_ax, distance_ax, summary: dict[str, Any]) -> None:
    rows, best = summary["jobs"], summary["best"]
    clones = [i for i, r in enumerate(rows) if "rank" in r.get("eval", {})]
    for i in clones:
        e = rows[i]["eval"]
        is_best = rows[i]["job"] == best["job"]
        regressed = e["regression"] == "regressed"
        # the best is green only when it has no regression: the best of clones that all regressed is
        # hatched like the others, as the summary beside it says
        bar = ranked_ax.bar(i, e["score"], color=BEST if is_best and not regressed else OTHER,
                            hatch="//" if regressed else None, edgecolor="white")  # fmt: skip
        label = f"{e['score']:.1f}" + (
            " best of all (regressed)" if is_best and regressed else " best" if is_best else ""
        )
        ranked_ax.bar_label(bar, labels=[label], fontsize=7.5)
    title = "score (higher is better)" + (
        "; hatched: regressed" if any(rows[i]["eval"]["regression"] == "regressed" for i in clones) else ""
    )
    ranked_ax.set_title(f"clones: {title}", fontsize=10)
    width = 0.38
    for k, (key, name, color) in enumerate(
        (("distance", "tuned", "#4c72b0"), ("distance_base", "base", "#bbbbbb"))
    ):
        have = [i for i in clones if rows[i]["eval"][key] is not None]
        bars = distance_ax.bar([i + (k - 0.5) * width for i in have], [rows[i]["eval"][key] for i in have],
                               width, color=color, label=name)  # fmt: skip
        distance_ax.bar_label(bars, fmt="{:.3f}", fontsize=7)
    distance_ax.set_title("style distance to your real replies (lower is closer)", fontsize=10)
    distance_ax.legend(fontsize=7.5)
    for i, r in enumerate(rows):  # no clone to show (a job without a dataset says "failed" already)
        if "error" in r or i in clones:
            continue
        note = "failed" if "failed" in r else "unreadable eval" if "eval" in r else "no eval"
        for ax in (ranked_ax, distance_ax):
            ax.text(
                i,
                0,
                note,
                ha="center",
                va="bottom",
                color="#c44e52" if "failed" in r else "#777777",
                fontsize=8,
            )


def write_summary(sweep_dir: Path) -> Path | None:
    """sweep_summary.{md,json,png} in the multirun folder; None when no job left a folder."""
    rows = collect(sweep_dir) if sweep_dir.is_dir() else []
    if not rows:
        return None
    summary = summarize(rows)
    out = sweep_dir / "sweep_summary.md"
    write_text(sweep_dir / "sweep_summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    from chatlike.data.plots import png_bytes, style  # matplotlib: imported only to draw

    with style():
        write_bytes(sweep_dir / "sweep_summary.png", png_bytes(plot(summary)))
    write_text(out, render(summary))
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
