"""The entry point: `python -m chatlike [overrides]` runs the configured stages in a Hydra run dir."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
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


def _overrides_of(args: list[str]) -> list[str] | None:
    """The plain overrides of a command line, or None when Hydra has a mode of its own to run."""
    modes = {
        "--help",
        "-h",
        "--hydra-help",
        "--info",
        "-i",
        "--cfg",
        "-c",
        "--shell-completion",
        "-sc",
        "--version",
        "--resolve",
        "--package",
        "-p",
        "--experimental-rerun",
    }
    takes_value = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"}
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in modes or a.split("=")[0] in modes:
            return None
        if a in takes_value:
            skip = True
            continue
        if a.startswith("-"):
            continue
        out.append(a)
    return out


def _variants(overrides: list[str]) -> list[list[str]]:
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


def precheck(args: list[str]) -> None:
    """Before a sweep: compose every job's config, so a typo, a wrong type or an out-of-range value
    anywhere is one clear line before job 0 runs. (A single run is checked as Hydra composes it: `_one_line_errors`.)"""
    overrides = _overrides_of(args)
    if overrides is None or not ({"-m", "--multirun", "hydra.mode=MULTIRUN"} & set(args)):
        return
    from hydra import compose, initialize_config_dir

    try:
        variants = _variants(overrides)
    except Exception as exc:
        raise ChatlikeError(f"bad override: {_one_line(exc)} (see: python -m chatlike --help)") from None
    with initialize_config_dir(config_dir=str(conf_dir())):
        for variant in variants:
            try:
                dcfg = compose(config_name="config", overrides=variant)
            except Exception as exc:  # Hydra's errors, reduced to one line
                raise ChatlikeError(_bad_config(exc)) from None
            to_config(dcfg)


def run_stages(cfg: Config, run_dir: Path) -> None:
    """Each stage is a function `run(cfg, run_dir)` in chatlike.stages.<name>, imported lazily so
    `prepare` never pays for torch."""
    for stage in cfg.stages:
        module = importlib.import_module(f"chatlike.stages.{stage}")
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


def _one_line_errors() -> None:
    """Hydra prints its own multi-line report of a config it cannot compose; make it our one line."""
    import hydra._internal.utils as hydra_utils

    report = hydra_utils.run_and_report

    def run_and_report(func):
        def composed():
            try:
                return func()
            except Exception as exc:
                if isinstance(exc, ChatlikeError):  # a sweep job's, carried here by its launcher
                    _fail(str(exc))
                if type(exc).__module__.startswith("submitit"):
                    _fail(_job_died(exc))
                if _raised_in_job(exc.__traceback__):
                    raise
                if isinstance(exc, OSError):  # e.g. a run dir that cannot be made
                    _fail(_one_line(exc))
                _fail(_bad_config(exc))

        return report(composed)

    hydra_utils.run_and_report = run_and_report


def _job_died(exc: BaseException) -> str:
    """submitit's report of a sweep job that left no result (killed, out of memory, past
    hydra.launcher.timeout_min, its setup failed): one line, and where the job's log is."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip().strip("-")]
    head = " ".join(lines[:2]) if lines else type(exc).__name__
    log = re.search(r"(\S+)_result\.pkl", head)
    where = f"; its log: {log.group(1)}_log.err" if log else ""
    return f"a sweep job ended without a result ({head}){where}"


def _raised_in_job(tb) -> bool:
    """A job's own exception (a bug: its traceback is shown), raised in this process or carried
    back from another by a launcher (Hydra re-raises it in JobReturn.return_value)."""
    from hydra.core.utils import JobReturn

    codes = (_task.__code__, JobReturn.return_value.fget.__code__)
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False


def _task(dcfg: DictConfig) -> None:
    quiet.install()  # before torch is imported (a sweep's job runs here in a process of its own)
    hc = HydraConfig.get()
    run = RunDir(hc.runtime.output_dir)
    run.failed.unlink(missing_ok=True)
    try:
        cfg = to_config(dcfg)
        keep_snapshot(run.root, hc.output_subdir, cfg.stages)
        run_stages(cfg, run.root)
    except ChatlikeError as exc:
        if hc.mode == RunMode.MULTIRUN:
            # A sweep's job: the summary lists its error, and the launcher carries the exception to
            # the launching process (app.py prints it as one line once all jobs ended; the other jobs
            # still run). Under submitit a job is another process, or another machine.
            write_text(run.failed, f"{exc}\n")
            raise
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; outputs already written are intact", code=130)


def _fail(message: str, code: int = 1) -> None:
    print(f"chatlike: error: {message}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    # Hydra 1.4 warns that config-named callbacks run code; ours is chatlike.sweep, named in conf/.
    warnings.filterwarnings("ignore", message=r"(?s).*_execution_whitelist_", category=UserWarning)
    register()
    args = normalize_args(sys.argv[1:])
    sys.argv = [sys.argv[0]] + args
    try:
        precheck(args)
    except ChatlikeError as exc:
        _fail(str(exc))
    _one_line_errors()
    hydra.main(config_path=str(conf_dir()), config_name="config")(_task)()


if __name__ == "__main__":
    main()
