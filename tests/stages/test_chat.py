"""chat and merge: the chat to play from data/chats.json, history within the context, chat lines, and the
real CLI driven with piped stdin (and a terminal) on a tiny trained run."""

import json
import os
import select
import shutil
import sys
import time
import zlib
from pathlib import Path

import pytest

from chatlike.config import ChatConfig, Config
from chatlike.conversation import fit, messages_of
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats, write_chats
from chatlike.errors import ChatlikeError
from chatlike.rundir import RunDir
from chatlike.stages.chat import Lines, chat_of, speaker_of
from tests.support.cli import ROOT, run_cli, smoke_cfg

SYSTEM = "You are Pasquale, chatting with {}. Respond naturally in their conversational style."
GROUP_SYSTEM = (
    "You are Pasquale, chatting in the group Calcetto with Marco, Sara. Respond naturally in their "
    "conversational style."
)


def personal(name: str, conversations: int, system: str | None = None, source: str = "telegram") -> ChatInfo:
    chat_id = zlib.crc32(f"{source}:{name}".encode())  # unique in a run, as export chat ids are
    return ChatInfo(
        name,
        "personal_chat",
        (name,),
        system or SYSTEM.format(name),
        chat_id,
        conversations,
        conversations,
        source,
    )


CALCETTO = ChatInfo("Calcetto", "private_group", ("Marco", "Sara"), GROUP_SYSTEM, 2, 2, 3)


def run_with(tmp_path: Path, *chats: ChatInfo) -> Path:
    """A run dir whose data/chats.json lists `chats` (in that order, as prepare sorts them)."""
    write_chats(RunDir(tmp_path).chats, ChatIndex("Pasquale", chats))
    return tmp_path


def chat_cfg(**chat) -> Config:
    return Config(chat=ChatConfig(**chat))


def chats_of(run: Path) -> ChatIndex:
    return read_chats(RunDir(run).chats)


# -- the chat to play, from data/chats.json -----------------------------------------------------


def test_the_default_chat_is_the_first_of_chats_json_the_one_with_most_conversations(tmp_path):
    run = run_with(tmp_path, personal("Anna", 5), personal("Lorenzo", 3))
    chat = chat_of(chat_cfg(), chats_of(run))
    assert (chat.name, chat.system, chat.group) == ("Anna", SYSTEM.format("Anna"), False)
    assert chat_of(chat_cfg(contact="Lorenzo"), chats_of(run)).name == "Lorenzo"


def test_the_system_prompt_is_chats_json_s_verbatim(tmp_path):
    custom = "Sei Pasquale. Scrivi come scrive Pasquale a Giulia."
    run = run_with(tmp_path, personal("Anna", 2), personal("Giulia", 1, system=custom))
    assert chat_of(chat_cfg(contact="Giulia"), chats_of(run)).system == custom


def test_unknown_contact_is_refused_listing_the_chats(tmp_path):
    run = run_with(tmp_path, personal("Anna", 2), personal("Dmitri", 1), CALCETTO)
    with pytest.raises(ChatlikeError) as err:
        chat_of(chat_cfg(contact="Nobody"), chats_of(run))
    assert (
        str(err.value)
        == "chat.contact names 'Nobody', not a chat of this run; choose one of: Anna, Dmitri, Calcetto"
    )


def test_a_name_two_chats_share_is_refused_until_its_source_says_which(tmp_path):
    custom = "Sei Pasquale. Scrivi a Lorenzo su WhatsApp."
    run = run_with(tmp_path, personal("Lorenzo", 5), personal("Lorenzo", 2, system=custom, source="whatsapp"))
    with pytest.raises(ChatlikeError) as err:
        chat_of(chat_cfg(contact="Lorenzo"), chats_of(run))
    assert "telegram:Lorenzo" in str(err.value) and "whatsapp:Lorenzo" in str(err.value)
    assert chat_of(chat_cfg(contact="whatsapp:Lorenzo"), chats_of(run)).system == custom
    assert chat_of(chat_cfg(contact="telegram:Lorenzo"), chats_of(run)).system == SYSTEM.format("Lorenzo")


def test_in_a_personal_chat_you_are_the_contact():
    lorenzo = personal("Lorenzo", 1)
    assert speaker_of(chat_cfg(contact="Lorenzo"), lorenzo) == "Lorenzo"
    with pytest.raises(ChatlikeError, match="chat.speaker='Sara' is for group chats"):
        speaker_of(chat_cfg(contact="Lorenzo", speaker="Sara"), lorenzo)


def test_in_a_group_you_are_its_member_who_spoke_most_or_chat_speaker(tmp_path):
    run = run_with(tmp_path, CALCETTO, personal("Lorenzo", 1))
    group = chat_of(chat_cfg(contact="Calcetto"), chats_of(run))
    assert group.group and group.system == GROUP_SYSTEM
    assert speaker_of(chat_cfg(contact="Calcetto"), group) == "Marco"
    assert speaker_of(chat_cfg(contact="Calcetto", speaker="Sara"), group) == "Sara"


