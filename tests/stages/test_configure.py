"""configure and the model side under it: the Axolotl config, DeepSpeed config and launch script
written for each profile pass Axolotl's own schema; sequence_len and the plan come from the data; the
tiny model is built locally."""

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from chatlike.conversation import Template
from chatlike.errors import ChatlikeError
from chatlike.model import axolotl, tiny, trained
from chatlike.model import plan as planning
from chatlike.model.load import tokenizer_from
from chatlike.rundir import RunDir
from chatlike.stages import configure
from tests.support.runs import make_cfg, run_dir_with_data, write_samples


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run dir with data and the tiny model built once for the module."""
    run = tmp_path_factory.mktemp("tiny_run")
    write_samples(run)
    tiny.build(run)
    return run


PROFILES = [
    ("hardware=single_gpu", "train=qlora"),
    ("hardware=single_gpu", "train=lora", "train.dora=true"),
    ("hardware=single_gpu", "train=full"),
    ("hardware=multi_gpu", "train=qlora"),
    ("hardware=multi_gpu", "train=lora"),
    ("hardware=multi_gpu", "hardware.deepspeed=zero3", "train=full"),
    ("hardware=multi_gpu", "hardware.num_nodes=2", "train=lora"),
    ("hardware=cpu", "model=tiny", "train=lora"),
    ("hardware=cpu", "model=tiny", "train=qlora"),
    ("hardware=cpu", "model=tiny", "train=full"),
]


@pytest.mark.parametrize("overrides", PROFILES, ids=lambda o: ",".join(o))
def test_every_hardware_profile_writes_a_config_that_passes_axolotls_schema(overrides, tmp_path, tiny_run):
    cfg = make_cfg(*overrides)
    run = run_dir_with_data(tmp_path, tiny_run if cfg.model.tiny else None)
    configure.run(cfg, run)  # validates in-process and raises on a schema failure

    doc = yaml.safe_load((run / "axolotl.yaml").read_text(encoding="utf-8"))
    axolotl.validate(doc, run)  # the file as written passes too
    assert doc["datasets"][0]["path"] == "data/train.jsonl"
    assert doc["datasets"][0]["type"] == "chat_template"
    assert doc["datasets"][0]["roles_to_train"] == ["assistant"]
    assert doc["datasets"][0]["train_on_eos"] == "turn"
    assert doc["test_datasets"][0]["path"] == "data/val.jsonl"
    assert doc["output_dir"] == "train" and doc["dataset_prepared_path"] == "prepared"
    assert not {"flash_attention", "sdp_attention", "xformers_attention", "eager_attention"} & set(doc)
    assert doc["loss_watchdog_threshold"] > 0 and doc["loss_watchdog_patience"] > 0
    assert doc["auto_resume_from_checkpoints"] is True
    launch = (run / "launch.sh").read_text(encoding="utf-8")
    assert 'cd "$(dirname "${BASH_SOURCE[0]}")"' in launch and "AXOLOTL_DO_NOT_TRACK=1" in launch
    assert "axolotl preprocess axolotl.yaml" in launch

    hw = cfg.hardware
    if hw.device == "cpu":
        assert doc["bf16"] is False and doc["attn_implementation"] == "eager"
        assert "plugins" not in doc and doc["sample_packing"] is False
        assert not any(doc.get(k) for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel"))
        assert "axolotl train axolotl.yaml --launcher python" in launch
    else:
        assert doc["bf16"] is True and doc["attn_implementation"] == "flash_attention_2"
        assert doc["plugins"] == ["axolotl.integrations.liger.LigerPlugin"]
    if hw.deepspeed:
        ds = json.loads((run / "deepspeed.json").read_text(encoding="utf-8"))
        assert ds["zero_optimization"]["stage"] == (3 if hw.deepspeed == "zero3" else 2)
        assert doc["deepspeed"] == "deepspeed.json"
        gpus = hw.num_gpus * hw.num_nodes
        if hw.num_nodes > 1:  # the counts can come from the cluster (SkyPilot's run sets them)
            assert f'accelerate launch --num_processes "${{NUM_PROCESSES:-{gpus}}}"' in launch
            assert '--num_machines "${NUM_MACHINES:-2}"' in launch and "MACHINE_RANK" in launch
        else:
            assert f"accelerate launch --num_processes {gpus}" in launch
        assert "-m axolotl.cli.train" in launch
    else:
        assert not (run / "deepspeed.json").exists()
    if cfg.train.dora:
        assert doc["peft_use_dora"] is True


@pytest.mark.parametrize("hardware", ["cpu", "single_gpu", "multi_gpu"])
def test_launch_sh_runs_the_commands_the_train_stage_runs(hardware):
    cfg = make_cfg(f"hardware={hardware}")
    tail = axolotl.launch_script(cfg).splitlines()[-2:]
    assert tail == [" ".join(axolotl.preprocess_command()), " ".join(axolotl.train_command(cfg))]


def test_a_value_axolotls_schema_rejects_is_refused_naming_the_key(tmp_path):
    cfg = make_cfg("+train.extra.micro_batch_size=many")
    run = run_dir_with_data(tmp_path)
    with pytest.raises(
        ChatlikeError, match="fails Axolotl.s schema: micro_batch_size: Input should be"
    ) as err:
        configure.run(cfg, run)
    assert "\n" not in str(err.value)
    assert not (run / "axolotl.yaml").exists()


def test_a_negative_learning_rate_is_refused_with_one_clear_line(cli, tmp_path):
    run = run_dir_with_data(tmp_path)
    proc = cli("train.learning_rate=-0.001", "stages=[configure]", f"hydra.run.dir={run}", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "chatlike: error: config: train.learning_rate must be > 0 (got -0.001)"
    assert not (run / "axolotl.yaml").exists()


def test_a_base_model_trains_the_embeddings_of_the_template_tokens(tmp_path):
    run = run_dir_with_data(tmp_path)
    configure.run(make_cfg("model.instruct=false", "train=lora"), run)
    doc = yaml.safe_load((run / "axolotl.yaml").read_text(encoding="utf-8"))
    assert doc["lora_modules_to_save"] == ["embed_tokens", "lm_head"]


def test_a_tokenizer_without_pad_gets_one_distinct_from_the_end_of_turn(tmp_path, tiny_run):
    run = run_dir_with_data(tmp_path)  # Llama 3.1 8B: its tokenizer (not downloaded here) has no pad
    configure.run(make_cfg(), run)
    doc = yaml.safe_load((run / "axolotl.yaml").read_text(encoding="utf-8"))
    assert doc["special_tokens"]["pad_token"] == "<|finetune_right_pad_id|>"
    # the tiny model's tokenizer already has its own distinct pad token
    tok = tokenizer_from(str(RunDir(tiny_run).tiny_model))
    assert axolotl.pad_token_needed(make_cfg("model=tiny"), Template.of(tok)) is None


def test_sequence_len_covers_the_longest_sample_rounded_up_to_64_and_capped():
    assert planning.choose_sequence_len([100] * 99 + [1000], cap=4096) == 1024  # no sample is cut
    assert planning.choose_sequence_len(list(range(1, 1001)), cap=4096) == 1024
    assert planning.choose_sequence_len([9000] * 10, cap=4096) == 4096
    assert planning.choose_sequence_len([3] * 10, cap=4096) == 64


def test_only_a_binding_cap_truncates_and_the_plan_warns_how_many_lose_their_last_turn(
    tmp_path, tiny_run, capsys
):
    run = run_dir_with_data(tmp_path, tiny_run)
    with open(run / "data" / "train.jsonl", "a", encoding="utf-8") as f:
        long = {
            "messages": [{"role": "user", "content": "ciao " * 400}, {"role": "assistant", "content": "sì"}]
        }
        f.write(json.dumps(long) + "\n")
    tiny.ensure(run)  # the data changed: the tiny model's tokenizer is trained again
    cfg = make_cfg("model=tiny", "hardware=cpu", "train=lora")
    tok = Template.of(tokenizer_from(str(RunDir(run).tiny_model)))
    data = planning.plan_data(cfg, run, tok)
    assert data.exact and data.over == 0 and data.sequence_len >= max(data.lengths) == data.longest
    capped = make_cfg("model=tiny", "hardware=cpu", "train=lora", "train.max_sequence_len=128")
    data = planning.plan_data(capped, run, tok)
    assert data.over == 1 and data.sequence_len == 128 < max(data.lengths)
    configure.run(capped, run)
    out = " ".join(capsys.readouterr().out.split())
    assert "warning: 1 of 49 training samples are longer than sequence_len 128" in out
    assert "my last turn" in out and f"{data.p99} / {data.longest}" in out
    doc = yaml.safe_load((run / "axolotl.yaml").read_text(encoding="utf-8"))
    assert doc["excess_length_strategy"] == "truncate" and doc["sequence_len"] == data.sequence_len


def test_token_lengths_render_with_the_training_template_not_the_tokenizers_own(tiny_run):
    from chatlike.model.load import training_template

    tok = tokenizer_from(str(RunDir(tiny_run).tiny_model))
    tok.chat_template = "{{ bos_token }}{% for m in messages %}DATE HEADER {{ m['content'] }}{% endfor %}"
    msgs = [{"role": "user", "content": "ciao!"}, {"role": "assistant", "content": "sì ahah"}]
    (n,) = planning.token_lengths([msgs], training_template(make_cfg("model=tiny"), tok, "tiny"))
    text = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nciao!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nsì ahah<|eot_id|>"
    )
    assert n == len(tok(text, add_special_tokens=False)["input_ids"])


def test_without_a_tokenizer_the_plan_counts_tokens_as_prepare_does():
    from chatlike.data.segment import TURN_OVERHEAD_TOKENS, approx_tokens

    msgs = [{"role": "user", "content": "abcdef"}, {"role": "assistant", "content": "привет"}]
    expected = 1 + approx_tokens("abcdef") + approx_tokens("привет") + 2 * TURN_OVERHEAD_TOKENS
    assert planning.token_lengths([msgs], None) == [expected] == [1 + 3 + 5 + 16]


def test_the_plan_estimates_memory_and_time_by_the_documented_formula():
    lengths = [1000] * 1000
    data = planning.DataPlan(lengths=lengths, val_samples=0, exact=False, sequence_len=1024, over=0)
    qlora = planning.estimate(make_cfg("train=qlora"), data)
    full = planning.estimate(make_cfg("train=full"), data)
    zero3 = planning.estimate(make_cfg("train=full", "hardware=multi_gpu", "hardware.deepspeed=zero3"), data)
    # an 8B model: ~5.5 GB of 4-bit weights (+2 GB bf16 embeddings); 16 bytes/param for a full fine-tune
    assert 6 < qlora.memory_total_gb < 16
    assert full.memory_total_gb > 120 and zero3.memory_total_gb < full.memory_total_gb / 6
    # packed: 1M tokens in ~1028 sequences of 1024, 8 per step, 3 epochs
    assert qlora.sequences_per_epoch == math.ceil(1_000_000 / (1024 * 0.95))
    assert qlora.steps == math.ceil(qlora.sequences_per_epoch / 8) * 3
    tokens = qlora.steps * 8 * 1024 * 0.95
    assert qlora.tflop == pytest.approx(tokens * 8e9 * (4 + 2) / 1e12)
    assert qlora.hours == pytest.approx(qlora.tflop / (989 * 0.35) / 3600)


def test_the_tiny_model_is_built_deterministically_with_the_llama3_tokens(tmp_path, tiny_run):
    run = tmp_path / "run"
    shutil.copytree(RunDir(tiny_run).data, RunDir(run).data)
    built = tiny.build(run)
    assert built == RunDir(run).tiny_model and not list(run.glob(".tiny_model.*"))

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert digest(built / name) == digest(RunDir(tiny_run).tiny_model / name)

    tok = tokenizer_from(str(built))
    for t in tiny.SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(t) != tok.unk_token_id and len(tok.tokenize(t)) == 1
    assert tok.pad_token == tiny.PAD and tok.pad_token != tok.eos_token == "<|eot_id|>"
    text = tok.apply_chat_template(
        [{"role": "user", "content": "ciao!"}], tokenize=False, add_generation_prompt=True
    )
    assert text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nciao!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert tok.decode(tok("привет, sì ahah").input_ids, skip_special_tokens=True) == "привет, sì ahah"
    cfg = make_cfg("model=tiny")
    assert trained.base_model_path(cfg, run) == str(built.resolve())
    assert trained.base_model_path(make_cfg(), run) == "meta-llama/Llama-3.1-8B-Instruct"


def test_the_tiny_model_is_built_again_when_prepare_changed_the_data(tmp_path, tiny_run):
    run = run_dir_with_data(tmp_path, tiny_run)
    built = RunDir(run).tiny_model
    assert tiny.ensure(run) == built and (built / "chatlike_data.sha256").is_file()
    stamp = (built / "tokenizer.json").stat().st_mtime_ns
    assert tiny.ensure(run) == built and (built / "tokenizer.json").stat().st_mtime_ns == stamp  # same data
    write_samples(run, seed=1)  # prepare ran again: other samples, so another tokenizer
    tiny.ensure(run)
    assert (built / "chatlike_data.sha256").read_text().strip() != (
        RunDir(tiny_run).tiny_model / "chatlike_data.sha256"
    ).read_text().strip()
    fresh = tmp_path / "fresh"
    shutil.copytree(RunDir(run).data, RunDir(fresh).data)
    assert (built / "tokenizer.json").read_bytes() == (tiny.build(fresh) / "tokenizer.json").read_bytes()
