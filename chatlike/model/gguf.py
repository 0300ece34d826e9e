"""A Hugging Face model folder as a GGUF file for llama.cpp (Ollama, LM Studio), with llama.cpp's own
tools, and checks that llama.cpp then reads it as transformers reads the folder.

- Converter: llama.cpp's `convert_hf_to_gguf.py` (with its `conversion/` package and `gguf-py`) as
  vendored in the sdist of llama-cpp-python, the same release the laptop extra builds. The installed
  binding keeps none of these scripts, so `install_converter` (setup.sh runs `python -m
  chatlike.model.gguf`) takes them out of that sdist, downloaded from the package index, into
  chatlike's cache: about 3 MB, nothing built, nothing fetched at run time. It runs in its own
  process on this venv's torch and transformers, its own gguf-py first on the path.
- Quantizer: llama.cpp's `llama_model_quantize` through the binding (f16 -> q8_0 or q4_k_m). A
  tensor whose rows k-quants cannot take (a tiny model's 64 columns) gets llama.cpp's own fallback.
- Checks (`check`): the prompt llama.cpp builds from the GGUF's chat template tokenizes to the ids
  of the folder's `apply_chat_template`; llama.cpp's greedy reply to a persona prompt is the same
  first tokens as transformers' on the folder; a quantized file loads and answers.
llama.cpp knows a BPE tokenizer by a hash of how it tokenizes a fixed text: a tokenizer trained here
is refused ("BPE pre-tokenizer was not recognized"); model.tiny_tokenizer=smollm2 makes a tiny model
with one it knows.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chatlike.cache import cache_dir
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"  # pyproject's laptop extra builds this release
_VENDOR = "vendor/llama.cpp/"
_MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
QUANTS = ("f16", "q8_0", "q4_k_m")
_FTYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}


# -- llama.cpp's converter -----------------------------------------------------------------------


def converter_dir() -> Path:
    return cache_dir() / f"llama.cpp-convert-{LLAMA_CPP_PYTHON.split('==')[1]}"


def install_converter() -> Path:
    """llama.cpp's converter in chatlike's cache, taken from llama-cpp-python's sdist (once)."""
    folder = converter_dir()
    if (folder / "convert_hf_to_gguf.py").is_file():
        return folder
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".sdist.") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        done = subprocess.run(
            [*cmd, "--dest", tmp, LLAMA_CPP_PYTHON], capture_output=True, text=True, env=env
        )
        sdists = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or len(sdists) != 1:
            last = (done.stderr.strip().splitlines() or ["no sdist"])[-1]
            raise ChatlikeError(f"cannot download {LLAMA_CPP_PYTHON}'s sdist from the package index: {last}")
        with tarfile.open(sdists[0]) as sdist, atomic_folder(folder) as out:
            for member in sdist.getmembers():
                _, _, inner = member.name.partition("/")
                if not inner.startswith(_VENDOR):
                    continue
                name = inner[len(_VENDOR) :]
                if member.isfile() and any(name == m or name.startswith(m) for m in _MEMBERS):
                    target = out / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(sdist.extractfile(member).read())
            if not (out / "convert_hf_to_gguf.py").is_file():
                raise ChatlikeError(f"{sdists[0].name} holds no {_VENDOR}convert_hf_to_gguf.py")
    return folder


def _converter() -> Path:
    folder = converter_dir()
    if not (folder / "convert_hf_to_gguf.py").is_file():
        raise ChatlikeError(
            f"llama.cpp's converter is not in {folder}: run `bash setup.sh` (python -m chatlike.model.gguf)"
        )
    return folder


def _partial(target: Path) -> Path:
    """Where a GGUF is written before it replaces `target` whole."""
    return target.with_name(f".{target.name}.partial")


def convert(model_dir: Path, target: Path) -> Path:
    """The folder as an f16 GGUF at `target` (written beside it, then moved in place), by llama.cpp's
    converter; one line with the converter's last words when it refuses."""
    folder = _converter()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder / "gguf-py"), str(folder)])}
    env.pop("PYTHONSTARTUP", None)
    cmd = [sys.executable, str(folder / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(tmp)]
    done = subprocess.run([*cmd, "--outtype", "f16"], capture_output=True, text=True, env=env)
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {done.returncode}"
        if "pre-tokenizer was not recognized" in done.stderr:
            why = (
                "llama.cpp does not know its tokenizer (a tokenizer trained by model=tiny): "
                "build the tiny model with model.tiny_tokenizer=smollm2"
            )
        raise ChatlikeError(f"llama.cpp's converter cannot convert {model_dir}: {why}")
    os.replace(tmp, target)
    return target


def quantize(source: Path, target: Path, quant: str, threads: int | None = None) -> Path:
    """`source` (an f16 GGUF) quantized to `quant` at `target` by llama.cpp's quantizer."""
    import llama_cpp

    if quant not in _FTYPES:
        raise ChatlikeError(f"export.quant={quant}: llama.cpp quantizes to {', '.join(_FTYPES)} here")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, _FTYPES[quant])
    params.nthread = threads or os.cpu_count() or 1
    tmp = _partial(target)
    with _stderr_to(target.with_name("quantize.log")):  # llama.cpp's per-tensor lines
        code = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
    if code != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise ChatlikeError(f"llama.cpp could not quantize {source} to {quant} (code {code})")
    os.replace(tmp, target)
    return target