def test_prepares_chats_json_names_the_contacts_and_the_group_with_their_training_system_prompts(tmp_path):
    run = tmp_path / "run"
    run_cli(f"hydra.run.dir={run}", "stages=[prepare]", "filter.chat_types=[personal_chat,private_group]",
            check=True)  # fmt: skip
    index = chats_of(run)
    systems = {json.loads(line)["messages"][0]["content"] for line in open(RunDir(run).split("train"))}
    assert {c.system for c in index.chats} == systems  # one system prompt a chat, each as training saw it
    first = chat_of(chat_cfg(), index)
    assert first == index.chats[0] and not first.group and speaker_of(chat_cfg(), first) == first.name
    group = next(c for c in index.chats if c.group)
    assert group.name in group.system and speaker_of(chat_cfg(contact=group.name), group) == group.members[0]


def test_a_run_dir_without_chats_json_is_one_line_saying_to_run_prepare(tmp_path):
    from chatlike.stages.chat import Session

    (tmp_path / "data").mkdir()  # prepared by a chatlike that wrote no data/chats.json
    with pytest.raises(ChatlikeError) as err:
        Session(chat_cfg(), tmp_path)
    assert str(RunDir(tmp_path).chats) in str(err.value) and "stages=[prepare]" in str(err.value)
    assert "\n" not in str(err.value)


# -- history and display ------------------------------------------------------------------------


def test_history_drops_oldest_turns_but_keeps_the_system_prompt_and_the_newest_turn():
    history = [{"role": "system", "content": "s" * 10}] + [
        {"role": "user" if i % 2 == 0 else "assistant", "content": str(i) * 10} for i in range(6)
    ]

    def count(h):
        return sum(len(m["content"]) for m in h)

    kept = fit(history, count, budget=35)
    assert kept[0] == history[0] and kept[-1] == history[-1]
    assert kept[1:] == history[-2:] and count(kept) <= 35
    # the newest turn stays even when it alone is over the budget (the caller refuses it then)
    assert fit(history, count, budget=1) == [history[0], history[-1]]


def test_a_reply_of_several_messages_is_shown_as_separate_chat_lines(tmp_path):
    with open(tmp_path / "out", "w", encoding="utf-8") as out:
        lines = Lines(out, "Pasquale: ")
        for piece in ["sì", " ahah\n", "\n", "  dove ", "ci vediamo?\nalle ", "8"]:
            lines.write(piece)
        lines.close()
    assert (tmp_path / "out").read_text(encoding="utf-8") == (
        "Pasquale: sì ahah\nPasquale: dove ci vediamo?\nPasquale: alle 8\n"
    )
    assert messages_of("sì ahah\n\n  dove ci vediamo? \n") == ["sì ahah", "dove ci vediamo?"]


# -- the real CLI on a tiny trained run ---------------------------------------------------------


def chat(run: Path, *overrides: str, input: str):
    return run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[chat]", *overrides, input=input)


def replies_of(stdout: str) -> list[list[str]]:
    """Piped output: each reply's messages one per line, every reply closed by an empty line."""
    replies, current = [], []
    for line in stdout.splitlines():
        if line:
            current.append(line)
        else:
            replies.append(current)
            current = []
    assert not current, f"output does not end with an empty line: {stdout!r}"
    return replies


@pytest.mark.slow
def test_piped_chat_gives_one_reply_per_input_line_and_exits_0(trained_run):
    proc = chat(trained_run, "chat.max_new_tokens=24", input="ciao!\nci sei stasera?\n\nпривет 😀\n")
    assert proc.returncode == 0, proc.stderr
    replies = replies_of(proc.stdout)
    assert len(replies) == 3  # the empty input line is no message
    assert all(len(m) < 24 * 40 for r in replies for m in r)  # capped by chat.max_new_tokens
    assert "<|" not in proc.stdout  # no special tokens shown


@pytest.mark.slow
def test_greedy_chat_is_repeatable(trained_run):
    first = chat(trained_run, "chat.temperature=0", "chat.max_new_tokens=16", input="ciao\ncome va?\n")
    second = chat(trained_run, "chat.temperature=0", "chat.max_new_tokens=16", input="ciao\ncome va?\n")
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(replies_of(first.stdout)) == 2


@pytest.mark.slow
def test_chat_with_an_unknown_contact_is_a_one_line_error(trained_run):
    proc = chat(trained_run, "chat.contact=Nobody", input="ciao\n")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("chatlike: error: chat.contact names 'Nobody'") and "choose one of" in line


@pytest.mark.slow
def test_chat_without_an_adapter_is_a_one_line_error(trained_run, tmp_path):
    run = tmp_path / "untrained"
    shutil.copytree(trained_run / "data", run / "data")
    shutil.copytree(trained_run / "tiny_model", run / "tiny_model")
    for stages in ("stages=[chat]", "stages=[merge]"):
        proc = run_cli("experiment=smoke", f"hydra.run.dir={run}", stages, input="ciao\n")
        assert proc.returncode == 1
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("chatlike: error: ") and "adapter" in line and "stages=[train]" in line


