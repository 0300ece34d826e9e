"""The run dir's layout: every path a stage reads or writes, named once.

Stages meet only through these files, so `hydra.run.dir=RUN 'stages=[train]'` continues a run that
another invocation (or another machine) started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")
# Relative names that also appear inside files (axolotl.yaml and launch.sh run from the run dir)
TRAIN = "train"  # Axolotl's output_dir: the adapter (or full model), checkpoints, train.log
PREPARED = "prepared"  # Axolotl's tokenized dataset cache
TINY_MODEL = "tiny_model"  # the tiny local Llama of model=tiny


@dataclass(frozen=True)
class RunDir:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # prepare
    @property
    def data(self) -> Path:
        return self.root / "data"

    def split(self, name: str) -> Path:
        """data/{train,val,test}.jsonl"""
        return self.data / f"{name}.jsonl"

    @property
    def stats(self) -> Path:
        return self.data / "stats.json"

    @property
    def chats(self) -> Path:
        """Each chat's name, kind, members and system prompt (chatlike.data.chats)."""
        return self.data / "chats.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    # configure
    @property
    def axolotl_yaml(self) -> Path:
        return self.root / "axolotl.yaml"

    @property
    def deepspeed_json(self) -> Path:
        return self.root / "deepspeed.json"

    @property
    def launch_sh(self) -> Path:
        return self.root / "launch.sh"

    @property
    def tiny_model(self) -> Path:
        return self.root / TINY_MODEL

    # train
    @property
    def train(self) -> Path:
        return self.root / TRAIN

    @property
    def train_log(self) -> Path:
        return self.train / "train.log"

    @property
    def prepared(self) -> Path:
        return self.root / PREPARED

    # eval
    @property
    def eval(self) -> Path:
        return self.root / "eval"

    @property
    def eval_results(self) -> Path:
        return self.eval / "results.json"

    @property
    def eval_samples(self) -> Path:
        """Each compared reply: its context, the real one, the base model's and the tuned model's."""
        return self.eval / "samples.jsonl"

    @property
    def eval_tasks(self) -> Path:
        """The reply-likelihood lm-eval task written for this run."""
        return self.eval / "tasks"

    @property
    def blind_test(self) -> Path:
        return self.eval / "blind_test.md"

    @property
    def blind_key(self) -> Path:
        return self.eval / "blind_key.json"

    @property
    def eval_plot(self) -> Path:
        return self.plots / "eval.png"

    # merge
    @property
    def merged(self) -> Path:
        return self.root / "merged"


# The paths as files inside the run dir write them (axolotl.yaml, launch.sh, report.md's links)
IN_RUN = RunDir(Path("."))
