"""Reading what Telegram Desktop really writes: both shapes, every version's quirks, bad files,
and a file that changes while it is read."""

import json
import subprocess
import sys
import time

import pytest

from chatlike.data.sources.snapshot import check_unchanged, read_file
from chatlike.data.sources.telegram import Entity, flatten_text, read_export, read_messages
from chatlike.errors import ChatlikeError
from tests.support import synth

ME = f"user{synth.ME_ID}"
QUIRKS = synth.quirky_exports()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / f"{name}.json"
    path.write_bytes(data)
    return path


def messages_of(export) -> list[list]:
    return [read_messages(chat) for chat in export.chats]


@pytest.mark.parametrize("name", sorted(set(QUIRKS) - {"single_group"}))
def test_every_quirky_export_is_read(tmp_path, name):
    export = read_export(str(write(tmp_path, name, QUIRKS[name])))
    assert export.me_id == ME
    assert export.chats and all(isinstance(m, list) for m in messages_of(export))


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
    parts = [p if isinstance(p, str) else Entity(type=p["type"], text=p["text"]) for p in text]
    assert flatten_text(parts) == "see this and ping @carol 🙂"
    assert flatten_text("plain") == "plain"


def test_full_export_lists_chats_then_left_chats_with_their_heads(tmp_path):
    export = read_export(str(write(tmp_path, "o", QUIRKS["only_my_messages"])))
    assert export.shape == "full"
    assert [c.type for c in export.chats][-1] == "public_supergroup"  # from left_chats, read last


def test_single_chat_export_is_one_chat(tmp_path):
    export = read_export(str(write(tmp_path, "s", QUIRKS["single_personal"])))
    assert export.shape == "single" and len(export.chats) == 1
    assert export.chats[0].type == "personal_chat"


def test_the_same_export_in_any_json_layout_reads_the_same(tmp_path):
    original = read_export(str(write(tmp_path, "telegram", QUIRKS["modern_full"])))
    root = json.loads(QUIRKS["modern_full"])
    for chat in root["chats"]["list"]:
        chat["id"] = chat.pop("id")  # keys in another order: `id` after `messages`
    for indent in (None, 2):
        data = json.dumps(root, ensure_ascii=False, indent=indent).encode()
        export = read_export(str(write(tmp_path, f"indent{indent}", data)))
        assert (export.shape, export.me_id, export.me_name) == (
            original.shape,
            original.me_id,
            original.me_name,
        )
        assert [(c.id, c.name, c.type) for c in export.chats] == [
            (c.id, c.name, c.type) for c in original.chats
        ]
        assert messages_of(export) == messages_of(original)


def test_control_bytes_written_as_backslash_x_are_repaired(tmp_path):
    with pytest.raises(json.JSONDecodeError):
        json.loads(QUIRKS["control_byte"])
    export = read_export(str(write(tmp_path, "c", QUIRKS["control_byte"])))
    texts = [m.text for ms in messages_of(export) for m in ms]
    assert "ding\x07dong \\x07 \\\x08" in texts


def test_a_chat_that_is_not_valid_json_inside_is_an_error_naming_the_file_and_the_chat(tmp_path):
    broken = QUIRKS["modern_full"].replace(b'"text": "', b'"text": "\\q', 1)  # an invalid escape
    path = write(tmp_path, "broken", broken)
    with pytest.raises(ChatlikeError, match=r"broken\.json: (chat .*)?(invalid|not valid)") as err:
        messages_of(read_export(str(path)))
    assert "\n" not in str(err.value)


# ---- the file changes while it is read, or after ---------------------------------------------


def test_a_file_that_changes_after_it_was_read_is_noticed_by_its_snapshot(tmp_path):
    path = write(tmp_path, "result", QUIRKS["modern_full"])
    _, snapshot = read_file(path)
    check_unchanged(path, snapshot)  # untouched: fine
    path.write_bytes(QUIRKS["modern_full"][:-10])  # truncated
    with pytest.raises(ChatlikeError, match=r"result\.json: the file changed while chatlike read it"):
        check_unchanged(path, snapshot)


def test_a_file_replaced_by_a_copy_of_the_same_size_is_noticed(tmp_path):
    path = write(tmp_path, "result", QUIRKS["modern_full"])
    _, snapshot = read_file(path)
    write(tmp_path, "copy", QUIRKS["modern_full"]).replace(path)  # another inode, same bytes
    with pytest.raises(ChatlikeError, match="changed"):
        check_unchanged(path, snapshot)


def test_a_file_being_written_while_it_is_read_is_one_line_never_half_a_file(tmp_path):
    """A real writer process appends to the export while chatlike reads it."""
    path = tmp_path / "result.json"
    path.write_bytes(b" " * (64 << 20))
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nf = open(sys.argv[1], 'ab', buffering=0)\n"
         "end = time.time() + 20\nwhile time.time() < end: f.write(b' ' * 4096)", str(path)]
    )  # fmt: skip
    try:
        size = path.stat().st_size
        while path.stat().st_size == size:  # the writer is under way
            time.sleep(0.01)
        with pytest.raises(ChatlikeError) as err:
            for _ in range(20):  # each read takes tens of ms, the writer writes every few µs
                read_file(path)
    finally:
        writer.kill()
        writer.wait()
    assert str(err.value) == (
        f"{path}: the file changed while chatlike read it (is the export or a copy still being written?); "
        "run again once it is complete"
    )
