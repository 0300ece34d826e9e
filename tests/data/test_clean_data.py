"""Clean data: held-out conversations that nearly repeat training ones leave the test split, blocked
words are gone from every split, my near-repeats collapse; each on data where the answer is known."""

import json
from pathlib import Path

import pytest

from chatlike.config import Config
from chatlike.data.near_duplicates import SampleText, collapse_mine, jaccard, repeating
from chatlike.data.records import Sample
from chatlike.stages import prepare
from tests.support import synth

ME, LORENZO, GIULIA = synth.ME, synth.LORENZO, synth.GIULIA
T0 = synth.SAMPLE_START
INFO = synth.personal_information(synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")
HOUR = 3600


def lines(run: Path, split: str) -> list[dict]:
    return [json.loads(x) for x in (run / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def run_prepare(tmp_path: Path, chats, name: str = "run", **overrides):
    src = tmp_path / "result.json"
    synth.write_export(src, synth.full_export(chats, info=INFO))
    cfg = Config()
    cfg.source.path = str(src)
    cfg.filter.min_messages = cfg.filter.min_my_messages = 0
    cfg.split.val_fraction = 0.0
    for key, value in overrides.items():
        group, field = key.split("__")
        setattr(getattr(cfg, group), field, value)
    run = tmp_path / name
    return run, prepare.run(cfg, run)


def conversation(k: int, t: int, contact=LORENZO, first_id: int = 1, extra: str = "") -> list[dict]:
    """A conversation of words no other k uses: they ask, I answer, twice."""
    return [
        synth.message(first_id, t, contact, f"alfa{k} beta{k} gamma{k}"),
        synth.message(first_id + 1, t + 60, ME, f"delta{k} epsilon{k} zeta{k}"),
        synth.message(first_id + 2, t + 120, contact, f"eta{k} theta{k} iota{k}"),
        synth.message(first_id + 3, t + 180, ME, f"kappa{k} lambda{k} mu{k}{extra}"),
    ]


def chat_of(ks: list[int], contact=LORENZO, extra_last: str = "") -> dict:
    msgs = []
    for i, k in enumerate(ks):
        extra = extra_last if i == len(ks) - 1 else ""
        msgs += conversation(k, T0 + i * 10 * HOUR, contact, first_id=1 + 4 * i, extra=extra)
    return synth.personal_chat(contact, msgs)


def said(sample: dict) -> str:
    return " ".join(m["content"] for m in sample["messages"][1:])


def test_a_held_out_conversation_that_nearly_repeats_a_training_one_leaves_the_test_split(tmp_path):
    # ten conversations; the latest (the test split's) repeats conversation 3 with one more word
    chat = chat_of([0, 1, 2, 3, 4, 5, 6, 7, 8, 3], extra_last=" nu3")
    run, stats = run_prepare(tmp_path, [chat], split__test_fraction=0.2)
    test, train = lines(run, "test"), lines(run, "train")
    assert [said(s) for s in test] == [said(s) for s in lines(run, "test")]
    assert all("alfa3" not in said(s) for s in test)  # the near-copy left test...
    assert sum("alfa3" in said(s) for s in train) == 2  # ...for train, beside the one it repeats
    assert any("alfa8" in said(s) for s in test)  # the other held-out one stays
    assert stats.held_out.near_duplicates_moved == 1 and stats.held_out.near_duplicate_samples_moved == 1
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "1 held-out conversations (1 samples) nearly repeated a training sample" in report
    # off: it stays in test
    run_off, stats_off = run_prepare(tmp_path, [chat], "off", split__test_fraction=0.2,
                                     split__near_duplicate_threshold=None)  # fmt: skip
    assert any("alfa3" in said(s) for s in lines(run_off, "test"))
    assert (
        stats_off.held_out.near_duplicates_moved == 0 and stats_off.held_out.near_duplicate_threshold is None
    )


def test_near_duplicates_are_found_across_chats_too(tmp_path):
    lorenzo = chat_of([0, 1, 2, 3, 4])
    giulia = chat_of([5, 6, 7, 8, 2], contact=GIULIA)  # Giulia's latest: Lorenzo's conversation 2
    run, stats = run_prepare(tmp_path, [lorenzo, giulia], split__test_fraction=0.2)
    assert stats.held_out.near_duplicates_moved == 1
    assert not any("alfa2" in said(s) for s in lines(run, "test"))


def test_where_nothing_nearly_repeats_the_splits_are_byte_identical_to_the_check_off(tmp_path):
    chats = [chat_of(list(range(10))), chat_of(list(range(10, 16)), contact=GIULIA)]
    on, stats = run_prepare(tmp_path, chats, "on", split__test_fraction=0.3)
    off, _ = run_prepare(
        tmp_path, chats, "off", split__test_fraction=0.3, split__near_duplicate_threshold=None
    )
    assert stats.held_out.near_duplicates_moved == 0
    for split in ("train", "val", "test"):
        assert (on / "data" / f"{split}.jsonl").read_bytes() == (off / "data" / f"{split}.jsonl").read_bytes()


def test_held_out_replies_still_found_in_training_are_counted(tmp_path):
    msgs = []
    for i, (theirs, mine) in enumerate([("ciao", "ok"), ("come va", "benissimo grazie mille e tu come stai"),
                                        ("novità?", "niente"), ("stasera?", "benissimo grazie mille e tu come stai"),
                                        ("e domani", "ok")]):  # fmt: skip
        t = T0 + i * 10 * HOUR
        msgs += [synth.message(2 * i + 1, t, LORENZO, theirs), synth.message(2 * i + 2, t + 60, ME, mine)]
    _, stats = run_prepare(tmp_path, [synth.personal_chat(LORENZO, msgs)], split__test_fraction=0.4,
                           split__near_duplicate_threshold=None)  # fmt: skip
    h = stats.held_out
    # test: "benissimo..." (also in training, 20+ characters) and "ok" (also in training, short)
    assert (h.test_replies, h.test_replies_in_training, h.test_long_replies, h.test_long_replies_in_training) == (
        2, 2, 1, 1,
    )  # fmt: skip


def test_repeating_finds_every_pair_at_the_threshold_and_none_below():
    def text(words: str) -> SampleText:
        return SampleText([words], [])

    base = [f"w{i}" for i in range(40)]
    training = [text(" ".join(f"t{k}x{i}" for i in range(40))) for k in range(300)]
    training.append(text(" ".join(base)))
    # 36 of 40 words kept, 0 added: Jaccard 0.9; 28 kept and 12 new: 28/52 = 0.54
    near = text(" ".join(base[:36]))
    far = text(" ".join(base[:28] + [f"n{i}" for i in range(12)]))
    empty = text("🙂 👍")
    assert jaccard(near.words(), training[-1].words()) == 0.9
    assert repeating([near, far, empty], training, 0.8) == [True, False, False]
    assert repeating([far], training, 0.5) == [True]


def sample(line: dict) -> Sample:
    return Sample(json.dumps(line).encode(), 1, "x", 0, 2, 1, 0, 0)


def test_a_sample_text_is_its_turns_without_the_system_prompt():
    s = sample({"messages": [{"role": "system", "content": "You are Pasquale"},
                             {"role": "user", "content": "Ciao, come VA?"},
                             {"role": "assistant", "content": "bene!"}]})  # fmt: skip
    text = SampleText.of(s)
    assert text.words() == {"ciao", "come", "va", "bene"}
    assert text.replies == ["bene!"]


# ---- my near-repeats -----------------------------------------------------------------------------


def test_my_near_repeat_within_the_window_collapses_and_is_counted(tmp_path):
    msgs = [
        synth.message(1, T0, LORENZO, "ci vediamo stasera?"),
        synth.message(2, T0 + 10, ME, "si alle 8 al solito posto"),
        synth.message(3, T0 + 30, ME, "sì alle 8 al solito posto"),  # a correction, 20 s later
        synth.message(4, T0 + 200, ME, "si alle 8 al solito posto"),  # the same, 3 minutes later
        synth.message(5, T0 + 210, LORENZO, "ok"),
        synth.message(6, T0 + 215, LORENZO, "ok!"),  # theirs: kept
        synth.message(7, T0 + 230, ME, "a dopo"),
    ]
    chat = synth.personal_chat(LORENZO, msgs)
    run, stats = run_prepare(tmp_path, [chat], split__test_fraction=0.0, filter__near_duplicate_ratio=0.9)
    (s,) = lines(run, "train")
    mine = [m["content"] for m in s["messages"] if m["role"] == "assistant"]
    assert mine == ["si alle 8 al solito posto\nsi alle 8 al solito posto", "a dopo"]
    assert "ok\nok!" in [m["content"] for m in s["messages"]]
    assert stats.filter.messages_removed["near_duplicate_of_mine"] == 1
    assert stats.filter.messages_kept == 6
    _, off = run_prepare(tmp_path, [chat], "off", split__test_fraction=0.0)
    assert "near_duplicate_of_mine" not in off.filter.messages_removed


def test_collapse_compares_with_each_of_my_recent_messages():
    msgs = [(0, "me", "P", "alle otto al bar", True), (5, "me", "P", "prendi il pane", True),
            (9, "me", "P", "alle otto al bar!", True), (70, "me", "P", "alle otto al bar", True)]  # fmt: skip
    kept, dropped = collapse_mine(msgs, 0.9, 1.0)
    assert [m[3] for m in kept] == ["alle otto al bar", "prendi il pane", "alle otto al bar"]
    assert dropped == 1


# ---- blocked words -------------------------------------------------------------------------------


def blocked_chat() -> dict:
    msgs = []
    texts = [
        ("il codice del portone è 4512", "ok grazie"),
        ("Ho visto Progetto Aurora ieri", "progetto   aurora?? bello"),
        ("ci vediamo al bar", "sì dai, porto Fido"),
        ("e il codice?", "te lo dico dopo"),
        ("aurora boreale stanotte", "wow"),
        ("stasera?", "il mio IBAN IT60X0542811101000000123456"),
    ]
    for i, (theirs, mine) in enumerate(texts * 2):
        t = T0 + i * 10 * HOUR
        msgs += [synth.message(2 * i + 1, t, LORENZO, theirs), synth.message(2 * i + 2, t + 60, ME, mine)]
    return synth.personal_chat(LORENZO, msgs)


BLOCKED = ["progetto aurora", "fido", "/IT\\d{2}[A-Z]\\d{10,30}/", "/codice.*\\d{4}/"]


def everything(run: Path) -> str:
    return "\n".join(said(s) for split in ("train", "val", "test") for s in lines(run, split))


def test_a_blocked_word_is_gone_from_every_split(tmp_path):
    run, stats = run_prepare(tmp_path, [blocked_chat()], split__test_fraction=0.3, filter__blocked=BLOCKED,
                             split__near_duplicate_threshold=None)  # fmt: skip
    text = everything(run).lower()
    for gone in ("aurora?", "progetto", "fido", "it60x", "4512"):
        assert gone not in text
    assert "aurora boreale" in text  # a whole phrase, not its words alone
    assert "e il codice?" in text  # the regular expression asks for four digits after it
    assert all(lines(run, split) for split in ("train", "test"))
    assert stats.filter.messages_removed["blocked"] == 2 * 5
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "| blocked | 10 |" in report


def test_blocked_words_from_a_file_are_redacted_when_asked(tmp_path):
    listing = tmp_path / "blocked.txt"
    listing.write_text("# my secrets\nprogetto aurora\n\nFIDO\n/IT\\d{2}[A-Z]\\d{10,30}/\n", encoding="utf-8")
    run, stats = run_prepare(tmp_path, [blocked_chat()], split__test_fraction=0.3, filter__blocked_file=str(listing),
                             filter__blocked_action="redact", split__near_duplicate_threshold=None)  # fmt: skip
    text = everything(run)
    assert "Ho visto <BLOCKED> ieri" in text and "<BLOCKED>?? bello" in text and "porto <BLOCKED>" in text
    assert "il mio IBAN <BLOCKED>" in text and "aurora boreale" in text and "my secrets" not in text
    assert "blocked" not in stats.filter.messages_removed
    assert stats.filter.messages_redacted == {"blocked": 2 * 4}
    assert "| blocked | 8 |" in (run / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("filter.blocked=['/(unclosed/']", "filter.blocked[0]: /(unclosed/ is not a regular expression"),
        (
            "filter.blocked_file=/nonexistent/blocked.txt",
            "filter.blocked_file: cannot read /nonexistent/blocked.txt",
        ),
        ("filter.blocked_action=hide", "config: filter.blocked_action must be one of drop, redact"),
        (
            "split.near_duplicate_threshold=1.5",
            "config: split.near_duplicate_threshold must be in (0, 1] or null",
        ),
        ("filter.near_duplicate_ratio=0", "config: filter.near_duplicate_ratio must be in (0, 1] or null"),
    ],
)
def test_bad_clean_data_settings_are_one_line(tmp_path, cli, override, expected):
    proc = cli(override, f"hydra.run.dir={tmp_path / 'run'}", "stages=[prepare]")
    assert proc.returncode == 1
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "data").exists()
