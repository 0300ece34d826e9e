"""Style metrics on fixed strings, every value worked out by hand (Italian, Cyrillic, emoji)."""

import math
from collections import Counter

import msgspec
import pytest

from chatlike.eval import metrics

# chars: 8, 17, 23, 0, 3 (code points); words: 2, 3, 5, 0, 1; lines: 1, 1, 2, 0, 1
REPLIES = ["ciao! 🍕🍕", "Привет, как дела?", "sì ahah\nci vediamo dopo", "", "OK."]


@pytest.fixture(scope="module")
def style():
    return metrics.style(REPLIES, ["ciao", "ahah", "ok"], Counter())


def test_lengths_count_code_points_whitespace_words_and_non_empty_lines(style):
    assert style.n == 5
    assert style.mean_chars == pytest.approx(51 / 5)
    assert style.mean_words == pytest.approx(11 / 5)
    assert style.mean_lines == pytest.approx(5 / 5)


def test_length_distribution_has_quantiles_and_a_histogram(style):
    # sorted lengths 0, 3, 8, 17, 23: the q-quantile is the one at index floor(q * 5), never an average
    assert (style.chars.p10, style.chars.p50, style.chars.p90) == (0, 8, 23)
    assert style.chars.max == 23
    hist = style.chars.histogram
    assert (hist["0-1"], hist["1-5"], hist["5-10"], hist["10-20"], hist["20-50"]) == (1, 1, 1, 1, 1)
    assert sum(hist.values()) == 5


def test_emoji_rate_counts_emoji_per_reply_and_replies_with_emoji(style):
    assert style.emoji_per_reply == pytest.approx(2 / 5)
    assert style.emoji_share == pytest.approx(1 / 5)


@pytest.mark.parametrize(
    ("text", "count"),
    [("ciao 🍕🍕", 2), ("👍🏽 ok", 1), ("👨‍👩‍👧 family", 1), ("🇮🇹 forza", 1), ("❤️", 1), ("😂😂😂", 3),
     ("Привет, как дела?", 0), ("a → b © 2", 0), ("ok :)", 0)],
)  # fmt: skip
def test_an_emoji_sequence_with_skin_tone_zwj_or_flag_counts_once(text, count):
    assert len(metrics.emojis(text)) == count


def test_punctuation_habits(style):
    assert style.ends_with_punct == pytest.approx(2 / 5)  # "дела?" and "OK."
    assert style.exclaim_share == pytest.approx(1 / 5)
    assert style.question_share == pytest.approx(1 / 5)
    assert style.ellipsis_share == 0
    assert style.punct_per_char == pytest.approx(4 / 51)  # ! , ? .


def test_capitalisation_habits_skip_replies_without_letters(style):
    # ciao (lower), Привет (upper), sì (lower), OK (upper); the empty reply has no letter
    assert style.starts_lowercase == pytest.approx(2 / 4)
    # upper: П, O, K of 38 cased letters (4 + 13 + 19 + 0 + 2)
    assert style.caps_ratio == pytest.approx(3 / 38)


def test_lowercase_start_is_na_and_left_out_of_the_distance_when_no_reply_has_a_cased_letter(style):
    empty = metrics.style(["", "😂", "  "], [], Counter())
    assert empty.starts_lowercase is None
    terms = metrics.distance_terms(empty, style)
    assert "starts_lowercase" not in terms
    assert metrics.distance(empty, style) == pytest.approx(sum(terms.values()) / len(terms))


def test_first_letter_decides_lowercase_start_after_emoji_and_digits():
    assert metrics.starts_lowercase("🍕 12 ciao") is True
    assert metrics.starts_lowercase("👍 Va bene") is False
    assert metrics.starts_lowercase("😂") is None


def test_words_are_lowercased_letter_runs_keeping_inner_apostrophes():
    assert metrics.words("L'ho visto, Привет! don't 2") == ["l'ho", "visto", "привет", "don't", "2"]


def test_frequent_word_overlap_is_the_share_of_words_among_the_persons_frequent_ones(style):
    # 10 words: ciao привет как дела sì ahah ci vediamo dopo ok; ciao, ahah, ok are frequent
    assert style.frequent_word_share == pytest.approx(3 / 10)


