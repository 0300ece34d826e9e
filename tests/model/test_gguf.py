"""GGUF with llama.cpp's own converter and quantizer, checked against transformers: real conversion,
real llama.cpp, on SmolLM2-135M-Instruct (model=smollm2's folder, a real chat model: its greedy
replies do not hang on near ties) and on tiny models."""

import pytest

from chatlike.errors import ChatlikeError
from chatlike.model import gguf, tiny
from tests.support.runs import write_samples

MESSAGES = [
    {"role": "system", "content": "You are Pasquale, chatting with Anna. Respond naturally in their style."},
    {"role": "user", "content": "hey, lunch tomorrow at 12?"},
]


@pytest.fixture(scope="module")
def converter(smollm2_cache):
    """llama.cpp's converter as setup.sh installed it (linked into the session's fresh cache)."""
    if not (gguf.converter_dir() / "convert_hf_to_gguf.py").is_file():
        pytest.fail("llama.cpp's converter is missing: run `bash setup.sh` (python -m chatlike.model.gguf)")
    return gguf.converter_dir()


@pytest.fixture(scope="module")
def f16(smollm2_folder, converter, tmp_path_factory):
    return gguf.convert(smollm2_folder, tmp_path_factory.mktemp("gguf") / "smollm2-f16.gguf")


def test_the_gguf_carries_the_chat_template_and_end_of_turn(f16):
    meta = gguf.metadata(f16)
    assert meta.chat_template and "<|im_start|>" in meta.chat_template
    assert meta.eos == "<|im_end|>" and meta.bos == "<|im_start|>" and not meta.add_bos
    assert not list(f16.parent.glob(".*partial"))  # written beside, then moved in place


def test_llama_cpp_reads_the_f16_export_as_transformers_reads_the_folder(f16, smollm2_folder):
    checks = gguf.check(f16, smollm2_folder, MESSAGES, n=16)
    assert checks.prompt_ids_match, "llama.cpp's template prompt differs from apply_chat_template's"
    assert checks.compared_tokens == 16 and checks.greedy_match, (
        checks.llama_cpp_reply,
        checks.transformers_reply,
    )
    assert checks.passed


def test_q4_k_m_is_smaller_loads_and_answers(f16, smollm2_folder):
    small = gguf.quantize(f16, f16.with_name("smollm2-q4_k_m.gguf"), "q4_k_m")
    assert small.stat().st_size < 0.5 * f16.stat().st_size
    checks = gguf.check(f16, smollm2_folder, MESSAGES, n=8, quantized=small)
    assert checks.quantized["tokens"] > 0 and checks.quantized["reply"].strip()


def test_a_tokenizer_trained_here_is_refused_saying_to_use_smollm2s(tmp_path, converter):
    write_samples(tmp_path)
    folder = tiny.build(tmp_path)  # the default, trained tokenizer: llama.cpp does not know its hash
    with pytest.raises(ChatlikeError, match="model.tiny_tokenizer=smollm2"):
        gguf.convert(folder, tmp_path / "tiny-f16.gguf")
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".*partial"))


def test_the_tiny_model_with_smollm2s_tokenizer_converts(tmp_path, converter, smollm2_folder):
    write_samples(tmp_path)
    folder = tiny.build(tmp_path, tokenizer="smollm2")
    assert tiny.tokenizer_of(folder) == "smollm2"
    out = gguf.convert(folder, tmp_path / "tiny-f16.gguf")
    meta = gguf.metadata(out)
    assert (
        meta.bos == "<|begin_of_text|>"
        and meta.eos == "<|eot_id|>"
        and meta.context_length == tiny.MAX_POSITIONS
    )
    llm = gguf.load(out)
    from chatlike.conversation import Template
    from chatlike.model.load import tokenizer_from

    template = Template.of(tokenizer_from(str(folder)))
    ids = template.tokenizer(template.prompt(MESSAGES), add_special_tokens=False)["input_ids"]
    assert gguf.llama_cpp_prompt(llm, out, MESSAGES) == ids


def test_a_missing_converter_is_one_line_saying_to_run_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLIKE_CACHE", str(tmp_path))
    with pytest.raises(ChatlikeError, match="bash setup.sh"):
        gguf.convert(tmp_path, tmp_path / "x.gguf")
