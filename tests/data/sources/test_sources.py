"""Several exports in one run: formats told from content, folders searched, one dataset whose
report, stats and chats.json keep each chat's source."""

import json

import pytest

from chatlike.config import Config, SourceConfig
from chatlike.data.chats import read_chats
from chatlike.data.sources import read_sources, sniff
from chatlike.errors import ChatlikeError
from chatlike.stages import prepare
from tests.support import synth
from tests.support import synth_sources as ss
from tests.support.cli import run_cli

ME, T0, DAY = ss.ME, ss.T0, 86400
INFO = synth.personal_information(synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")
USERS = {ME: ss.DISCORD_ME, "Lorenzo": ss.DISCORD_LORENZO, "Marco": ss.DISCORD_MARCO}


def talk(n, contact, start, word):
    """n conversations a day apart, the contact asking, me answering, in words of their own."""
    out = []
    for k in range(n):
        t = start + k * DAY
        out += [ss.say(t, contact, f"{word} {k}?"), ss.say(t + 60, ME, f"{word} {k}!")]
    return out


def exports(tmp_path) -> dict[str, object]:
    """A Telegram export, a WhatsApp chat and a Discord DM, each with its own conversations."""
    tg = tmp_path / "Telegram" / "result.json"
    tg.parent.mkdir()
    chat = synth.personal_chat(synth.GIULIA, [synth.message(i + 1, T0 + i * 3600, (synth.GIULIA, synth.ME)[i % 2],
                                                             f"telegram {i // 2}") for i in range(24)])  # fmt: skip
    synth.write_export(tg, synth.full_export([chat], info=INFO))
    wa = tmp_path / "WhatsApp Chat with Lorenzo.txt"
    wa.write_text(ss.whatsapp_text(talk(15, "Lorenzo", T0, "whatsapp"), "en_US ios"), encoding="utf-8")
    dc = tmp_path / "discord-dm.json"
    dc.write_bytes(
        ss.discord_export(ss.discord_from_lines(talk(10, "Marco", T0, "discord"), USERS), name="marco99")
    )
    return {"telegram": tg, "whatsapp": wa, "discord": dc}


# ---- the format is told from the content, never the name ------------------------------------------


def test_each_format_is_told_from_its_content_whatever_the_file_is_called(tmp_path):
    files = exports(tmp_path)
    assert {fmt: sniff(path.read_bytes()[:4096]) for fmt, path in files.items()} == {f: f for f in files}
    meta = ss.meta_thread(ss.meta_from_lines(ss.talk(2)))[0]
    assert sniff(meta) == "meta" and sniff(ss.whatsapp_zip("x")) == "whatsapp"
    assert sniff(b'{"hello": "world"}') is None and sniff(b"just notes\n") is None and sniff(b"") is None
    renamed = {}
    for fmt, path in files.items():  # swap the names about: still read right
        renamed[fmt] = path.rename(
            tmp_path / {"telegram": "chat.txt", "whatsapp": "x.json", "discord": "r.zip"}[fmt]
        )
    sources = read_sources(SourceConfig(paths=[str(p) for p in renamed.values()], me_whatsapp=ME))
    assert [c.source for c in sources.chats] == ["telegram", "whatsapp", "discord"]


@pytest.mark.parametrize(
    "stamp",
    ["[{d:02d}-12-26 14:{m:02d}:09]", "[12/{d:02d}/26 14:{m:02d}]"],
    ids=["dashes-seconds", "slashes"],
)
def test_an_iphone_chat_txt_beginning_with_a_bracket_is_whatsapp_not_json(tmp_path, stamp):
    """iOS lines open with "[" and may open the file (no notice before them): that first byte is not
    enough to call the file JSON, whatever its name."""
    lines = [f"{stamp.format(d=1 + k, m=k)} {('Anna Smith', ME)[k % 2]}: {'ciao' if k % 2 else 'ehi'} {k}"
             for k in range(24)]  # fmt: skip
    path = tmp_path / "_chat.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert sniff(path.read_bytes()) == "whatsapp"
    (chat,) = read_sources(SourceConfig(path=str(path), me=ME)).chats
    assert (chat.source, chat.name, len(chat.messages)) == ("whatsapp", "Anna Smith", 24)
    folder = tmp_path / "export"
    folder.mkdir()
    path.rename(folder / "notes.json")  # found in a folder, under any name
    assert [c.source for c in read_sources(SourceConfig(path=str(folder), me=ME)).chats] == ["whatsapp"]


@pytest.mark.parametrize("fmt", ["telegram", "discord", "meta"])
def test_a_json_export_may_begin_with_a_byte_order_mark(tmp_path, fmt):
    """Editors on Windows (and tools that re-save Meta's or Discord's files) write one: every JSON
    reader, and detection, take it."""
    files = exports(tmp_path)
    if fmt == "meta":
        files["meta"] = tmp_path / "inbox" / "lorenzo_1" / "message_1.json"
        files["meta"].parent.mkdir(parents=True)
        files["meta"].write_bytes(ss.meta_thread(ss.meta_from_lines(talk(12, "Lorenzo", T0, "meta")))[0])
    path = files[fmt]
    plain = read_sources(SourceConfig(path=str(path), me=ME)).chats
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert sniff(path.read_bytes()) == fmt
    for given in ("auto", fmt):
        marked = read_sources(SourceConfig(path=str(path), me=ME, format=given)).chats
        assert [(c.source, c.id, c.name, c.type) for c in marked] == [
            (c.source, c.id, c.name, c.type) for c in plain
        ]


def test_source_format_forces_one_reader(tmp_path):
    wa = exports(tmp_path)["whatsapp"]
    with pytest.raises(ChatlikeError, match="not JSON, so not a DiscordChatExporter JSON export"):
        read_sources(SourceConfig(path=str(wa), format="discord"))
    assert read_sources(SourceConfig(path=str(wa), format="whatsapp")).chats[0].source == "whatsapp"


def test_a_folder_is_searched_for_every_export_and_only_those(tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    exports(root)
    (root / "notes.txt").write_text("shopping: milk, eggs\n")
    (root / "settings.json").write_text('{"theme": "dark"}')
    (root / "photos.zip").write_bytes(ss.whatsapp_zip("not a chat", name="list.txt"))
    (root / "ios.zip").write_bytes(ss.whatsapp_zip(ss.whatsapp_text(talk(15, "Giulia", T0, "zip"), "it ios")))
    sources = read_sources(SourceConfig(path=str(root), me_whatsapp=ME))
    assert sorted(c.source for c in sources.chats) == ["discord", "telegram", "whatsapp", "whatsapp"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing here\n")
    with pytest.raises(ChatlikeError, match="empty: no chat export in this folder"):
        read_sources(SourceConfig(path=str(empty)))


def test_the_same_chat_given_twice_is_one_line(tmp_path):
    wa = exports(tmp_path)["whatsapp"]
    copy = tmp_path / "copy.txt"
    copy.write_bytes(wa.read_bytes())
    with pytest.raises(ChatlikeError, match="the same chat exported twice"):
        read_sources(SourceConfig(paths=[str(wa), str(copy)], me=ME))


def test_config_refuses_an_unknown_format_or_date_order():
    with pytest.raises(ChatlikeError, match="source.format must be one of auto, telegram"):
        SourceConfig(format="signal")
    with pytest.raises(ChatlikeError, match="source.date_order must be one of auto, dmy, mdy, ymd"):
        SourceConfig(date_order="dym")


# ---- one dataset from three messengers ----------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The CLI on a Telegram export, a WhatsApp chat and a Discord DM: `source.paths=[...]`."""
    tmp = tmp_path_factory.mktemp("mixed")
    files = exports(tmp)
    run = tmp / "run"
    paths = ",".join(f"'{p}'" for p in files.values())
    run_cli(f"source.paths=[{paths}]", f"hydra.run.dir={run}", "stages=[prepare]", "split.test_fraction=0.2",
            check=True)  # fmt: skip
    return run, files


def test_a_mixed_run_makes_one_dataset_with_three_sources_in_the_report(mixed):
    run, files = mixed
    stats = json.loads((run / "data" / "stats.json").read_text())
    assert list(stats["sources"]) == ["telegram", "whatsapp", "discord"]
    assert {k: (v["chats_kept"], v["conversations"]) for k, v in stats["sources"].items()} == {
        "telegram": (1, 1),  # 24 messages an hour apart: one conversation
        "whatsapp": (1, 15),
        "discord": (1, 10),
    }
    assert sum(v["samples"] for v in stats["sources"].values()) == stats["samples"]["total"]
    assert [v["me_id"] for v in stats["sources"].values()] == [
        f"user{synth.ME_ID}",
        f"whatsapp:{ME}",
        f"discord:{ss.DISCORD_ME.id}",
    ]
    report = (run / "report.md").read_text()
    assert "Sources: **telegram**, **whatsapp**, **discord**; me: **Pasquale Esposito**." in report
    table = report.split("## Sources", 1)[1].split("##", 1)[0]
    assert [row.split(" |")[0] for row in table.splitlines() if row.startswith("| ") and "(" in row] == [
        "| telegram (full)",
        "| whatsapp (ios)",
        "| discord (dm)",
    ]
    assert "source.paths=[" in report


def test_a_mixed_run_keeps_each_chats_source_in_chats_json_and_unique_ids(mixed):
    run, _ = mixed
    index = read_chats(run / "data" / "chats.json")
    assert sorted((c.source, c.name) for c in index.chats) == [
        ("discord", "Marco"),
        ("telegram", "Giulia Russo"),
        ("whatsapp", "Lorenzo"),
    ]
    assert len({c.id for c in index.chats}) == 3 and index.me == "Pasquale Esposito"
    names = {m["name"] for split in ("train", "val", "test")
             for line in (run / "data" / f"{split}.jsonl").read_text().splitlines()
             for m in json.loads(line)["messages"] if m["role"] == "assistant"}  # fmt: skip
    assert names == {"Pasquale Esposito"}  # one "me" across messengers


def run_prepare(tmp_path, files, **overrides) -> dict:
    cfg = Config()
    cfg.source.paths = [str(p) for p in files]
    cfg.filter.min_messages = cfg.filter.min_my_messages = 0
    for key, value in overrides.items():
        group, name = key.split("__")
        setattr(getattr(cfg, group), name, value)
    return prepare.run(cfg, tmp_path / "run")


def test_include_chats_and_the_persona_can_name_a_chats_source(tmp_path):
    files = exports(tmp_path)
    stats = run_prepare(
        tmp_path,
        files.values(),
        filter__include_chats=["whatsapp:Lorenzo", "discord:Marco"],
        persona__system_template="You are {me}, on {source} with {contact}.",
    )
    assert {k: v.chats_kept for k, v in stats.sources.items()} == {
        "telegram": 0,
        "whatsapp": 1,
        "discord": 1,
    }
    systems = {c.system for c in read_chats(tmp_path / "run" / "data" / "chats.json").chats}
    assert systems == {"You are Pasquale Esposito, on whatsapp with Lorenzo.",
                       "You are Pasquale Esposito, on discord with Marco."}  # fmt: skip


def test_my_telegram_name_finds_me_in_a_whatsapp_chat_with_no_other_hint(tmp_path):
    files = exports(tmp_path)
    wa = files["whatsapp"].rename(tmp_path / "chat.txt")  # no contact in its name
    sources = read_sources(SourceConfig(paths=[str(files["telegram"]), str(wa)]))
    assert f"whatsapp:{ME}" in sources.me_ids


def test_me_per_format_where_names_differ(tmp_path):
    wa = tmp_path / "chat.txt"
    wa.write_text(
        ss.whatsapp_text(talk(15, "Lorenzo", T0, "x"), me="Pas", locale="it ios").replace(
            f"] {ME}:", "] Pas:"
        )
    )
    with pytest.raises(ChatlikeError, match="source.me_whatsapp"):
        read_sources(
            SourceConfig(paths=[str(exports(tmp_path)["telegram"]), str(wa)], me="Pasquale Esposito")
        )
    sources = read_sources(SourceConfig(paths=[str(wa)], me_whatsapp="Pas"))
    assert sources.me_ids == {"whatsapp:Pas"}


def test_one_telegram_export_has_the_stats_of_any_run_and_its_report_keeps_its_head(tmp_path):
    tg = exports(tmp_path)["telegram"]
    stats = run_prepare(tmp_path, [tg])
    assert list(stats.sources) == ["telegram"] and stats.sources["telegram"].paths == [str(tg)]
    report = (tmp_path / "run" / "report.md").read_text()
    assert report.splitlines()[2] == f"Source: `{tg}` (full export); me: **{ME}** (`user{synth.ME_ID}`)."
    assert "## Sources" not in report


def test_the_readme_command_for_one_whatsapp_chat(tmp_path):
    wa = tmp_path / "WhatsApp-Chat.txt"
    wa.write_text(ss.whatsapp_text(talk(15, "Lorenzo", T0, "x"), "en_GB android"), encoding="utf-8")
    run = tmp_path / "run"
    run_cli(f"source.path={wa}", f"source.me={ME}", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    stats = json.loads((run / "data" / "stats.json").read_text())
    assert stats["sources"]["whatsapp"]["conversations"] == 15
    assert "| whatsapp (android) | 1 |" in (run / "report.md").read_text()


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("chat.txt", b"", "empty"),
        ("chat.txt", b"just a note, no messages\n", "no WhatsApp message lines"),
        ("chat.zip", ss.whatsapp_zip("x", name="readme.md"), "a zip without a WhatsApp chat"),
        ("channel.json", ss.discord_export([])[:-40], "truncated"),
        ("message_1.json", ss.meta_thread([])[0][:-30], "truncated"),
    ],
    ids=["empty-txt", "txt-without-messages", "zip-without-chat", "truncated-discord", "truncated-meta"],
)
def test_bad_inputs_are_one_line_through_the_cli(tmp_path, name, content, expect):
    path = tmp_path / name
    path.write_bytes(content)
    proc = run_cli(f"source.path={path}", "stages=[prepare]", f"hydra.run.dir={tmp_path / 'run'}")
    err = proc.stderr.strip()
    assert proc.returncode == 1 and "Traceback" not in err and err.count("\n") == 0, err
    assert str(path) in err and expect in err


def test_workers_write_the_same_files_for_a_mixed_run_as_one_process(tmp_path):
    files = list(exports(tmp_path).values())
    one = run_prepare(tmp_path / "one", files, source__workers=1)
    two = run_prepare(tmp_path / "two", files, source__workers=2)
    for split in ("train", "val", "test"):
        a = (tmp_path / "one" / "run" / "data" / f"{split}.jsonl").read_bytes()
        assert a == (tmp_path / "two" / "run" / "data" / f"{split}.jsonl").read_bytes()
    assert one.sources == two.sources
