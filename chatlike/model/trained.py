"""What a run's training left, decided once: `trained_model` classifies a run dir, and loading,
merging and serving all ask it.

- an adapter: RUN/train/adapter_config.json (LoRA, QLoRA, DoRA) beside its weights; it goes on the
  base model it was trained on, and RUN/merged/ may hold it folded into that base;
- a full fine-tune: RUN/train holds a whole model (config.json and weights, no adapter);
- merged only: no RUN/train, RUN/merged/ alone (the adapter was merged, RUN/train left out of a copy);
- nothing: train first.

It is the feedback clone instead (the adapter the feedback stage's preference round left in
RUN/feedback/train, on the same base) with feedback.use=true, or, by default, once that round beat
the SFT clone on eval's held-out replies; feedback.use=false keeps the SFT clone.

The base model a config loads is RUN/tiny_model for model=tiny, else model.base_model; an adapter
trained on another base is refused in one line (a chat without the run's experiment=smoke would
put a tiny run's adapter on Llama 3.1 8B).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.rundir import Exports, RunDir

Kind = Literal["adapter", "full", "merged", "none"]


def base_model_path(cfg: Config, run_dir: Path) -> str:
    """What to load as the base model: RUN/tiny_model for model=tiny, else cfg.model.base_model."""
    if cfg.model.tiny:
        return str(RunDir(run_dir).tiny_model.resolve())
    return cfg.model.base_model


@dataclass(frozen=True)
class Adapter:
    """What adapter_config.json says about a run's adapter."""

    path: Path  # RUN/train
    rank: int  # the largest rank of any module
    dora: bool
    modules_to_save: tuple[str, ...]  # modules trained whole beside the adapter (a base model's embeddings)
    trained_on: str | None  # the base model as Axolotl wrote it ("./tiny_model", a hub id)

    @classmethod
    def read(cls, train: Path) -> Adapter:
        config = train / "adapter_config.json"
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            ranks = [int(data.get("r") or 0), *(int(r) for r in (data.get("rank_pattern") or {}).values())]
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ChatlikeError(f"{config}: cannot read it ({exc}); train again") from None
        return cls(
            path=train,
            rank=max(ranks),
            dora=bool(data.get("use_dora")),
            modules_to_save=tuple(data.get("modules_to_save") or ()),
            trained_on=data.get("base_model_name_or_path") or None,
        )

    def vllm_refusal(self) -> str | None:
        """Why vLLM cannot serve this adapter as an adapter (None: it can)."""
        if self.dora:
            return "vLLM rejects DoRA adapters"
        if self.modules_to_save:
            return f"vLLM rejects adapters with modules_to_save; this one trains {', '.join(self.modules_to_save)} whole"
        return None


@dataclass(frozen=True)
class TrainedModel:
    """A run's trained model: what kind, where, and the base it goes on."""

    run: RunDir
    kind: Kind
    base: str  # the base model this config loads (a folder or a hub id)
    adapter: Adapter | None  # kind "adapter" only
    feedback: bool = False  # the adapter is the feedback round's (RUN/feedback/train), not SFT's

    @property
    def merged(self) -> Path:
        """Where this clone merged lives: RUN/merged for SFT's, RUN/feedback/merged for the feedback
        round's, so neither overwrites the other."""
        return self.run.feedback_merged if self.feedback else self.run.merged

    @property
    def exports(self) -> Exports:
        """Where export writes this clone: RUN/export for SFT's, RUN/feedback/export for the feedback round's."""
        return self.run.feedback_exports if self.feedback else self.run.exports

    @property
    def merged_current(self) -> bool:
        """Whether the merged folder exists and was merged from the adapter there is now (not an older one)."""
        adapter = self.adapter.path if self.adapter is not None else self.run.train
        merged, weights = self.merged / "config.json", adapter / "adapter_model.safetensors"
        if not merged.is_file():
            return False
        return not weights.is_file() or merged.stat().st_mtime >= weights.stat().st_mtime

    @property
    def whole(self) -> Path | None:
        """A whole model folder of the run as it is now: a full fine-tune's RUN/train, RUN/merged when
        only it is here or it is current; None when the adapter must be merged first."""
        if self.kind == "full":
            return self.run.train
        if self.kind == "merged" or (self.kind == "adapter" and self.merged_current):
            return self.merged
        return None

    @property
    def tokenizer(self) -> str:
        """Where the training tokenizer is: beside the trained model (Axolotl saves it), else the base's."""
        home = self.run.merged if self.kind == "merged" else self.run.train
        return str(home) if (home / "tokenizer_config.json").is_file() else self.base

    def require(self) -> TrainedModel:
        """Itself, or one line saying to train when the run holds no trained model."""
        if self.kind == "none":
            raise ChatlikeError(
                f"no adapter in {self.run.train} (nor a full fine-tune); run the train stage first "
                f"(python -m chatlike hydra.run.dir={self.run.root} 'stages=[train]')"
            )
        return self


