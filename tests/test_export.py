"""Reading what Telegram Desktop really writes: both shapes, every version's quirks, finding me."""

import json

import pytest

from chatlike.config import FilterConfig
import synth
from chatlike.data.export import flatten_text, read_export
from chatlike.data.filters import ChatFilter
from chatlike.errors import ChatlikeError

ME = f"user{synth.ME_ID}"
QUIRKS = synth.quirky_exports()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / f"{name}.json"
    path.write_bytes(data)
    return path


def kept_texts(path, **filter_overrides) -> list[tuple[str, bool]]:
    export = read_export(str(path))
    cfg = FilterConfig(
        min_messages=0,
        min_my_messages=0,
        chat_types=["personal_chat", "private_group", "private_supergroup"],
        **filter_overrides,
    )
    f = ChatFilter(cfg, export.me_id, "Pasquale", "Deleted Account")
    return [(m.text, m.mine) for src in export.chats if (c := f.read(src)) for m in c.messages]


@pytest.mark.parametrize("name", sorted(set(QUIRKS) - {"single_group"}))
def test_every_quirky_export_is_read(tmp_path, name):
    export = read_export(str(write(tmp_path, name, QUIRKS[name])))
    assert export.me_id == ME
    assert export.chats


def test_text_as_string_or_list_of_strings_and_entities_is_flattened_to_the_visible_text():
    text, _ = synth.text_parts(
        [
            "see ",
            ("text_link", "this", {"href": "https://example.org/x"}),
            " and ping ",
            ("mention", "@carol"),
            " 🙂",
        ]
    )
    from chatlike.data.export import Entity

    parts = [p if isinstance(p, str) else Entity(type=p["type"], text=p["text"]) for p in text]
    assert flatten_text(parts) == "see this and ping @carol 🙂"
    assert flatten_text("plain") == "plain"


def test_modern_full_export_keeps_text_drops_media_and_service(tmp_path):
    texts = kept_texts(write(tmp_path, "m", QUIRKS["modern_full"]))
    assert ("ciao!\nci sei stasera?", False) in texts
    assert ("guarda https://example.org ora", False) in texts
    assert ("sì ahah", True) in texts
    assert all(t for t, _ in texts)  # the sticker, the photo and the phone call are gone


@pytest.mark.parametrize("when", ["before_2022-09", "before_2022-06", "before_2021-04"])
def test_older_exports_read_the_same_messages(tmp_path, when):
    modern = read_export(
        str(
            write(
                tmp_path,
                "new",
                synth.write_export_bytes(
                    synth.full_export(
                        [synth.tiny_personal_chat()],
                        info=synth.personal_information(
                            synth.ME_ID, "Pasquale", "Esposito", "+39 333 123 4567"
                        ),
                    )
                ),
            )
        )
    )
    old = read_export(str(write(tmp_path, when, QUIRKS[when])))
    cfg = FilterConfig(min_messages=0, min_my_messages=0)
    a = ChatFilter(cfg, modern.me_id, "P", "D").read(modern.chats[0]).messages
    b = ChatFilter(cfg, old.me_id, "P", "D").read(old.chats[0]).messages
    assert [(m.text, m.mine, m.sender_id) for m in a] == [(m.text, m.mine, m.sender_id) for m in b]
    # without date_unixtime, the naive local date is read as is: the gaps are the same
    gaps = lambda ms: [y.time - x.time for x, y in zip(ms, ms[1:])]  # noqa: E731
    assert gaps(a) == gaps(b)


def test_control_bytes_written_as_backslash_x_are_repaired(tmp_path):
    with pytest.raises(json.JSONDecodeError):
        json.loads(QUIRKS["control_byte"])
    texts = kept_texts(write(tmp_path, "c", QUIRKS["control_byte"]))
    assert ("ding\x07dong \\x07 \\\x08", False) in texts


def test_me_from_saved_messages_when_personal_information_is_missing(tmp_path):
    assert read_export(str(write(tmp_path, "n", QUIRKS["no_personal_information"]))).me_id == ME


def test_single_personal_chat_export_me_is_the_sender_who_is_not_the_chat_peer(tmp_path):
    export = read_export(str(write(tmp_path, "s", QUIRKS["single_personal"])))
    assert export.shape == "single" and export.me_id == ME


def test_single_group_export_without_me_stops_listing_the_senders(tmp_path):
    with pytest.raises(ChatlikeError) as err:
        read_export(str(write(tmp_path, "g", QUIRKS["single_group"])))
    msg = str(err.value)
    assert "source.me" in msg and ME in msg and "Marco" in msg


def test_single_group_export_with_me_given_by_id_or_name(tmp_path):
    path = write(tmp_path, "g", QUIRKS["single_group"])
    assert read_export(str(path), me=str(synth.ME_ID)).me_id == ME
    assert read_export(str(path), me="Pasquale Esposito").me_id == ME
    with pytest.raises(ChatlikeError, match="no sender is named"):
        read_export(str(path), me="Nobody")