@contextlib.contextmanager
def _stderr_to(log: Path) -> Iterator[None]:
    """File descriptor 2 (where llama.cpp's C code writes) into `log` for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "w") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# -- reading a GGUF --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """What a GGUF says about its tokenizer and template."""

    chat_template: str | None
    bos: str | None
    eos: str | None
    add_bos: bool
    file_type: int | None
    context_length: int | None


def metadata(path: Path) -> Metadata:
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def value(key: str) -> Any:
        field = reader.fields.get(key)
        return None if field is None else field.contents()

    tokens = value("tokenizer.ggml.tokens") or []

    def token(key: str) -> str | None:
        i = value(key)
        return tokens[i] if i is not None and 0 <= i < len(tokens) else None

    return Metadata(
        chat_template=value("tokenizer.chat_template"),
        bos=token("tokenizer.ggml.bos_token_id"),
        eos=token("tokenizer.ggml.eos_token_id"),
        add_bos=bool(value("tokenizer.ggml.add_bos_token")),
        file_type=value("general.file_type"),
        context_length=value(f"{value('general.architecture')}.context_length"),
    )


def load(path: Path, n_ctx: int = 2048) -> Any:
    """llama.cpp (the binding) on `path`, quiet, on all but one core."""
    from llama_cpp import Llama

    try:
        return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads(), verbose=False, seed=0)
    except (ValueError, RuntimeError) as exc:
        raise ChatlikeError(f"llama.cpp cannot load {path}: {exc}") from None


def threads() -> int:
    """llama.cpp's threads: all cores but one (the one left answers the server and the OS)."""
    return max(1, (os.cpu_count() or 2) - 1)


def llama_cpp_prompt(llm: Any, path: Path, messages: list[dict]) -> list[int]:
    """The prompt ids llama.cpp's chat completion builds for `messages`: the GGUF's template
    rendered by the binding's Jinja2ChatFormatter, tokenized as its chat handler does."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    meta = metadata(path)
    if not meta.chat_template:
        raise ChatlikeError(f"{path} holds no chat template (tokenizer.chat_template)")
    formatter = Jinja2ChatFormatter(
        template=meta.chat_template, eos_token=meta.eos or "", bos_token=meta.bos or ""
    )
    result = formatter(messages=messages)
    return llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)


def greedy_llama_cpp(llm: Any, ids: Sequence[int], n: int) -> list[int]:
    """llama.cpp's greedy continuation of `ids`: `n` tokens, past an end of turn (every token a
    comparison of both models' next-token choice)."""
    out: list[int] = []
    llm.reset()
    for token in llm.generate(
        list(ids), top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True
    ):
        out.append(int(token))
        if len(out) >= n:
            break
    return out


def greedy_transformers(model_dir: Path, ids: Sequence[int], n: int) -> list[int]:
    """transformers' greedy continuation of `ids` on the folder: `n` tokens, past an end of turn."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.generation_config.eos_token_id = None  # n tokens, as llama.cpp's above
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([list(ids)]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=n,
            min_new_tokens=n,
            pad_token_id=model.generation_config.pad_token_id or 0,
        )
    return [int(t) for t in out[0, len(ids) :]]


def _reply(ids: list[int], stop_ids: Sequence[int]) -> list[int]:
    """A generation cut at its first stop token: the reply a user sees."""
    for i, token in enumerate(ids):
        if token in stop_ids:
            return ids[:i]
    return ids


@dataclass(frozen=True)
class Checks:
    """llama.cpp against transformers on one persona prompt (RUN/export/checks.json)."""

    prompt_tokens: int
    prompt_ids_match: bool  # llama.cpp's template prompt == apply_chat_template's ids
    compared_tokens: int
    greedy_match: bool  # both greedy generations are the same compared_tokens ids
    llama_cpp_reply: str  # cut at the end of turn
    transformers_reply: str
    quantized: dict | None = None  # {"quant", "tokens", "reply"}: the quantized file loaded and answered

    @property
    def passed(self) -> bool:
        answered = self.quantized is None or self.quantized["tokens"] > 0
        return self.prompt_ids_match and self.greedy_match and answered

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check(
    f16: Path, model_dir: Path, messages: list[dict], n: int = 16, quantized: Path | None = None
) -> Checks:
    """The export's checks on `messages`: llama.cpp's template prompt against the folder's; the first
    n greedy tokens of llama.cpp on the f16 file against transformers on the folder; given one, the
    quantized file answering the same prompt."""
    from chatlike.conversation import Template
    from chatlike.model.load import tokenizer_from

    template = Template.of(tokenizer_from(str(model_dir)))
    tok, stops = template.tokenizer, template.stop_ids
    hf_ids = tok(template.prompt(messages), add_special_tokens=False)["input_ids"]
    llm = load(f16)
    cpp_ids = llama_cpp_prompt(llm, f16, template.shaped(messages))
    ours = greedy_transformers(model_dir, hf_ids, n)
    theirs = greedy_llama_cpp(llm, hf_ids, n)
    q = None
    if quantized is not None:
        small = load(quantized)
        reply = _reply(greedy_llama_cpp(small, hf_ids, 2 * n), stops)
        text = small.detokenize(reply).decode("utf-8", "replace")
        q = {"quant": quantized.stem.rsplit("-", 1)[-1], "tokens": len(reply), "reply": text}
    return Checks(
        prompt_tokens=len(hf_ids),
        prompt_ids_match=cpp_ids == hf_ids,
        compared_tokens=min(len(ours), len(theirs)),
        greedy_match=ours == theirs and len(ours) == n,
        llama_cpp_reply=llm.detokenize(_reply(theirs, stops)).decode("utf-8", "replace"),
        transformers_reply=tok.decode(_reply(ours, stops)),
        quantized=q,
    )


def main() -> None:
    """setup.sh: llama.cpp's converter into chatlike's cache (only when missing)."""
    try:
        folder = install_converter()
    except ChatlikeError as exc:
        sys.exit(f"chatlike: {exc}")
    print(json.dumps({"llama.cpp converter": str(folder)}))


if __name__ == "__main__":
    main()
