"""train: real Axolotl runs of the tiny model on CPU (preprocess, train, resume, errors) and the smoke
experiment end to end."""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from chatlike.errors import ChatlikeError
from chatlike.stages import configure, train
from tests.support.runs import make_cfg, write_samples

TINY_CPU = (
    "model=tiny",
    "hardware=cpu",
    "train=lora",
    "train.optimizer=adamw_torch",
    "train.micro_batch_size=4",
    "train.gradient_accumulation_steps=1",
    "train.warmup_ratio=0",
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The tiny model trained for 12 steps on a fixed small dataset (~30 s on 2 cores)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    write_samples(run, n_train=48, n_val=0)  # no validation set: no evaluation between steps
    cfg = make_cfg(*TINY_CPU, "train.max_steps=12", "train.learning_rate=3e-3")
    configure.run(cfg, run)
    train.run(cfg, run)
    return run


@pytest.mark.slow
def test_cpu_training_of_the_tiny_model_lowers_the_loss(trained):
    out = trained / "train"
    assert (out / "adapter_model.safetensors").is_file()
    state = json.loads((train.last_checkpoint(out) / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 12
    losses = train.training_losses(out)
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.05, losses
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "axolotl" in log.lower() and "Dropped" not in log


@pytest.mark.slow
def test_a_rerun_resumes_from_the_last_checkpoint(trained, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained, run, symlinks=True)
    out = run / "train"
    last = train.last_checkpoint(out)
    shutil.rmtree(last)  # as if the run had been stopped before its last save
    (out / "adapter_model.safetensors").unlink()
    resumed_from = train.last_checkpoint(out)
    assert resumed_from is not None and resumed_from.name != last.name

    cfg = make_cfg(*TINY_CPU, "train.max_steps=12", "train.learning_rate=3e-3")
    train.run(cfg, run)
    assert f"resuming from {resumed_from}" in capsys.readouterr().out
    assert (out / "adapter_model.safetensors").is_file()
    assert train.last_checkpoint(out).name == last.name
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "Resuming" in log or "resume" in log.lower()


@pytest.mark.slow
def test_a_failing_axolotl_run_is_one_clear_error_naming_the_log(tmp_path):
    run = tmp_path / "run"
    write_samples(run, n_train=8, n_val=0)
    cfg = make_cfg(*TINY_CPU, "train.max_steps=1")
    configure.run(cfg, run)
    doc = yaml.safe_load((run / "axolotl.yaml").read_text(encoding="utf-8"))
    doc["base_model"] = "./no_such_model"
    (run / "axolotl.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(
        ChatlikeError, match=r"axolotl preprocess failed \(exit \d+\): .+ \(full log: .+train\.log\)"
    ) as err:
        train.run(cfg, run)
    assert "\n" not in str(err.value)


def test_axolotl_gets_only_what_a_tool_needs_and_wandbs_key_only_with_a_project(monkeypatch):
    secrets = {"TELEGRAM_BOT_TOKEN": "123:bot", "CHATLIKE_API_KEY": "sk-serve", "HF_TOKEN": "hf_x",
               "WANDB_API_KEY": "wandb-key", "AWS_SECRET_ACCESS_KEY": "aws", "VLLM_API_KEY": "vllm",
               "CUDA_API_TOKEN": "looks-like-a-secret", "SOME_APP_SETTING": "unrelated"}  # fmt: skip
    needed = {"HOME": "/home/me", "LANG": "it_IT.UTF-8", "LC_ALL": "it_IT.UTF-8", "TMPDIR": "/scratch",
              "HF_HOME": "/cache/hf", "CUDA_VISIBLE_DEVICES": "0,1", "NCCL_DEBUG": "WARN",
              "OMP_NUM_THREADS": "8", "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}  # fmt: skip
    for key, value in {**secrets, **needed}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WANDB_MODE", raising=False)  # the tests' own (conftest)
    env = train.environment(make_cfg(*TINY_CPU))
    assert not set(secrets) & set(env), set(secrets) & set(env)
    assert {k: env[k] for k in needed} == needed
    assert env["PATH"].startswith(str(Path(sys.executable).parent) + os.pathsep)
    assert env["WANDB_MODE"] == "disabled" and env["HF_HUB_OFFLINE"] == "1" and env["DO_NOT_TRACK"] == "1"

    env = train.environment(make_cfg(*TINY_CPU, "train.wandb_project=clones"))
    assert (
        env["WANDB_API_KEY"] == "wandb-key" and env["WANDB_PROJECT"] == "clones" and "WANDB_MODE" not in env
    )
    assert not (set(secrets) - {"WANDB_API_KEY"}) & set(env)


def test_train_without_a_configured_run_dir_says_to_configure_first(tmp_path):
    with pytest.raises(ChatlikeError, match="run the configure stage first"):
        train.run(make_cfg(*TINY_CPU), tmp_path)


def test_a_gpu_profile_without_cuda_refuses_in_one_line_before_prepare_starts(cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the default GPU profile would train here")
    run = tmp_path / "run"
    proc = cli(f"hydra.run.dir={run}", "stages=[prepare,configure,train]", timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    error = proc.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("chatlike: error: hardware=single_gpu"), proc.stderr
    assert "experiment=cpu" in error[0] and f"sky launch -c default-run {run / 'sky.yaml'}" in error[0]
    assert not (run / "data").exists() and "preprocess" not in proc.stdout


def test_configure_alone_still_writes_the_cloud_launch_files_on_a_machine_without_cuda(cli, tmp_path):
    run = tmp_path / "run"
    proc = cli(f"hydra.run.dir={run}", "stages=[prepare,configure]", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run / "sky.yaml").is_file() and "sky launch -c" in proc.stdout


def test_the_error_line_is_the_last_line_naming_an_error():
    tail = [
        "step 1",
        "Traceback (most recent call last):",
        '  File "x.py"',
        "OSError: ./no_such_model is not a local folder",
        "",
        "  50%|█████ ",
    ]
    assert train.error_line(tail) == "OSError: ./no_such_model is not a local folder"
    assert train.error_line(["all fine", "done"]) == "done"


@pytest.mark.slow
def test_the_smoke_experiment_runs_end_to_end_on_cpu(cli, tmp_path):
    run = tmp_path / "smoke"
    proc = cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare,configure,train]", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "train" / "adapter_model.safetensors").is_file()
    assert (run / "tiny_model" / "model.safetensors").is_file()
    assert (run / "launch.sh").is_file() and (run / "axolotl.yaml").is_file()
    assert "training plan" in proc.stdout
    # 600 steps: the tiny model learns the replies (its eval shows real-looking tuned replies)
    logged = re.search(r"chatlike: trained (\d+) logged steps, loss ([\d.]+) -> ([\d.]+)", proc.stdout)
    assert logged and int(logged[1]) == 100 and float(logged[3]) < float(logged[2]) / 2, proc.stdout[-2000:]


@pytest.mark.slow
def test_train_refuses_to_resume_from_checkpoints_made_on_other_data(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run, symlinks=True)
    assert (run / "train" / "chatlike_data.sha256").is_file() and (
        run / "prepared" / "chatlike_data.sha256"
    ).is_file()
    write_samples(run, n_train=48, n_val=0, seed=1)  # prepare ran again into the same run dir
    cfg = make_cfg(*TINY_CPU, "train.max_steps=12", "train.learning_rate=3e-3")
    with pytest.raises(ChatlikeError, match="trained on another data/train.jsonl") as err:
        train.run(cfg, run)
    assert f"delete {run / 'train'}" in str(err.value) and "\n" not in str(err.value)
    shutil.rmtree(run / "train")  # as the message says: then it trains afresh, on the new data
    cfg = make_cfg(*TINY_CPU, "train.max_steps=2", "train.learning_rate=3e-3")
    configure.run(cfg, run)
    train.run(cfg, run)
    assert train.last_checkpoint(run / "train").name == "checkpoint-2"
