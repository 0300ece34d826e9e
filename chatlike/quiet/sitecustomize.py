"""Quiet runs: three harmless lines every run used to print, dropped by a filter on the logger that
logs each one (anything else those loggers say still shows):

- torchao: "Failed to load .../torchao/_C_mxfp8...so" (and _C_cutlass_90a): the wheel's CUDA kernels,
  which a CPU build of torch cannot load; torchao works without them. Logged when torchao is imported
  (transformers' quantizers and peft import it). Only on a CPU torch: on CUDA it would be a real fault.
- torch.utils._pytree: "<enum ...> is an Enum subclass ... register_constant() is deprecated", logged
  while torchao registers two enums with an API torch now deprecates (a note for torchao's authors).
- bitsandbytes.backends.cpu.ops: "Failed to load CPU gemm_4bit_forward from kernels-community" (with the
  `kernels` package's "Skipping publisher trust check" warning before it): an optional kernel from the
  Hugging Face Hub, never there offline; bitsandbytes falls back to its own CPU kernel. On import.

This file is chatlike.quiet's and, under its own name, the `sitecustomize` of every tool chatlike
launches (chatlike.proc.tool_env puts this folder first on their PYTHONPATH), so Axolotl's processes
and those they start are quiet too. It imports nothing of chatlike: a tool may not see this checkout.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings


def _cpu_torch() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and getattr(torch.version, "cuda", None) is None


class _Drop(logging.Filter):
    """Drops a logger's warnings that match `pattern` (when `when()` holds); never an error."""

    def __init__(self, pattern: str, when=lambda: True):
        super().__init__()
        self.pattern, self.when = re.compile(pattern), when

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno <= logging.WARNING and self.pattern.search(record.getMessage()) and self.when()
        )


DROPS = {
    "torchao": _Drop(r"^Failed to load \S*/torchao/_C_(mxfp8|cutlass)\w*[.]\S*so: ", _cpu_torch),
    "torch.utils._pytree": _Drop(r"is an Enum subclass and is now natively supported by torch[.]compile"),
    "bitsandbytes.backends.cpu.ops": _Drop(r"^Failed to load CPU gemm_4bit_forward from kernels-community"),
}


def install() -> None:
    """Add the filters (once) and ignore the `kernels` warning; before torch is imported."""
    for name, drop in DROPS.items():
        logger = logging.getLogger(name)
        if drop not in logger.filters:
            logger.addFilter(drop)
    warnings.filterwarnings(
        "ignore",
        message=r"Skipping publisher trust check for 'kernels-community/quantization-bitsandbytes'",
        category=UserWarning,
    )


if __name__ == "sitecustomize":
    install()