def trained_model(cfg: Config, run: Path | RunDir | TrainedModel) -> TrainedModel:
    """What the run's training left (a TrainedModel is its own answer), checked against the base
    model this config loads."""
    if isinstance(run, TrainedModel):
        return run
    run = run if isinstance(run, RunDir) else RunDir(run)
    base, train = base_model_path(cfg, run.root), run.train
    chosen = cfg.feedback.use
    if chosen is None and (chosen := feedback_won(run)):
        _announce(run.root)
    if chosen:
        if not (run.feedback_adapter / "adapter_config.json").is_file():
            raise ChatlikeError(
                f"feedback.use=true, but {run.feedback_adapter} holds no feedback round; run "
                f"'stages=[feedback]' on {run.root} first (or leave feedback.use out: the SFT clone)"
            )
        adapter = Adapter.read(run.feedback_adapter)
        _check_base(adapter, base, run)
        return TrainedModel(run, "adapter", base, adapter, feedback=True)
    if (train / "adapter_config.json").is_file():
        adapter = Adapter.read(train)
        _check_base(adapter, base, run)
        return TrainedModel(run, "adapter", base, adapter)
    weights = any(train.glob("*.safetensors")) or any(train.glob("*.bin"))
    if (train / "config.json").is_file() and weights:
        return TrainedModel(run, "full", base, None)
    if not train.exists() and (run.merged / "config.json").is_file():
        return TrainedModel(run, "merged", base, None)
    return TrainedModel(run, "none", base, None)


def feedback_won(run: RunDir) -> bool:
    """Whether the run's feedback round beat the SFT clone on eval's held-out replies (feedback.json's
    verdict), and still stands: its adapter is there and the SFT adapter was not trained again since."""
    summary, sft = run.feedback_summary, run.train / "adapter_model.safetensors"
    if not (summary.is_file() and (run.feedback_adapter / "adapter_config.json").is_file()):
        return False
    try:
        better = json.loads(summary.read_text(encoding="utf-8"))["heldout_eval"]["better"] is True
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no verdict (a round without held-out replies) or no readable one: the SFT clone
    return better and not (sft.is_file() and sft.stat().st_mtime > summary.stat().st_mtime)


@cache
def _announce(root: Path) -> None:
    """Say once per run, on stderr, that the feedback clone was chosen and how to keep the SFT one."""
    print(f"chatlike: the feedback clone ({root / 'feedback/train'}) beat the SFT clone on the held-out "
          "eval and is used; feedback.use=false for the SFT clone", file=sys.stderr, flush=True)  # fmt: skip


def _check_base(adapter: Adapter, configured: str, run: RunDir) -> None:
    """Refuse, in one line, to put the adapter on another base than it was trained on."""
    trained = adapter.trained_on
    if not trained:
        return
    local = run.root / trained if not Path(trained).is_absolute() else Path(trained)
    if local.is_dir():  # Axolotl writes the path it loaded: "./tiny_model" relative to the run dir
        same = Path(configured).is_dir() and local.resolve() == Path(configured).resolve()
    else:  # a hub id; a local copy of the same model keeps its folder name
        same = trained == configured or Path(trained).name == Path(configured).name
    if not same:
        raise ChatlikeError(
            f"{run.train} was trained on the base model {trained}, but this config loads "
            f"{configured}: pass the overrides the run was made with (e.g. experiment=smoke, or model=...)"
        )
