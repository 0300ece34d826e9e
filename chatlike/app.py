"""The entry point: `python -m chatlike [overrides]` runs the configured stages in a Hydra run dir.

Errors are one line: Hydra's own (a config it cannot compose) reach `main` as exceptions (Hydra's
documented HYDRA_FULL_ERROR switch makes it raise instead of printing its report), a job's
`ChatlikeError` is printed by the job, and a bug in a job shows its traceback. A sweep's configs are
all checked before its first job (`SweepCheck`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from chatlike import quiet
from chatlike.config import Config, register
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.rundir import RunDir


def conf_dir() -> Path:
    """conf/ beside the package (a source checkout) or inside it (an installed wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "conf", here / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ChatlikeError(f"cannot find chatlike's conf/ folder next to {here}")


# `conf/experiment=lorenzo` (the group named by its folder under conf/) means `experiment=lorenzo`.
_CONF_PREFIX = re.compile(r"^([+~]{0,2})conf/([\w/]+=)")
# A dict of the schema given whole (`bot.allow={111222333: Lorenzo}`): Hydra would merge it into the
# empty default and refuse its keys as new ("not in struct"); `++` lets them in.
_WHOLE_DICT = re.compile(r"^(bot\.allow|train\.extra)=\{")


def normalize_args(args: list[str]) -> list[str]:
    return [_WHOLE_DICT.sub(r"++\1={", _CONF_PREFIX.sub(r"\1\2", a)) for a in args]


class JobBug(Exception):
    """An unexpected exception in a job (a bug, not bad input), carrying its traceback as text so
    that it survives a launcher that runs the job in another process (submitit)."""


def _one_line(exc: BaseException) -> str:
    parts = []
    while exc is not None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if first not in parts and "$VALUE" not in first:
            parts.append(first)
        exc = exc.__cause__ or exc.__context__
    return " ".join(parts)


def _has_submitit() -> bool:
    try:
        return importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
    except ImportError:  # not even the hydra_plugins namespace
        return False


def _bad_config(exc: BaseException) -> str:
    line = _one_line(exc)
    if "hydra/launcher/submitit" in line and not _has_submitit():
        line += "; hydra/launcher=submitit_* needs hydra-submitit-launcher: pip install 'chatlike[cluster]'"
    if "'serve.api_key'" in line:  # kept out of the config, so no snapshot holds it
        line += "; the API key comes from the CHATLIKE_API_KEY environment variable only"
    if "'bot.token'" in line:
        line += "; the bot's token comes from the TELEGRAM_BOT_TOKEN environment variable only"
    return f"bad config: {line} (see: python -m chatlike --help)"


def to_config(dcfg: DictConfig) -> Config:
    """The composed config as its dataclasses, range-checked by their `__post_init__`."""
    try:
        return OmegaConf.to_object(dcfg)
    except ChatlikeError:
        raise
    except Exception as exc:  # OmegaConf's errors, reduced to one line
        raise ChatlikeError(_bad_config(exc)) from None


def sweep_variants(overrides: list[str]) -> list[list[str]]:
    """The command lines to check for a sweep: every value of every swept key once (the other keys
    at their first value), so a bad value fails before job 0 runs, not halfway through the sweep."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    values = [list(o.sweep_string_iterator()) if o.is_sweep_override() else [None] for o in parsed]
    base = [
        text if vs[0] is None else f"{o.get_key_element()}={vs[0]}"
        for text, o, vs in zip(overrides, parsed, values)
    ]
    variants = [base]
    for i, (o, vs) in enumerate(zip(parsed, values)):
        variants += [base[:i] + [f"{o.get_key_element()}={v}"] + base[i + 1 :] for v in vs[1:]]
    return variants


class SweepCheck(Callback):
    """Before a sweep's first job: compose and check every job's config, so a typo, a wrong type or
    an out-of-range value anywhere is one line before job 0 runs (conf/config.yaml names it first).
    Hydra turns a callback's exception into a warning, so a refusal exits here (SystemExit)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra import compose

        overrides = list(OmegaConf.to_container(config.hydra.overrides.task))
        try:
            for variant in sweep_variants(overrides):
                to_config(compose(config_name="config", overrides=variant))
        except ChatlikeError as exc:
            _fail(str(exc))
        except Exception as exc:  # Hydra's errors, reduced to one line
            _fail(_bad_config(exc))


def run_stages(cfg: Config, run_dir: Path) -> None:
    """Each stage is a function `run(cfg, run_dir)` in chatlike.stages.<name>, imported lazily so
    `prepare` never pays for torch. A long-running service (serve) also offers `running(cfg, run_dir)`,
    a context manager: followed by other stages, it is entered instead and kept up while they run
    (`stages=[serve,bot]`), and stopped when they end, however they end. A stage may also offer
    `check(cfg, run_dir)`, what it needs of this machine: every listed stage's is called before the
    first stage starts, so a run that cannot end here refuses before it writes anything."""
    from contextlib import ExitStack

    modules = [importlib.import_module(f"chatlike.stages.{stage}") for stage in cfg.stages]
    for module in modules:
        if hasattr(module, "check"):
            module.check(cfg, run_dir)
    with ExitStack() as services:
        for i, module in enumerate(modules):
            if hasattr(module, "running") and i < len(cfg.stages) - 1:
                services.enter_context(module.running(cfg, run_dir))
            else:
                module.run(cfg, run_dir)


def keep_snapshot(run_dir: Path, subdir: str | None, stages: list[str]) -> None:
    """Hydra rewrites RUN/.hydra at every invocation (a later `stages=[chat]` too): keep a copy of
    each under RUN/.hydra/history/<time>_<stages>/, so the config that made the data stays."""
    if not subdir or not (run_dir / subdir / "config.yaml").is_file():
        return
    import shutil
    from datetime import datetime

    dest = run_dir / subdir / "history" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{'-'.join(stages) or 'none'}"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "overrides.yaml"):
        if (run_dir / subdir / name).is_file():
            shutil.copy2(run_dir / subdir / name, dest / name)


def _task(dcfg: DictConfig) -> None:
    quiet.install()  # before torch is imported (a sweep's job runs here in a process of its own)
    hc = HydraConfig.get()
    run = RunDir(hc.runtime.output_dir)
    sweep = hc.mode == RunMode.MULTIRUN
    run.failed.unlink(missing_ok=True)
    try:
        cfg = to_config(dcfg)
        keep_snapshot(run.root, hc.output_subdir, cfg.stages)
        run_stages(cfg, run.root)
    except KeyboardInterrupt:
        _fail("interrupted; outputs already written are intact", code=130)
    except Exception as exc:
        bug = not isinstance(exc, ChatlikeError)
        if sweep:
            # A sweep's job: the summary lists it failed, and the launcher carries the exception to
            # the launching process (main prints it once all jobs ended; the other jobs still run).
            # Under submitit a job is another process, or another machine.
            line = (
                f"{type(exc).__name__}: {_one_line(exc)} (a bug: its traceback is on the terminal)"
                if bug
                else str(exc)
            )
            write_text(run.failed, line + "\n")
        if not bug:
            if sweep:
                raise
            _fail(str(exc))
        raise JobBug(traceback.format_exc()) from exc


def _job_died(exc: BaseException) -> str:
    """submitit's report of a sweep job that left no result (killed, out of memory, past
    hydra.launcher.timeout_min, its setup failed): one line, and where the job's log is."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip().strip("-")]
    head = " ".join(lines[:2]) if lines else type(exc).__name__
    log = re.search(r"(\S+)_result\.pkl", head)
    where = f"; its log: {log.group(1)}_log.err" if log else ""
    return f"a sweep job ended without a result ({head}){where}"


def _fail(message: str, code: int = 1) -> None:
    print(f"chatlike: error: {message}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    # Hydra 1.4 warns that config-named callbacks run code; ours are chatlike's, named in conf/.
    warnings.filterwarnings("ignore", message=r"(?s).*_execution_whitelist_", category=UserWarning)
    register()
    sys.argv = [sys.argv[0], *normalize_args(sys.argv[1:])]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises its errors here, instead of printing a report
    try:
        hydra.main(config_path=str(conf_dir()), config_name="config")(_task)()
    except JobBug as exc:  # a bug in a job: its traceback
        sys.stderr.write(str(exc))
        sys.exit(1)
    except ChatlikeError as exc:  # a sweep job's, carried here by its launcher
        _fail(str(exc))
    except Exception as exc:
        if type(exc).__module__.startswith("submitit"):
            _fail(_job_died(exc))
        if isinstance(exc, OSError):  # e.g. a run dir that cannot be made
            _fail(_one_line(exc))
        _fail(_bad_config(exc))  # Hydra could not compose the config


if __name__ == "__main__":
    main()
