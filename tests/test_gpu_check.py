"""benchmarks/gpu_check.py, run at a tiny shape on CPU so that it cannot rot before a GPU runs it."""

import importlib.util
import json
import sys

from tests.support.cli import ROOT


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_gpu_check_trains_qlora_and_lora_at_a_tiny_shape_beside_the_plans_estimate(tmp_path, capsys):
    gpu_check = load_gpu_check()
    out = tmp_path / "rows.json"
    assert gpu_check.main(["--tiny", "--steps", "2", "--warmup", "1", "--out", str(out)]) == 0
    qlora, lora = json.loads(out.read_text(encoding="utf-8"))
    for row, adapter in ((qlora, "qlora"), (lora, "lora")):
        assert row["adapter"] == adapter and row["skipped"] is None and row["steps"] == 2
        assert row["tokens_per_s"] > 0 and row["plan_tokens_per_s"] > 0 and row["plan_memory_gb"] > 0
        assert "r=16" in row["settings"]  # conf/train/*.yaml's rank
    assert "4-bit NF4" in qlora["settings"] and "float32" in lora["settings"]  # hardware=cpu: no bf16
    table = capsys.readouterr().out
    assert "| qlora | n/a | n/a |" in table and "| lora | n/a | n/a |" in table  # no GPU memory on CPU


def test_without_a_gpu_the_full_shape_refuses_in_one_line(capsys):
    gpu_check = load_gpu_check()
    assert gpu_check.main([]) == 1
    assert capsys.readouterr().err == (
        "gpu_check: no CUDA GPU here: run it on a GPU box, or --tiny for the CPU check\n"
    )
