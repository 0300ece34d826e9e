"""The tiny local Llama (model=tiny): built in RUN/tiny_model from the prepared data, never downloaded.

A byte-level BPE tokenizer carrying the Llama 3 special tokens and chat template (so Axolotl's
`chat_template: llama3` and lm-eval work as on the real model), and a randomly initialised 2-layer
`LlamaConfig`. Same data + seed -> same files. The tokenizer (model.tiny_tokenizer):
- `trained` (default): trained with `tokenizers` on data/train.jsonl, 2048 tokens: fast.
- `smollm2`: SmolLM2's own (49152 tokens, from model=smollm2's materialised folder) with the Llama 3
  special tokens added. llama.cpp recognises a BPE tokenizer's pre-tokenizer by a hash of how it
  tokenizes a fixed text, so a tokenizer trained here is never known to its converter; this one is
  ("smollm"), and the tiny clone can be exported to GGUF (stages=[export]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from chatlike.errors import ChatlikeError
from chatlike.files import atomic_folder, write_text
from chatlike.model.samples import DATA_HASH_FILE, data_hash, made_from, read_samples
from chatlike.rundir import RunDir

BOS, EOS, START_HEADER, END_HEADER, EOT = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
)
# Llama 3 has no pad token; sharing <|eot_id|> as pad would mask the end of turn out of the loss
# and make generation run on. Llama 3.1 reserves this one for padding.
PAD = "<|finetune_right_pad_id|>"
SPECIAL_TOKENS = [BOS, EOS, START_HEADER, END_HEADER, EOT, PAD]

# Axolotl's `llama3` template (axolotl.utils.chat_templates), so tokenizer.apply_chat_template and
# Axolotl render the same text.
LLAMA3_CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% if message['content'] is string %}{% set message_text = message['content'] | trim %}"
    "{% else %}{% set message_text = message['content'] | selectattr('text', 'defined') | "
    "map(attribute='text') | join('') | trim %}{% endif %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message_text + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}\n"
)

TOKENIZERS = ("trained", "smollm2")
TOKENIZER_FILE = "chatlike_tokenizer.txt"  # which of TOKENIZERS the folder's tokenizer is

# Small enough to train a few steps per second on 2 CPU cores, shaped like Llama 3 (GQA, RoPE).
VOCAB_SIZE = 2048
HIDDEN_SIZE = 64
INTERMEDIATE_SIZE = 172
LAYERS = 2
HEADS = 4
KV_HEADS = 2
MAX_POSITIONS = 2048


def _texts(train_jsonl: Path) -> Iterator[str]:
    """Every sample rendered the way the chat template will show it to the tokenizer."""
    for sample in read_samples(train_jsonl):
        for m in sample["messages"]:
            yield f"{m['role']}\n\n{m['content']}"


def build_tokenizer(train_jsonl: Path):
    """A byte-level BPE tokenizer (as Llama 3's) trained on the prepared samples. Digits stay one
    token each (as SmolLM2's; Llama 3's groups at most three): a number the data repeats, such as a
    privacy audit's canary, never becomes a token of its own, which would make it more likely than
    any other number to any model, trained or not."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_texts(train_jsonl), trainer=trainer)
    # Like Llama 3: plain encoding starts with <|begin_of_text|>; the chat template writes its own.
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOT,
        pad_token=PAD,
        model_max_length=MAX_POSITIONS,
    )
    fast.chat_template = LLAMA3_CHAT_TEMPLATE
    return fast


def smollm2_tokenizer():
    """SmolLM2's tokenizer as the tiny model's: its vocabulary and pre-tokenizer (which llama.cpp
    knows), Llama 3's special tokens and chat template."""
    from transformers import AutoTokenizer

    from chatlike.model import smollm2

    fast = AutoTokenizer.from_pretrained(str(smollm2.ensure(smollm2.default_folder())))
    fast.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS}, replace_extra_special_tokens=True)
    fast.bos_token, fast.eos_token, fast.pad_token = BOS, EOT, PAD
    fast.model_max_length = MAX_POSITIONS
    fast.chat_template = LLAMA3_CHAT_TEMPLATE
    return fast


def build(run_dir: Path, seed: int = 0, tokenizer: str = "trained") -> Path:
    """Build RUN/tiny_model from RUN/data/train.jsonl (tokenizer + random weights, seeded)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    run = RunDir(run_dir)
    train_jsonl = run.split("train")
    if not train_jsonl.is_file():
        raise ChatlikeError(f"{train_jsonl} is missing: run the prepare stage first (stages=[prepare,...])")
    kind = tokenizer
    tokenizer = smollm2_tokenizer() if kind == "smollm2" else build_tokenizer(train_jsonl)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        rope_theta=500000.0,
        tie_word_embeddings=False,
        bos_token_id=ids[BOS],
        eos_token_id=[ids[EOS], ids[EOT]],
        pad_token_id=ids[PAD],
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids[BOS], eos_token_id=[ids[EOS], ids[EOT]], pad_token_id=ids[PAD]
    )
    with atomic_folder(run.tiny_model) as tmp:  # a half-built model is never taken as built
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_text(tmp / TOKENIZER_FILE, kind + "\n")
        write_text(tmp / DATA_HASH_FILE, data_hash(run.root) + "\n")
    return run.tiny_model


def tokenizer_of(folder: Path) -> str:
    """Which tokenizer a built tiny model has (folders from before the choice: trained)."""
    path = Path(folder) / TOKENIZER_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else "trained"


def ensure(run_dir: Path, seed: int = 0, tokenizer: str = "trained") -> Path:
    """RUN/tiny_model, built if missing, made from other data (a trained tokenizer is trained on
    it) or with another tokenizer."""
    out = RunDir(run_dir).tiny_model
    built = (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    if built and made_from(out) == data_hash(run_dir) and tokenizer_of(out) == tokenizer:
        return out
    if built:
        why = (
            "data/train.jsonl changed"
            if made_from(out) != data_hash(run_dir)
            else "model.tiny_tokenizer changed"
        )
        print(f"chatlike: {why} since {out} was built: building it again")
    return build(run_dir, seed, tokenizer)
