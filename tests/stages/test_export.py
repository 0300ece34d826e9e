"""stages=[export]: the clone as a GGUF for llama.cpp, Ollama and LM Studio, with a Modelfile per chat,
a README, and checks of llama.cpp against transformers (real conversion, real llama.cpp)."""

import json
import re
import shutil

import pytest

from chatlike.data.chats import read_chats
from chatlike.model import gguf
from chatlike.rundir import RunDir
from tests.support.cli import run_cli

OVERRIDES = ("experiment=smoke", "model.tiny_tokenizer=smollm2", "train.max_steps=200")


def modelfile_value(text: str, key: str) -> str:
    return re.search(rf'^{key} """(.*?)"""$', text, re.S | re.M).group(1)


@pytest.fixture(scope="module")
def exported(exportable_run):
    proc = run_cli(*OVERRIDES, f"hydra.run.dir={exportable_run}", "stages=[export]")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return exportable_run, proc.stdout


def test_export_writes_a_q4_k_m_gguf_that_llama_cpp_reads_as_transformers_reads_the_merged_model(exported):
    run, out = exported
    r = RunDir(run)
    record = json.loads(r.exports.checks.read_text(encoding="utf-8"))
    assert record["gguf"] == "smoke-q4_k_m.gguf" and r.exports.gguf("smoke", "q4_k_m").is_file()
    assert not r.exports.gguf("smoke", "f16").exists()  # export.keep_f16=false: only what was asked
    checks = record["checks"]
    assert checks["prompt_ids_match"]  # llama.cpp's prompt from the GGUF's template == apply_chat_template's
    assert checks["compared_tokens"] == 16 and checks["greedy_match"]
    assert checks["quantized"]["tokens"] > 0 and checks["passed"]
    assert "checks passed" in out and "first 16 greedy tokens match" in out
    meta = gguf.metadata(r.exports.gguf("smoke", "q4_k_m"))
    assert "<|start_header_id|>" in meta.chat_template and meta.eos == "<|eot_id|>"


def test_each_chat_gets_a_modelfile_with_its_exact_system_prompt_and_the_runs_stops(exported):
    run, _ = exported
    r = RunDir(run)
    index = read_chats(r.chats)
    refs = index.refs()
    for chat in index.chats:
        path = r.exports.folder / f"Modelfile.{re.sub(r'[^A-Za-z0-9._-]+', '-', refs[chat.key])}"
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[1] == "FROM ./smoke-q4_k_m.gguf"
        assert modelfile_value(text, "SYSTEM") == chat.system  # exactly training's
        assert re.findall(r"^PARAMETER stop (.*)$", text, re.M) == ['"<|eot_id|>"']
        assert "PARAMETER temperature 0.7" in text and "PARAMETER top_p 0.9" in text
        template = modelfile_value(text, "TEMPLATE")
        assert "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" in template
        assert template.startswith("<|begin_of_text|>")  # the GGUF adds no BOS: the template writes it


def test_the_readme_says_how_to_run_it_in_ollama_and_lm_studio(exported):
    run, _ = exported
    readme = RunDir(run).exports.readme.read_text(encoding="utf-8")
    assert (
        "ollama create smoke-lorenzo -f Modelfile.Lorenzo" in readme and "ollama run smoke-lorenzo" in readme
    )
    assert "## LM Studio" in readme and "lms import smoke-q4_k_m.gguf" in readme


def test_one_contact_gets_one_modelfile_and_f16_is_written_as_is(exported, cli, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(exported[0], run, ignore=shutil.ignore_patterns("export", "prepared", "checkpoint-*"))
    proc = cli(*OVERRIDES, f"hydra.run.dir={run}", "stages=[export]", "export.contact=Lorenzo",
               "export.quant=f16", "export.check=false")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in RunDir(run).exports.folder.iterdir())
    assert names == ["Modelfile", "README.md", "checks.json", "smoke-f16.gguf"]
    text = (RunDir(run).exports.folder / "Modelfile").read_text(encoding="utf-8")
    assert "chatting with Lorenzo" in modelfile_value(text, "SYSTEM")


def test_a_tiny_model_with_a_trained_tokenizer_is_one_line_saying_which_to_use(trained_run, cli, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(
        trained_run, run, ignore=shutil.ignore_patterns("merged", "prepared", "checkpoint-*", "serve*")
    )
    proc = cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[export]")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "model.tiny_tokenizer=smollm2" in proc.stderr.strip().splitlines()[-1]
    folder = RunDir(run).exports.folder
    assert not list(folder.glob("*.gguf")) and not list(folder.glob(".*"))


def test_an_untrained_run_is_one_line_saying_to_train(cli, tmp_path):
    proc = cli("experiment=smoke", f"hydra.run.dir={tmp_path / 'run'}", "stages=[export]")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "train" in proc.stderr.strip().splitlines()[-1]
