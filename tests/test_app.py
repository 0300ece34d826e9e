"""The app: the Hydra CLI, its config groups, experiments, range checks and one-line errors."""

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import hydra
import omegaconf
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from chatlike.app import conf_dir, normalize_args
from chatlike.config import STAGES, Config, register
from chatlike.errors import ChatlikeError

CONF = conf_dir()


def compose_cfg(*overrides: str) -> Config:
    """The config a run with these overrides gets, built (and so range-checked) as the app does."""
    register()
    with initialize_config_dir(config_dir=str(CONF)):
        return OmegaConf.to_object(compose(config_name="config", overrides=list(overrides)))


def flat(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"train": {"lora_r": 8}} -> {"train.lora_r": 8}."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


DEFAULTS = flat(asdict(Config()))
OPTION_FILES = sorted(CONF.glob("*/*.yaml"))


def own_settings(path: Path) -> dict[str, Any]:
    """What an option file itself sets, as group.key -> value (an experiment's keys are global)."""
    doc = OmegaConf.to_container(OmegaConf.load(path), resolve=True)  # ${chatlike_cache:}, as composed
    doc.pop("defaults", None)
    is_global = path.read_text(encoding="utf-8").startswith("# @package _global_")
    return flat(doc, "" if is_global else f"{path.parent.name}.")


def settings(path: Path) -> dict[str, Any]:
    """What choosing an option sets: what the options it picks set, then its own keys."""
    out = {}
    for entry in OmegaConf.to_container(OmegaConf.load(path)).get("defaults", []):
        for key, option in entry.items():  # an experiment's `override /model: tiny`
            out |= settings(CONF / key.split("/")[-1] / f"{option}.yaml")
    return out | own_settings(path)


def test_hydra_is_the_release_that_needs_no_antlr():
    # pip silently falls back to hydra-core 0.11 when antlr pins clash with axolotl's
    assert hydra.__version__.startswith("1.4"), hydra.__version__
    assert omegaconf.__version__.startswith("2.4"), omegaconf.__version__


# ---- defaults in one place: the dataclasses; an option file holds only what differs ------------


def test_with_no_overrides_the_config_is_the_dataclass_defaults():
    cfg = compose_cfg()
    assert cfg == Config()
    assert cfg.stages == ["prepare", "configure"]
    assert cfg.model.base_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert cfg.train.adapter == "qlora" and cfg.hardware.name == "single_gpu"


