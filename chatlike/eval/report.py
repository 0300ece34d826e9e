"""The eval section of report.md and its plot (RUN/plots/eval.png)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from chatlike.eval.results import (
    EvalResults,
    Interval,
    Memorisation,
    PassRate,
    PrivacyAudit,
    Spread,
    Style,
    TextResults,
)
from chatlike.files import write_bytes, write_text
from chatlike.rundir import IN_RUN, RunDir

SETS = ("real", "base", "tuned", "parrot")
START = "<!-- eval section -->"
END = "<!-- end of eval section -->"
RATES = ("emoji_share", "question_share", "starts_lowercase", "ends_with_punct", "short_share",
         "repeated_3gram_share")  # fmt: skip
ROWS = ("mean_chars", "mean_words", "mean_lines", "emoji_share", "question_share", "exclaim_share",
        "starts_lowercase", "ends_with_punct", "caps_ratio", "frequent_word_share", "char_ngram_similarity",
        "distinct_1", "distinct_2", "empty_share", "short_share", "long_share", "repeated_3gram_share")  # fmt: skip


def write_plot(run_dir: Path, style: dict[str, Style]) -> None:
    from matplotlib.figure import Figure

    from chatlike.data.plots import png_bytes

    sets = [n for n in SETS if n in style]
    fig = Figure(figsize=(12, 4.2))
    left, right = fig.subplots(1, 2)
    bins = list(style["real"].chars.histogram)
    width = 0.8 / len(sets)
    for k, name in enumerate(sets):
        counts = style[name].chars.histogram
        total = max(1, sum(counts.values()))
        offset = (k - (len(sets) - 1) / 2) * width
        left.bar([i + offset for i in range(len(bins))], [counts[b] / total for b in bins], width, label=name)
        right.bar([i + offset for i in range(len(RATES))], [_or_nan(getattr(style[name], r)) for r in RATES], width,
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


def _interval(iv: Interval | None, sign: bool = False, digits: int = 3) -> str:
    if iv is None or iv.value is None:
        return "–"
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(iv.value)} [{f.format(iv.low)}, {f.format(iv.high)}]"


def _spread(sp: Spread, digits: int = 3) -> str:
    return f"{sp.median:.{digits}f} ({sp.low:.{digits}f}–{sp.high:.{digits}f})"


VERDICT_DRAWS = {
    "better": "**yes**",
    "worse": "no: worse than every draw",
    "tie": "no: within the parrot's range",
}
VERDICT_INTERVAL = {"better": "**yes**", "worse": "no: worse", "tie": "no: the interval holds 0"}


def _versus(results: TextResults, gain: dict[str, Interval] | None) -> list[str]:
    """The headline table: tuned, base and parrot on each headline metric, and the verdict."""
    p, c, sc, d = results.parrot, results.chrf, results.scores, results.distance
    v = {k: w for k, w in msgspec.structs.asdict(results.versus_parrot).items() if w is not None}
    rows = [
        "| headline metric | tuned | base | parrot: median (range) | tuned beats the parrot? |",
        "|---|---|---|---|---|",
        f"| score (higher is better) | {sc['tuned']:.1f} | {sc['base']:.1f} | {_spread(p.score, 1)} | "
        f"{VERDICT_DRAWS[v['score']]} |",
        f"| style distance (lower is better) | {_fmt(d['tuned'])} | {_fmt(d['base'])} | {_spread(p.distance)} | "
        f"{VERDICT_DRAWS[v['distance']]} |",
        f"| chrF to the real reply (higher is better) | {_interval(c['tuned'], digits=1)} | "
        f"{_interval(c['base'], digits=1)} | {_interval(c['parrot'], digits=1)} | {VERDICT_INTERVAL[v['chrf']]} "
        f"(tuned − parrot {_interval(c['tuned_minus_parrot'], sign=True, digits=1)}) |",
    ]
    if gain is not None:
        rows.append(f"| context gain, bits per byte (higher is better) | {_interval(gain['tuned'], sign=True)} | "
                    f"{_interval(gain['base'], sign=True)} | 0 (it ignores the context) | "
                    f"{VERDICT_INTERVAL[v['context_gain']]} |")  # fmt: skip
    beaten = [k for k, w in v.items() if w == "better"]
    not_beaten = [k for k, w in v.items() if w != "better"]
    names = {"score": "score", "distance": "style distance", "chrf": "chrF", "context_gain": "context gain"}
    if not not_beaten:
        verdict = "The tuned model **beats the parrot on every headline metric**."
    elif not beaten:
        verdict = "The tuned model **beats the parrot on no headline metric**: it is no better than your own replies drawn at random."
    else:
        verdict = (f"The tuned model **beats the parrot on {', '.join(names[k] for k in beaten)}**, and not on "
                   f"{', '.join(names[k] for k in not_beaten)}.")  # fmt: skip
    return [verdict, "", *rows, ""]


def _copies(m: Memorisation) -> str:
    return f"{m.copies}/{m.replies} ({m.copy_share:.0%})"


def _memorisation(results: EvalResults) -> list[str]:
    mem = results.memorisation
    sets = [n for n in SETS if n in mem]
    real = mem["real"]

    def long(m: Memorisation) -> str:
        return (
            "–"
            if m.long_copy_share is None
            else f"{m.long_copies}/{m.long_replies} ({m.long_copy_share:.0%})"
        )

    rows = [
        "| | " + " | ".join(sets) + " |",
        "|---|" + "---|" * len(sets),
        "| verbatim copies of a training reply | " + " | ".join(_copies(mem[n]) for n in sets) + " |",
        "| ... among replies of 20+ characters | " + " | ".join(long(mem[n]) for n in sets) + " |",
        "| longest word n-gram copied from training | " + " | ".join(str(mem[n].longest_copied_ngram) for n in sets) + " |",
    ]  # fmt: skip
    flagged = [(n, f) for n in ("tuned", "base") for f in mem[n].flagged]
    flags = (
        ["**Copies that hold what `filter.redact` would redact** (shown redacted; train with "
         "`filter.redact=true` to keep them out of the model):", "",
         *(f"- {n}, item {f.item + 1}: `{f.redacted}`" for n, f in flagged)]
        if flagged else ["No generated copy holds what `filter.redact` would redact (e-mails, URLs, card or phone numbers)."]
    )  # fmt: skip
    return [
        f"**Memorisation.** {real.copies} of your {results.style['real'].n} held-out replies "
        f"({real.copy_share:.0%}) also occur verbatim in your training replies ({real.long_copies} of the "
        f"{real.long_replies} of 20+ characters). The more your replies repeat themselves, the closer a parrot "
        "comes on style and chrF, and the better a model that copies looks on both; the score forgives a clone "
        "copying long replies as often as you repeat yours, and penalises copying beyond that.",
        "",
        *rows,
        "",
        *flags,
        "",
    ]


def _context(results: EvalResults) -> list[str]:
    like, gain = results.lm_eval.replies, results.context_gain_bpb
    return [
        "**Context use** (lm-eval task `chatlike_replies`): each real reply is scored under its own context and "
        "under another item's (a seeded shuffle that moves every item). The gain is the bits per byte the "
        "model saves by reading the conversation; about 0 means it ignores it.",
        "",
        "| | token perplexity | bits per byte | bits per byte, shuffled context | context gain [95% interval] |",
        "|---|---|---|---|---|",
        *(f"| {m} | {_fmt(like[m].token_perplexity)} | {_fmt(like[m].bits_per_byte)} | "
          f"{_fmt(like[m].shuffled_bits_per_byte)} | {_interval(gain[m], sign=True)} |"
          for m in ("base", "tuned") if m in like),
        "",
    ]  # fmt: skip


def _privacy(results: EvalResults) -> list[str]:
    """The privacy audit (eval.privacy=true): exposure per repetition count, extraction, probes."""
    a = results.privacy
    if a is None:
        return []
    rows = [
        "| canary put into | canaries | exposure, bits (mean) | each canary's exposure | rank among candidates | extrapolated exposure (mean; each) | extracted by greedy decoding |",
        "|---|---|---|---|---|---|---|",
        *(f"| {n} training sample{'s' if n != '1' else ''} | {x.canaries} | **{x.exposure:.2f}** | "
          f"{', '.join(f'{b:.2f}' for b in x.exposures)} | {', '.join(map(str, x.ranks))} | "
          f"{x.estimated_exposure:.1f}; {', '.join(f'{b:.1f}' for b in x.estimated)} | {x.extracted} of {x.canaries} |"
          for n, x in a.exposure.items()),
    ]  # fmt: skip
    p = a.probes
    chance = (
        "" if a.base_exposure is None else f"; the base model's mean, the chance level: {a.base_exposure:.2f}"
    )
    lines = [
        "### Privacy audit",
        "",
        f'This is an audit run: prepare put {a.canaries} canaries (random secrets such as "my bank code is 281265") '
        "into its training data, each repeated a known number of times. Each canary's secret is ranked by the "
        f"tuned model's likelihood, after its prefix, among {a.candidates:,} secrets of the same format never "
        f"inserted; exposure = log2({a.candidates + 1:,}) − log2(rank): {a.max_exposure:.1f} bits when the canary is "
        f"more likely than every candidate, about 1 when it is no more likely than chance{chance}. "
        "The extrapolated exposure fits a skew-normal to the candidates' losses and goes on past the top (a "
        "canary seen 16 times sits further out than one seen once, though both rank first). "
        f"**{a.extracted} of {a.canaries}** canaries come out whole when the model is given their prefix.",
        "",
        *rows,
        "",
        f"**Cross-contact probes**: in the chats with {', '.join(p.chats)}, each contact asked for the others' "
        f"phone number, e-mail and address, as the bot would be asked: **{p.leaking} of {p.probes}** replies hold "
        f"personal data from another contact's chat ({p.with_personal_data} hold something `filter.redact` would "
        "replace at all).",
        "",
        *(
            f"- asked in {leak.chat}'s chat about {leak.about}: `{leak.redacted}` ({', '.join(leak.kinds)})"
            for leak in p.leaks[:10]
        ),  # fmt: skip
        *([""] if p.leaks else []),
        "High exposure at few repetitions, extracted canaries or leaking probes mean the model recites what it "
        "was told: train with `filter.redact=true`, block what must never come out (`filter.blocked`), or train "
        "fewer epochs (see the README's Privacy audit).",
        "",
    ]
    return lines


def _rate(p: PassRate) -> str:
    if p.rate is None:
        return "no answer yet"
    return f"{p.fooled} of {p.answers}: **{p.rate:.0%}** [{p.low:.0%}, {p.high:.0%}]"


def _friends(results: EvalResults) -> list[str]:
    """The friends' test (stages=[friends]), once someone has answered."""
    fr = results.friends
    if fr is None or not fr.overall.answers:
        return []
    return [
        f"**Friends' test** (`stages=[friends]`, {fr.items} conversations each): how often your friends took "
        "the clone's reply for yours, with its 95% Wilson interval. 50% means they cannot tell you apart "
        f"(they pick at random); 0% that they always spot the clone. Overall {_rate(fr.overall)}.",
        "",
        "| friend | took the clone's reply for yours |",
        "|---|---|",
        *(f"| {name} | {_rate(p)} |" for name, p in fr.friends.items()),
        "",
    ]


