"""RUN/eval/results.json: what eval found, as msgspec Structs. The eval modules return these parts,
the eval stage writes the whole, and the report and the sweep summary read it back through
`read_results`, so a field is named in one place and a file that does not fit is one line naming it.

Stable for scripts (`jq .score RUN/eval/results.json`): `score`, `scores`, `distance`, `chrf`,
`context_gain_bpb`, `versus_parrot`, `memorisation.*.copy_share`, `lm_eval.replies`, `regression`;
the rest may grow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import msgspec

from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes

# A score is chrF x factors in [0, 1]: 0 to 100. The bounds also refuse NaN (no comparison holds).
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]
Verdict = str  # "better" | "worse" | "tie": the tuned model against the parrot


class Interval(msgspec.Struct, frozen=True):
    """A statistic and its 95% bootstrap interval over the held-out replies (None: no items)."""

    value: Optional[float]
    low: Optional[float]
    high: Optional[float]


class Spread(msgspec.Struct, frozen=True):
    """A metric over the parrot's draws: the median and the range (worst to best draw)."""

    median: float
    low: float
    high: float


class Lengths(msgspec.Struct, frozen=True):
    p10: float
    p50: float
    p90: float
    max: int
    histogram: dict[str, int]  # "lo-hi" (hi exclusive) and "lo+" -> replies


class Style(msgspec.Struct, frozen=True):
    """The style metrics of a set of replies (chatlike/eval/metrics.py defines each)."""

    n: int
    mean_chars: float
    chars: Lengths
    mean_words: float
    mean_lines: float
    emoji_per_reply: float
    emoji_share: float
    punct_per_char: float
    ends_with_punct: float
    exclaim_share: float
    question_share: float
    ellipsis_share: float
    starts_lowercase: Optional[float]  # None: no reply starts with a cased letter
    caps_ratio: float
    frequent_word_share: float
    char_ngram_similarity: float
    distinct_1: float
    distinct_2: float
    empty_share: float
    short_share: float
    long_share: float
    repeated_3gram_share: float


class Flagged(msgspec.Struct, frozen=True):
    item: int  # the held-out reply's position
    redacted: str  # the copy as filter.redact shows it


class Memorisation(msgspec.Struct, frozen=True):
    """Copies of training replies in a set of replies (chatlike/eval/memorisation.py)."""

    replies: int
    copies: int
    copy_share: float
    long_replies: int
    long_copies: int
    long_copy_share: Optional[float]  # None: no reply of 20+ characters
    longest_copied_ngram: int
    longest_copied_text: str
    flagged: list[Flagged]


class ParrotSpread(msgspec.Struct, frozen=True):
    draws: int
    distance: Spread
    chrf: Spread
    score: Spread


class VersusParrot(msgspec.Struct, frozen=True, omit_defaults=True):
    score: Verdict
    distance: Verdict
    chrf: Verdict
    context_gain: Optional[Verdict] = None  # greedy replies only: a parrot's context gain is 0


class TextResults(msgspec.Struct, frozen=True, kw_only=True):
    """The text metrics of one decoding (greedy, or sampled as chat samples): each reply set
    (real, base, tuned) beside the parrot."""

    style: dict[str, Style]
    distance: dict[str, float]
    chrf: dict[str, Interval]  # base, tuned, parrot, tuned_minus_parrot
    memorisation: dict[str, Memorisation]
    scores: dict[str, Score]
    parrot: ParrotSpread
    versus_parrot: VersusParrot


class Likelihood(msgspec.Struct, frozen=True, omit_defaults=True):
    """lm-eval's metrics of the real replies under a model (chatlike/eval/likelihood.py)."""

    token_perplexity: Optional[float] = None
    bits_per_byte: Optional[float] = None
    shuffled_bits_per_byte: Optional[float] = None


class TaskCheck(msgspec.Struct, frozen=True):
    metric: str
    base: float
    tuned: float
    drop: float


class Regression(msgspec.Struct, frozen=True):
    tolerance: float
    tasks: dict[str, TaskCheck]
    regressed: list[str]
    ok: bool


class LmEval(msgspec.Struct, frozen=True):
    replies: dict[str, Likelihood]  # base, tuned
    tasks: dict[str, dict[str, dict[str, float]]]  # base, tuned -> task -> metric -> value
    limit: Optional[int]


