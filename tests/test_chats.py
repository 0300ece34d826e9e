"""data/chats.json: written by prepare, read by chat, eval and merge; bad files are one line."""

import pytest

from chatlike.data.chats import ChatIndex, ChatInfo, read_chats, write_chats
from chatlike.errors import ChatlikeError


def test_what_is_written_is_read_back(tmp_path):
    index = ChatIndex(
        "Pasquale",
        (
            ChatInfo(
                "Calcetto", "private_group", ("Marco", "Lorenzo"), "You are Pasquale, in Calcetto.", 5, 3, 4
            ),
            ChatInfo("Lorenzo", "personal_chat", ("Lorenzo",), "You are Pasquale, with Lorenzo.", 2, 1, 1),
        ),
    )
    write_chats(tmp_path / "chats.json", index)
    back = read_chats(tmp_path / "chats.json")
    assert back == index
    assert [c.group for c in back.chats] == [True, False]


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (None, "is missing; run the prepare stage first"),
        (b"{", "run prepare again"),
        (b'{"me": "x", "chats": []}', "lists no chat"),
    ],
    ids=["missing", "not-json", "empty"],
)
def test_a_missing_or_bad_file_is_one_line_naming_it(tmp_path, content, expect):
    path = tmp_path / "chats.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ChatlikeError) as err:
        read_chats(path)
    assert str(path) in str(err.value) and expect in str(err.value) and "\n" not in str(err.value)