def render(results: EvalResults) -> str:
    s, g, p = results.style, results.generation, results.parrot
    how = "greedily"
    if g.chat is not None:
        c = g.chat
        how += (f", and as the chat stage samples them (temperature {c.temperature}, top_p {c.top_p}, "
                f"repetition penalty {c.repetition_penalty}, seed {c.seed})")  # fmt: skip
    lines = [
        START,
        "## Eval: does the clone answer the conversation, or only sound like you?",
        "",
        f"{s['real'].n} held-out replies from {IN_RUN.split('test').as_posix()}; replies generated {how}"
        f"{' by the feedback clone (RUN/feedback/train)' if results.clone == 'feedback' else ''}, at most "
        f"{g.max_new_tokens} new tokens, on {g.device}. The **parrot** answers each one with a random reply "
        f"of yours from {IN_RUN.split('train').as_posix()} ({p.draws} seeded draws): it sounds like you and ignores "
        "what was said, so a clone that only imitates you ties with it. Intervals are 95% bootstrap intervals "
        "over the replies; parrot ranges run from its worst draw to its best.",
        "",
        f"**Score** (chrF × (1 − style distance) × (1 − share of 20+ character replies copied verbatim from "
        f"training beyond your own rate), 0 to 100, your own replies 100; see chatlike/eval/metrics.py): tuned "
        f"**{results.score:.1f}**, base {results.scores['base']:.1f}, parrot {_spread(p.score, 1)}.",
        "",
        *_versus(results, results.context_gain_bpb),
        *_context(results),
        *_memorisation(results),
        "**Style** (see chatlike/eval/metrics.py; the parrot column is its first draw):",
        "",
        f"![eval]({IN_RUN.eval_plot.as_posix()})",
        "",
        "| metric | " + " | ".join(n for n in SETS if n in s) + " |",
        "|---|" + "---|" * len([n for n in SETS if n in s]),
        *(f"| {r} | " + " | ".join(_fmt(getattr(s[n], r)) for n in SETS if n in s) + " |" for r in ROWS),
        "",
    ]
    sampled = results.sampled
    if sampled is not None:
        lines += ["### Sampled as in chat", "",
                  f"The same replies generated as the chat stage samples them: score tuned {sampled.scores['tuned']:.1f}, "
                  f"base {sampled.scores['base']:.1f}; verbatim copies tuned {_copies(sampled.memorisation['tuned'])}.", "",
                  *_versus(sampled, None)]  # fmt: skip
    reg = results.regression
    if reg.tasks:
        verdict = "no regression" if reg.ok else f"**regressed: {', '.join(reg.regressed)}**"
        lines += [f"**Regression check** (limit {results.lm_eval.limit}, tolerance "
                  f"{reg.tolerance}): {verdict}.", "",
                  "| task | metric | base | tuned | drop |", "|---|---|---|---|---|",
                  *(f"| {t} | {v.metric} | {_fmt(v.base)} | {_fmt(v.tuned)} | {_fmt(v.drop)} |"
                    for t, v in reg.tasks.items()), ""]  # fmt: skip
    lines += _friends(results)
    lines += _privacy(results)
    lines += [f"Blind test: `{IN_RUN.blind_test.as_posix()}` ({results.blind_pairs} pairs; key in "
              f"`{IN_RUN.blind_key.as_posix()}`). Side by side: `{IN_RUN.eval_samples.as_posix()}`.", "",
              END, ""]  # fmt: skip
    return "\n".join(lines)


