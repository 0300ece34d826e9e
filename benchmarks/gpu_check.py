"""Measure what the plan (chatlike/model/plan.py) estimates: peak GPU memory and tokens per second of
QLoRA and LoRA training steps, beside the plan's numbers for the same settings.

The model has Llama 3.1 8B's exact shape with random weights made here: memory and speed do not
depend on the weights' values, so nothing is downloaded and no licence is needed. The settings are
chatlike's for the run (composed from conf/ like the app does, overrides welcome): the LoRA rank,
alpha, dropout and target layers, 4-bit NF4 for QLoRA, bf16, gradient checkpointing, the attention
implementation, Liger's kernels, micro batch and optimizer. Sequences are full (what sample packing
gives) of random tokens. Not applied: Axolotl's fused LoRA kernels (Axolotl-only; they save a little).

    python benchmarks/gpu_check.py                      # one GPU: both adapters, ~3-6 min on an H100
    python benchmarks/gpu_check.py --seq-len 4096 train.micro_batch_size=1 hardware.gpu_tflops=362
    python benchmarks/gpu_check.py --tiny               # CPU, a tiny shape (the test runs it)
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatlike.config import Config  # noqa: E402
from chatlike.model import plan as planning  # noqa: E402

# Llama 3.1 8B's config.json, the fields that set its size and its kernels' work
LLAMA31_8B = dict(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=131072,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
TINY = dict(LLAMA31_8B, hidden_size=64, intermediate_size=224, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=512, max_position_embeddings=2048)  # fmt: skip


@dataclass
class Row:
    adapter: str
    skipped: Optional[str] = None  # why it did not run
    steps: int = 0
    peak_allocated_gb: Optional[float] = None  # torch's peak of live tensors
    peak_reserved_gb: Optional[float] = None  # what its allocator held: the GPU memory really taken
    tokens_per_s: float = 0.0
    plan_memory_gb: float = 0.0
    plan_tokens_per_s: float = 0.0
    settings: str = ""


def compose(adapter: str, hardware: str, overrides: list[str]) -> Config:
    """chatlike's config for this adapter, as `python -m chatlike train=ADAPTER hardware=... OVERRIDES`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.config import register

    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf")):
        return OmegaConf.to_object(
            hydra_compose(
                config_name="config", overrides=[f"train={adapter}", f"hardware={hardware}", *overrides]
            )
        )


def random_model(shape: dict[str, Any], folder: Path, device: str, dtype: Any) -> None:
    """A Llama of `shape` with random weights, saved in `folder` (loading it back is how QLoRA
    quantizes, as Axolotl's loading does)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    with torch.device(device):  # made where it will run: an 8B model initialises in seconds on a GPU
        model = AutoModelForCausalLM.from_config(LlamaConfig(**shape), dtype=dtype)
    model.save_pretrained(folder)
    del model
    free(device)


def free(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def attention(cfg: Config) -> tuple[str, str]:
    """The attention implementation chatlike asks for, or sdpa when flash-attn is not installed."""
    wanted = cfg.hardware.attn_implementation or "sdpa"
    if wanted == "flash_attention_2":
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            return "sdpa", "sdpa (flash-attn not installed)"
    return wanted, wanted


def liger(cfg: Config, device: str) -> tuple[bool, str]:
    """Liger's kernels as axolotl.yaml turns them on (Triton: CUDA only)."""
    if not (cfg.hardware.liger and device == "cuda"):
        return False, "no Liger"
    try:
        from liger_kernel.transformers import apply_liger_kernel_to_llama
    except ImportError:
        return False, "no Liger (liger-kernel not installed)"
    apply_liger_kernel_to_llama(rope=True, rms_norm=True, swiglu=True, fused_linear_cross_entropy=True)
    return True, "Liger"