@pytest.mark.parametrize("path", OPTION_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_option_file_restates_a_default(path):
    own = own_settings(path)
    assert set(own) <= set(DEFAULTS), f"unknown keys {set(own) - set(DEFAULTS)}"
    restated = {k: v for k, v in own.items() if v == DEFAULTS[k] and k != f"{path.parent.name}.name"}
    assert not restated, f"{path.relative_to(CONF)} restates the defaults of chatlike/config.py: {restated}"


@pytest.mark.parametrize("path", OPTION_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_an_option_changes_exactly_what_its_file_sets(path):
    composed = flat(asdict(compose_cfg(f"{path.parent.name}={path.stem}")))
    changed = {k: v for k, v in composed.items() if v != DEFAULTS.get(k)}
    assert changed == {k: v for k, v in settings(path).items() if v != DEFAULTS[k]}


def test_an_option_is_named_after_its_file_and_the_defaults_are_the_default_options():
    picked = {}
    for entry in OmegaConf.load(CONF / "config.yaml").defaults:
        if isinstance(entry, omegaconf.DictConfig):
            picked |= OmegaConf.to_container(entry)
    for f in fields(Config):
        group_defaults = getattr(Config(), f.name)
        if not hasattr(group_defaults, "name"):
            continue
        assert group_defaults.name == picked[f.name]
        for path in (CONF / f.name).glob("*.yaml"):
            assert OmegaConf.load(path).name == path.stem


# ---- experiments -------------------------------------------------------------------------------


def test_conf_prefixed_group_means_the_group():
    assert normalize_args(["conf/experiment=lorenzo", "+conf/x=1", "a.b=conf/c"]) == [
        "experiment=lorenzo",
        "+x=1",
        "a.b=conf/c",
    ]
    assert compose_cfg(*normalize_args(["conf/experiment=lorenzo"])) == compose_cfg("experiment=lorenzo")


def test_lorenzo_experiment_selects_only_lorenzo_as_pasquale():
    cfg = compose_cfg("experiment=lorenzo")
    assert cfg.name == "lorenzo"
    assert cfg.filter.include_chats == ["Lorenzo"]
    assert cfg.persona.system_template == (
        "You are Pasquale, chatting with Lorenzo. Respond naturally in their conversational style."
    )


# ---- range checks: each group's dataclass refuses what Hydra's type check lets through ----------


def refusal(*overrides: str) -> str:
    with pytest.raises(ChatlikeError) as err:
        compose_cfg(*overrides)
    return str(err.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("source.workers=-1", "source.workers must be >= 0 (0 = automatic)"),
        ("filter.min_messages=-1", "filter.min_messages must be >= 0"),
        ("filter.min_my_messages=-1", "filter.min_my_messages must be >= 0"),
        ("filter.max_conversations_per_chat=0", "filter.max_conversations_per_chat must be > 0 or null"),
        ("segment.turn_window_minutes=-1", "segment.turn_window_minutes must be >= 0"),
        ("segment.gap_minutes=0", "segment.gap_minutes must be > 0"),
        ("segment.min_turns=1", "segment.min_turns must be >= 2 (one of theirs, one of mine)"),
        ("segment.max_tokens=63", "segment.max_tokens must be >= 64"),
        ("model.max_context=63", "model.max_context must be >= 64"),
        ("model.params_billion=0", "model.params_billion must be > 0"),
        ("train.learning_rate=-1", "train.learning_rate must be > 0 (got -1.0)"),
        ("train.lora_r=0", "train.lora_r must be > 0"),
        ("train.lora_alpha=0", "train.lora_alpha must be > 0"),
        ("train.num_epochs=0", "train.num_epochs must be > 0"),
        ("train.max_steps=0", "train.max_steps must be > 0 or null"),
        ("train.micro_batch_size=0", "train.micro_batch_size must be > 0"),
        ("train.gradient_accumulation_steps=0", "train.gradient_accumulation_steps must be > 0"),
        ("train.max_sequence_len=63", "train.max_sequence_len must be >= 64"),
        ("train.loss_watchdog_threshold=0", "train.loss_watchdog_threshold must be > 0"),
        ("train.loss_watchdog_patience=0", "train.loss_watchdog_patience must be > 0"),
        ("hardware.num_gpus=0", "hardware.num_gpus must be >= 1"),
        ("hardware.num_nodes=0", "hardware.num_nodes must be >= 1"),
        ("hardware.gpu_memory_gb=0", "hardware.gpu_memory_gb must be > 0"),
        ("hardware.gpu_tflops=0", "hardware.gpu_tflops must be > 0"),
        ("eval.max_samples=0", "eval.max_samples must be > 0"),
        ("eval.max_new_tokens=0", "eval.max_new_tokens must be > 0"),
        ("eval.batch_size=0", "eval.batch_size must be > 0"),
        ("eval.parrot_draws=0", "eval.parrot_draws must be > 0"),
        ("eval.limit=0", "eval.limit must be > 0 or null"),
        ("eval.tolerance=-0.01", "eval.tolerance must be >= 0"),
        ("eval.blind_pairs=-1", "eval.blind_pairs must be >= 0"),
        ("chat.max_new_tokens=0", "chat.max_new_tokens must be > 0"),
        ("chat.temperature=-0.1", "chat.temperature must be >= 0"),
        ("chat.repetition_penalty=0", "chat.repetition_penalty must be > 0 (1 = off)"),
    ],
)
def test_counts_sizes_and_rates_below_their_minimum_are_refused(override, message):
    assert refusal(override) == f"config: {message}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("split.test_fraction=1", "split.test_fraction must be in [0, 1)"),
        ("split.val_fraction=-0.1", "split.val_fraction must be in [0, 1)"),
        ("train.lora_dropout=1", "train.lora_dropout must be in [0, 1)"),
        ("train.warmup_ratio=1", "train.warmup_ratio must be in [0, 1)"),
        ("hardware.mfu=0", "hardware.mfu must be in (0, 1]"),
        ("hardware.mfu=1.5", "hardware.mfu must be in (0, 1]"),
        ("chat.top_p=1.1", "chat.top_p must be in (0, 1]"),
    ],
)
def test_fractions_and_probabilities_outside_their_interval_are_refused(override, message):
    assert refusal(override) == f"config: {message}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.adapter=dora", "train.adapter must be lora, qlora or null"),
        ("hardware.device=tpu", "hardware.device must be cuda or cpu"),
        ("hardware.deepspeed=zero1", "hardware.deepspeed must be zero2, zero3 or null"),
        ("eval.sampling=beam", "eval.sampling must be greedy or chat"),
        ("stages=[prepare,fit]", f"stages has unknown stage(s) ['fit']; choose from {list(STAGES)}"),
    ],
)
def test_a_value_outside_its_choices_is_refused(override, message):
    assert refusal(override) == f"config: {message}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["segment.turn_window_minutes=30", "segment.gap_minutes=10"],
            "segment.gap_minutes must be >= segment.turn_window_minutes",
        ),
        (["train.load_in_8bit=true"], "train.load_in_4bit and train.load_in_8bit exclude each other"),
        (["train=lora", "train.load_in_4bit=true"], "train.load_in_4bit needs train.adapter=qlora"),
        (["hardware=cpu", "hardware.deepspeed=zero2"], "hardware.deepspeed needs hardware.device=cuda"),
    ],
)
def test_settings_that_contradict_each_other_are_refused(overrides, message):
    assert refusal(*overrides) == f"config: {message}"


