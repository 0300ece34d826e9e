"""prepare end to end: the bundled sample, the reference experiment, every filter rule, guarantees."""

import json
from pathlib import Path

import pytest

from chatlike.config import Config
from chatlike.data.stats import DatasetStats
from chatlike.errors import ChatlikeError
from chatlike.stages import prepare
from tests.support import synth

ME, LORENZO, GIULIA, ANNA = synth.ME, synth.LORENZO, synth.GIULIA, synth.ANNA
MARCO, DELETED = synth.MARCO, synth.DELETED
T0 = synth.SAMPLE_START
INFO = synth.personal_information(synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")


def lines(run: Path, split: str = "train") -> list[dict]:
    return [json.loads(x) for x in (run / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def all_samples(run: Path) -> list[dict]:
    return [s for split in ("train", "val", "test") for s in lines(run, split)]


def run_prepare(tmp_path: Path, chats, left=None, **overrides) -> tuple[Path, DatasetStats]:
    """prepare.run on an export built in code, with config overrides as 'group.key' = value."""
    src = tmp_path / "result.json"
    synth.write_export(src, synth.full_export(chats, info=INFO, left_chats=left))
    cfg = Config()
    cfg.source.path = str(src)
    cfg.filter.min_messages = cfg.filter.min_my_messages = 0
    cfg.split.test_fraction = cfg.split.val_fraction = 0.0
    for key, value in overrides.items():
        group, name = key.split("__")
        setattr(getattr(cfg, group), name, value)
    run = tmp_path / "run"
    return run, prepare.run(cfg, run)


def talk(n: int, contact=LORENZO, start=T0, gap=7200, first_id=1):
    """n conversations: contact asks, I answer; `gap` seconds apart."""
    msgs, i = [], first_id
    for k in range(n):
        t = start + k * gap
        msgs += [
            synth.message(i, t, contact, f"domanda {k}"),
            synth.message(i + 1, t + 60, ME, f"risposta {k}"),
        ]
        i += 2
    return msgs


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from tests.support.cli import run_cli

    run = tmp_path_factory.mktemp("sample") / "run"
    run_cli(f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    return run


def test_sample_export_gives_at_least_20_training_conversations(sample_run):
    train = lines(sample_run)
    assert len(train) >= 20
    for files in ("train.jsonl", "val.jsonl", "test.jsonl", "stats.json"):
        assert (sample_run / "data" / files).is_file()
    assert (sample_run / "report.md").is_file() and (sample_run / ".hydra" / "config.yaml").is_file()


def test_every_sample_is_openai_format_and_ends_on_my_turn(sample_run):
    for s in all_samples(sample_run):
        msgs = s["messages"]
        assert msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You are Pasquale")
        assert msgs[-1]["role"] == "assistant"
        assert {m["role"] for m in msgs[1:]} <= {"user", "assistant"}
        assert all(m["name"] == "Pasquale Esposito" for m in msgs if m["role"] == "assistant")
        assert all(m["content"].strip() for m in msgs)
        assert list(msgs[1]) == ["role", "name", "content"]


def test_utf8_is_written_as_is(sample_run):
    raw = (sample_run / "data" / "train.jsonl").read_text(encoding="utf-8")
    assert "\\u" not in raw and any(ch in raw for ch in "èàòù")


def test_the_samples_held_out_conversations_are_new_not_recalls_of_training(sample_run):
    """As in a real chat (2 of 20 final replies found in training, no opening), so a model that
    recalls its training cannot pass for a clone on held-out conversations."""

    def mine(s):
        return [m["content"] for m in s["messages"] if m["role"] == "assistant"]

    def opening(s):
        return tuple(m["content"] for m in s["messages"] if m["role"] != "system")[:3]

    train, test = lines(sample_run), lines(sample_run, "test")
    replies = {r for s in train for r in mine(s)}
    openings = {opening(s) for s in train}
    assert len(test) >= 15
    assert sum(mine(s)[-1] in replies for s in test) <= 0.25 * len(test)
    assert sum(opening(s) in openings for s in test) <= 1


def test_test_split_holds_the_latest_conversations_of_each_contact(tmp_path):
    chats = [
        synth.personal_chat(LORENZO, talk(20)),
        synth.personal_chat(GIULIA, talk(10, GIULIA, start=T0 + 99)),
    ]
    # both chats say "domanda 8" and "risposta 8": the near-duplicate check would move those
    run, _ = run_prepare(tmp_path, chats, split__test_fraction=0.2, split__val_fraction=0.1,
                         split__near_duplicate_threshold=None)  # fmt: skip

    def index(s):
        return int(s["messages"][-1]["content"].split()[-1])

    for contact, n in (("Lorenzo", 20), (GIULIA.name, 10)):
        test = sorted(index(s) for s in lines(run, "test") if s["messages"][1]["name"] == contact)
        rest = [
            index(s)
            for split in ("train", "val")
            for s in lines(run, split)
            if s["messages"][1]["name"] == contact
        ]
        assert test == list(range(n - len(test), n)) and len(test) == n // 5
        assert max(rest) < min(test)


def test_lorenzo_experiment_both_spellings_give_only_lorenzo_with_pasquale_as_assistant(tmp_path, cli):
    a, b = tmp_path / "a", tmp_path / "b"
    cli("conf/experiment=lorenzo", f"hydra.run.dir={a}", "stages=[prepare]", check=True)
    cli("experiment=lorenzo", f"hydra.run.dir={b}", "stages=[prepare]", check=True)
    samples = all_samples(a)
    assert samples
    for s in samples:
        msgs = s["messages"]
        assert msgs[0]["content"] == (
            "You are Pasquale, chatting with Lorenzo. Respond naturally in their conversational style."
        )
        assert {m["name"] for m in msgs if m["role"] == "user"} == {"Lorenzo"}
        assert {m["name"] for m in msgs if m["role"] == "assistant"} == {"Pasquale"}
    for f in ("train.jsonl", "val.jsonl", "test.jsonl"):
        assert (a / "data" / f).read_bytes() == (b / "data" / f).read_bytes()


def test_same_input_and_config_give_byte_identical_files(tmp_path):
    chats = [
        synth.personal_chat(LORENZO, talk(30)),
        synth.personal_chat(GIULIA, talk(20, GIULIA, first_id=1)),
    ]
    run1, _ = run_prepare(tmp_path / "1", chats, split__val_fraction=0.1, split__test_fraction=0.1)
    run2, _ = run_prepare(tmp_path / "2", chats, split__val_fraction=0.1, split__test_fraction=0.1)
    for f in ("train.jsonl", "val.jsonl", "test.jsonl"):
        assert (run1 / "data" / f).read_bytes() == (run2 / "data" / f).read_bytes()
    s1 = json.loads((run1 / "data" / "stats.json").read_text())
    s2 = json.loads((run2 / "data" / "stats.json").read_text())
    s1["sources"]["telegram"].pop("paths"), s2["sources"]["telegram"].pop("paths")
    assert s1 == s2


def test_forwarded_and_via_bot_messages_are_dropped_and_counted(tmp_path):
    msgs = talk(1) + [
        synth.message(10, T0 + 100, ME, "fwd", forwarded_from="Canale"),
        synth.message(11, T0 + 110, ME, "gif", via_bot="@gif"),
        synth.message(12, T0 + 120, LORENZO, "ok"),
        synth.message(13, T0 + 130, ME, "bene"),
    ]
    run, stats = run_prepare(tmp_path, [synth.personal_chat(LORENZO, msgs)])
    contents = [m["content"] for s in all_samples(run) for m in s["messages"]]
    assert "fwd" not in contents and "gif" not in contents
    assert stats.filter.messages_removed["forwarded"] == 1
    assert stats.filter.messages_removed["via_bot"] == 1


def test_stickers_are_dropped_or_turned_into_their_emoji(tmp_path):
    msgs = talk(1, start=T0 - 86400, first_id=10) + [
        synth.message(1, T0, LORENZO, "gol!"),
        synth.message(2, T0 + 30, ME, "", media=synth.sticker("⚽")),
    ]
    _, stats = run_prepare(tmp_path / "a", [synth.personal_chat(LORENZO, msgs)], filter__min_messages=0)
    assert stats.filter.messages_removed["no_text:sticker"] == 1
    run, _ = run_prepare(tmp_path / "b", [synth.personal_chat(LORENZO, msgs)], filter__stickers_as_emoji=True)
    assert lines(run)[-1]["messages"][-1]["content"] == "⚽"


def test_chats_are_included_or_excluded_by_name_or_id(tmp_path):
    chats = [synth.personal_chat(LORENZO, talk(3)), synth.personal_chat(GIULIA, talk(3, GIULIA))]
    run, _ = run_prepare(tmp_path / "a", chats, filter__include_chats=[str(GIULIA.bare)])
    assert {s["messages"][1]["name"] for s in all_samples(run)} == {GIULIA.name}
    run, _ = run_prepare(tmp_path / "b", chats, filter__exclude_chats=["Lorenzo"])
    assert {s["messages"][1]["name"] for s in all_samples(run)} == {GIULIA.name}


def test_chats_with_too_few_messages_or_too_few_of_mine_are_dropped(tmp_path):
    quiet = [synth.message(i + 1, T0 + i * 60, ANNA, f"ci sei? {i}") for i in range(8)] + [
        synth.message(20, T0 + 600, ME, "sì")
    ]
    chats = [
        synth.personal_chat(LORENZO, talk(10)),
        synth.personal_chat(GIULIA, talk(1, GIULIA)),
        synth.personal_chat(ANNA, quiet),
    ]
    _, stats = run_prepare(tmp_path, chats, filter__min_messages=5, filter__min_my_messages=2)
    assert stats.filter.chats_removed == {"too_few_messages": 1, "too_few_of_mine": 1}


def test_cap_on_conversations_per_chat_keeps_the_latest(tmp_path):
    run, stats = run_prepare(
        tmp_path, [synth.personal_chat(LORENZO, talk(10))], filter__max_conversations_per_chat=3
    )
    assert [s["messages"][-1]["content"] for s in lines(run)] == ["risposta 7", "risposta 8", "risposta 9"]
    assert stats.segment.conversations_dropped["over_cap_per_chat"] == 7


def test_exact_duplicate_samples_are_dropped_unless_asked_to_keep_them(tmp_path):
    msgs = []
    for k in range(5):
        t = T0 + k * 7200
        msgs += [
            synth.message(2 * k + 1, t, LORENZO, "buongiorno"),
            synth.message(2 * k + 2, t + 60, ME, "giorno"),
        ]
    run, stats = run_prepare(tmp_path / "a", [synth.personal_chat(LORENZO, msgs)])
    assert len(lines(run)) == 1 and stats.segment.duplicates_dropped == 4
    run, stats = run_prepare(
        tmp_path / "b", [synth.personal_chat(LORENZO, msgs)], filter__drop_duplicates=False
    )
    assert len(lines(run)) == 5 and stats.segment.duplicates_dropped == 0


def test_date_range_keeps_only_messages_inside_it(tmp_path):
    import datetime as dt

    run, stats = run_prepare(
        tmp_path,
        [synth.personal_chat(LORENZO, talk(10, gap=86400))],
        filter__date_from="2024-06-03",
        filter__date_to="2024-06-04",
    )
    day = lambda k: dt.datetime.fromtimestamp(T0 + k * 86400, dt.UTC).date().isoformat()  # noqa: E731
    kept = [int(s["messages"][-1]["content"].split()[-1]) for s in lines(run)]
    assert kept and all("2024-06-03" <= day(k) <= "2024-06-04" for k in kept)
    assert len(kept) == sum("2024-06-03" <= day(k) <= "2024-06-04" for k in range(10))
    assert stats.filter.messages_removed["date_range"] == 2 * (10 - len(kept))


def test_redaction_and_pseudonyms(tmp_path):
    msgs = [
        synth.message(1, T0, LORENZO, "mail me at lo@example.com"),
        synth.message(2, T0 + 60, ME, "call +39 333 123 4567 or see https://x.org/a"),
    ]
    run, _ = run_prepare(
        tmp_path,
        [synth.personal_chat(LORENZO, msgs)],
        filter__redact=True,
        filter__pseudonymize_contacts=True,
    )
    s = lines(run)[0]["messages"]
    assert s[1]["content"] == "mail me at <EMAIL>" and s[2]["content"] == "call <PHONE> or see <URL>"
    assert s[1]["name"].startswith("Contact-") and "Lorenzo" not in s[0]["content"]


def test_group_chats_when_asked_name_the_speaker_in_the_content(tmp_path):
    msgs = [
        synth.message(1, T0, MARCO, "giovedì ci siamo?"),
        synth.message(2, T0 + 30, DELETED, "io sì"),
        synth.message(3, T0 + 60, ME, "ci sono"),
    ]
    run, _ = run_prepare(
        tmp_path, [synth.group_chat("Calcetto", 5, msgs)], filter__chat_types=["private_group"]
    )
    s = lines(run)[0]["messages"]
    assert s[0]["content"].startswith("You are Pasquale Esposito, chatting in the group Calcetto with Marco")
    assert s[1] == {"role": "user", "name": "Marco", "content": "Marco: giovedì ci siamo?"}
    assert s[2]["content"] == "Deleted Account: io sì"


def test_long_conversations_are_split_into_windows_under_max_tokens(tmp_path):
    msgs = []
    for k in range(60):
        msgs.append(synth.message(k + 1, T0 + k * 600, LORENZO if k % 2 == 0 else ME, f"parola {k} " * 20))
    run, stats = run_prepare(tmp_path, [synth.personal_chat(LORENZO, msgs)], segment__max_tokens=600)
    samples = lines(run)
    assert len(samples) > 1 and stats.segment.conversations_split_into_windows == 1
    for s in samples:
        assert s["messages"][-1]["role"] == "assistant"
        assert sum(len(m["content"].encode()) // 3 + 9 for m in s["messages"]) <= 600


def test_a_chat_where_only_i_write_yields_a_clear_error_when_nothing_is_left(tmp_path):
    from chatlike.errors import ChatlikeError

    with pytest.raises(ChatlikeError, match="no training conversations"):
        run_prepare(tmp_path, [synth.personal_chat(LORENZO, [synth.message(1, T0, ME, "ciao?")])])


def test_zero_argument_main_job_prepares_the_sample_and_configures_axolotl(tmp_path, cli):
    run = tmp_path / "run"
    cli(f"hydra.run.dir={run}", check=True)
    assert len(lines(run)) >= 20
    assert (run / "axolotl.yaml").is_file() and (run / "launch.sh").is_file() and (run / "sky.yaml").is_file()


@pytest.mark.parametrize("name", sorted(set(synth.quirky_exports()) - {"single_group", "only_my_messages"}))
def test_prepare_runs_on_every_quirky_export(tmp_path, cli, name):
    src = tmp_path / "result.json"
    src.write_bytes(synth.quirky_exports()[name])
    run = tmp_path / "run"
    cli(
        f"source.path={src}",
        f"hydra.run.dir={run}",
        "stages=[prepare]",
        "filter.min_messages=0",
        "filter.min_my_messages=0",
        "filter.chat_types=[personal_chat,private_supergroup]",
        check=True,
    )
    for s in all_samples(run):
        assert s["messages"][-1]["role"] == "assistant"


def test_an_export_folder_with_spaces_in_its_path_works_as_the_readme_types_it(tmp_path, cli):
    folder = tmp_path / "Telegram Desktop" / "DataExport_2026-11-20"
    folder.mkdir(parents=True)
    synth.write_export(
        folder / "result.json", synth.full_export([synth.personal_chat(LORENZO, talk(12))], info=INFO)
    )
    run = tmp_path / "run"
    cli(f"source.path={folder}/result.json", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    cli(f"source.path={folder}", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    assert len(lines(run)) >= 8


def test_parallel_workers_write_the_same_files_as_one_process(tmp_path):
    chats = [synth.personal_chat(c, talk(15, c, start=T0 + i)) for i, c in enumerate((LORENZO, GIULIA, ANNA))]
    chats.append(synth.group_chat("Calcetto", 5, talk(4, MARCO)))
    one, s1 = run_prepare(
        tmp_path / "one", chats, source__workers=1, split__val_fraction=0.1, split__test_fraction=0.1
    )
    two, s2 = run_prepare(
        tmp_path / "two", chats, source__workers=2, split__val_fraction=0.1, split__test_fraction=0.1
    )
    for f in ("train.jsonl", "val.jsonl", "test.jsonl"):
        assert (one / "data" / f).read_bytes() == (two / "data" / f).read_bytes()
    s1.sources["telegram"].paths, s2.sources["telegram"].paths = [], []
    assert s1 == s2


def test_chats_are_cut_into_contiguous_chunks_of_about_equal_bytes():
    from chatlike.data.workers import chunks

    assert chunks([10, 10, 10, 10], 2) == [(0, 2), (2, 4)]
    assert chunks([100, 1, 1], 2) == [(0, 1), (1, 3)]
    assert chunks([5], 4) == [(0, 1)]


def test_dedupe_keeps_the_first_of_equal_samples_whatever_their_chat():
    from chatlike.data.records import Sample
    from chatlike.data.samples import dedupe

    def line(text: str, chat: str) -> bytes:
        return (
            b'{"messages":[{"role":"user","content":"'
            + text.encode()
            + b'"}],"chat":"'
            + chat.encode()
            + b'"}'
        )

    texts = [
        ("a", "telegram:1"),
        ("b", "telegram:1"),
        ("a", "whatsapp:2"),
        ('c\\",\\"chat\\":', "telegram:1"),
        ("b", "telegram:1"),
    ]
    samples = [Sample(line(t, c), 1, "x", start, 2, 1, 1, 1) for start, (t, c) in enumerate(texts)]
    assert [s.start for s in dedupe(samples)] == [0, 1, 3]  # the same messages in another chat: a duplicate


# ---- data/chats.json: the chats as training saw them -----------------------------------------


def test_chats_json_lists_each_chat_with_its_kind_members_and_exact_system_prompt(tmp_path):
    from chatlike.data.chats import read_chats

    group = synth.group_chat("Calcetto", 5, talk(4, MARCO) + talk(2, LORENZO, start=T0 + 10**6, first_id=50))
    chats = [synth.personal_chat(LORENZO, talk(7)), synth.personal_chat(GIULIA, talk(3, GIULIA)), group]
    run, stats = run_prepare(tmp_path, chats, filter__chat_types=["personal_chat", "private_group"])
    index = read_chats(run / "data" / "chats.json")
    assert index.me == "Pasquale Esposito"
    assert [(c.name, c.kind, c.members, c.conversations) for c in index.chats] == [
        ("Lorenzo", "personal_chat", ("Lorenzo",), 7),
        ("Calcetto", "private_group", ("Marco", "Lorenzo"), 6),  # most turns first
        ("Giulia Russo", "personal_chat", ("Giulia Russo",), 3),
    ]
    assert {c.system for c in index.chats} == {s["messages"][0]["content"] for s in all_samples(run)}
    assert {c.name: c.samples for c in index.chats} == {k: v.samples for k, v in stats.contacts.items()}


# ---- faults while prepare runs: one line, nothing written ------------------------------------


def _big_export(tmp_path, n=40):
    chats = [synth.personal_chat(synth.user(f"C{i}", 1000 + i), talk(300, synth.user(f"C{i}", 1000 + i)))
             for i in range(n)]  # fmt: skip
    src = tmp_path / "result.json"
    synth.write_export(src, synth.full_export(chats, info=INFO))
    return src


@pytest.fixture(scope="module")
def big_export(tmp_path_factory):
    return _big_export(tmp_path_factory.mktemp("big"), n=400)  # ~80 MB: workers run for a second or two


def _prepare_with_workers(src, tmp_path):
    """A real `python -m chatlike` preparing a big export in 2 workers, and its workers' pids once
    they run (as a terminal would start it: Ctrl-C reaches the whole process group)."""
    import signal
    import subprocess
    import sys
    import time

    from tests.support.cli import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "chatlike", f"source.path={src}", f"hydra.run.dir={tmp_path / 'run'}",
         "stages=[prepare]", "source.workers=2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            workers = [int(pid) for pid in f.read().split()]
        if len(workers) == 2:
            time.sleep(0.2)  # both forked and running (a signal during a fork is another story)
            return src, proc, workers
        time.sleep(0.005)
    raise AssertionError("prepare ended before its workers started")


def test_a_worker_that_dies_is_one_line_naming_the_export_never_a_hang(big_export, tmp_path):
    """A real worker process is killed while prepare runs (as the kernel's out-of-memory killer would)."""
    import os
    import signal

    src, proc, workers = _prepare_with_workers(big_export, tmp_path)
    os.kill(workers[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.strip() == (
        f"chatlike: error: {src}: a worker process reading the chats died (out of memory, or killed); "
        "run again, or with source.workers=1"
    )
    assert not (tmp_path / "run" / "data").exists()


def test_ctrl_c_while_workers_run_stops_them_at_once(big_export, tmp_path):
    import os
    import signal
    import time

    _, proc, _ = _prepare_with_workers(big_export, tmp_path)
    os.killpg(proc.pid, signal.SIGINT)
    t = time.time()
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.strip()) == (
        130,
        "chatlike: error: interrupted; outputs already written are intact",
    )
    assert time.time() - t < 10  # the chunks not started are dropped, not worked through


def test_an_export_replaced_while_prepare_runs_is_one_line_and_earlier_outputs_stay(tmp_path):
    """The export changes between its read and the outputs: prepare stops before replacing any file."""
    import threading

    src = _big_export(tmp_path)
    cfg = Config()
    cfg.source.path = str(src)
    run = tmp_path / "run"
    prepare.run(cfg, run)
    before = {p.name: p.read_bytes() for p in (run / "data").iterdir()}
    original = prepare.dedupe

    def dedupe_while_the_export_changes(samples):  # a real change of the file, mid-run
        thread = threading.Thread(target=lambda: src.write_bytes(src.read_bytes() + b"\n"))
        thread.start()
        thread.join()
        return original(samples)

    prepare.dedupe = dedupe_while_the_export_changes
    try:
        with pytest.raises(ChatlikeError, match=r"result\.json: the file changed while chatlike read it"):
            prepare.run(cfg, run)
    finally:
        prepare.dedupe = original
    assert {p.name: p.read_bytes() for p in (run / "data").iterdir()} == before


def test_a_bad_chat_read_in_a_worker_is_the_same_one_line_as_in_one_process(tmp_path):
    broken = synth.quirky_exports()["modern_full"].replace(b'"text": "', b'"text": "\\q', 1)
    src = tmp_path / "result.json"
    src.write_bytes(broken)
    errors = []
    for workers in (1, 2):
        cfg = Config()
        cfg.source.path, cfg.source.workers = str(src), workers
        cfg.filter.chat_types = ["personal_chat", "private_group"]
        with pytest.raises(ChatlikeError) as err:
            prepare.run(cfg, tmp_path / f"run{workers}")
        errors.append(str(err.value))
    assert errors[0] == errors[1] and errors[0].startswith(f"{src}: ")
