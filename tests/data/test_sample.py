"""The synthetic exports: the bundled sample is faithful and reproducible, big files stream, quirks are real."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chatlike.data.sample import SAMPLE_EXPORT
from tests.support import synth


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(SAMPLE_EXPORT.read_bytes())


def _messages(root: dict, section: str = "chats") -> list[dict]:
    return [m for c in root.get(section, {}).get("list", []) for m in c["messages"]]


def test_bundled_sample_is_byte_identical_when_regenerated():
    assert synth.write_export_bytes(synth.sample_export()) == SAMPLE_EXPORT.read_bytes()


def test_sample_is_written_as_telegram_does_with_one_space_indent_and_utf8(sample):
    raw = SAMPLE_EXPORT.read_bytes()
    assert raw.decode("utf-8") == json.dumps(sample, indent=1, ensure_ascii=False)
    assert "giovedì" in raw.decode("utf-8")
    assert list(sample) == [
        "about",
        "personal_information",
        "contacts",
        "frequent_contacts",
        "chats",
        "left_chats",
    ]
    assert sample["personal_information"]["user_id"] == 100000001
    assert (sample["personal_information"]["first_name"], sample["personal_information"]["last_name"]) == (
        "Pasquale",
        "Esposito",
    )


def test_sample_has_enough_messages_and_every_chat_type(sample):
    chats = sample["chats"]["list"] + sample["left_chats"]["list"]
    assert len(_messages(sample)) + len(_messages(sample, "left_chats")) >= 2000
    personal = [c for c in chats if c["type"] == "personal_chat"]
    assert {c["name"] for c in personal} >= {"Lorenzo"}
    assert max(personal, key=lambda c: len(c["messages"]))["name"] == "Lorenzo"
    assert sum(len(c["messages"]) for c in personal) >= 1500
    types = Counter(c["type"] for c in chats)
    assert types.keys() >= {"personal_chat", "saved_messages", "bot_chat", "private_group", "private_channel"}
    assert [c["type"] for c in sample["left_chats"]["list"]] == ["public_supergroup"]
    saved = next(c for c in chats if c["type"] == "saved_messages")
    assert "name" not in saved and saved["id"] == 100000001
    assert list(personal[0]) == ["name", "type", "id", "messages"]


def test_left_supergroup_holds_only_my_messages(sample):
    left = _messages(sample, "left_chats")
    assert left and {m["from_id"] for m in left} == {"user100000001"}


def test_message_ids_increase_and_dates_are_paired_in_every_chat(sample):
    for c in sample["chats"]["list"] + sample["left_chats"]["list"]:
        ids = [m["id"] for m in c["messages"]]
        assert ids == sorted(set(ids)), c.get("name")
        for m in c["messages"]:
            if m["type"] == "unsupported":
                assert list(m) == ["id", "type"]
                continue
            assert list(m)[:4] == ["id", "type", "date", "date_unixtime"]
            assert isinstance(m["date_unixtime"], str) and m["date_unixtime"].isdigit()
            assert "text" in m and isinstance(m["text_entities"], list)


def test_personal_chats_have_bursts_and_silences_giving_many_two_sided_conversations(sample):
    conversations = 0
    for c in sample["chats"]["list"]:
        if c["type"] != "personal_chat":
            continue
        times = [(int(m["date_unixtime"]), m["from_id"]) for m in c["messages"] if m["type"] == "message"]
        gaps = [b[0] - a[0] for a, b in zip(times, times[1:])]
        assert min(gaps) < 60 and max(gaps) > 3 * 86400
        senders: set = set()
        for k, (t, who) in enumerate(times):
            if k and t - times[k - 1][0] > 3600:
                conversations += len(senders) == 2
                senders = set()
            senders.add(who)
        conversations += len(senders) == 2
    assert conversations > 100


def test_every_quirk_of_a_real_export_appears_in_the_sample(sample):
    msgs = _messages(sample) + _messages(sample, "left_chats")
    keys = Counter(k for m in msgs for k in m)
    for key in (
        "edited",
        "edited_unixtime",
        "forwarded_from",
        "saved_from",
        "reply_to_message_id",
        "via_bot",
        "author",
        "photo",
        "poll",
        "location_information",
        "contact_information",
        "inline_bot_buttons",
        "reactions",
        "sticker_emoji",
        "duration_seconds",
    ):
        assert keys[key], key
    media = Counter(m.get("media_type") for m in msgs)
    for kind in ("sticker", "voice_message", "video_message", "animation"):
        assert media[kind], kind
    entities = Counter(e["type"] for m in msgs for e in m.get("text_entities", []))
    for kind in (
        "plain",
        "bold",
        "italic",
        "link",
        "text_link",
        "mention",
        "mention_name",
        "hashtag",
        "code",
        "pre",
        "custom_emoji",
        "spoiler",
        "phone",
        "email",
        "bot_command",
    ):
        assert entities[kind], kind
    for m in msgs:
        parts = m.get("text_entities")
        if parts is None:
            continue
        text = m["text"]
        flat = (
            text if isinstance(text, str) else "".join(p if isinstance(p, str) else p["text"] for p in text)
        )
        assert flat == "".join(p["text"] for p in parts)
        if isinstance(text, list):
            assert any(isinstance(p, dict) for p in text)
        for p in parts:
            if p["type"] == "text_link":
                assert p["href"].startswith("https://")
            if p["type"] == "mention_name":
                assert isinstance(p["user_id"], int)
            if p["type"] == "pre":
                assert "language" in p
            if p["type"] == "custom_emoji":
                assert isinstance(p["document_id"], str)
    assert any(m["type"] == "unsupported" for m in msgs)
    assert any(m["type"] == "message" and m["from"] is None for m in msgs)  # a deleted account
    photos = [m for m in msgs if "photo" in m]
    assert any(m["text"] == "" for m in photos) and any(m["text"] for m in photos)
    services = [m for m in msgs if m["type"] == "service"]
    assert {"phone_call", "pin_message", "create_group", "invite_members"} <= {m["action"] for m in services}
    assert all("from" not in m and "actor_id" in m for m in services)
    assert any("discard_reason" in m and "duration_seconds" in m for m in services)


def test_large_export_streams_the_requested_number_of_messages(tmp_path):
    path = tmp_path / "result.json"
    size = synth.large_export(path, 3000, n_chats=6)
    root = json.loads(path.read_bytes())
    assert size == path.stat().st_size
    assert path.read_bytes().decode() == json.dumps(root, indent=1, ensure_ascii=False)
    assert sum(len(c["messages"]) for c in root["chats"]["list"]) == 3000
    assert root["personal_information"]["user_id"] == 100000001
    assert Counter(c["type"] for c in root["chats"]["list"])["personal_chat"] == 4
    assert synth.large_export(tmp_path / "again.json", 3000, n_chats=6) == size
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_streamed_and_in_memory_writing_give_the_same_bytes():
    msgs = synth.tiny_personal_chat()["messages"]
    lazy = synth.full_export([synth.personal_chat(synth.LORENZO, iter(msgs))])
    eager = synth.full_export([synth.personal_chat(synth.LORENZO, msgs)])
    assert synth.write_export_bytes(lazy) == synth.write_export_bytes(eager)
    empty = synth.full_export([synth.personal_chat(synth.LORENZO, iter([]))])
    assert json.loads(synth.write_export_bytes(empty))["chats"]["list"][0]["messages"] == []


def test_control_bytes_are_written_as_invalid_backslash_x_escapes():
    raw = synth.quirky_exports()["control_byte"]
    assert b"ding\\x07dong \\\\x07 \\\\\\x08" in raw  # a real \x07, a literal "\x07" text, "\" then \x08
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    repaired = json.loads(raw.replace(b"ding\\x07", b"ding\\u0007").replace(b"\\\\\\x08", b"\\\\\\u0008"))
    assert repaired["chats"]["list"][0]["messages"][-1]["text"] == "ding\x07dong \\x07 \\\x08"


def test_version_drift_drops_fields_like_older_telegram_desktop():
    files = {k: json.loads(v) for k, v in synth.quirky_exports().items() if k != "control_byte"}
    assert all("text_entities" not in m for m in _messages(files["before_2022-09"]))
    assert all("date_unixtime" in m for m in _messages(files["before_2022-09"]) if "date" in m)
    old = _messages(files["before_2022-06"])
    assert all(not any(k.endswith("_unixtime") for k in m) for m in old)
    ancient = _messages(files["before_2021-04"])
    assert {type(m.get("from_id", m.get("actor_id"))) for m in ancient} == {int}


def test_single_chat_exports_are_just_the_chat_object():
    files = {k: json.loads(v) for k, v in synth.quirky_exports().items() if k != "control_byte"}
    single = files["single_personal"]
    assert list(single) == ["name", "type", "id", "messages"]
    assert single["id"] == 100000002  # the OTHER person's id
    assert files["single_group"]["type"] == "private_group"
    migrated = files["migrated_group"]["chats"]["list"][0]["messages"]
    old = [m for m in migrated if m["id"] < 0]
    assert old and old[1]["reply_to_message_id"] == old[0]["id"]
    assert "personal_information" not in files["no_personal_information"]


def test_markup_becomes_telegram_text_parts():
    text, entities = synth.rich("see [this](https://example.org/x) and ping @carol 🙂")
    assert text == [
        "see ",
        {"type": "text_link", "text": "this", "href": "https://example.org/x"},
        " and ping ",
        {"type": "mention", "text": "@carol"},
        " 🙂",
    ]
    assert entities[0] == {"type": "plain", "text": "see "} and len(entities) == 5
    assert synth.rich("just words") == ("just words", [{"type": "plain", "text": "just words"}])
    assert synth.rich("") == ("", [])