def test_deleted_accounts_stay_on_the_other_side_under_a_placeholder(tmp_path):
    export = read_export(str(write(tmp_path, "m", QUIRKS["modern_full"])))
    cfg = FilterConfig(chat_types=["private_group"], min_messages=0, min_my_messages=0)
    group = [c for s in export.chats if (c := ChatFilter(cfg, export.me_id, "P", "Deleted Account").read(s))][
        0
    ]
    deleted = [m for m in group.messages if m.text == "io sì"][0]
    assert deleted.sender == "Deleted Account" and not deleted.mine


def test_unsupported_messages_are_skipped_and_counted(tmp_path):
    export = read_export(str(write(tmp_path, "u", QUIRKS["unsupported"])))
    f = ChatFilter(FilterConfig(min_messages=0, min_my_messages=0), export.me_id, "P", "D")
    f.read(export.chats[0])
    assert f.finish().messages_removed["unsupported"] == 1


def test_migrated_group_history_with_negative_ids_is_read(tmp_path):
    texts = kept_texts(write(tmp_path, "mg", QUIRKS["migrated_group"]))
    assert [t for t, _ in texts] == ["ciao a tutti", "ciao", "ora siamo un supergruppo", "ahah ok"]


def test_only_my_messages_groups_are_reported_not_silently_empty(tmp_path):
    export = read_export(str(write(tmp_path, "o", QUIRKS["only_my_messages"])))
    f = ChatFilter(
        FilterConfig(chat_types=["personal_chat", "public_supergroup"], min_messages=0, min_my_messages=0),
        export.me_id,
        "P",
        "D",
    )
    for s in export.chats:
        f.read(s)
    stats = f.finish()
    assert stats.only_my_messages == ["Napoli Tifosi Italia"]
    assert stats.chats_removed == {"only_my_messages": 1}


# ---- the fast way to the chats (chatlike.data.layout) and the general way agree ----------------


def _chats(export):
    return [(c.head, c.messages()) for c in export.chats]


def _parsed(path):
    """What parsing the whole file finds (the general way, for any JSON layout)."""
    from pathlib import Path

    from chatlike.data.export import _find_me, _read_parsed

    root, chats, shape = _read_parsed(Path(path), Path(path).read_bytes())
    return shape, [(c.head, c.messages()) for c in chats], _find_me(Path(path), root, chats, shape, "auto")


@pytest.mark.parametrize("name", sorted(set(QUIRKS) - {"single_group"}))
def test_chats_found_from_telegrams_layout_are_the_chats_a_full_parse_finds(tmp_path, name):
    from chatlike.data import layout

    path = write(tmp_path, name, QUIRKS[name])
    data = path.read_bytes()
    assert layout.index_full_export(data) or layout.single_chat_messages(data)  # the fast way applies
    export = read_export(str(path), workers=2)
    assert (export.shape, _chats(export), (export.me_id, export.me_name)) == _parsed(path)


@pytest.mark.parametrize("relayout", ["minified", "two_space_indent", "keys_reordered"])
def test_a_file_not_laid_out_as_telegram_writes_it_is_parsed_whole_with_the_same_result(tmp_path, relayout):
    from chatlike.data import layout

    original = write(tmp_path, "modern", QUIRKS["modern_full"])
    root = json.loads(original.read_bytes())
    if relayout == "keys_reordered":  # Telegram's indentation, but `id` after `messages`
        for chat in root["chats"]["list"]:
            chat["id"] = chat.pop("id")
        data = synth.write_export_bytes(root)
    else:
        data = json.dumps(root, ensure_ascii=False, indent=None if relayout == "minified" else 2).encode()
    path = write(tmp_path, relayout, data)
    # Telegram's indentation with the keys in another order is still read the fast way
    assert (layout.index_full_export(data) is None) == (relayout != "keys_reordered")
    export = read_export(str(path))
    assert (export.shape, _chats(export), (export.me_id, export.me_name)) == _parsed(original)


def test_a_chat_list_entry_that_is_not_one_json_value_is_an_error_naming_the_chat(tmp_path):
    data = QUIRKS["modern_full"]
    broken = data.replace(b'"text": "', b'"text": "\\q', 1)  # an invalid escape inside the first chat
    export = read_export(str(write(tmp_path, "broken", broken)))
    with pytest.raises(ChatlikeError, match=r"broken\.json: chat .*invalid"):
        for chat in export.chats:
            chat.messages()


# ---- chat ends found while Hydra composes the config (chatlike.data.prefetch) ------------------