def test_frequent_words_are_the_most_common_in_training_replies():
    assert metrics.frequent_words(["ahah sì", "ahah no", "AHAH ok sì"], k=2) == ["ahah", "sì"]


def test_char_ngram_similarity_is_cosine_of_trigram_counts():
    assert metrics.char_ngrams(["abab"]) == Counter({"aba": 1, "bab": 1})
    assert metrics.cosine(metrics.char_ngrams(["abab"]), metrics.char_ngrams(["aba"])) == pytest.approx(
        1 / math.sqrt(2)
    )
    profile = metrics.char_ngrams(["ciao ciao"])
    assert metrics.style(["ciao ciao"], [], profile).char_ngram_similarity == pytest.approx(1.0)
    assert metrics.style(["xyz"], [], profile).char_ngram_similarity == 0


def test_distinct_n_is_unique_over_all_ngrams_of_the_set():
    assert metrics.distinct([["a", "b", "a"], ["a", "b"]], 1) == pytest.approx(2 / 5)
    assert metrics.distinct([["a", "b", "a"], ["a", "b"]], 2) == pytest.approx(2 / 3)  # ab ba | ab
    assert metrics.distinct([], 2) == 0


def test_degeneracy_rates(style):
    assert style.empty_share == pytest.approx(1 / 5)
    assert style.short_share == pytest.approx(2 / 5)  # "" and "OK." are under 5 characters
    assert style.long_share == 0
    assert style.repeated_3gram_share == 0
    runon = metrics.style(["x" * 501, "😂" * 12, "ok"], [], Counter())
    assert runon.long_share == pytest.approx(1 / 3)
    assert runon.repeated_3gram_share == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("text", "repeated"),
    [("😂😂😂😂", False), ("😂😂😂😂😂😂", True), ("no no no no no no", True), ("ahah ahah", False),
     ("ma dai ma dai ma dai", False), ("ma dai ma dai ma dai ma dai", True),
     ("Да, да, да, конечно да", False)],
)  # fmt: skip
def test_a_repeated_3gram_must_recur_without_overlapping(text, repeated):
    assert metrics.has_repeated_ngram(metrics.units(text), 3) is repeated


def test_distance_of_the_real_replies_to_themselves_is_zero(style):
    assert metrics.distance(style, style) == 0


def test_distance_is_the_mean_of_log_length_ratios_and_absolute_rate_differences():
    zero = metrics.style(["a"], [], Counter())
    real = msgspec.structs.replace(zero, **dict.fromkeys(metrics.LOG_TERMS + metrics.ABS_TERMS, 0.0))
    model = msgspec.structs.replace(
        real, mean_chars=math.e - 1, emoji_share=1.0
    )  # |log(e / 1)| = 1 and |1 - 0| = 1
    assert metrics.distance_terms(model, real)["mean_chars"] == pytest.approx(1.0)
    assert metrics.distance(model, real) == pytest.approx(2 / 17)


def test_closer_style_means_smaller_distance():
    profile_words = metrics.frequent_words(["ahah sì", "ok dai 😂"])
    profile = metrics.char_ngrams(["ahah sì", "ok dai 😂"])
    real = metrics.style(["ahah sì", "ok dai 😂", "boh"], profile_words, profile)
    close = metrics.style(["ahah ok", "sì dai 😂", "mah"], profile_words, profile)
    far = metrics.style(
        ["Certainly! Here is a detailed answer to your question."] * 3, profile_words, profile
    )
    assert metrics.distance(close, real) < metrics.distance(far, real)


def test_empty_set_gives_zeros_not_errors():
    empty = metrics.style([], [], Counter())
    assert empty.n == 0 and empty.mean_chars == 0 and empty.chars.max == 0


# ---- closeness, score, and a reply set judged whole ----------------------------------------------