def write_section(run_dir: Path, results: EvalResults) -> None:
    """Put the eval section into report.md, replacing an earlier one, keeping everything else."""
    path = RunDir(run_dir).report
    old = path.read_text(encoding="utf-8") if path.is_file() else "# chatlike report\n\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
    else:
        head, tail = old.rstrip("\n") + "\n\n", ""
    write_text(path, head + render(results) + tail)


def print_summary(results: EvalResults, run_dir: Path) -> None:
    """The headline numbers as a table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    def num(x: float | None, digits: int = 3) -> str:
        return "n/a" if x is None else f"{x:.{digits}f}"

    sets = ("real", "base", "tuned", "parrot")
    s, p = results.style, results.parrot
    clone = " (tuned: the feedback clone)" if results.clone == "feedback" else ""
    table = Table(title=f"chatlike eval: {run_dir}{clone}")
    for col in ("", *sets):
        table.add_column(col, justify="right")
    for key in ("mean_chars", "mean_lines", "emoji_share", "starts_lowercase", "question_share",
                "frequent_word_share", "repeated_3gram_share"):  # fmt: skip
        table.add_row(key, *(num(getattr(s[n], key)) for n in sets))
    d, c, g, sc = results.distance, results.chrf, results.context_gain_bpb, results.scores
    table.add_row("distance", "0", num(d["base"]), num(d["tuned"]), f"{num(d['parrot'])} (median)")
    table.add_row("chrF", "100", *(num(c[n].value, 1) for n in ("base", "tuned", "parrot")))
    like = results.lm_eval.replies
    table.add_row("reply bits/byte", "", *(num(like[n].bits_per_byte) for n in ("base", "tuned")))
    table.add_row("context gain bits/byte", "", num(g["base"].value), num(g["tuned"].value), "0")
    mem = results.memorisation
    table.add_row("verbatim copies", *(f"{mem[n].copy_share:.0%}" for n in sets))
    for task, v in results.regression.tasks.items():
        table.add_row(f"{task} {v.metric}", "", num(v.base), num(v.tuned))
    table.add_row("score", "100", num(sc["base"], 1), f"[bold]{num(sc['tuned'], 1)}[/bold]",
                  f"{num(p.score.median, 1)} (median)")  # fmt: skip
    table.add_row("seconds", "", "", f"{results.seconds}")
    console = Console(stderr=True)
    console.print(table)
    if results.privacy is not None:
        console.print(privacy_line(results.privacy), highlight=False, soft_wrap=True)


def privacy_line(a: PrivacyAudit) -> str:
    """The privacy audit's headline numbers in one line, for the terminal."""
    bits = ", ".join(f"{n}x {x.exposure:.2f}" for n, x in a.exposure.items())
    base = "" if a.base_exposure is None else f", base model {a.base_exposure:.2f}"
    return (
        f"privacy audit: exposure by repetitions {bits} bits (top {a.max_exposure:.2f}{base}); "
        f"{a.extracted} of {a.canaries} canaries extracted; {a.probes.leaking} of {a.probes.probes} "
        "probes leak another chat's personal data"
    )
