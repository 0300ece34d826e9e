"""data/chats.json: written by prepare, read by chat, eval and merge; bad files are one line."""

import json
import shutil

import msgspec
import pytest

from chatlike.data.chats import ChatIndex, ChatInfo, read_chats, write_chats
from chatlike.errors import ChatlikeError
from chatlike.rundir import RunDir


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


# -- naming a chat in a setting (chat.contact, bot.allow) ----------------------------------------


def two_lorenzos() -> ChatIndex:
    def chat(name, source, chat_id, conversations):
        return ChatInfo(name, "personal_chat", (name,), f"You are Pasquale, with {name}.", chat_id,
                        conversations, conversations, source)  # fmt: skip

    return ChatIndex(
        "Pasquale",
        (
            chat("Lorenzo", "telegram", 4001, 9),
            chat("Lorenzo", "whatsapp", 77, 5),
            chat("Anna", "telegram", 4002, 2),
        ),
    )


def test_a_chat_is_its_source_and_chat_id():
    telegram, whatsapp, _ = two_lorenzos().chats
    assert (telegram.key, whatsapp.key) == ("telegram:4001", "whatsapp:77")


def test_a_name_two_chats_share_is_one_line_listing_both_with_how_to_choose():
    index = two_lorenzos()
    with pytest.raises(ChatlikeError) as err:
        index.find("Lorenzo", "chat.contact")
    assert str(err.value) == (
        "chat.contact names 'Lorenzo', which is 2 chats of this run: telegram:Lorenzo (personal_chat, "
        "9 conversations) and whatsapp:Lorenzo (personal_chat, 5 conversations); name the one you mean as written here"
    )
    assert index.find("whatsapp:Lorenzo", "chat.contact").key == "whatsapp:77"
    assert index.find("telegram:4001", "bot.allow").key == "telegram:4001"
    assert index.find("Anna", "bot.allow").key == "telegram:4002"


def test_each_chat_is_keyed_by_the_shortest_name_that_finds_it_alone():
    index = two_lorenzos()
    assert index.refs() == {"telegram:4001": "telegram:Lorenzo", "whatsapp:77": "whatsapp:Lorenzo",
                            "telegram:4002": "Anna"}  # fmt: skip
    assert index.system_prompts() == {"telegram:Lorenzo": "You are Pasquale, with Lorenzo.",
                                      "whatsapp:Lorenzo": "You are Pasquale, with Lorenzo.",
                                      "Anna": "You are Pasquale, with Anna."}  # fmt: skip
    same_source = ChatIndex("P", (*index.chats, msgspec.structs.replace(index.chats[2], id=4003)))
    assert list(same_source.refs().values()) == ["telegram:Lorenzo", "whatsapp:Lorenzo", "telegram:4002",
                                                 "telegram:4003"]  # fmt: skip
    for chat in same_source.chats:
        assert same_source.find(same_source.refs()[chat.key], "chat.contact") == chat


def test_a_name_of_no_chat_is_one_line_listing_the_names_to_choose_from():
    with pytest.raises(ChatlikeError) as err:
        two_lorenzos().find("Lorenz", "bot.allow")
    assert str(err.value) == (
        "bot.allow names 'Lorenz', not a chat of this run; "
        "choose one of: telegram:Lorenzo, whatsapp:Lorenzo, Anna"
    )


@pytest.mark.slow
def test_axolotl_trains_on_a_line_naming_its_chat_exactly_as_on_the_line_alone(trained_run, tmp_path):
    """Each JSONL line names its chat ({"messages": [...], "chat": "telegram:4001"}) for eval; the
    trainer ignores the key: `axolotl preprocess` gives the same tokens and labels without it."""
    import datasets

    from chatlike.proc import tool_env
    from chatlike.stages import train

    plain = tmp_path / "plain"
    for name in ("data", "tiny_model"):
        shutil.copytree(trained_run / name, plain / name)
    shutil.copy(trained_run / "axolotl.yaml", plain / "axolotl.yaml")
    for split in ("train", "val", "test"):
        path = RunDir(plain).split(split)
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert lines and all(set(line) == {"messages", "chat"} for line in lines)
        path.write_text("".join(json.dumps({"messages": x["messages"]}, ensure_ascii=False) + "\n" for x in lines),
                        encoding="utf-8")  # fmt: skip
    assert train.preprocess(RunDir(plain), tool_env(), plain / "preprocess.log") == 0

    def tokens(run):
        found = sorted(p.parent for p in RunDir(run).prepared.rglob("dataset_info.json"))
        assert found, f"nothing prepared in {RunDir(run).prepared}"
        sets = [datasets.load_from_disk(str(folder)) for folder in found]
        assert all("chat" not in d.column_names for d in sets)
        return sorted((tuple(r["input_ids"]), tuple(r["labels"])) for d in sets for r in d)

    assert tokens(trained_run) == tokens(plain)


def test_serve_json_tells_clients_each_chat_by_the_name_that_finds_it_alone(tmp_path):
    """Two "Lorenzo"s are two entries a client can choose from, and the printed example names one."""
    import os
    import sys

    from conftest import smoke_cfg

    from chatlike.model.engines import Clone
    from chatlike.model.serve import Server, banner, write_serve_json
    from chatlike.model.trained import TrainedModel
    from chatlike.proc import Background
    from chatlike.rundir import RunDir

    index = two_lorenzos()
    process = Background([sys.executable, "-c", "pass"], dict(os.environ), tmp_path / "server.log")
    clone = Clone("smoke", TrainedModel(RunDir(tmp_path), "none", "base", None), index)
    server = Server("transformers", "http://127.0.0.1:8000/v1", [clone], None, process)
    cfg = smoke_cfg("chat.contact=whatsapp:Lorenzo")
    write_serve_json(tmp_path / "serve.json", server, cfg)
    served = json.loads((tmp_path / "serve.json").read_text(encoding="utf-8"))["models"]["smoke"]
    assert served["system_prompts"] == index.system_prompts()
    assert served["chats"]["whatsapp:Lorenzo"] == {"source": "whatsapp", "id": 77, "name": "Lorenzo",
                                                   "kind": "personal_chat", "members": ["Lorenzo"]}  # fmt: skip
    assert list(served["chats"]) == ["telegram:Lorenzo", "whatsapp:Lorenzo", "Anna"]
    text = banner(server, cfg, tmp_path / "serve.json", 1.0)
    assert 'system = serve["models"]["smoke"]["system_prompts"]["whatsapp:Lorenzo"]' in text
    assert "as Pasquale with telegram:Lorenzo, whatsapp:Lorenzo, Anna" in text
    process.process.wait()
