"""export: the clone for a laptop, in RUN/export/: a GGUF for llama.cpp, Ollama and LM Studio
(export.quant), an Ollama Modelfile per chat (or one for export.contact), a README saying how to run
it, and checks.json: llama.cpp against transformers on the merged model (chatlike.model.gguf).

From the run's whole model (RUN/merged, merged first when missing or older than the adapter; a full
fine-tune's RUN/train): llama.cpp's converter writes an f16 GGUF, its quantizer the smaller one.
The GGUF carries the training chat template and end-of-turn tokens; the Modelfile's template is
read off the same template (chatlike.model.modelfile), its SYSTEM is the chat's exact training
system prompt and its sampling is chat's.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chatlike.config import Config
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.rundir import Exports, RunDir

if TYPE_CHECKING:
    from chatlike.model.trained import TrainedModel


def export_name(cfg: Config, model: TrainedModel) -> str:
    """The clone's name in file names and `ollama create`: serve.model_name, else the experiment's;
    the feedback clone's (see feedback.use) ends in -feedback, so it never overwrites the SFT one."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", cfg.serve.model_name or cfg.name).strip("-.") or "clone"
    return f"{name}-feedback" if model.feedback else name


def gguf_path(cfg: Config, run_dir: Path) -> Path:
    """The GGUF export writes (and serve=llamacpp serves): RUN/export/NAME-QUANT.gguf (the feedback
    clone's in RUN/feedback/export)."""
    from chatlike.model.trained import trained_model

    model = trained_model(cfg, run_dir)
    return model.exports.gguf(export_name(cfg, model), cfg.export.quant)


def check(cfg: Config, run_dir: Path) -> None:
    """Before any stage runs: llama.cpp's binding and converter are here."""
    import importlib.util

    from chatlike.model import gguf

    if importlib.util.find_spec("llama_cpp") is None:
        raise ChatlikeError("stages=[export] needs llama-cpp-python (the laptop extra): run `bash setup.sh`")
    gguf._converter()


def run(cfg: Config, run_dir: Path) -> None:
    export(cfg, run_dir)


