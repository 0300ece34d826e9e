"""The eval section of report.md and its plot (RUN/plots/eval.png)."""

from __future__ import annotations

from pathlib import Path

from chatlike.files import write_bytes, write_text
from chatlike.rundir import IN_RUN, RunDir

START = "<!-- eval section -->"
END = "<!-- end of eval section -->"
RATES = ("emoji_share", "question_share", "starts_lowercase", "ends_with_punct", "short_share",
         "repeated_3gram_share")  # fmt: skip
ROWS = ("mean_chars", "mean_words", "mean_lines", "emoji_share", "question_share", "exclaim_share",
        "starts_lowercase", "ends_with_punct", "caps_ratio", "frequent_word_share", "char_ngram_similarity",
        "distinct_1", "distinct_2", "empty_share", "short_share", "long_share", "repeated_3gram_share")  # fmt: skip


def write_plot(run_dir: Path, style: dict) -> None:
    from matplotlib.figure import Figure

    from chatlike.data.plots import png_bytes

    sets = ("real", "base", "tuned")
    fig = Figure(figsize=(12, 4.2))
    left, right = fig.subplots(1, 2)
    bins = list(style["real"]["chars"]["histogram"])
    width = 0.27
    for k, name in enumerate(sets):
        counts = style[name]["chars"]["histogram"]
        total = max(1, sum(counts.values()))
        left.bar([i + (k - 1) * width for i in range(len(bins))], [counts[b] / total for b in bins], width,
                 label=name)  # fmt: skip
        right.bar([i + (k - 1) * width for i in range(len(RATES))], [_or_nan(style[name][r]) for r in RATES], width,
                  label=name)  # fmt: skip
    left.set_xticks(range(len(bins)), bins, rotation=30)
    left.set_xlabel("characters per reply")
    left.set_ylabel("share of replies")
    left.set_title("reply length")
    right.set_xticks(range(len(RATES)), [r.replace("_", "\n") for r in RATES], fontsize=8)
    right.set_ylim(0, 1)
    right.set_title("habits and degeneracy (share of replies)")
    left.legend()
    fig.tight_layout()
    write_bytes(RunDir(run_dir).eval_plot, png_bytes(fig))


def _or_nan(x: float | None) -> float:
    return float("nan") if x is None else x  # n/a: no bar


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if abs(x) < 100 else f"{x:,.1f}"


def render(results: dict) -> str:
    s, d, g = results["style"], results["distance"], results["generation"]
    how = "greedily" if g["temperature"] == 0 else f"at temperature {g['temperature']}, top_p {g['top_p']}"
    lines = [
        START,
        "## Eval: base vs tuned against the real held-out replies",
        "",
        f"{s['real']['n']} held-out replies from {IN_RUN.split('test').as_posix()}; replies generated {how}, at most "
        f"{g['max_new_tokens']} new tokens, on {g['device']}.",
        f"**Style distance to the real replies** (lower is closer; see chatlike/eval/metrics.py): "
        f"base {d['base']:.3f}, tuned {d['tuned']:.3f}.",
        "",
        f"![eval]({IN_RUN.eval_plot.as_posix()})",
        "",
        "| metric | real | base | tuned |",
        "|---|---|---|---|",
        *(f"| {r} | {_fmt(s['real'][r])} | {_fmt(s['base'][r])} | {_fmt(s['tuned'][r])} |" for r in ROWS),
        "",
    ]
    like = results["lm_eval"].get("replies", {})
    if like:
        lines += ["**Likelihood of the real replies** (lm-eval task `chatlike_replies`):", "",
                  "| | token perplexity | bits per byte |", "|---|---|---|",
                  *(f"| {m} | {_fmt(like[m].get('token_perplexity'))} | {_fmt(like[m].get('bits_per_byte'))} |"
                    for m in ("base", "tuned") if m in like), ""]  # fmt: skip
    reg = results["regression"]
    if reg["tasks"]:
        verdict = "no regression" if reg["ok"] else f"**regressed: {', '.join(reg['regressed'])}**"
        lines += [f"**Regression check** (limit {results['lm_eval'].get('limit')}, tolerance "
                  f"{reg['tolerance']}): {verdict}.", "",
                  "| task | metric | base | tuned | drop |", "|---|---|---|---|---|",
                  *(f"| {t} | {v['metric']} | {_fmt(v['base'])} | {_fmt(v['tuned'])} | {_fmt(v['drop'])} |"
                    for t, v in reg["tasks"].items()), ""]  # fmt: skip
    lines += [f"Blind test: `{IN_RUN.blind_test.as_posix()}` ({results['blind_pairs']} pairs; key in "
              f"`{IN_RUN.blind_key.as_posix()}`). Side by side: `{IN_RUN.eval_samples.as_posix()}`.", "",
              END, ""]  # fmt: skip
    return "\n".join(lines)


def write_section(run_dir: Path, results: dict) -> None:
    """Put the eval section into report.md, replacing an earlier one, keeping everything else."""
    path = RunDir(run_dir).report
    old = path.read_text(encoding="utf-8") if path.is_file() else "# chatlike report\n\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
    else:
        head, tail = old.rstrip("\n") + "\n\n", ""
    write_text(path, head + render(results) + tail)