class ChatSampling(msgspec.Struct, frozen=True):
    temperature: float
    top_p: float
    repetition_penalty: float
    seed: int


class Generation(msgspec.Struct, frozen=True):
    max_new_tokens: int
    sampling: str  # greedy | chat
    chat: Optional[ChatSampling]
    samples: int
    device: str


class PassRate(msgspec.Struct, frozen=True):
    """How often friends took the clone's reply for yours, with its 95% Wilson interval."""

    fooled: int  # answers that picked the clone's reply as yours
    answers: int
    rate: Optional[float]  # fooled / answers; None before any answer
    low: Optional[float]
    high: Optional[float]


class FriendsResults(msgspec.Struct, frozen=True):
    """The friends' test (stages=[friends]): per friend and overall."""

    overall: PassRate
    friends: dict[str, PassRate]
    items: int  # conversations each friend was given


class Exposure(msgspec.Struct, frozen=True):
    """The canaries repeated one number of times (chatlike/eval/privacy.py): each one's exposure, in
    bits (log2 of the candidates ranked, the canary among them, less log2 of the canary's rank), the
    mean, and how many greedy decoding completes from their prefix."""

    canaries: int
    exposure: float  # the mean
    exposures: list[float]
    ranks: list[int]  # 1: more likely than every candidate
    extracted: int
    # extrapolated beyond the candidates (Carlini et al.'s skew-normal fit of the candidates' losses):
    # the mean and each canary's; unlike the rank's, it goes on rising past log2(candidates + 1)
    estimated_exposure: float = 0.0
    estimated: list[float] = []


class Leak(msgspec.Struct, frozen=True):
    """A probe's reply that holds personal data of another chat, shown redacted."""

    chat: str  # the chat the probe was asked in (its name as data/chats.json has it)
    about: str  # the contact it asked about
    kinds: list[str]  # <PHONE>, <EMAIL>, ... of the other chats' personal data it holds
    redacted: str  # the reply as filter.redact shows it


class Probes(msgspec.Struct, frozen=True):
    """Cross-contact probes: asked in one chat for another contact's phone, e-mail or address."""

    chats: list[str]  # where they were asked
    probes: int
    with_personal_data: int  # replies holding anything filter.redact would replace
    leaking: int  # replies holding personal data that occurs in another chat's training data
    leaks: list[Leak]


class PrivacyAudit(msgspec.Struct, frozen=True):
    """eval.privacy=true: the canaries' exposure per repetition count ("16": the canaries put into 16
    training samples), the extraction count, and the cross-contact probes."""

    candidates: int  # never-inserted secrets each canary is ranked among
    max_exposure: float  # log2(candidates + 1): the canary ranked first
    exposure: dict[str, Exposure]
    canaries: int
    extracted: int
    probes: Probes
    base_exposure: Optional[float] = None  # the base model's mean over every canary: chance level


class EvalResults(TextResults, frozen=True, kw_only=True):
    """RUN/eval/results.json: the greedy replies' text metrics at the top, and the rest."""

    score: Score  # the tuned model's greedy score: the one headline number
    context_gain_bpb: dict[str, Interval]  # base, tuned
    distance_terms: dict[str, dict[str, float]]  # base, tuned -> term -> value
    lm_eval: LmEval
    regression: Regression
    generation: Generation
    sampled: Optional[TextResults]  # eval.sampling=chat: the replies sampled as chat samples them
    blind_pairs: int
    seconds: float
    friends: Optional[FriendsResults] = None  # stages=[friends], once a friend has answered
    privacy: Optional[PrivacyAudit] = None  # eval.privacy=true: the audit of an audit run
    clone: str = "sft"  # what "tuned" is: sft (RUN/train) or feedback (RUN/feedback/train)


_DECODER = msgspec.json.Decoder(EvalResults)


def write_results(path: Path, results: EvalResults) -> None:
    write_bytes(path, msgspec.json.format(msgspec.json.encode(results), indent=1) + b"\n")


def read_results(path: Path) -> EvalResults:
    """RUN/eval/results.json; one line naming the file and the field when it is missing or does not fit."""
    try:
        return _DECODER.decode(Path(path).read_bytes())
    except FileNotFoundError:
        raise ChatlikeError(f"{path} is missing; run the eval stage first ('stages=[eval]')") from None
    except (OSError, msgspec.DecodeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ChatlikeError(f"unreadable {path} ({why}); run eval again") from None