def export(cfg: Config, run_dir: Path) -> Path:
    """Write RUN/export/ (the feedback clone's RUN/feedback/export/); the GGUF's path."""
    from chatlike.model import gguf
    from chatlike.model.engines import whole_model
    from chatlike.model.load import tokenizer_from
    from chatlike.model.trained import trained_model

    run = RunDir(Path(run_dir).resolve())
    model = trained_model(cfg, run).require()
    e, name, out = cfg.export, export_name(cfg, model), model.exports
    index = read_chats(model.run.chats)
    chats = [index.find(e.contact, "export.contact")] if e.contact else list(index.chats)
    folder = whole_model(cfg, model)
    tokenizer = tokenizer_from(str(folder))
    modelfiles = _modelfiles(cfg, tokenizer, index, chats, name)  # refused here, before minutes of conversion
    out.folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    f16 = out.gguf(name, "f16")
    print(f"export: {folder} -> {f16} (llama.cpp's converter)", flush=True)
    gguf.convert(folder, f16)
    target = f16
    if e.quant != "f16":
        target = out.gguf(name, e.quant)
        print(f"export: quantizing to {e.quant} -> {target}", flush=True)
        gguf.quantize(f16, target, e.quant)
    meta = gguf.metadata(target)
    written = {}
    for filename, (chat, render) in modelfiles.items():
        write_text(out.folder / filename, render(target.name, meta.add_bos))
        written[filename] = chat
    write_text(out.readme, readme(name, target, written, index))
    record = {
        "gguf": target.name,
        "quant": e.quant,
        "size_mb": round(target.stat().st_size / 1e6, 1),
        "from": str(folder),
        "chat_template_in_gguf": bool(meta.chat_template),
        "modelfiles": {f: c.name for f, c in written.items()},
        "seconds": round(time.monotonic() - started, 1),
    }
    if e.check:
        chat = chats[0]
        messages = [
            {"role": "system", "content": chat.system},
            {"role": "user", "content": _hello(cfg, chat)},
        ]
        print("export: checking llama.cpp against transformers on a persona prompt", flush=True)
        checks = gguf.check(
            f16, folder, messages, e.check_tokens, quantized=target if target != f16 else None
        )
        record["checks"] = checks.to_dict()
    if e.quant != "f16" and not e.keep_f16:
        f16.unlink()
    write_text(out.checks, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    print(_summary(out, target, record), flush=True)
    if e.check and not record["checks"]["passed"]:
        raise ChatlikeError(
            f"export: llama.cpp does not read {target.name} as transformers reads {folder}: see {out.checks}"
        )
    return target


def _hello(cfg: Config, chat: ChatInfo) -> str:
    from chatlike.conversation import speaker_content

    return (
        speaker_content(cfg.persona.group_speaker_format, chat.members[0], "hi! how are you?")
        if chat.group
        else "hi! how are you?"
    )


def _modelfiles(cfg: Config, tokenizer, index: ChatIndex, chats: list[ChatInfo], name: str) -> dict:
    """Modelfile name -> (chat, a function of (GGUF file name, whether the runner adds BOS))."""
    from chatlike.conversation import Template
    from chatlike.model.modelfile import GoTemplate, modelfile

    go = GoTemplate.of(tokenizer)
    template = Template.of(tokenizer)
    stops = list(
        dict.fromkeys([*template.end_tokens, *([tokenizer.eos_token] if tokenizer.eos_token else [])])
    )
    c = cfg.chat
    sampling = {"temperature": c.temperature, "top_p": c.top_p, "repeat_penalty": c.repetition_penalty,
                "num_predict": c.max_new_tokens, "num_ctx": min(cfg.model.max_context, 4096)}  # fmt: skip
    refs = index.refs()
    out = {}
    for chat in chats:
        filename = "Modelfile" if len(chats) == 1 else f"Modelfile.{_file_part(refs[chat.key])}"
        if filename in out:
            raise ChatlikeError(
                f"export: two chats would both write {filename}; choose one with export.contact=..."
            )
        out[filename] = (chat, lambda gguf_name, adds_bos, chat=chat: modelfile(
            gguf_name, go.render(runner_adds_bos=adds_bos), chat.system, stops, sampling))  # fmt: skip
    return out


def _file_part(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ref).strip("-.") or "chat"


def readme(name: str, gguf: Path, modelfiles: dict[str, ChatInfo], index: ChatIndex) -> str:
    """RUN/export/README.md: run the clone in Ollama or LM Studio."""
    refs = index.refs()
    first = next(iter(modelfiles))
    lines = [
        f"# {name}: your clone for llama.cpp, Ollama and LM Studio",
        "",
        f"`{gguf.name}` is the clone (as {index.me}) in llama.cpp's GGUF format, with its chat template and",
        "end-of-turn tokens inside. Each Modelfile plays one chat: its system prompt is that chat's, exactly as in",
        "training, so the clone talks to that person as you do.",
        "",
        "## Ollama",
        "",
        "Copy this folder to the laptop, then in it:",
        "",
        "```sh",
    ]
    for filename, chat in modelfiles.items():
        tag = f"{name}-{_file_part(refs[chat.key])}".lower() if len(modelfiles) > 1 else name.lower()
        lines.append(f"ollama create {tag} -f {filename}    # {refs[chat.key]} ({chat.kind})")
    tag = f"{name}-{_file_part(refs[modelfiles[first].key])}".lower() if len(modelfiles) > 1 else name.lower()
    lines += [
        f"ollama run {tag}",
        "```",
        "",
        "In a group chat, start each message with the speaker's name as training did (`Anna: hi!`).",
        "",
        "## LM Studio",
        "",
        f"1. `lms import {gguf.name}` (or copy it under LM Studio's models folder, `~/.lmstudio/models/chatlike/{name}/`).",
        "2. Load it; LM Studio takes the chat template from the file.",
        "3. Paste the chat's system prompt (the SYSTEM line of its Modelfile) as the system prompt, and set the",
        "   temperature and top-p from its PARAMETER lines.",
        "",
        "## llama.cpp",
        "",
        "```sh",
        f"llama-server -m {gguf.name} --jinja    # an OpenAI-compatible server; or, from the run: stages=[serve] serve=llamacpp",
        "```",
        "",
        "`checks.json` says how llama.cpp's reading of this file compared with transformers' on the merged model.",
        "",
    ]
    return "\n".join(lines)


def _summary(out: Exports, target: Path, record: dict) -> str:
    lines = [f"export: wrote {target} ({record['size_mb']:,.1f} MB) in {record['seconds']:.0f} s"]
    lines.append(f"  Modelfiles: {', '.join(record['modelfiles'])}; how to run it: {out.readme}")
    checks = record.get("checks")
    if checks:
        verdict = "passed" if checks["passed"] else "FAILED"
        lines.append(
            f"  checks {verdict}: template prompt ids {'match' if checks['prompt_ids_match'] else 'DIFFER'} "
            f"({checks['prompt_tokens']} tokens), first {checks['compared_tokens']} greedy tokens "
            f"{'match' if checks['greedy_match'] else 'DIFFER'}; llama.cpp's reply: {checks['llama_cpp_reply']!r}"
        )
    return "\n".join(lines)
