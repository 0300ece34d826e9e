"""Reading Meta's "Download your information" messages (Instagram, Messenger): the mojibake
repaired, a thread's files newest first put in order, what is not text dropped, who "me" is."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlike.config import FilterConfig, SourceConfig
from chatlike.data.filters import ChatFilter
from chatlike.data.records import Message
from chatlike.data.segment import segment
from chatlike.data.sources import meta, read_sources
from chatlike.errors import ChatlikeError
from tests.support import synth_sources as ss
from tests.support.cli import source_error

ME, T0 = ss.ME, ss.T0
GIULIA = "Giulia Russò 😊"
ALL_TYPES = ["personal_chat", "private_group"]


def thread(tmp_path, files: list[bytes], app: str = "facebook-pasquale", folder: str = "giulia_123"):
    """The thread's files where Meta's download puts them; the folder holding them."""
    inbox = {"facebook-pasquale": "your_facebook_activity/messages/inbox",
             "instagram-pasquale": "your_instagram_activity/messages/inbox"}[app]  # fmt: skip
    where = tmp_path / app / inbox / folder
    where.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(files, 1):
        (where / f"message_{i}.json").write_bytes(data)
    return where


def read(path, **cfg):
    sources = read_sources(SourceConfig(path=str(path), **cfg))
    (chat,) = sources.chats
    return chat, sources


def kept(chat, sources):
    cfg = FilterConfig(min_messages=0, min_my_messages=0, chat_types=ALL_TYPES)
    out, counts = ChatFilter(cfg, sources.me_ids, "Pasquale", "Deleted Account")(chat)
    return [Message._make(m) for m in out.messages], counts.filter, out


def quirks() -> list[dict]:
    m = ss.meta_message
    return [
        m(T0, GIULIA, "ciao! è già là? 😊"),
        m(T0 + 10, ME, "sì, tra poco"),
        m(T0 + 20, GIULIA, "Reacted ❤️ to your message"),  # Instagram's reactions, as messages
        m(T0 + 25, GIULIA, "Liked a message"),
        m(T0 + 30, ME, photos=[{"uri": "photos/1.jpg", "creation_timestamp": T0}]),
        m(T0 + 40, GIULIA, "guarda", share={"link": "https://example.org"}, type="Share"),
        m(T0 + 50, ME, "Giulia called you.", type="Call", call_duration=62),
        m(T0 + 60, GIULIA, is_unsent=True),
        m(T0 + 70, ME, "You sent an attachment."),
        m(
            T0 + 80,
            GIULIA,
            "ok ci vediamo",
            reactions=[{"reaction": ss.mojibake("👍"), "actor": ss.mojibake(ME)}],
        ),
        m(T0 + 90, ME, sticker={"uri": "stickers_used/1.png"}),
        m(T0 + 100, ME, "Giulia added Marco to the group.", type="Subscribe", users=[{"name": "Marco"}]),
    ]


def test_meta_writes_utf8_as_latin1_escapes_and_every_text_is_repaired(tmp_path):
    data = ss.meta_thread(quirks(), participants=(GIULIA, ME), title=GIULIA)[0]
    assert b"\\u00c3\\u00a8" in data and "è".encode() not in data  # è, as Meta writes it
    chat, _ = read(thread(tmp_path, [data]))
    assert chat.name == GIULIA
    assert [m.text for m in chat.messages if m.text][:2] == ["ciao! è già là? 😊", "sì, tra poco"]
    assert {m.sender for m in chat.messages if m.sender} == {GIULIA, ME}


def test_text_that_is_not_broken_is_left_alone():
    assert meta.fix_text("plain") == "plain"
    assert meta.fix_text("già là 😊") == "già là 😊"  # a character above U+00FF: not Meta's mojibake
    assert meta.fix_text("già") == "già"  # Latin-1 that is not UTF-8 bytes
    assert meta.fix_text(ss.mojibake("già là 😊")) == "già là 😊"


def test_reactions_shares_photos_calls_joins_and_unsent_messages_are_dropped_and_counted(tmp_path):
    chat, sources = read(thread(tmp_path, ss.meta_thread(quirks(), participants=(GIULIA, ME), title=GIULIA)))
    messages, counted, _ = kept(chat, sources)
    assert [(m.text, m.mine) for m in messages] == [
        ("ciao! è già là? 😊", False),
        ("sì, tra poco", True),
        ("ok ci vediamo", False),
    ]
    assert counted.messages_removed == {
        "no_text:file": 1,
        "no_text:photo": 1,
        "no_text:share": 1,
        "no_text:sticker": 1,
        "reaction": 2,
        "service": 2,
        "unsent": 1,
    }


def test_a_thread_of_several_files_newest_first_is_read_in_time_order_once(tmp_path):
    lines = ss.talk(35, GIULIA)
    files = ss.meta_thread(ss.meta_from_lines(lines), participants=(GIULIA, ME), title=GIULIA, per_file=20)
    assert len(files) == 4
    where = thread(tmp_path, files)
    for path in (where, where / "message_1.json", where / "message_3.json"):  # a file names its thread
        chat, _ = read(path)
        assert [(m.time, m.text) for m in chat.messages] == [(x.t, x.text) for x in lines]


def test_a_thread_with_files_bigger_than_the_detectors_look_is_still_one_chat(tmp_path):
    lines = ss.talk(800, GIULIA)
    files = ss.meta_thread(ss.meta_from_lines(lines), participants=(GIULIA, ME), title=GIULIA, per_file=1500)
    assert len(files[0]) > 1 << 16 > len(files[1])  # thread_path lies past the first 64 KB of one file
    chat, _ = read(thread(tmp_path, files))
    assert len(chat.messages) == len(lines)


def test_a_one_to_one_thread_is_named_after_its_title_and_me_is_the_other_participant(tmp_path):
    chat, sources = read(
        thread(tmp_path, ss.meta_thread(ss.meta_from_lines(ss.talk(3, GIULIA)), (GIULIA, ME), GIULIA))
    )
    assert (chat.source, chat.type, chat.name, chat.peer) == (
        "messenger",
        "personal_chat",
        GIULIA,
        f"messenger:{GIULIA}",
    )
    assert sources.me_ids == {f"messenger:{ME}"}


def test_instagram_and_messenger_are_told_apart_by_their_download_folders(tmp_path):
    data = ss.meta_thread(ss.meta_from_lines(ss.talk(3, GIULIA)), (GIULIA, ME), GIULIA, messenger=False)
    chat, sources = read(thread(tmp_path, data, app="instagram-pasquale"))
    assert chat.source == "instagram" and list(sources.sources) == ["instagram"]
    assert sources.me_ids == {f"instagram:{ME}"}


def test_a_group_thread_is_a_private_group_and_me_is_in_every_thread(tmp_path):
    group = [ss.say(T0, "Marco", "giovedì?"), ss.say(T0 + 9, GIULIA, "io sì"), ss.say(T0 + 20, ME, "ci sono")]
    thread(tmp_path, ss.meta_thread(ss.meta_from_lines(group), ("Marco", GIULIA, ME), "Calcetto",
                                    "inbox/calcetto_9", group=True), folder="calcetto_9")  # fmt: skip
    thread(tmp_path, ss.meta_thread(ss.meta_from_lines(ss.talk(2, "Marco")), ("Marco", ME), "Marco",
                                    "inbox/marco_8"), folder="marco_8")  # fmt: skip
    sources = read_sources(SourceConfig(path=str(tmp_path / "facebook-pasquale")))
    assert sorted((c.name, c.type) for c in sources.chats) == [
        ("Calcetto", "private_group"),
        ("Marco", "personal_chat"),
    ]
    assert sources.me_ids == {f"messenger:{ME}"}


def test_me_can_be_named_for_meta_alone(tmp_path):
    group = [ss.say(T0, "Marco", "giovedì?"), ss.say(T0 + 20, ME, "ci sono"), ss.say(T0 + 30, GIULIA, "ok")]
    where = thread(
        tmp_path, ss.meta_thread(ss.meta_from_lines(group), ("Marco", GIULIA, ME), "Calcetto", group=True)
    )
    with pytest.raises(ChatlikeError, match="cannot tell which sender is you.*source.me"):
        read(where)
    assert read(where, me_meta=ME)[1].me_ids == {f"messenger:{ME}"}


# ---- real files, written by hand from the documented schema ------------------------------------

HAND_WRITTEN = b"""{
  "participants": [{"name": "Giulia Russ\\u00c3\\u00b2"}, {"name": "Pasquale Esposito"}],
  "messages": [
    {"sender_name": "Giulia Russ\\u00c3\\u00b2", "timestamp_ms": 1718911000000,
     "content": "Ci vediamo l\\u00c3\\u00ac \\u00f0\\u009f\\u0098\\u008a", "is_geoblocked_for_viewer": false},
    {"sender_name": "Pasquale Esposito", "timestamp_ms": 1718910900000, "content": "Perch\\u00c3\\u00a9 no?",
     "reactions": [{"reaction": "\\u00e2\\u009d\\u00a4", "actor": "Giulia Russ\\u00c3\\u00b2"}],
     "is_geoblocked_for_viewer": false},
    {"sender_name": "Giulia Russ\\u00c3\\u00b2", "timestamp_ms": 1718910845000, "content": "Stasera?",
     "is_geoblocked_for_viewer": false}
  ],
  "title": "Giulia Russ\\u00c3\\u00b2",
  "is_still_participant": true,
  "thread_path": "inbox/giuliarusso_10158347462312345",
  "magic_words": [],
  "thread_type": "Regular"
}"""


def test_a_hand_written_messenger_file(tmp_path):
    chat, sources = read(thread(tmp_path, [HAND_WRITTEN]))
    assert [(m.time, m.sender, m.text) for m in chat.messages] == [
        (1718910845, "Giulia Russò", "Stasera?"),
        (1718910900, ME, "Perché no?"),
        (1718911000, "Giulia Russò", "Ci vediamo lì 😊"),
    ]
    assert chat.name == "Giulia Russò" and sources.me_ids == {f"messenger:{ME}"}


# ---- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (HAND_WRITTEN[:-120], "truncated"),
        (b'{"participants": []}', "not Meta's messages JSON"),
        (b"<html><body>messages</body></html>", "HTML"),
        (ss.discord_export([ss.discord_message(1, T0, ss.DISCORD_ME, "x")]), "not Meta's messages JSON"),
    ],
    ids=["empty", "truncated", "no-messages", "html", "discord"],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path, content, expect):
    path = tmp_path / "message_1.json"
    path.write_bytes(content)
    msg = source_error(path, "meta")
    assert str(path) in msg and expect in msg and "\n" not in msg


# ---- round trip ---------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.sampled_from('abc èàò😊 ,.!?\n"\\'), min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 600), TEXT), min_size=1, max_size=40), st.integers(1, 7)
)
def test_round_trip_through_segmentation_loses_and_doubles_nothing(tmp_path, script, per_file):
    t, lines = T0, []
    for mine, seconds, text in [(False, 1, "ciao"), (True, 1, "ehi"), *script]:
        t += seconds
        lines.append(ss.say(t, ME if mine else GIULIA, text))
    where = thread(tmp_path, ss.meta_thread(ss.meta_from_lines(lines), (GIULIA, ME), GIULIA, per_file=per_file),
                   folder=f"g{per_file}_{len(lines)}")  # fmt: skip
    chat, sources = read(where)
    _, _, out = kept(chat, sources)
    conversations, _ = segment(out, gap_s=3600, window_s=300)
    turns = [turn for c in conversations for turn in c.turns]
    assert sum(turn.messages for turn in turns) == len(lines)
    assert "\n".join(turn.text for turn in turns) == "\n".join(x.text for x in lines)
    assert all(turn.mine == (turn.sender_id == f"messenger:{ME}") for turn in turns)
