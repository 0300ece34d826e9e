"""The run dir's layout: every path a stage reads or writes, named once.

Stages meet only through these files, so `hydra.run.dir=RUN 'stages=[train]'` continues a run that
another invocation (or another machine) started.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

SPLITS = ("train", "val", "test")
# Relative names that also appear inside files (axolotl.yaml and launch.sh run from the run dir)
TRAIN = "train"  # Axolotl's output_dir: the adapter (or full model), checkpoints, train.log
PREPARED = "prepared"  # Axolotl's tokenized dataset cache
TINY_MODEL = "tiny_model"  # the tiny local Llama of model=tiny


class Exports(NamedTuple):
    """What export writes for one clone: RUN/export for the SFT clone, RUN/feedback/export for the
    feedback clone's, so neither's GGUF, Modelfiles, README or checks overwrite the other's."""

    folder: Path

    @property
    def checks(self) -> Path:
        """llama.cpp against transformers, and what was written"""
        return self.folder / "checks.json"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    def gguf(self, name: str, quant: str) -> Path:
        """NAME-QUANT.gguf"""
        return self.folder / f"{name}-{quant}.gguf"


class RunDir:
    def __init__(self, root: str | Path):
        self.root = root = Path(root)
        # prepare
        self.data = root / "data"
        self.stats = self.data / "stats.json"
        self.chats = self.data / "chats.json"  # each chat's name, kind, members, system prompt
        self.canaries = self.data / "canaries.json"  # eval.privacy: the canaries in train (an audit run's)
        self.report = root / "report.md"
        self.failed = root / "failed.txt"  # a failed sweep job's one-line error, for the sweep summary
        self.plots = root / "plots"
        # configure
        self.axolotl_yaml = root / "axolotl.yaml"
        self.deepspeed_json = root / "deepspeed.json"
        self.launch_sh = root / "launch.sh"
        self.sky_yaml = root / "sky.yaml"  # the SkyPilot task that trains this run on rented GPUs
        self.upload = root / "upload"  # what `sky launch` uploads: links to what training on the box reads
        self.tiny_model = root / TINY_MODEL
        # train
        self.train = root / TRAIN
        self.train_log = self.train / "train.log"
        self.prepared = root / PREPARED
        # eval
        self.eval = root / "eval"
        self.eval_results = self.eval / "results.json"
        self.eval_samples = self.eval / "samples.jsonl"  # real, base and tuned replies side by side
        self.eval_tasks = self.eval / "tasks"  # the lm-eval task written for this run
        self.blind_test = self.eval / "blind_test.md"
        self.blind_key = self.eval / "blind_key.json"
        self.eval_plot = self.plots / "eval.png"
        # friends
        self.friends_answers = self.eval / "friends.jsonl"  # every friend's every pick, as they came
        self.friends_tokens = self.eval / "friends_tokens.json"  # each friend's link (the owner's only)
        # merge
        self.merged = root / "merged"
        # export: the clone for llama.cpp, Ollama and LM Studio
        self.exports = Exports(root / "export")  # the SFT clone's (the feedback clone's: feedback_exports)
        # serve
        self.serve_json = root / "serve.json"  # base URL, model names, system prompts: for clients
        self.serve = root / "serve"  # what the engine is given, and its log
        self.serve_log = self.serve / "server.log"
        self.serve_hub = self.serve / "hub"  # transformers serve's own Hugging Face cache: the served models
        self.serve_template = self.serve / "chat_template.jinja"  # vLLM: the training chat template
        self.serve_generation = self.serve / "generation"  # vLLM: generation_config.json (stop ids, sampling)
        self.serve_llamacpp = self.serve / "llamacpp.json"  # llama.cpp's server: its model and settings
        # bot
        self.bot = root / "bot"
        self.bot_record = self.bot / "conversations.jsonl"  # every exchange, as training data
        # feedback: the owner's decisions as a preference round (chatlike/feedback/)
        self.feedback = root / "feedback"
        self.feedback_summary = self.feedback / "feedback.json"  # what the data held, the round, the measure
        self.feedback_train = self.feedback / "train.jsonl"  # the round's dataset (Axolotl's KTO or DPO rows)
        self.feedback_heldout = (
            self.feedback / "heldout.jsonl"
        )  # kept out: preference accuracy is measured on it
        self.feedback_yaml = self.feedback / "axolotl.yaml"
        self.feedback_adapter = self.feedback / "train"  # the feedback clone's adapter
        self.feedback_merged = self.feedback / "merged"  # the feedback clone merged (RUN/merged stays SFT's)
        self.feedback_exports = Exports(self.feedback / "export")  # the feedback clone exported
        self.feedback_prepared = self.feedback / "prepared"
        self.feedback_log = self.feedback / "train.log"

    def split(self, name: str) -> Path:
        """data/{train,val,test}.jsonl"""
        return self.data / f"{name}.jsonl"


IN_RUN = RunDir(".")  # the paths as files inside the run dir name them (axolotl.yaml, report.md links)
