"""RUN/sky.yaml, the SkyPilot task configure writes: it passes SkyPilot's own task schema (the real
SkyPilot, in .venv-sky/, apart from chatlike's venv whose click it would downgrade), its run block
gives accelerate the flags of the cluster SkyPilot made, and no secret is ever written."""

import json
import math
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from chatlike.errors import ChatlikeError
from chatlike.model import plan as planning
from chatlike.model import sky
from chatlike.rundir import RunDir
from chatlike.stages import configure
from tests.support.cli import ROOT
from tests.support.runs import make_cfg, run_dir_with_data

SKY_PYTHON = ROOT / ".venv-sky" / "bin" / "python"

PROFILES = {
    "single_gpu": ("hardware=single_gpu", "train=qlora"),
    "multi_gpu": ("hardware=multi_gpu", "train=lora"),
    "two_nodes": ("hardware=multi_gpu", "hardware.num_gpus=4", "hardware.num_nodes=2", "train=lora"),
    "spot_bucket": ("hardware=single_gpu", "hardware.spot=true", "hardware.bucket=chatlike-test-runs"),
}

# Loads each task as `sky launch` does, offline; a broken copy shows that the schema is enforced.
VALIDATE = """
import json, os, sys
import sky
from sky.data import storage_utils

def uploaded(workdir):  # what `sky launch` syncs: the files less SkyPilot's own exclusions
    excluded = [e.rstrip("/") for e in storage_utils.get_excluded_files(workdir)]
    files = [os.path.relpath(os.path.join(d, f), workdir) for d, _, fs in os.walk(workdir) for f in fs]
    return sorted(f for f in files if not any(f == e or f.startswith(e + "/") for e in excluded))

out = {}
for path in sys.argv[1:]:
    try:
        t = sky.Task.from_yaml(path)
    except Exception as e:
        out[path] = {"error": f"{type(e).__name__}: {e}"}
        continue
    rs = sorted(t.resources, key=lambda r: list(r.accelerators)[0])
    out[path] = {
        "num_nodes": t.num_nodes,
        "accelerators": [dict(r.accelerators) for r in rs],
        "use_spot": sorted({r.use_spot for r in rs}),
        "disk_size": sorted({r.disk_size for r in rs}),
        "image_id": sorted({str(r.image_id) for r in rs}),
        "workdir": t.workdir,
        "storage_mounts": sorted(t.storage_mounts),
        "uploaded": uploaded(t.workdir),
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def sky_python() -> Path:
    """SkyPilot's interpreter: launch/install_skypilot.sh builds .venv-sky/ once (about 1-2 min),
    then returns at once."""
    proc = subprocess.run(
        ["bash", str(ROOT / "launch" / "install_skypilot.sh")], capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, f"installing SkyPilot failed:\n{proc.stdout}\n{proc.stderr}"
    return SKY_PYTHON


# What every later stage leaves in a run dir, and more a user may put there: none of it is uploaded.
EVERY_STAGE = ("data/test.jsonl", "data/stats.json", "data/chats.json", "report.md", "plots/gaps.png",
               "train/checkpoint-5/adapter_model.safetensors", "prepared/train.arrow", "eval/results.json",
               "eval/samples.jsonl", "eval/blind_key.json", "merged/model.safetensors", "serve/server.log",
               "serve.json", "bot/conversations.jsonl", ".hydra/config.yaml", "notes.txt")  # fmt: skip


def through_every_stage(run: Path) -> None:
    for name in EVERY_STAGE:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("private\n", encoding="utf-8")


@pytest.fixture(scope="module")
def configured(tmp_path_factory) -> dict[str, Path]:
    """A run dir configured for each profile, with HF_TOKEN set as a user's shell has it; the
    single-GPU one has been through every stage (bot included) when configure runs again."""
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_TOKEN", "hf_not_a_real_token_0123456789")
        for name, overrides in PROFILES.items():
            run = run_dir_with_data(tmp_path_factory.mktemp(name))
            if name == "single_gpu":
                through_every_stage(run)
            configure.run(make_cfg(*overrides), run)
            runs[name] = run
    return runs


@pytest.fixture(scope="module")
def validated(configured, sky_python, tmp_path_factory) -> dict[str, dict]:
    """SkyPilot's reading of every profile's sky.yaml (and of a broken one), in one process."""
    broken = tmp_path_factory.mktemp("broken") / "sky.yaml"
    doc = yaml.safe_load(RunDir(configured["single_gpu"]).sky_yaml.read_text(encoding="utf-8"))
    doc["resources"]["gpus"] = 1  # no such key
    broken.write_text(yaml.safe_dump(doc), encoding="utf-8")
    (configured["single_gpu"] / "bot" / "conversations.jsonl").write_text("later\n")  # after configure too
    paths = {name: RunDir(run).sky_yaml for name, run in configured.items()} | {"broken": broken}
    proc = subprocess.run(
        [str(sky_python), "-c", VALIDATE, *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=broken.parent,
        env=os.environ | {"SKYPILOT_DISABLE_USAGE_COLLECTION": "1"},  # telemetry off, as everywhere
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    return {name: out[str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("profile", list(PROFILES))
def test_sky_yaml_passes_skypilots_own_task_schema(profile, validated, configured):
    task = validated[profile]
    assert "error" not in task, task.get("error")
    cfg = make_cfg(*PROFILES[profile])
    hw = cfg.hardware
    assert task["num_nodes"] == hw.num_nodes
    assert all(list(a.values()) == [hw.num_gpus] for a in task["accelerators"])
    assert task["use_spot"] == [hw.spot]
    assert task["image_id"] == [str({None: f"docker:{sky.image(cfg, configure.axolotl_version())}"})]
    assert task["workdir"] == str(RunDir(configured[profile]).upload)
    assert task["storage_mounts"] == ([sky.MOUNT] if hw.bucket else [])
    assert task["disk_size"][0] >= sky.MIN_DISK_GB


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_upload_is_exactly_what_training_on_the_box_reads(profile, validated, configured):
    """SkyPilot's own reading of the workdir: the configs, launch.sh and the train and val data; of a
    run dir that went through every stage, nothing else (not the test split, the report, eval, the
    bot's conversations)."""
    deepspeed = ["deepspeed.json"] if (configured[profile] / "deepspeed.json").is_file() else []
    data = ["data/train.jsonl", "data/val.jsonl"]
    expected = [".skyignore", "axolotl.yaml", *deepspeed, *data, "launch.sh", "sky.yaml"]
    assert validated[profile]["uploaded"] == sorted(expected)
    run = RunDir(configured[profile])
    assert (run.upload / data[0]).read_bytes() == run.split("train").read_bytes()


def test_skypilot_rejects_a_task_with_an_unknown_key(validated):
    assert "gpus" in validated["broken"]["error"]


def stand_ins(tmp_path, *tools: str):
    """A folder of executables named `tools`, each appending its name and arguments (shell-quoted)
    as one line to calls.txt: put it first on PATH."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.txt"
    bin_dir.mkdir()
    for tool in tools:
        stand_in = bin_dir / tool
        stand_in.write_text(
            f'#!/usr/bin/env bash\n{{ printf %s {tool}; printf " %q" "$@"; echo; }} >> "{calls}"\n'
        )
        stand_in.chmod(0o755)
    return bin_dir, calls


def test_the_multi_node_run_block_gives_accelerate_skypilots_cluster(configured, tmp_path):
    """SkyPilot runs `run` under the synced run dir on every node with its variables set; here node 1
    of 2 nodes x 4 GPUs, with stand-ins for axolotl and accelerate that record how they were called."""
    run = configured["two_nodes"]
    doc = yaml.safe_load(RunDir(run).sky_yaml.read_text(encoding="utf-8"))
    bin_dir, calls = stand_ins(tmp_path, "axolotl", "accelerate")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "MAIN_PROCESS", "NUM_"))}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}",
        "SKYPILOT_NODE_RANK": "1",
        "SKYPILOT_NODE_IPS": "10.0.0.5\n10.0.0.6",
        "SKYPILOT_NUM_NODES": "2",
        "SKYPILOT_NUM_GPUS_PER_NODE": "4",
    }
    proc = subprocess.run(["bash", "-c", doc["run"]], cwd=run, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    preprocess, train = [shlex.split(line) for line in calls.read_text().splitlines()]
    assert preprocess == ["axolotl", "preprocess", "axolotl.yaml"]
    assert train == [
        "accelerate", "launch",
        "--num_processes", "8",
        "--num_machines", "2",
        "--multi_gpu",
        "--machine_rank", "1",
        "--main_process_ip", "10.0.0.5",
        "--main_process_port", "29500",
        "-m", "axolotl.cli.train", "axolotl.yaml",
    ]  # fmt: skip


def test_hf_token_is_a_secret_by_name_never_written(configured):
    for run in configured.values():
        doc = yaml.safe_load(RunDir(run).sky_yaml.read_text(encoding="utf-8"))
        assert doc["secrets"] == {"HF_TOKEN": None}
        for path in Path(run).rglob("*"):
            if path.is_file():
                assert b"hf_not_a_real_token" not in path.read_bytes(), path


def test_on_spot_checkpoints_come_every_few_minutes_and_training_resumes(configured):
    spot = yaml.safe_load(RunDir(configured["spot_bucket"]).axolotl_yaml.read_text(encoding="utf-8"))
    plain = yaml.safe_load(RunDir(configured["single_gpu"]).axolotl_yaml.read_text(encoding="utf-8"))
    assert spot["auto_resume_from_checkpoints"] is True
    assert spot["save_steps"] <= plain["save_steps"]
    doc = yaml.safe_load(RunDir(configured["spot_bucket"]).sky_yaml.read_text(encoding="utf-8"))
    assert doc["file_mounts"] == {"/chatlike": {"name": "chatlike-test-runs", "mode": "MOUNT_CACHED"}}
    assert f"ln -sfn /chatlike/{doc['name']}/train train" in doc["run"]


def test_the_save_cadence_is_counted_on_the_slowest_gpu_rented():
    cfg = make_cfg("hardware.spot=true")
    plan = estimate(cfg, hours=1.0)  # on hardware.gpu_tflops: an H100's
    assert sky.save_steps(cfg, plan, {"H100": 1}) == plan.steps * sky.SAVE_MINUTES // 60 < plan.eval_steps
    # an A10G (70 TFLOPS against 989) takes 14 times as long for a step: a save every few steps
    slow = sky.save_steps(cfg, plan, {"H100": 1, "A10G": 1})
    assert slow == math.floor(plan.steps * sky.SAVE_MINUTES / (60 * 989 / 70)) >= 1


def test_the_gpus_are_those_whose_memory_holds_the_estimate():
    def gpus(*overrides: str, gb: float) -> tuple[dict[str, int], bool]:
        return sky.accelerators(make_cfg(*overrides), estimate(make_cfg(*overrides), memory_gb=gb))

    assert gpus(gb=12) == ({"L4": 1, "A10G": 1, "L40S": 1, "A100-80GB": 1, "H100": 1}, True)
    assert gpus(gb=30) == ({"L40S": 1, "A100-80GB": 1, "H100": 1}, True)
    assert gpus("hardware=multi_gpu", gb=60) == ({"A100-80GB": 8, "H100": 8}, True)
    assert gpus(gb=130) == ({"A100-80GB": 1, "H100": 1}, False)  # none holds it: the largest, and a warning
    assert gpus("hardware.accelerators=[H200,H100]", gb=12) == ({"H200": 1, "H100": 1}, True)


def test_the_disk_holds_the_image_the_model_and_the_checkpoints():
    lora = estimate(make_cfg("train=lora"))
    full = estimate(make_cfg("train=full", "hardware=multi_gpu", "hardware.deepspeed=zero3"))
    assert sky.disk_gb(lora, 10_000_000) == sky.MIN_DISK_GB  # 60 + 16 GB + adapters
    # a full fine-tune: 3 x 8e9 x 16 bytes of checkpoints and weights, ~ 470 GB with the rest, 20% spare
    assert sky.disk_gb(full, 10_000_000) == 600


def test_a_cpu_run_writes_no_sky_yaml_and_says_so(tmp_path, capsys):
    run = run_dir_with_data(tmp_path)
    RunDir(run).sky_yaml.write_text("stale", encoding="utf-8")  # configured for a GPU before
    configure.run(make_cfg("hardware=cpu", "train=lora"), run)
    assert not RunDir(run).sky_yaml.exists()
    assert "chatlike: no sky.yaml: hardware.device=cpu trains here" in capsys.readouterr().out


def test_configure_prints_the_commands_that_launch_the_task(tmp_path, capsys):
    run = run_dir_with_data(tmp_path)
    configure.run(make_cfg("train.wandb_project=clone"), run)
    out = capsys.readouterr().out
    name, path = sky.name(make_cfg(), run), RunDir(run).sky_yaml
    secrets = "--secret HF_TOKEN --secret WANDB_API_KEY"
    assert f"  sky launch -c {name} {path} {secrets} -i 30 --down\n" in out
    assert f"  sky jobs launch -n {name} {path} {secrets}" in out
    assert f"rsync -Pavz {name}:sky_workdir/train/ {RunDir(run).train}/" in out


def test_a_name_is_one_skypilot_takes():
    cfg = make_cfg()
    assert sky.name(cfg, Path("outputs/default/2026-12-02_11-14-35")) == "default-2026-12-02-11-14-35"
    cfg.name = "Über Lorenzo"
    assert sky.name(cfg, Path("0")) == "ber-lorenzo-0"
    cfg.name = "42"
    assert sky.name(cfg, Path("x" * 80)).startswith("run-42-x") and len(sky.name(cfg, Path("x" * 80))) <= 40


@pytest.mark.parametrize(
    "override, message",
    [
        ("hardware.bucket=My_Bucket", "config: hardware.bucket must be a bucket name"),
        ("hardware.accelerators=[8xH100]", "config: hardware.accelerators must be GPU names"),
    ],
)
def test_a_bad_cloud_setting_is_refused_in_one_line_naming_the_key(override, message):
    with pytest.raises(ChatlikeError, match=message) as err:
        make_cfg(override)
    assert "\n" not in str(err.value)


def test_the_image_is_that_of_the_axolotl_which_checked_the_config():
    cfg = make_cfg()
    assert sky.image(cfg, "0.20.1") == "axolotlai/axolotl:0.20.1"
    assert sky.image(cfg, None) == sky.image(cfg, "0.21.0.dev0") == f"axolotlai/axolotl:{sky.AXOLOTL_VERSION}"
    assert sky.image(make_cfg("hardware.image=me/axolotl:mine"), "0.20.1") == "me/axolotl:mine"


def estimate(cfg, hours: float | None = None, memory_gb: float | None = None) -> planning.Plan:
    """The plan of 1,000 samples of 1,000 tokens, its hours or memory set by hand."""
    data = planning.DataPlan(lengths=[1000] * 1000, val_samples=0, exact=False, sequence_len=1024, over=0)
    plan = planning.estimate(cfg, data)
    if hours is not None:
        plan.hours = hours
    if memory_gb is not None:
        plan.memory_gb = {"all": memory_gb}
    return plan


def test_the_box_script_runs_launch_sh_in_the_image_sky_yaml_names_when_docker_is_there(configured, tmp_path):
    """launch/run_on_gpu_box.sh on a box with Docker (a stand-in here that records its call)."""
    run = configured["single_gpu"]
    bin_dir, calls = stand_ins(tmp_path, "docker", "nvidia-smi")
    env = os.environ | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HF_TOKEN": "hf_not_a_real_token",
    }
    env |= {"HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        ["bash", str(ROOT / "launch" / "run_on_gpu_box.sh"), str(run)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    docker = next(shlex.split(line) for line in calls.read_text().splitlines() if line.startswith("docker"))
    image = sky.image(make_cfg(), configure.axolotl_version())
    assert docker[:2] == ["docker", "run"] and image in docker and "--gpus" in docker
    assert ["-e", "HF_TOKEN"] == docker[docker.index("HF_TOKEN") - 1 : docker.index("HF_TOKEN") + 1]
    assert f"{run}:/run_dir" in docker and docker[-1].startswith("bash launch.sh;")
    assert "hf_not_a_real_token" not in calls.read_text()
