"""Filtering: which chats and messages become training data; every rule counted, returned with
the kept messages (nothing to consume first)."""

import pytest

from chatlike.config import FilterConfig
from chatlike.data.filters import ChatFilter
from chatlike.data.records import Chat, Message
from chatlike.data.sources.telegram import read_export
from chatlike.data.stats import Counts, FilterStats
from tests.support import synth

QUIRKS = synth.quirky_exports()
GROUPS_TOO = ["personal_chat", "private_group", "private_supergroup"]


def export_of(tmp_path, name: str, data: bytes | None = None):
    path = tmp_path / f"{name}.json"
    path.write_bytes(QUIRKS[name] if data is None else data)
    return read_export(str(path))


def kept(export, placeholder="Deleted Account", **overrides) -> tuple[list, FilterStats]:
    """The chats the filters keep, and what they counted over all the chats."""
    cfg = FilterConfig(**({"min_messages": 0, "min_my_messages": 0, "chat_types": GROUPS_TOO} | overrides))
    chat_filter = ChatFilter(cfg, export.me_id, "Pasquale", placeholder)
    results = [chat_filter(raw) for raw in export.chats]
    chats = [c for c, _ in results if c is not None]
    counted = sum((counts for _, counts in results), Counts()).filter
    # the filter makes plain tuples (cheaper than a class per message): named here, to read them
    return [Chat(c.id, c.name, c.type, [Message._make(m) for m in c.messages]) for c in chats], counted


def texts(chats) -> list[tuple[str, bool]]:
    return [(m.text, m.mine) for c in chats for m in c.messages]


def test_text_is_kept_media_and_service_messages_are_dropped(tmp_path):
    chats, _ = kept(export_of(tmp_path, "modern_full"))
    found = texts(chats)
    assert ("ciao!\nci sei stasera?", False) in found
    assert ("guarda https://example.org ora", False) in found
    assert ("sì ahah", True) in found
    assert all(t for t, _ in found)  # the sticker, the photo and the phone call are gone


def test_a_kept_chat_comes_with_all_its_counts_already_made(tmp_path):
    chats, stats = kept(export_of(tmp_path, "modern_full"))
    assert stats.chats_kept == len(chats)
    assert stats.messages_kept == sum(len(c.messages) for c in chats)
    assert stats.messages_seen > stats.messages_kept and stats.messages_removed


@pytest.mark.parametrize("when", ["before_2022-09", "before_2022-06", "before_2021-04"])
def test_older_exports_give_the_same_messages(tmp_path, when):
    info = synth.personal_information(synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567")
    modern_bytes = synth.write_export_bytes(synth.full_export([synth.tiny_personal_chat()], info=info))
    a = kept(export_of(tmp_path, "modern_full", modern_bytes))[0][0].messages
    b = kept(export_of(tmp_path, when))[0][0].messages
    assert [(m.text, m.mine, m.sender_id) for m in a] == [(m.text, m.mine, m.sender_id) for m in b]
    # without date_unixtime, the naive local date is read as is: the gaps are the same
    gaps = lambda ms: [y.time - x.time for x, y in zip(ms, ms[1:])]  # noqa: E731
    assert gaps(a) == gaps(b)


def test_deleted_accounts_stay_on_the_other_side_under_a_placeholder(tmp_path):
    chats, _ = kept(export_of(tmp_path, "modern_full"), chat_types=["private_group"])
    deleted = [m for m in chats[0].messages if m.text == "io sì"][0]
    assert deleted.sender == "Deleted Account" and not deleted.mine


def test_unsupported_messages_are_skipped_and_counted(tmp_path):
    _, stats = kept(export_of(tmp_path, "unsupported"))
    assert stats.messages_removed["unsupported"] == 1


def test_migrated_group_history_with_negative_ids_is_read(tmp_path):
    chats, _ = kept(export_of(tmp_path, "migrated_group"))
    assert [t for t, _ in texts(chats)] == ["ciao a tutti", "ciao", "ora siamo un supergruppo", "ahah ok"]


def test_only_my_messages_groups_are_reported_not_silently_empty(tmp_path):
    chats, stats = kept(
        export_of(tmp_path, "only_my_messages"), chat_types=["personal_chat", "public_supergroup"]
    )
    assert stats.only_my_messages == ["Napoli Tifosi Italia"]
    assert stats.chats_removed == {"only_my_messages": 1}
    assert all(c.name != "Napoli Tifosi Italia" for c in chats)


def test_a_chat_of_another_type_is_counted_and_never_decoded(tmp_path):
    export = export_of(tmp_path, "modern_full")
    chats, stats = kept(export, chat_types=["private_group"])
    assert [c.type for c in chats] == ["private_group"]
    assert stats.chats_removed == {"type:personal_chat": 1}
    assert stats.messages_seen == sum(len(c.messages) for c in chats) + sum(
        n for k, n in stats.messages_removed.items()
    )