def measure(cfg: Config, folder: Path, device: str, seq_len: int, steps: int, warmup: int) -> Row:
    """Load the saved model as Axolotl would for `cfg`, put chatlike's LoRA on it, train."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM

    t, hw = cfg.train, cfg.hardware
    row = Row(adapter=t.name)
    if t.load_in_4bit:  # bitsandbytes quantizes on CPU too (slowly): the tiny check runs QLoRA as well
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            return Row(adapter=t.name, skipped="QLoRA needs bitsandbytes (pip install bitsandbytes)")
    dtype = torch.bfloat16 if hw.bf16 else torch.float32
    attn, attn_note = attention(cfg)
    with_liger, liger_note = liger(cfg, device)
    hw.liger = with_liger  # the plan is for what runs
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attn}
    if t.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(  # Axolotl's 4-bit settings
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_quant_storage=dtype,
        )
    if device == "cuda":
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    checkpointing = {"use_reentrant": False}
    if t.load_in_4bit:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=hw.gradient_checkpointing,
            gradient_checkpointing_kwargs=checkpointing,
        )
        # as Axolotl does next: norms and embeddings back to bf16 (peft's step upcast them to fp32)
        for name, module in model.named_modules():
            if "norm" in name or name.endswith(("embed_tokens", "lm_head")):
                module.to(dtype)
    elif hw.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=t.lora_r,
        lora_alpha=t.lora_alpha,
        lora_dropout=t.lora_dropout,
        target_modules="all-linear" if t.lora_target_linear else list(t.lora_target_modules),
        use_dora=t.dora,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    fused = device == "cuda" and t.optimizer.endswith("_fused")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=t.weight_decay, fused=fused)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    run_steps(model, opt, t.micro_batch_size, seq_len, warmup, device)  # optimizer state, warm kernels
    elapsed = run_steps(model, opt, t.micro_batch_size, seq_len, steps, device)
    if device == "cuda":
        row.peak_allocated_gb = torch.cuda.max_memory_allocated() / 1e9
        row.peak_reserved_gb = torch.cuda.max_memory_reserved() / 1e9
    row.steps = steps
    row.tokens_per_s = t.micro_batch_size * seq_len * steps / elapsed
    data = planning.DataPlan([seq_len] * 100, val_samples=0, exact=True, sequence_len=seq_len, over=0)
    plan = planning.estimate(cfg, data, folder)
    row.plan_memory_gb = plan.memory_total_gb
    row.plan_tokens_per_s = plan.tokens_per_second
    row.settings = ", ".join(
        [
            f"r={t.lora_r}",
            "4-bit NF4" if t.load_in_4bit else str(dtype).removeprefix("torch."),
            "checkpointing" if hw.gradient_checkpointing else "no checkpointing",
            attn_note,
            liger_note,
            f"micro batch {t.micro_batch_size} x {seq_len}",
            "fused AdamW" if fused else "AdamW",
        ]
    )
    del model, opt, params
    free(device)
    return row


def run_steps(model: Any, opt: Any, micro_batch: int, seq_len: int, steps: int, device: str) -> float:
    """`steps` optimizer steps on full sequences of random tokens; their seconds."""
    import torch

    gen = torch.Generator(device="cpu").manual_seed(0)
    vocab = model.config.vocab_size
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        ids = torch.randint(0, vocab, (micro_batch, seq_len), generator=gen).to(model.device)
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def table(rows: list[Row], device_name: str, cfg: Config) -> str:
    """The measurements beside the plan's estimates, as a Markdown table."""
    hw = cfg.hardware

    def gb(x: Optional[float]) -> str:
        return "n/a" if x is None else f"{x:.1f} GB"

    lines = [
        f"{device_name}; the plan's speed assumes hardware.gpu_tflops={hw.gpu_tflops:g} x mfu={hw.mfu:g}",
        "",
        "| adapter | peak allocated | peak reserved | plan: memory | tokens/s | plan: tokens/s | settings |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.adapter} | skipped: {r.skipped} | | | | | |")
            continue
        lines.append(
            f"| {r.adapter} | {gb(r.peak_allocated_gb)} | {gb(r.peak_reserved_gb)} | {gb(r.plan_memory_gb)} | "
            f"{r.tokens_per_s:,.0f} | {r.plan_tokens_per_s:,.0f} | {r.settings} |"
        )
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="a tiny Llama (CPU is fine): checks the script works")
    ap.add_argument("--seq-len", type=int, help="tokens per sequence (default 2048; --tiny: 128)")
    ap.add_argument("--steps", type=int, help="timed steps (default 10; --tiny: 2)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed first steps")
    ap.add_argument("--adapters", default="qlora,lora", help="which of chatlike's train options")
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    ap.add_argument("overrides", nargs="*", help="chatlike config overrides (train.lora_r=32 ...)")
    args = ap.parse_args(argv)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.tiny:
        print(
            "gpu_check: no CUDA GPU here: run it on a GPU box, or --tiny for the CPU check", file=sys.stderr
        )
        return 1
    seq_len = args.seq_len or (128 if args.tiny else 2048)
    steps = args.steps or (2 if args.tiny else 10)
    hardware = "single_gpu" if device == "cuda" else "cpu"
    device_name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (no GPU)"
    shape = TINY if args.tiny else LLAMA31_8B
    adapters = [a for a in args.adapters.split(",") if a]
    rows, cfg = [], None
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        folder = Path(tmp)
        base = compose(adapters[0], hardware, args.overrides)
        random_model(shape, folder, device, torch.bfloat16 if base.hardware.bf16 else torch.float32)
        for adapter in adapters:
            cfg = compose(adapter, hardware, args.overrides)
            print(f"gpu_check: {adapter} on {device_name} ...", file=sys.stderr, flush=True)
            rows.append(measure(cfg, folder, device, seq_len, steps, args.warmup))
    print(table(rows, device_name, cfg or base))
    if args.out:
        args.out.write_text(json.dumps([r.__dict__ for r in rows], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
