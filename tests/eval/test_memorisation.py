"""Memorisation: verbatim copies of training replies, the longest copied word n-gram, and copies that
hold what filter.redact would redact; every number worked out by hand."""

from chatlike.eval.memorisation import TrainingReplies, longest_copied_ngram, memorisation
from chatlike.eval.results import Flagged

TRAIN = ["ok", "ahah sì", "ci vediamo domani alle 8 al bar", "chiamami al +39 333 1234567 stasera", "boh"]


def test_a_copy_is_a_whole_training_reply_surrounding_whitespace_aside():
    m = memorisation(["ok", " ahah sì\n", "ahah", "ok ok", ""], TrainingReplies(TRAIN))
    assert (m.replies, m.copies, m.copy_share) == (5, 2, 2 / 5)


def test_long_copies_are_counted_among_replies_of_at_least_20_characters():
    replies = ["ok", "ci vediamo domani alle 8 al bar", "ci vediamo domani alle 9 al bar", "boh"]
    m = memorisation(replies, TrainingReplies(TRAIN))
    assert (m.long_replies, m.long_copies, m.long_copy_share) == (2, 1, 1 / 2)
    assert memorisation(["ok", "boh"], TrainingReplies(TRAIN)).long_copy_share is None


def test_the_longest_copied_ngram_is_the_longest_word_run_found_within_one_training_reply():
    training = TrainingReplies(TRAIN)
    # "vediamo domani alle" (3 words) is in a training reply; "alle 9" is not; "sì ci" spans two replies
    assert longest_copied_ngram(["allora vediamo domani alle 9?"], training) == ("vediamo", "domani", "alle")
    assert longest_copied_ngram(["ahah sì ci vediamo"], training) == ("ahah", "sì")
    assert longest_copied_ngram(["nulla di nuovo"], training) == ()
    assert longest_copied_ngram([], training) == ()
    # a whole copied reply is its own longest n-gram, found without a pass over the training words
    assert len(longest_copied_ngram(["ci vediamo domani alle 8 al bar", "ok"], training)) == 7


def test_longest_copied_ngram_agrees_with_checking_every_ngram():
    training = TrainingReplies(TRAIN + ["a b c d e f", "x a b c y"])
    replies = ["q a b c d z", "x a b c y w", "f e d c b a", "b c d e f g h"]

    def plain(text: str) -> int:
        words = text.split()
        grams = {tuple(ws[i : i + n]) for ws in training.words for n in range(1, len(ws) + 1)
                 for i in range(len(ws) - n + 1)}  # fmt: skip
        return max((j - i for i in range(len(words)) for j in range(i + 1, len(words) + 1)
                    if tuple(words[i:j]) in grams), default=0)  # fmt: skip

    assert len(longest_copied_ngram(replies, training)) == max(plain(r) for r in replies) == 5


def test_copies_holding_a_phone_number_are_flagged_redacted():
    m = memorisation(["boh", "chiamami al +39 333 1234567 stasera"], TrainingReplies(TRAIN))
    assert m.flagged == [Flagged(1, "chiamami al <PHONE> stasera")]
    assert m.longest_copied_text == "chiamami al <PHONE> stasera"
    # not a copy, so not flagged (whatever it holds)
    assert memorisation(["il mio è +39 333 7654321"], TrainingReplies(TRAIN)).flagged == []