def test_values_on_the_edge_of_their_range_are_accepted():
    compose_cfg(
        "source.workers=0",
        "segment.turn_window_minutes=0",
        "segment.gap_minutes=0.5",
        "segment.min_turns=2",
        "segment.max_tokens=64",
        "split.test_fraction=0",
        "split.val_fraction=0",
        "train.warmup_ratio=0",
        "train.lora_dropout=0",
        "train.max_sequence_len=64",
        "hardware.mfu=1",
        "eval.sampling=chat",
        "eval.parrot_draws=1",
        "eval.blind_pairs=0",
        "eval.limit=null",
        "filter.max_conversations_per_chat=null",
        "chat.temperature=0",
    )
    compose_cfg("train=full", "train.load_in_8bit=true", "hardware=multi_gpu", "hardware.deepspeed=zero3")


# ---- the command line: every refusal is one line and exit 1 -------------------------------------


def test_help_lists_the_config_groups(cli):
    out = cli("--help", check=True).stdout
    for group in (
        "source",
        "filter",
        "segment",
        "persona",
        "split",
        "model",
        "train",
        "hardware",
        "eval",
        "chat",
        "experiment",
    ):
        assert f"\n{group}: " in out
    assert "experiment=lorenzo" in out


def test_misspelt_override_fails_with_one_line_naming_it(cli, tmp_path):
    proc = cli("segment.gap_minuts=5", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "segment.gap_minuts" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_type_fails_with_one_line(cli, tmp_path):
    proc = cli("segment.gap_minutes=soon", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "segment.gap_minutes" in proc.stderr


def test_out_of_range_value_is_refused_with_one_line_naming_the_key(cli, tmp_path):
    proc = cli("hardware=cpu", "hardware.deepspeed=zero2", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 1
    assert proc.stderr == "chatlike: error: config: hardware.deepspeed needs hardware.device=cuda\n"


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ("train.learning_rate=1e-4,-1", "train.learning_rate must be > 0 (got -1.0)"),
        (
            "stages=[prepare],[prepare,fit]",
            f"stages has unknown stage(s) ['fit']; choose from {list(STAGES)}",
        ),
    ],
)
def test_a_bad_value_anywhere_in_a_sweep_is_refused_before_job_0(cli, tmp_path, sweep, message):
    proc = cli("-m", sweep, "segment.gap_minutes=5,60", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert proc.returncode == 1
    assert proc.stderr == f"chatlike: error: config: {message}\n"
    assert not (tmp_path / "sweep").exists()


def test_unknown_experiment_is_one_line(cli):
    proc = cli("experiment=nope")
    assert proc.returncode == 1 and "experiment/nope" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_importing_prepare_never_imports_torch():
    import subprocess
    import sys

    code = (
        "import sys, chatlike.app, chatlike.stages.prepare, chatlike.sweep; "
        "bad = [m for m in ('torch', 'transformers', 'axolotl', 'lm_eval') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_entry_point_uses_no_private_hydra_module():
    for path in (Path(__file__).resolve().parents[1] / "chatlike").rglob("*.py"):
        assert "hydra._internal" not in path.read_text(encoding="utf-8"), path


def with_a_bug(tmp_path: Path, when: str) -> dict:
    """The environment of a run whose prepare stage raises a RuntimeError (a bug, not bad input)
    when `when` (a Python expression of `cfg`) holds: a sitecustomize injects it at start-up."""
    import os

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.getcwd())  # the checkout under test, as `python -m` puts it first\n"
        "import chatlike.stages.prepare as stage\n"
        "_run = stage.run\n"
        "def run(cfg, run_dir):\n"
        f"    if {when}:\n"
        "        raise RuntimeError('an injected bug')\n"
        "    return _run(cfg, run_dir)\n"
        "stage.run = run\n"
    )
    return {**os.environ, "PYTHONPATH": str(hook)}


def test_a_bug_in_a_run_shows_its_traceback_and_exits_1(cli, tmp_path):
    proc = cli("stages=[prepare]", f"hydra.run.dir={tmp_path / 'run'}", env=with_a_bug(tmp_path, "True"))
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: an injected bug" in proc.stderr
    assert "bad config" not in proc.stderr
