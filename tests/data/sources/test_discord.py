"""Reading DiscordChatExporter's JSON: DMs, group DMs and server channels; authors by id; bots,
system messages and attachments without text dropped; who "me" is; bad files; round trips."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlike.config import FilterConfig, SourceConfig
from chatlike.data.filters import ChatFilter
from chatlike.data.records import Message
from chatlike.data.segment import segment
from chatlike.data.sources import read_sources
from chatlike.errors import ChatlikeError
from tests.support import synth_sources as ss
from tests.support.cli import source_error

ME, LORENZO, MARCO, BOT = ss.DISCORD_ME, ss.DISCORD_LORENZO, ss.DISCORD_MARCO, ss.DISCORD_BOT
T0 = ss.T0
ALL_TYPES = ["personal_chat", "private_group", "public_supergroup"]


def dm_messages() -> list[dict]:
    m = ss.discord_message
    return [
        m(1, T0, LORENZO, "ci sei stasera?"),
        m(2, T0 + 30, ME, "sì! alle 9", reply_to=1),
        m(3, T0 + 60, ME, attachments=["foto.png"]),
        m(4, T0 + 70, LORENZO, "guarda", attachments=["meme.gif"]),  # text with an attachment: kept
        m(5, T0 + 80, LORENZO, stickers=["Wave"]),
        m(6, T0 + 90, ME, embeds=1),
        m(7, T0 + 100, BOT, "Lorenzo leveled up!"),
        m(8, T0 + 110, ME, type="ChannelPinnedMessage"),
        m(9, T0 + 120, LORENZO, "", type="Call"),
        m(10, T0 + 130, ME, "inoltro", forwarded=True),
        m(11, T0 + 140, LORENZO, "perfetto 😊"),
    ]


def write(tmp_path, data: bytes, name: str = "dm.json"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(tmp_path, data: bytes, name: str = "dm.json", **cfg):
    sources = read_sources(SourceConfig(path=str(write(tmp_path, data, name)), **cfg))
    (chat,) = sources.chats
    return chat, sources


def kept(chat, sources, **overrides):
    cfg = FilterConfig(**({"min_messages": 0, "min_my_messages": 0, "chat_types": ALL_TYPES} | overrides))
    out, counts = ChatFilter(cfg, sources.me_ids, "Pasquale", "Deleted Account")(chat)
    return [Message._make(m) for m in out.messages], counts.filter, out


def test_a_dm_is_a_personal_chat_named_after_the_contact_and_me_is_the_other_author(tmp_path):
    chat, sources = read(tmp_path, ss.discord_export(dm_messages()))
    assert (chat.source, chat.type, chat.name, chat.id) == (
        "discord",
        "personal_chat",
        "Lorenzo",
        555555555555555555,
    )
    assert sources.me_ids == {f"discord:{ME.id}"} and sources.me_name == "Pasquale Esposito"
    assert chat.peer == f"discord:{LORENZO.id}"


def test_text_replies_and_captions_are_kept_the_rest_dropped_and_counted(tmp_path):
    chat, sources = read(tmp_path, ss.discord_export(dm_messages()))
    messages, counted, _ = kept(chat, sources)
    assert [(m.text, m.mine) for m in messages] == [
        ("ci sei stasera?", False),
        ("sì! alle 9", True),
        ("guarda", False),
        ("perfetto 😊", False),
    ]
    assert counted.messages_removed == {
        "bot": 1,
        "forwarded": 1,
        "no_text:embed": 1,
        "no_text:photo": 1,
        "no_text:sticker": 1,
        "service": 2,
    }


def test_senders_are_ids_and_their_server_nickname_names_them(tmp_path):
    chat, sources = read(tmp_path, ss.discord_export(dm_messages()))
    messages, _, _ = kept(chat, sources)
    assert {(m.sender_id, m.sender) for m in messages if not m.mine} == {(f"discord:{LORENZO.id}", "Lorenzo")}


def test_a_group_dm_is_a_private_group_and_a_server_channel_a_public_supergroup(tmp_path):
    msgs = [ss.discord_message(1, T0, LORENZO, "ciao"), ss.discord_message(2, T0 + 9, MARCO, "ehi"),
            ss.discord_message(3, T0 + 20, ME, "ci sono")]  # fmt: skip
    group, _ = read(tmp_path, ss.discord_export(msgs, "DirectGroupTextChat", "Calcetto"), me=ME.id)
    assert (group.type, group.name) == ("private_group", "Calcetto")
    server, _ = read(
        tmp_path, ss.discord_export(msgs, "GuildTextChat", "generale", guild="Napoli Fans"), me="pasquale.e"
    )
    assert (server.type, server.name) == ("public_supergroup", "Napoli Fans #generale")


def test_me_by_id_by_user_name_or_by_nickname_and_never_a_bot(tmp_path):
    data = ss.discord_export(dm_messages(), name="someone else")  # no recipient to tell me by
    with pytest.raises(ChatlikeError, match="cannot tell which sender is you.*source.me"):
        read(tmp_path, data)
    for name in (ME.id, f"discord:{ME.id}", "pasquale.e", "Pasquale Esposito"):
        assert read(tmp_path, data, me=name)[1].me_ids == {f"discord:{ME.id}"}
    with pytest.raises(ChatlikeError, match="no sender is named 'MEE6'"):
        read(tmp_path, data, me="MEE6")


def test_two_authors_with_one_name_ask_for_the_id(tmp_path):
    twin = ss.User("999999999999999999", "pasquale.e2", "Pasquale Esposito")
    msgs = [ss.discord_message(1, T0, twin, "a"), ss.discord_message(2, T0 + 9, ME, "b")]
    with pytest.raises(ChatlikeError, match=f"several senders are named 'Pasquale Esposito'.*{ME.id}"):
        read(tmp_path, ss.discord_export(msgs, "GuildTextChat", "x", guild="G"), me="Pasquale Esposito")


def test_me_is_the_author_in_every_channel_of_the_run(tmp_path):
    a = ss.discord_export([ss.discord_message(1, T0, LORENZO, "x"), ss.discord_message(2, T0 + 9, ME, "y")],
                          "GuildTextChat", "a", channel_id="1", guild="G")  # fmt: skip
    b = ss.discord_export([ss.discord_message(1, T0, MARCO, "x"), ss.discord_message(2, T0 + 9, ME, "y")],
                          "GuildTextChat", "b", channel_id="2", guild="G")  # fmt: skip
    sources = read_sources(
        SourceConfig(paths=[str(write(tmp_path, a, "a.json")), str(write(tmp_path, b, "b.json"))])
    )
    assert sources.me_ids == {f"discord:{ME.id}"}


# ---- real files, written by hand from DiscordChatExporter's JsonMessageWriter ------------------

HAND_WRITTEN = """{
  "guild": {"id": "0", "name": "Direct Messages", "iconUrl": "https://cdn.discordapp.com/embed/avatars/0.png"},
  "channel": {"id": "870000000000000001", "type": "DirectTextChat", "categoryId": "0", "category": "Private",
              "name": "lorenzo_r", "topic": null},
  "dateRange": {"after": null, "before": null},
  "exportedAt": "2024-07-01T10:00:00.1234567+02:00",
  "messages": [
    {"id": "1", "type": "Default", "timestamp": "2024-06-20T21:14:05.123+02:00", "timestampEdited": null,
     "callEndedTimestamp": null, "isPinned": false, "content": "ci sei stasera?",
     "author": {"id": "222", "name": "lorenzo_r", "discriminator": "0000", "nickname": "Lorenzo", "color": null,
                "isBot": false, "roles": [], "avatarUrl": "https://x/a.png"},
     "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [], "inlineEmojis": []},
    {"id": "2", "type": "Reply", "timestamp": "2024-06-20T21:15:00+02:00", "timestampEdited": "2024-06-20T21:16:00+02:00",
     "callEndedTimestamp": null, "isPinned": false, "content": "sì 🙂",
     "author": {"id": "111", "name": "pasquale.e", "discriminator": "0000", "nickname": "Pasquale", "color": null,
                "isBot": false, "roles": [], "avatarUrl": "https://x/b.png"},
     "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
     "reference": {"type": "Default", "messageId": "1", "channelId": "870000000000000001", "guildId": null},
     "inlineEmojis": []}
  ],
  "messageCount": 2
}"""


def test_a_hand_written_export(tmp_path):
    chat, sources = read(tmp_path, HAND_WRITTEN.encode())
    assert [(m.time, m.sender_id, m.sender, m.text) for m in chat.messages] == [
        (1718910845, "discord:222", "Lorenzo", "ci sei stasera?"),
        (1718910900, "discord:111", "Pasquale", "sì 🙂"),
    ]
    assert sources.me_ids == {"discord:111"} and chat.name == "Lorenzo"


# ---- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (ss.discord_export(dm_messages())[:-300], "truncated"),
        (b'{"about": "x", "chats": {"list": []}}', "not a DiscordChatExporter JSON export"),
        (b"21/06/2024, 10:00 - Lorenzo: ciao\n", "not JSON"),
    ],
    ids=["empty", "truncated", "telegram", "whatsapp"],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path, content, expect):
    path = write(tmp_path, content, "channel.json")
    msg = source_error(path, "discord")
    assert str(path) in msg and expect in msg and "\n" not in msg


def test_a_truncated_export_is_truncated_when_detected_too(tmp_path):
    path = write(tmp_path, ss.discord_export(dm_messages())[:-300], "channel.json")
    with pytest.raises(ChatlikeError, match="truncated"):
        read_sources(SourceConfig(path=str(path)))


# ---- round trip ---------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.sampled_from('abc èà😊 ,.!?\n"\\'), min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 600), TEXT), min_size=1, max_size=40))
def test_round_trip_through_segmentation_loses_and_doubles_nothing(tmp_path, script):
    t, msgs = T0, []
    for i, (mine, seconds, text) in enumerate([(False, 1, "ciao"), (True, 1, "ehi"), *script]):
        t += seconds
        msgs.append(ss.discord_message(i, t, ME if mine else LORENZO, text))
    chat, sources = read(tmp_path, ss.discord_export(msgs))
    _, _, out = kept(chat, sources)
    conversations, _ = segment(out, gap_s=3600, window_s=300)
    turns = [turn for c in conversations for turn in c.turns]
    assert sum(turn.messages for turn in turns) == len(msgs)
    assert "\n".join(turn.text for turn in turns) == "\n".join(m["content"] for m in msgs)
    assert all(turn.mine == (turn.sender_id == f"discord:{ME.id}") for turn in turns)
    assert json.loads(ss.discord_export(msgs))["messageCount"] == len(msgs)
