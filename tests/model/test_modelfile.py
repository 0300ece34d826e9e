"""Ollama's Modelfile read off the run's chat template: Llama 3's and ChatML's, never guessed."""

import pytest

from chatlike.errors import ChatlikeError
from chatlike.model import tiny
from chatlike.model.load import tokenizer_from
from chatlike.model.modelfile import GoTemplate, modelfile


@pytest.fixture(scope="module")
def llama3(smollm2_folder):
    return tiny.smollm2_tokenizer()  # the tiny clone's: Llama 3's special tokens and template


@pytest.fixture
def chatml(smollm2_folder):
    return tokenizer_from(str(smollm2_folder))  # a fresh tokenizer per test: some change its template


def test_llama3s_template_is_read_off_as_its_four_strings(llama3):
    go = GoTemplate.of(llama3)
    assert go == GoTemplate("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>")


def test_chatmls_template_is_read_off_as_its_four_strings(chatml):
    assert GoTemplate.of(chatml) == GoTemplate("", "<|im_start|>", "\n", "<|im_end|>\n")


def test_the_go_template_writes_each_turn_as_training_does(llama3):
    text = GoTemplate.of(llama3).render(runner_adds_bos=False)
    assert text.startswith(
        "<|begin_of_text|>{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    )
    assert "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" in text
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert "}" not in text.replace("}}", "").replace(
        "{{", ""
    )  # no stray brace (wa-finetune's `<|end_header_id|}`)


def test_a_bos_the_runner_adds_is_not_written_twice(llama3):
    assert not GoTemplate.of(llama3).render(runner_adds_bos=True).startswith("<|begin_of_text|>")


def test_a_template_without_a_system_role_is_refused_in_one_line(chatml):
    chatml.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
        "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    )
    with pytest.raises(ChatlikeError, match="cannot be written as an Ollama template"):
        GoTemplate.of(chatml)


def test_a_template_that_does_not_name_roles_is_refused(chatml):
    chatml.chat_template = "{% for m in messages %}[{{ m['content'] }}]{% endfor %}"
    with pytest.raises(ChatlikeError, match="header does not name its role"):
        GoTemplate.of(chatml)


def test_the_modelfile_holds_the_system_prompt_stops_and_sampling():
    text = modelfile(
        "clone-q4_k_m.gguf", "T", 'You are Pasquale.\nBe "brief".', ["<|eot_id|>"], {"temperature": 0.7}
    )
    assert "FROM ./clone-q4_k_m.gguf\n" in text
    assert 'SYSTEM """You are Pasquale.\nBe "brief"."""\n' in text
    assert 'PARAMETER stop "<|eot_id|>"\n' in text and "PARAMETER temperature 0.7\n" in text


def test_a_system_prompt_a_modelfile_cannot_quote_is_one_line():
    with pytest.raises(ChatlikeError, match="SYSTEM holds"):
        modelfile("x.gguf", "T", 'say """', [], {})