@pytest.mark.parametrize(
    "args, named",
    [
        (["source.path=/x/result.json", "stages=[prepare]"], "/x/result.json"),
        (["++source.path='/x/my export'"], "/x/my export"),
        (["source.path=/a", "source.path=/b"], "/b"),  # the last one wins, as in Hydra
        (["source.path=/x", "stages=[train]"], None),  # no prepare, nothing to find
        (["source.path=${oc.env:HOME}/x"], None),  # an interpolation is Hydra's to resolve
        (["experiment=lorenzo"], None),
    ],
)
def test_the_export_a_command_line_names_plainly_is_the_one_searched_early(args, named):
    from pathlib import Path

    from chatlike.data import prefetch

    assert prefetch._named_export(args) == (Path(named) if named else None)


def test_chat_ends_found_early_are_the_ends_prepare_would_find_and_only_for_that_file(tmp_path, monkeypatch):
    from chatlike.data import layout, prefetch

    monkeypatch.setattr(prefetch, "FROM_BYTES", 0)
    path = write(tmp_path, "result", QUIRKS["modern_full"])
    prefetch.start([f"source.path={tmp_path}"])  # the export folder names its result.json
    assert prefetch.take(path) == layout.chat_ends(path.read_bytes())
    other = write(tmp_path, "other", QUIRKS["modern_full"])
    assert prefetch.take(other) is None
    path.write_bytes(QUIRKS["modern_full"] + b"\n")  # changed since: its old ends are not used
    assert prefetch.take(path) is None


def _messages(people, n=30):
    return [
        synth.message(i + 1, 1_700_000_000 + 60 * i, people[i % 2], f"hello number {i}") for i in range(n)
    ]


def _full(*chats) -> bytes:
    return synth.write_export_bytes(synth.full_export(list(chats), info=synth.personal_information(1, "Me")))


ME_, BOB = synth.user("Me", 1), synth.user("Bob", 2)


@pytest.mark.parametrize(
    "case",
    ["empty_channel_then_chat", "empty_chat_first", "control_byte_in_a_name", "name_after_messages"],
)
def test_exports_the_layout_search_could_misread_give_what_a_full_parse_gives(tmp_path, case):
    from chatlike.data import layout

    bob_chat = synth.personal_chat(BOB, _messages([ME_, BOB]))
    if case == "empty_channel_then_chat":  # `"messages": []` on one line: no line of its own for "]"
        data = _full(synth.group_chat("Chan", 50, [], type="public_channel"), bob_chat)
    elif case == "empty_chat_first":
        data = _full(synth.personal_chat(synth.user("Ann", 3), []), bob_chat)
    elif case == "control_byte_in_a_name":  # written as \x01, which is not JSON
        data = _full(synth.personal_chat(synth.user("B\x01ob", 2), _messages([ME_, BOB])))
    else:
        data = synth.write_export_bytes(
            synth.full_export(
                [dict(reversed(list(bob_chat.items())))], info=synth.personal_information(1, "Me")
            )
        )
    path = write(tmp_path, case, data)
    export = read_export(str(path))
    assert (export.shape, _chats(export), (export.me_id, export.me_name)) == _parsed(path)
    if case != "name_after_messages":
        assert layout.index_full_export(data) is not None  # and the fast way was the one taken


def test_a_broken_chat_found_from_the_layout_makes_prepare_parse_the_whole_file_and_say_what_is_wrong(
    tmp_path,
):
    from chatlike.config import Config
    from chatlike.stages import prepare

    broken = QUIRKS["modern_full"].replace(b'"text": "', b'"text": "\\q', 1)
    cfg = Config()
    cfg.source.path = str(write(tmp_path, "broken", broken))
    with pytest.raises(ChatlikeError, match=r"broken\.json: not valid JSON"):
        prepare.run(cfg, tmp_path / "run")


def test_a_single_chat_export_with_a_key_after_its_messages_is_read_whole(tmp_path):
    from chatlike.config import Config
    from chatlike.stages import prepare

    chat = synth.personal_chat(BOB, _messages([ME_, BOB], n=60))
    runs = []
    for name, extra in (("plain", None), ("extra", [1, 2])):
        if extra is not None:
            chat["extra"] = extra  # not Telegram's layout: `messages` is not last
        cfg = Config()
        cfg.source.path = str(write(tmp_path, name, synth.write_export_bytes(synth.single_chat_export(chat))))
        prepare.run(cfg, tmp_path / name)
        runs.append((tmp_path / name / "data" / "train.jsonl").read_bytes())
    assert runs[0] == runs[1] and runs[0]


def test_chat_ends_cut_short_by_a_killed_search_are_not_used(tmp_path):
    import os

    from chatlike.data import prefetch

    path = write(tmp_path, "result", QUIRKS["modern_full"])
    read, write_end = os.pipe()
    os.write(write_end, b"E" + b"\0" * 12)  # not a whole number of 8-byte ends
    os.close(write_end)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    prefetch._pending[prefetch._key(path)] = (pid, read)
    assert prefetch.take(path) is None
