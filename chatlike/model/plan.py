"""The training plan, before any GPU is rented: sequence_len from the data, steps, and an estimate of
GPU memory and hours.

sequence_len: the longest sample's token length (the chat template applied), rounded up to a
multiple of 64, so Axolotl never cuts a sample; capped by model.max_context and
train.max_sequence_len. Only when the cap binds are longer samples truncated by Axolotl
(`excess_length_strategy: truncate`): their end, my last (trained) turn, is cut; the plan says how
many, loudly.

Token counts use the model's tokenizer when it loads offline, rendering with the chat template
training uses (chatlike.conversation.Template of Axolotl's model.chat_template, not the
tokenizer's own); otherwise prepare's approximation (chatlike.data.segment): UTF-8 bytes // 3 + 1
per message content, plus TURN_OVERHEAD_TOKENS per message for its header and end of turn (at
least what Llama 3's, ChatML's, Gemma's and Mistral's templates write), plus 1 (BOS). Llama 3's
tokenizer averages ~4 bytes a token on English and ~3-3.5 on Italian or Russian, so this errs on
the long side.

Memory per GPU (GB = 1e9 bytes), after the usual accounting (Rajbhandari et al. 2020, ZeRO;
Korthikanti et al. 2022 for activations):
  weights      = (P - E) * b + E * 2      P params, E = 2 * vocab * hidden (embeddings + lm_head,
                                         never quantised), b = 0.55 bytes for 4-bit NF4 (with its
                                         scales), 2 for bf16, 4 for fp32; / N under ZeRO-3
  trainable    = T * 16                  LoRA: T = adapter params (fp32 weight, grad, Adam m and v);
               + T_full * (2 + 12)       full: bf16 grad + fp32 master, m, v per param; / N under
                                         ZeRO-2/3 (gradients and optimizer state sharded over N GPUs)
  activations  = t * hidden * layers * a t = micro_batch * sequence_len tokens; a = 34 bytes without
                                         gradient checkpointing (flash attention: no s^2 term),
                                         4 with it (each layer's input kept) + one layer's 34
  logits       = t * vocab * 8           fp32 logits and their gradient; ~0 with Liger's fused
                                         linear cross-entropy (it never materialises them)
  overhead     = 1.5                     CUDA context, allocator fragmentation
Time: FLOPs = tokens_trained * P * (6 for a full fine-tune, 4 for LoRA/QLoRA: frozen weights need
no weight gradient; +2 with gradient checkpointing's second forward), over
num_gpus * num_nodes * gpu_tflops * mfu. tokens_trained counts padding: packing fills ~95% of each
sequence; without packing a batch pads to its longest sample (taken as sequence_len * 0.6 on average).
Adapter parameters: T = P * 0.0052 * lora_r / 16 (Llama-3.1-8B, every linear layer: 42M at r=16).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from chatlike.config import Config
from chatlike.conversation import Template
from chatlike.data.segment import TURN_OVERHEAD_TOKENS, approx_tokens
from chatlike.model.samples import read_samples
from chatlike.quantiles import quantile
from chatlike.rundir import RunDir

ROUND_TO = 64
PACKING_FILL = 0.95
PADDED_FILL = 0.6
OVERHEAD_GB = 1.5
LORA_FRACTION_R16 = 0.0052


@dataclass
class DataPlan:
    lengths: list[int]  # token length of each training sample
    val_samples: int
    exact: bool  # counted with the model's own tokenizer
    sequence_len: int
    over: int  # samples longer than sequence_len (truncated: only when the cap binds)

    @property
    def p99(self) -> int:
        return quantile(sorted(self.lengths), 0.99)

    @property
    def longest(self) -> int:
        return max(self.lengths, default=0)


@dataclass
class Plan:
    samples: int
    val_samples: int
    tokens_per_epoch: int
    sequence_len: int
    over: int
    p99: int  # token length of the samples
    longest: int
    exact_tokens: bool
    sequences_per_epoch: int  # after packing
    batch: int  # sequences per optimizer step, over all GPUs
    steps: int
    warmup_steps: int
    eval_steps: int
    memory_gb: dict[str, float]
    hours: float
    tflop: float
    params: float  # of the model
    trainable: float  # parameters trained: the adapter's, or all
    trained_tokens: float  # over the whole run, padding included

    @property
    def memory_total_gb(self) -> float:
        return sum(self.memory_gb.values())

    @property
    def tokens_per_second(self) -> float:
        """The throughput the time estimate assumes, over all GPUs."""
        return self.trained_tokens / (self.hours * 3600) if self.hours else 0.0


def sample_tokens(messages: list[dict]) -> int:
    """Approximate token length of a sample in the chat template (prepare's count, see above)."""
    return 1 + sum(approx_tokens(m["content"]) + TURN_OVERHEAD_TOKENS for m in messages)


def token_lengths(samples: list[list[dict]], template: Optional[Template]) -> list[int]:
    """Each sample's token length as training sees it: rendered by the training chat template
    (Axolotl's model.chat_template on the base model's tokenizer: Llama 3.1 Instruct's own template
    adds a date header that training does not have); approximately without one (None)."""
    if template is None:
        return [sample_tokens(s) for s in samples]
    return [template.length(s) for s in samples]


def choose_sequence_len(lengths: list[int], cap: int) -> int:
    """The longest length, rounded up to a multiple of 64, within [64, cap]: no sample is cut
    unless the cap binds."""
    if not lengths:
        return min(cap, 2048)
    rounded = ROUND_TO * math.ceil(max(lengths) / ROUND_TO)
    return max(ROUND_TO, min(rounded, cap))


def plan_data(cfg: Config, run_dir: Path, template: Optional[Template]) -> DataPlan:
    """The token lengths of the training samples, counted with `template` (the base model's
    tokenizer with the training chat template; None when it is not on disk: approximately), and the
    sequence_len they need."""
    run = RunDir(run_dir)
    samples = [s["messages"] for s in read_samples(run.split("train"), missing_ok=True)]
    val = read_samples(run.split("val"), missing_ok=True)
    lengths = token_lengths(samples, template)
    cap = min(cfg.model.max_context, cfg.train.max_sequence_len)
    seq = choose_sequence_len(lengths, cap)
    return DataPlan(lengths, len(val), template is not None, seq, sum(n > seq for n in lengths))


def model_shape(cfg: Config, model_dir: Optional[Path]) -> tuple[float, int, int, int]:
    """(params, hidden, layers, vocab): from a local config.json when there is one, else cfg.model."""
    m = cfg.model
    shape = (m.params_billion * 1e9, m.hidden_size, m.num_layers, m.vocab_size)
    if model_dir is None or not (model_dir / "config.json").is_file():
        return shape
    c = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    h, L, v = c["hidden_size"], c["num_hidden_layers"], c["vocab_size"]
    inter = c.get("intermediate_size", 4 * h)
    kv = c.get("num_key_value_heads", c["num_attention_heads"]) * h // c["num_attention_heads"]
    params = L * (2 * h * h + 2 * h * kv + 3 * h * inter) + 2 * v * h
    return float(params), h, L, v


def estimate(cfg: Config, data: DataPlan, model_dir: Optional[Path] = None) -> Plan:
    t, hw = cfg.train, cfg.hardware
    params, hidden, layers, vocab = model_shape(cfg, model_dir)
    seq = data.sequence_len
    tokens = sum(min(n, seq) for n in data.lengths)
    fill = PACKING_FILL if hw.sample_packing else PADDED_FILL
    if hw.sample_packing:
        sequences = max(1, math.ceil(tokens / (seq * PACKING_FILL)))
    else:
        sequences = len(data.lengths)
    gpus = hw.num_gpus * hw.num_nodes if hw.device == "cuda" else 1
    batch = t.micro_batch_size * t.gradient_accumulation_steps * gpus
    steps_per_epoch = max(1, math.ceil(sequences / batch))
    steps = t.max_steps or max(1, math.ceil(steps_per_epoch * t.num_epochs))
    warmup = max(1, round(t.warmup_ratio * steps)) if t.warmup_ratio > 0 else 0
    eval_steps = max(1, steps // 5)

    # memory per GPU (the module docstring has the formula)
    embed = 2 * vocab * hidden
    wbytes = 0.55 if t.load_in_4bit else 1.1 if t.load_in_8bit else 2.0 if hw.bf16 else 4.0
    shards = gpus if hw.deepspeed else 1
    weights = (params - embed) * wbytes + embed * (2.0 if hw.bf16 else 4.0)
    if hw.deepspeed == "zero3":
        weights /= shards
    if t.adapter:
        trainable = params * LORA_FRACTION_R16 * t.lora_r / 16
        if not cfg.model.instruct:
            trainable += embed  # lora_modules_to_save: embed_tokens and lm_head, full
        state = trainable * 16 / (shards if hw.deepspeed else 1)
    else:
        trainable = params
        state = params * (14.0 if hw.bf16 else 12.0) / shards
    micro_tokens = t.micro_batch_size * seq
    per_layer = 34 * micro_tokens * hidden
    acts = (
        (4 * micro_tokens * hidden * layers + per_layer) if hw.gradient_checkpointing else per_layer * layers
    )
    logits = 0.0 if hw.liger else micro_tokens * vocab * 8.0
    memory = {
        "weights": weights / 1e9,
        "trainable + optimizer": state / 1e9,
        "activations": acts / 1e9,
        "logits": logits / 1e9,
        "overhead": OVERHEAD_GB if hw.device == "cuda" else 0.5,
    }

    trained_tokens = steps * batch * seq * fill
    flops_per_token = (4 if t.adapter else 6) * params + (2 * params if hw.gradient_checkpointing else 0)
    flops = trained_tokens * flops_per_token
    hours = flops / (gpus * hw.gpu_tflops * 1e12 * hw.mfu) / 3600
    return Plan(
        samples=len(data.lengths),
        val_samples=data.val_samples,
        tokens_per_epoch=tokens,
        sequence_len=seq,
        over=data.over,
        p99=data.p99,
        longest=data.longest,
        exact_tokens=data.exact,
        sequences_per_epoch=sequences,
        batch=batch,
        steps=steps,
        warmup_steps=warmup,
        eval_steps=eval_steps,
        memory_gb=memory,
        hours=hours,
        tflop=flops / 1e12,
        params=params,
        trainable=trainable,
        trained_tokens=trained_tokens,
    )


def print_plan(cfg: Config, plan: Plan) -> None:
    from rich.console import Console
    from rich.table import Table

    hw = cfg.hardware
    where = "CPU RAM" if hw.device == "cpu" else f"GPU memory (of {hw.gpu_memory_gb:g} GB per GPU)"
    table = Table(title=f"training plan: {cfg.model.base_model}, {cfg.train.name}, {hw.name}")
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    counted = "tokenizer" if plan.exact_tokens else "approx. bytes/3"
    rows = [
        ("samples (train / val)", f"{plan.samples} / {plan.val_samples}"),
        (f"tokens per epoch ({counted})", f"{plan.tokens_per_epoch:,}"),
        ("sample tokens (p99 / longest)", f"{plan.p99} / {plan.longest}"),
        ("sequence_len (longest, rounded up, capped)", f"{plan.sequence_len}"),
        ("samples longer (end cut)", f"{plan.over}"),
        ("sequences per epoch" + (" (packed)" if hw.sample_packing else ""), f"{plan.sequences_per_epoch}"),
        ("sequences per step", f"{plan.batch}"),
        ("steps (warmup, eval every)", f"{plan.steps} ({plan.warmup_steps}, {plan.eval_steps})"),
    ]
    rows += [(f"  {k}", _size(v)) for k, v in plan.memory_gb.items()]
    rows += [
        (f"{where}, estimated", _size(plan.memory_total_gb)),
        ("compute", f"{plan.tflop:,.3g} TFLOP"),
        ("time, estimated", _duration(plan.hours)),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console = Console()
    console.print(table)
    if plan.over:
        cap = min(cfg.model.max_context, cfg.train.max_sequence_len)
        console.print(
            f"[bold red]warning: {plan.over} of {plan.samples} training samples are longer than sequence_len "
            f"{plan.sequence_len} (the cap: model.max_context / train.max_sequence_len = {cap}); Axolotl "
            "truncates them, cutting their end: my last turn, the one they train. Raise "
            "train.max_sequence_len, or lower segment.max_tokens and run prepare again."
        )
    if plan.memory_total_gb > hw.gpu_memory_gb:
        console.print(
            f"[yellow]warning: the estimate ({plan.memory_total_gb:.0f} GB) exceeds hardware.gpu_memory_gb "
            f"({hw.gpu_memory_gb:g}): use train=qlora, a smaller train.micro_batch_size, or more GPUs"
        )


def _size(gb: float) -> str:
    return f"{gb * 1000:.1f} MB" if gb < 0.1 else f"{gb:.1f} GB"


def _duration(hours: float) -> str:
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h"
