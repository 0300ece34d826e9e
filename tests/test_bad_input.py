"""Bad input: one clear line naming the file and what to do, exit 1, no traceback."""

import json

import pytest

from chatlike.data.sources.telegram import read_export
from chatlike.errors import ChatlikeError


def one_line_error(cli, path) -> str:
    proc = cli(f"source.path={path}", "stages=[prepare]", f"hydra.run.dir={path.parent}/run")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def test_missing_path(cli, tmp_path):
    err = one_line_error(cli, tmp_path / "nope.json")
    assert "nope.json" in err and "no such file" in err


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (
            b'{"about": "x", "chats": {"list": [{"name": "A", "type": "personal_chat", "id": 1, "mess',
            "truncated",
        ),
        (b"<!DOCTYPE html><html><body>messages</body></html>", "HTML"),
        (b'{"hello": "world"}', "not a Telegram export"),
        (b"[1, 2, 3]", "not a Telegram export"),
        (
            b'{"name": "A", "type": "personal_chat", "id": 1, "messages": [{"id": 1, "text": "\xff\xfe"}]}',
            "UTF-8",
        ),
    ],
    ids=["empty", "truncated", "html", "other-json", "array", "invalid-utf8"],
)
def test_bad_files_are_one_clear_line(tmp_path, content, expect):
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ChatlikeError) as err:
        read_export(str(path))
    msg = str(err.value)
    assert str(path) in msg and expect in msg and "\n" not in msg


def test_bad_file_through_the_cli(cli, tmp_path):
    path = tmp_path / "result.json"
    path.write_text('{"about": "x", "chats": {"list": [')
    assert "truncated" in one_line_error(cli, path)


def test_html_export_folder_is_recognised(tmp_path):
    (tmp_path / "messages.html").write_text("<html></html>")
    with pytest.raises(ChatlikeError, match="HTML export"):
        read_export(str(tmp_path))


def test_folder_holding_result_json_is_accepted(tmp_path):
    export = {
        "name": "Bob",
        "type": "personal_chat",
        "id": 2,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2024-01-01T10:00:00",
                "from": "Ann",
                "from_id": "user1",
                "text": "hi",
            }
        ],
    }
    (tmp_path / "result.json").write_text(json.dumps(export))
    assert read_export(str(tmp_path)).me_id == "user1"


def test_failed_run_leaves_earlier_outputs_as_they_were(cli, tmp_path):
    good = tmp_path / "good.json"
    msgs = []
    for i in range(40):
        msgs.append(
            {
                "id": i,
                "type": "message",
                "date": "2024-01-01T10:00:00",
                "date_unixtime": str(1704103200 + i * 4000),
                "from": "Ann" if i % 2 else "Bob",
                "from_id": "user1" if i % 2 else "user2",
                "text": f"t{i}",
            }
        )
        msgs.append(
            {
                "id": 1000 + i,
                "type": "message",
                "date": "2024-01-01T10:00:00",
                "date_unixtime": str(1704103260 + i * 4000),
                "from": "Bob" if i % 2 else "Ann",
                "from_id": "user2" if i % 2 else "user1",
                "text": f"r{i}",
            }
        )
    good.write_text(json.dumps({"name": "Bob", "type": "personal_chat", "id": 2, "messages": msgs}))
    run = tmp_path / "run"
    cli(f"source.path={good}", "stages=[prepare]", f"hydra.run.dir={run}", check=True)
    before = {p.name: p.read_bytes() for p in (run / "data").iterdir()}
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "Bob", "type": "personal_chat", "id": 2, "messages": [')
    proc = cli(f"source.path={bad}", "stages=[prepare]", f"hydra.run.dir={run}")
    assert proc.returncode == 1
    assert {p.name: p.read_bytes() for p in (run / "data").iterdir()} == before
