"""The entry point: `python -m chatlike [overrides]` runs the configured stages in a Hydra run dir."""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from chatlike.config import Config, check, register
from chatlike.errors import ChatlikeError


def conf_dir() -> Path:
    """conf/ beside the package (a source checkout) or inside it (an installed wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "conf", here / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ChatlikeError(f"cannot find chatlike's conf/ folder next to {here}")


# `conf/experiment=lorenzo` (the group named by its folder under conf/) means `experiment=lorenzo`.
_CONF_PREFIX = re.compile(r"^([+~]{0,2})conf/([\w/]+=)")


def normalize_args(args: list[str]) -> list[str]:
    return [_CONF_PREFIX.sub(r"\1\2", a) for a in args]


def _overrides_of(args: list[str]) -> list[str] | None:
    """The plain overrides of a command line, or None when Hydra has a mode of its own to run."""
    modes = {"--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion",
             "-sc", "--version", "--resolve", "--package", "-p", "--experimental-rerun"}
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


def _first_of_sweeps(overrides: list[str]) -> list[str]:
    """For checking, a sweep `k=a,b,c` stands for its first value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    out = []
    for text, o in zip(overrides, parsed):
        if o.is_sweep_override():
            first = next(iter(o.sweep_string_iterator()))
            out.append(f"{o.get_key_element()}={first}")
        else:
            out.append(text)
    return out


def _one_line(exc: BaseException) -> str:
    parts = []
    while exc is not None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if first not in parts and "$VALUE" not in first:
            parts.append(first)
        exc = exc.__cause__ or exc.__context__
    return " ".join(parts)


def precheck(args: list[str]) -> None:
    """Compose the config once before Hydra does, so a typo or a wrong type is one clear line."""
    overrides = _overrides_of(args)
    if overrides is None:
        return
    from hydra import compose, initialize_config_dir

    try:
        overrides = _first_of_sweeps(overrides)
        with initialize_config_dir(config_dir=str(conf_dir())):
            dcfg = compose(config_name="config", overrides=overrides)
        cfg = OmegaConf.to_object(dcfg)
    except Exception as exc:  # Hydra's and OmegaConf's errors, reduced to one line
        raise ChatlikeError(f"bad config: {_one_line(exc)} (see: python -m chatlike --help)") from None
    check(cfg)


def run_stages(cfg: Config, run_dir: Path) -> None:
    """Each stage is a function `run(cfg, run_dir)` in chatlike.stages.<name>, imported lazily so
    `prepare` never pays for torch."""
    for stage in cfg.stages:
        module = importlib.import_module(f"chatlike.stages.{stage}")
        module.run(cfg, run_dir)


def _task(dcfg: DictConfig) -> None:
    try:
        cfg = OmegaConf.to_object(dcfg)
        check(cfg)
        run_stages(cfg, Path(HydraConfig.get().runtime.output_dir))
    except ChatlikeError as exc:
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
    hydra.main(config_path=str(conf_dir()), config_name="config")(_task)()


if __name__ == "__main__":
    main()
