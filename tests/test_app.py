"""The app: the Hydra CLI, its config groups, experiments and one-line errors."""

import hydra
import omegaconf
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from chatlike.app import conf_dir, normalize_args
from chatlike.config import Config, register


def compose_cfg(*overrides: str) -> Config:
    register()
    with initialize_config_dir(config_dir=str(conf_dir())):
        return OmegaConf.to_object(compose(config_name="config", overrides=list(overrides)))


def test_hydra_is_the_release_that_needs_no_antlr():
    # pip silently falls back to hydra-core 0.11 when antlr pins clash with axolotl's
    assert hydra.__version__.startswith("1.4"), hydra.__version__
    assert omegaconf.__version__.startswith("2.4"), omegaconf.__version__


def test_config_composes_all_groups_with_defaults():
    cfg = compose_cfg()
    assert cfg.stages == ["prepare", "configure"]
    assert cfg.segment.gap_minutes == 60 and cfg.segment.turn_window_minutes == 5
    assert cfg.model.base_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert cfg.train.adapter == "qlora" and cfg.hardware.name == "single_gpu"


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


def test_misspelt_override_fails_with_one_line_naming_it(cli):
    proc = cli("segment.gap_minuts=5")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "segment.gap_minuts" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_type_fails_with_one_line(cli):
    proc = cli("segment.gap_minutes=soon")
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "segment.gap_minutes" in proc.stderr


def test_out_of_range_value_is_refused_naming_the_key(cli):
    proc = cli("train.learning_rate=-0.001")
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "train.learning_rate must be > 0" in proc.stderr


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