def test_chrf_is_100_for_the_real_reply_and_0_for_an_empty_one():
    from chatlike.eval.closeness import chrf

    scores = chrf(["sì alle 8 al bar", "", "ok", "zzz"], ["sì alle 8 al bar", "ciao", "ok!", "ciao"])
    assert scores[0] == pytest.approx(100) and scores[1] == 0 and 50 < scores[2] < 100 and scores[3] == 0


def test_score_is_chrf_times_style_times_the_share_not_copied_beyond_the_persons_own_rate():
    assert metrics.score(60.0, 0.25, 0.5, None) == pytest.approx(60 * 0.75 * 0.5)
    assert metrics.score(60.0, 0.25, 0.5, 0.25) == pytest.approx(60 * 0.75 * 0.75)
    assert metrics.score(60.0, 0.25, 0.25, 0.5) == pytest.approx(60 * 0.75)  # copying less costs nothing
    assert metrics.score(60.0, 1.7, None, None) == 0  # a distance beyond 1 leaves nothing of the style factor
    assert metrics.score(60.0, 0.0, None, 0.5) == 60  # no long replies: nothing to count as copied


# The person's training replies (lowercase, "ahah", no final punctuation), and held-out items whose real
# reply picks up what the contact asked about; the answering set does the same in the person's style.
PLACES = ["bar", "cinema", "mare", "stadio", "parco", "pizzeria", "museo", "lago", "centro", "teatro",
          "piscina", "mercato"]  # fmt: skip
TRAINING = [f"ahah sì {w} dai" for w in ("sempre", "mai", "forse", "boh", "certo", "magari")] + [
    "ahah ok", "sì dai", "ahah non so", "domani ci sono", "dai ci sentiamo dopo ahah", "ok a dopo",
]  # fmt: skip
CONTEXTS = [f"andiamo al {p} alle {8 + i % 3}?" for i, p in enumerate(PLACES)]
REAL = [f"sì al {p} alle {8 + i % 3} ahah" for i, p in enumerate(PLACES)]
ANSWERS = [f"ahah ok {c.removeprefix('andiamo ').rstrip('?')}" for c in CONTEXTS]  # "ahah ok al bar alle 8"


def test_replies_that_answer_their_context_beat_every_draw_of_the_parrot():
    from chatlike.eval import baselines

    ref = metrics.Reference.of(REAL, TRAINING)
    answers = metrics.judge(ANSWERS, ref)
    parrot = [metrics.judge(p, ref) for p in baselines.parrot(len(REAL), TRAINING, draws=20, seed=0)]
    assert all(p.memorisation.copy_share == 1 for p in parrot)
    assert answers.memorisation.copies == 0
    assert sum(answers.chrf) > max(sum(p.chrf) for p in parrot)
    assert answers.score > max(p.score for p in parrot)
    # the same replies handed to the wrong conversations lose what made them good: closeness
    shuffled = metrics.judge(ANSWERS[1:] + ANSWERS[:1], ref)
    assert shuffled.style == answers.style and shuffled.score < answers.score / 2


def test_copying_long_replies_costs_what_the_person_does_not_repeat_themselves():
    ref = metrics.Reference.of(REAL, TRAINING)
    assert ref.real_long_copy_share == 0
    copied = metrics.judge(["dai ci sentiamo dopo ahah"] * len(REAL), ref)
    assert copied.memorisation.long_copy_share == 1 and copied.score == 0
    # the person repeats 1 of their 5 long replies: a set that copies every long reply keeps 1/5
    habit = metrics.Reference.of(REAL[:4] + ["dai ci sentiamo dopo ahah"], TRAINING)
    assert habit.real_long_copy_share == pytest.approx(1 / 5)
    copies = metrics.judge(["dai ci sentiamo dopo ahah"] * 5, habit)
    assert copies.score == pytest.approx(sum(copies.chrf) / 5 * (1 - copies.distance) * (1 / 5))


def test_the_real_replies_score_100():
    ref = metrics.Reference.of(REAL[:4] + ["dai ci sentiamo dopo ahah"], TRAINING)
    real = metrics.judge(ref.real, ref)
    assert real.distance == 0 and real.memorisation.long_copy_share == pytest.approx(1 / 5)
    assert real.score == pytest.approx(100)
