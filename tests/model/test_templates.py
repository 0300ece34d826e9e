"""Chat templates as values, through real Axolotl: for the tiny Llama 3 model and for SmolLM2 (also as
transformers' GGUF loader leaves its folder: EOS <|im_start|>, pad <|im_end|>), the tokens trained in
Axolotl's preprocessed dataset are exactly my turns, each with its end-of-turn token, nothing of the
other side; the pad ends no turn; and generation stops at the end of my turn. Preprocess only: nothing
is trained here."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from chatlike.data.segment import TURN_OVERHEAD_TOKENS
from chatlike.model import load
from chatlike.model.samples import read_samples
from chatlike.rundir import RunDir
from tests.support.cli import run_cli, smoke_cfg

SYSTEM = {"role": "system", "content": "You are Pasquale Esposito, chatting with Lorenzo."}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """The bundled sample, prepared once (the same data for every model)."""
    run = tmp_path_factory.mktemp("templates") / "run"
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    return run


@pytest.fixture(scope="module")
def gguf_loader_folder(smollm2_folder, tmp_path_factory) -> Path:
    """SmolLM2 as `from_pretrained(gguf_file=...)` + `save_pretrained` writes it (issue 23): the
    tokenizer's EOS is <|im_start|> and its pad <|im_end|>, the end of a turn."""
    folder = tmp_path_factory.mktemp("gguf_loader") / "SmolLM2"
    folder.mkdir()
    for f in smollm2_folder.iterdir():
        if f.name != "tokenizer_config.json":
            (folder / f.name).symlink_to(f)
    config = json.loads((smollm2_folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.update(eos_token="<|im_start|>", pad_token="<|im_end|>")
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def overrides(model: str, folder: Path | None) -> list[str]:
    if model == "tiny":
        return []  # experiment=smoke: model=tiny
    common = ["model=smollm2", "hardware=cpu", "train=lora"]
    return common + ([f"model.base_model={folder}", "model.materialise=null"] if folder else [])


def trained_spans(run: Path) -> Counter:
    """Every run of trained tokens (labels != -100) in Axolotl's preprocessed training set, decoded."""
    import datasets

    base = yaml.safe_load(RunDir(run).axolotl_yaml.read_text())["base_model"]
    tokenizer = load.tokenizer_from(str(run / base))  # relative to the run dir (the tiny model's)
    train = len(read_samples(RunDir(run).split("train")))
    (rows,) = [
        d for d in map(datasets.load_from_disk, map(str, RunDir(run).prepared.glob("*/"))) if len(d) == train
    ]
    spans: Counter = Counter()
    for ids, labels in zip(rows["input_ids"], rows["labels"]):
        run_of: list[int] = []
        for i, label in zip(ids + [None], labels + [-100]):
            if label != -100:
                run_of.append(i)
            elif run_of:
                spans[tokenizer.decode(run_of)] += 1
                run_of = []
    return spans


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "variant", "end"),
    [("tiny", None, "<|eot_id|>"), ("smollm2", None, "<|im_end|>"), ("smollm2", "gguf loader", "<|im_end|>")],
)
def test_axolotl_trains_exactly_my_turns_each_with_its_end_of_turn_token(
    prepared, tmp_path, request, model, variant, end
):
    from chatlike.proc import tool_env
    from chatlike.stages import configure, train

    folder = request.getfixturevalue("gguf_loader_folder") if variant else None
    if model == "smollm2":
        request.getfixturevalue("smollm2_folder")
    run = shutil.copytree(prepared, tmp_path / "run")
    configure.run(smoke_cfg(*overrides(model, folder)), run)
    assert train.preprocess(RunDir(run), tool_env(), run / "preprocess.log") == 0

    mine = Counter(
        m["content"].strip()  # as the template writes it (Llama 3's trims)
        for s in read_samples(RunDir(run).split("train"))
        for m in s["messages"]
        if m["role"] == "assistant"
    )
    trained = trained_spans(run)
    assert all(span.endswith(end) for span in trained), [s for s in trained if not s.endswith(end)][:3]
    turns: Counter = Counter()
    for span, n in trained.items():
        turns[span.removesuffix(end).strip()] += n
    assert turns == mine
    doc = yaml.safe_load(RunDir(run).axolotl_yaml.read_text())
    assert doc["eot_tokens"] == [end]
    pad = (doc.get("special_tokens") or {}).get("pad_token")
    assert pad != end and (pad is not None) == (variant is not None)  # the loader's <|im_end|> pad replaced


@pytest.mark.slow
@pytest.mark.parametrize("variant", [None, "gguf loader"])
def test_smollm2_stops_at_the_end_of_my_turn_in_chatlike_and_in_servers(smollm2_folder, request, variant):
    from transformers import AutoModelForCausalLM

    from chatlike.model.engines import generation_config

    folder = request.getfixturevalue("gguf_loader_folder") if variant else smollm2_folder
    cfg = smoke_cfg(*overrides("smollm2", folder if variant else None))
    template = load.training_template(cfg, load.tokenizer_from(str(folder)), str(folder))
    tok = template.tokenizer
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert template.end_of_turn == "<|im_end|>\n" and template.end_tokens == ("<|im_end|>",)
    assert im_end in template.stop_ids and tok.convert_tokens_to_ids("<|endoftext|>") not in template.stop_ids
    assert im_end in generation_config(folder, template, cfg)["eos_token_id"]  # serve's, and vLLM's

    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    prompt = template.prompt([SYSTEM, {"role": "user", "content": "ciao! come stai?"}])
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    raw = model.generate(ids, max_new_tokens=48, do_sample=False, eos_token_id=list(template.stop_ids))
    new = raw[0, ids.shape[1] :].tolist()
    assert new[-1] == im_end and len(new) < 48  # the real model ends its turn by itself
    (reply,) = load.generate(model, template, [prompt], max_new_tokens=48)
    assert reply == tok.decode(new[:-1]) and reply and "<|im" not in reply


def test_prepares_turn_overhead_covers_smollm2s_template(smollm2_folder):
    """prepare's approximate count (no tokenizer) allows TURN_OVERHEAD_TOKENS per message; SmolLM2's
    ChatML writes fewer around each one (measured on its tokenizer)."""
    template = load.training_template(
        smoke_cfg("model=smollm2"), load.tokenizer_from(str(smollm2_folder)), ""
    )
    tok = template.tokenizer
    turns = [SYSTEM, {"role": "user", "content": "ciao"}, {"role": "assistant", "content": "sì ahah"}]
    content = sum(len(tok(m["content"], add_special_tokens=False)["input_ids"]) for m in turns)
    assert 0 < template.length(turns) - content <= TURN_OVERHEAD_TOKENS * len(turns)