@pytest.mark.slow
def test_a_base_model_missing_offline_is_a_one_line_error_naming_it(trained_run):
    proc = chat(
        trained_run, "model.tiny=false", "model.base_model=nobody/not-downloaded-model", input="ciao\n"
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("chatlike: error: ") and "nobody/not-downloaded-model" in line


@pytest.mark.slow
def test_chat_on_a_run_made_with_another_model_is_a_one_line_error_naming_the_overrides(trained_run):
    proc = run_cli(f"hydra.run.dir={trained_run}", "stages=[chat]", input="ciao\n")  # no experiment=smoke
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("chatlike: error: ") and "trained on the base model ./tiny_model" in line
    assert "meta-llama/Llama-3.1-8B-Instruct" in line and "experiment=smoke" in line


@pytest.mark.slow
def test_chat_and_merge_on_a_run_dir_without_chats_json_say_to_run_prepare_again(trained_run, tmp_path):
    run = tmp_path / "old"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "merged"))
    RunDir(run).chats.unlink()  # made by a chatlike before data/chats.json
    for stages in ("stages=[chat]", "stages=[merge]"):
        proc = run_cli("experiment=smoke", f"hydra.run.dir={run}", stages, input="ciao\n")
        assert proc.returncode == 1
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(f"chatlike: error: {RunDir(run).chats} is missing") and "prepare" in line
    assert not RunDir(run).merged.exists()


@pytest.mark.slow
def test_in_a_group_chat_your_messages_are_sent_as_the_speaker_as_in_training(trained_run, tmp_path):
    from chatlike.stages.chat import Session

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "merged"))
    index = chats_of(run)
    write_chats(RunDir(run).chats, ChatIndex(index.me, (*index.chats, CALCETTO)))
    session = Session(smoke_cfg("chat.contact=Calcetto", "chat.max_new_tokens=4", "chat.temperature=0"), run)
    assert session.history == [{"role": "system", "content": GROUP_SYSTEM}] and session.speaker == "Marco"
    session.reply("stasera?")
    assert session.history[1] == {"role": "user", "name": "Marco", "content": "Marco: stasera?"}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_interactive_chat_prompts_and_streams_replies_as_chat_lines(trained_run):
    import pty

    index = chats_of(trained_run)
    me, contact = index.me, index.chats[0].name
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal
        os.chdir(ROOT)
        args = ["-m", "chatlike", "experiment=smoke", f"hydra.run.dir={trained_run}", "stages=[chat]"]
        os.execv(sys.executable, [sys.executable, *args, "chat.max_new_tokens=16"])
    seen = b""

    def read_until(done, timeout: float = 120) -> None:
        nonlocal seen
        end = time.time() + timeout
        while not done(seen) and time.time() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:  # the child has exited: end of output
                    return

    prompt = f"{contact}> ".encode()
    read_until(lambda out: out.count(prompt) == 1)
    os.write(fd, b"ciao!\r")
    read_until(lambda out: out.count(prompt) == 2)
    os.write(fd, b"\x04")  # Ctrl-D ends the conversation
    read_until(lambda out: False, timeout=10)
    _, status = os.waitpid(pid, 0)
    text = seen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    banner, exchange, _ = text.split(f"{contact}> ")
    assert f"chatting as {me} with {contact}" in banner
    echo, *reply = exchange.splitlines()
    assert echo == "ciao!"
    # each message of the reply on its own line behind "Me: " (a tiny model may also say nothing)
    assert reply and all(line.startswith((f"{me}: ", f"({me} did not reply)")) for line in reply)


@pytest.mark.slow
def test_merge_writes_a_standalone_model_that_matches_base_plus_adapter(trained_run, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from chatlike.model import load

    # a copy: the session's trained run stays unmerged for serve's test, which merges first
    trained_run = shutil.copytree(
        trained_run, tmp_path / "run", ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "merged")
    )
    proc = run_cli("experiment=smoke", f"hydra.run.dir={trained_run}", "stages=[merge]")
    assert proc.returncode == 0, proc.stderr
    merged_dir = RunDir(trained_run).merged
    assert (merged_dir / "model.safetensors").is_file() and not (merged_dir / "adapter_config.json").exists()
    assert not list(trained_run.glob(".merged.*"))  # nothing half-written left behind
    prompts = json.loads((merged_dir / "system_prompts.json").read_text(encoding="utf-8"))
    # what a client of the served model must send: each chat's system prompt, as data/chats.json has it
    assert prompts == {c.name: c.system for c in chats_of(trained_run).chats}

    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    # a server stops at the end of a turn, as chatlike does: generation_config.json has the stop ids
    stops = json.loads((merged_dir / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"]
    cfg = smoke_cfg()
    template = load.training_template(cfg, tokenizer, str(merged_dir))
    assert tuple(sorted(stops)) == template.stop_ids
    assert tokenizer.convert_tokens_to_ids("<|eot_id|>") in stops
    tuned = load.load_model(cfg, trained_run)
    prompt = template.prompt([{"role": "user", "content": "ciao! ci sei stasera?"}])
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, tuned(ids).logits, atol=1e-4)
