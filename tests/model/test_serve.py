"""serve and chatlike.model.engines: the engines' command lines (vLLM's is built and checked here,
where vLLM cannot run), the files transformers serve is given, the one-line refusals, and the real
CLI serving the smoke clone with `transformers serve` to the official openai client."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatlike.config import Config, ServeConfig
from chatlike.data.chats import ChatIndex, ChatInfo, read_chats, write_chats
from chatlike.errors import ChatlikeError
from chatlike.model.engines import (
    clones_of,
    transformers_command,
    vllm_command,
    vllm_lora_rank,
    vllm_model,
    write_hub,
)
from chatlike.model.trained import Adapter, trained_model
from chatlike.rundir import RunDir
from tests.support.cli import ROOT, run_cli, smoke_cfg
from tests.support.processes import Serving, alive, environ_of, free_port

SECRET = "sk-chatlike-test-7c1e0d"  # a CHATLIKE_API_KEY that must show up nowhere


def make_run(
    root: Path, rank: int = 16, dora: bool = False, modules_to_save=None, tokenizer: bool = True
) -> Path:
    """A run dir as train leaves it for a base model in model.base_model: chats.json and an adapter."""
    chats = (
        ChatInfo(
            "Lorenzo", "personal_chat", ("Lorenzo",), "You are Pasquale, chatting with Lorenzo.", 1, 3, 3
        ),
    )
    write_chats(RunDir(root).chats, ChatIndex("Pasquale", chats))
    train = RunDir(root).train
    train.mkdir(parents=True)
    config = {
        "r": rank,
        "use_dora": dora,
        "modules_to_save": modules_to_save,
        "base_model_name_or_path": "org/base",
    }
    (train / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    if tokenizer:
        (train / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    return root


def cfg_of(*runs: Path, **serve) -> Config:
    from chatlike.config import ModelConfig

    return Config(
        name="lorenzo",
        model=ModelConfig(base_model="org/base"),
        serve=ServeConfig(runs=[str(r) for r in runs], **serve),
    )


def command(cfg: Config, run_dir: Path) -> list[str]:
    m = vllm_model(clones_of(cfg, run_dir))
    return vllm_command(m, cfg.serve, Path("T.jinja"), Path("G"))


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


# -- vLLM's command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rank,expected", [(1, 1), (8, 8), (12, 16), (16, 16), (64, 64), (100, 128), (300, 320)]
)
def test_the_max_lora_rank_is_the_smallest_vllm_accepts_that_holds_the_adapters(rank, expected):
    assert vllm_lora_rank(rank) == expected


def test_a_rank_above_vllms_largest_is_one_line_saying_to_merge():
    with pytest.raises(ChatlikeError, match="above vLLM's largest"):
        vllm_lora_rank(1024)


def test_vllm_serves_the_base_with_the_run_as_a_named_adapter_of_its_rank(tmp_path):
    run = make_run(tmp_path / "run", rank=64)
    cfg = cfg_of()
    cmd = command(cfg, run)
    assert cmd[:3] == ["vllm", "serve", "org/base"]
    assert "--enable-lora" in cmd and flag(cmd, "--lora-modules") == f"lorenzo={run.resolve() / 'train'}"
    assert flag(cmd, "--max-lora-rank") == "64"  # above vLLM's default 16: it would refuse the adapter
    assert flag(cmd, "--tokenizer") == str(run.resolve() / "train")  # the training tokenizer
    assert flag(cmd, "--chat-template") == "T.jinja" and flag(cmd, "--generation-config") == "G"
    assert flag(cmd, "--host") == "127.0.0.1" and flag(cmd, "--port") == "8000"
    assert flag(cmd, "--max-model-len") == "8192" and "--served-model-name" not in cmd


def test_the_max_model_len_is_capped_by_the_models_own(tmp_path):
    from chatlike.model.engines import VllmModel

    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 2048}))
    m = VllmModel(str(tmp_path), served_name="tiny", whole_because="a full fine-tune is a whole model")
    assert flag(vllm_command(m, ServeConfig(), None, "vllm"), "--max-model-len") == "2048"
    assert "--max-model-len" not in vllm_command(m, ServeConfig(max_model_len=None), None, "vllm")


def test_an_adapters_rank_pattern_counts_for_the_max_lora_rank(tmp_path):
    run = make_run(tmp_path / "run", rank=8)
    config = json.loads((run / "train" / "adapter_config.json").read_text())
    config["rank_pattern"] = {"q_proj": 32}
    (run / "train" / "adapter_config.json").write_text(json.dumps(config))
    assert flag(command(cfg_of(), run), "--max-lora-rank") == "32"


@pytest.mark.parametrize(
    "adapter,reason",
    [(dict(dora=True), "DoRA"), (dict(modules_to_save=["embed_tokens", "lm_head"]), "embed_tokens, lm_head")],
)
def test_an_adapter_vllm_refuses_is_served_merged_under_the_clones_name(tmp_path, adapter, reason):
    run = make_run(tmp_path / "run", **adapter)
    m = vllm_model(clones_of(cfg_of(), run))
    assert reason in m.whole_because and not m.adapters
    assert m.model == str(RunDir(run.resolve()).merged) and m.served_name == "lorenzo"
    cmd = vllm_command(m, cfg_of().serve, Path("T.jinja"), Path("G"))
    assert cmd[2] == str(RunDir(run.resolve()).merged) and flag(cmd, "--served-model-name") == "lorenzo"
    assert "--enable-lora" not in cmd and "--max-lora-rank" not in cmd


def test_a_full_fine_tune_is_served_from_train_itself(tmp_path):
    run = make_run(tmp_path / "run")
    train = run / "train"
    (train / "adapter_config.json").unlink()
    (train / "config.json").write_text("{}")
    (train / "model.safetensors").write_bytes(b"")
    m = vllm_model(clones_of(cfg_of(), run))
    assert (
        m.model == str(train.resolve()) and m.served_name == "lorenzo" and "full fine-tune" in m.whole_because
    )


def test_several_runs_share_one_vllm_as_adapters_named_after_their_folders(tmp_path):
    sweep = tmp_path / "multirun"
    runs = [make_run(sweep / "0", rank=8), make_run(sweep / "1", rank=32), make_run(sweep / "2", rank=16)]
    cfg = cfg_of(*runs)
    cmd = command(cfg, tmp_path / "here")
    modules = cmd[cmd.index("--lora-modules") + 1 : cmd.index("--max-lora-rank")]
    assert modules == [f"lorenzo-{i}={r.resolve() / 'train'}" for i, r in enumerate(runs)]
    assert flag(cmd, "--max-lora-rank") == "32" and flag(cmd, "--max-loras") == "3"
    assert [c.name for c in clones_of(cfg, tmp_path)] == ["lorenzo-0", "lorenzo-1", "lorenzo-2"]


def test_several_runs_cannot_share_vllm_when_one_adapter_must_be_merged(tmp_path):
    runs = [make_run(tmp_path / "a"), make_run(tmp_path / "b", dora=True)]
    with pytest.raises(ChatlikeError) as err:
        vllm_model(clones_of(cfg_of(*runs), tmp_path))
    assert (
        "DoRA" in str(err.value) and "serve that run alone" in str(err.value) and "\n" not in str(err.value)
    )


def test_runs_on_another_base_model_are_refused_naming_it(tmp_path):
    run = make_run(tmp_path / "run")
    config = json.loads((run / "train" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "org/other"
    (run / "train" / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ChatlikeError, match="trained on the base model org/other"):
        vllm_model(clones_of(cfg_of(), run))


def test_two_runs_that_would_get_one_name_are_refused(tmp_path):
    runs = [make_run(tmp_path / "a" / "0"), make_run(tmp_path / "b" / "0")]
    with pytest.raises(ChatlikeError, match="would both be served as 'lorenzo-0'"):
        clones_of(cfg_of(*runs), tmp_path)


def test_the_served_name_is_serve_model_name_else_the_experiments(tmp_path):
    run = make_run(tmp_path / "run")
    assert [c.name for c in clones_of(cfg_of(), run)] == ["lorenzo"]
    assert [c.name for c in clones_of(cfg_of(model_name="pasquale/clone"), run)] == ["pasquale/clone"]
    with pytest.raises(ChatlikeError, match="serve.model_name"):
        ServeConfig(model_name="my clone")


def test_the_api_key_is_never_on_vllms_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLIKE_API_KEY", SECRET)
    cfg = cfg_of(host="0.0.0.0", extra_args=["--enforce-eager"])
    cmd = command(cfg, make_run(tmp_path / "run"))
    assert SECRET not in " ".join(cmd) and flag(cmd, "--host") == "0.0.0.0" and cmd[-1] == "--enforce-eager"


def test_transformers_serve_pins_one_clone_and_keeps_several_loaded():
    s = ServeConfig(port=8123)
    assert transformers_command(["smoke"], s) == [
        "transformers",
        "serve",
        "smoke",
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
    ]
    several = transformers_command(["a-0", "a-1"], s)
    assert several[:4] == ["transformers", "serve", "--model-timeout", "-1"] and "a-0" not in several


def test_an_unreadable_adapter_config_is_one_line_naming_it(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "train" / "adapter_config.json").write_text("{not json")
    with pytest.raises(ChatlikeError, match="adapter_config.json: cannot read it"):
        Adapter.read(run / "train")


# -- what transformers serve is given -------------------------------------------------------------


def test_the_hub_folder_lists_each_clone_under_its_name_with_the_template_and_stop_ids(tmp_path):
    from huggingface_hub import scan_cache_dir

    model = tmp_path / "run" / "merged"
    model.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "generation_config.json", "chat_template.jinja"):
        (model / name).write_text(name)
    hub = tmp_path / "run" / "serve" / "hub"
    write_hub(hub, {"smoke": (model, "TEMPLATE", {"eos_token_id": [1, 4]}), "org/x": (model, "T", {})})
    assert sorted(r.repo_id for r in scan_cache_dir(hub).repos) == ["org/x", "smoke"]
    snapshot = next((hub / "models--smoke" / "snapshots").iterdir())
    assert (snapshot / "config.json").is_symlink() and (snapshot / "config.json").read_text() == "config.json"
    assert not os.path.isabs(os.readlink(snapshot / "model.safetensors"))  # the run dir can move
    assert (
        snapshot / "chat_template.jinja"
    ).read_text() == "TEMPLATE"  # the training template, not the folder's
    assert json.loads((snapshot / "generation_config.json").read_text()) == {"eos_token_id": [1, 4]}


def test_a_merged_model_older_than_the_adapter_is_not_current(tmp_path):
    run = RunDir(tmp_path)
    run.merged.mkdir(parents=True)
    run.train.mkdir()
    assert not trained_model(Config(), run).merged_current
    (run.train / "adapter_model.safetensors").write_bytes(b"")
    (run.merged / "config.json").write_text("{}")
    assert trained_model(Config(), run).merged_current
    later = time.time() + 10
    os.utime(run.train / "adapter_model.safetensors", (later, later))  # trained again after the merge
    assert not trained_model(Config(), run).merged_current


# -- one-line refusals from the real CLI ----------------------------------------------------------


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("chatlike: error: ")
    return line


def test_a_busy_port_is_one_line_naming_it(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line(run_cli(f"hydra.run.dir={tmp_path}", "stages=[serve]", f"serve.port={port}"))
    assert f"serve.port={port}" in line and "serve.port=..." in line


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The smoke experiment prepared (data only, no training)."""
    run = tmp_path_factory.mktemp("prepared") / "run"
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    return run


def test_the_generation_config_stops_at_the_end_of_a_turn_and_samples_as_chat(prepared, tmp_path):
    from chatlike.config import ChatConfig
    from chatlike.conversation import Template
    from chatlike.model.engines import generation_config
    from chatlike.model.tiny import EOS, EOT, PAD, build_tokenizer

    template = Template.of(build_tokenizer(RunDir(prepared).split("train")))
    ids = template.tokenizer.convert_tokens_to_ids
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"bos_token_id": 0, "eos_token_id": ids(EOS)})
    )
    config = generation_config(tmp_path, template, Config())
    assert config["bos_token_id"] == 0  # the model's own, kept
    # the template's end of turn added to the model's own stops
    assert set(config["eos_token_id"]) == {ids(EOS), ids(EOT)} and config["pad_token_id"] == ids(PAD)
    assert (config["do_sample"], config["temperature"], config["top_p"]) == (True, 0.7, 0.9)
    assert (config["repetition_penalty"], config["max_new_tokens"]) == (1.1, 256)
    greedy = generation_config(None, template, Config(chat=ChatConfig(temperature=0)))
    assert (greedy["do_sample"], greedy["temperature"]) == (False, 0)  # vLLM reads temperature 0 as greedy


def test_a_run_without_an_adapter_is_one_line_saying_to_train(prepared):
    line = one_line(
        run_cli(
            "experiment=smoke", f"hydra.run.dir={prepared}", "stages=[serve]", f"serve.port={free_port()}"
        )
    )
    assert "no adapter in" in line and "stages=[train]" in line


def test_a_base_model_not_on_disk_is_one_line_naming_it(prepared, tmp_path):
    from chatlike.model.engines import check_on_disk

    run = tmp_path / "run"
    shutil.copytree(prepared / "data", run / "data")
    make_run(tmp_path / "adapter")
    shutil.copytree(tmp_path / "adapter" / "train", run / "train")
    config = json.loads((run / "train" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "nobody/not-downloaded-model"
    (run / "train" / "adapter_config.json").write_text(json.dumps(config))
    line = one_line(run_cli(f"hydra.run.dir={run}", "stages=[serve]", "model.base_model=nobody/not-downloaded-model",
                            f"serve.port={free_port()}"))  # fmt: skip
    assert "nobody/not-downloaded-model" in line and "nothing is downloaded" in line
    with pytest.raises(ChatlikeError, match="huggingface-cli download nobody/not-downloaded-model"):
        check_on_disk("nobody/not-downloaded-model")  # what vLLM is refused with before it starts
    with pytest.raises(ChatlikeError, match="set model.base_model to its folder"):
        check_on_disk(str(tmp_path / "no-such-folder"))
    check_on_disk(str(tmp_path))


def test_every_interface_needs_an_api_key_and_transformers_serve_has_none(tmp_path):
    line = one_line(run_cli(f"hydra.run.dir={tmp_path}", "stages=[serve]", "serve.host=0.0.0.0"))
    assert "CHATLIKE_API_KEY" in line and "serve.host=127.0.0.1" in line
    env = {**os.environ, "CHATLIKE_API_KEY": SECRET}
    proc = subprocess.run(
        [sys.executable, "-m", "chatlike", f"hydra.run.dir={tmp_path}", "stages=[serve]", "serve.host=0.0.0.0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "checks no API key" in one_line(proc) and "serve=vllm" in one_line(proc)
    assert SECRET not in proc.stdout + proc.stderr
    assert not any(SECRET in f.read_text(errors="replace") for f in tmp_path.rglob("*") if f.is_file())


def test_vllm_missing_here_is_one_line_saying_how_to_install_it(tmp_path):
    env = {**os.environ, "CHATLIKE_API_KEY": SECRET}
    proc = subprocess.run(
        [sys.executable, "-m", "chatlike", f"hydra.run.dir={tmp_path}", "stages=[serve]", "serve=vllm", "serve.host=0.0.0.0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = one_line(proc)
    assert "needs vLLM" in line and "pip install -e '.[serve]'" in line
    assert SECRET not in proc.stdout + proc.stderr + (tmp_path / ".hydra" / "config.yaml").read_text()


def test_the_api_key_is_no_setting(tmp_path):
    line = one_line(run_cli(f"hydra.run.dir={tmp_path}", "stages=[serve]", f"serve.api_key={SECRET}"))
    assert "CHATLIKE_API_KEY environment variable" in line and SECRET not in line


# -- the real server on the smoke clone -----------------------------------------------------------


def python_example(output: str) -> str:
    """The Python example the serve stage printed."""
    lines = output.splitlines()
    start = lines.index("Python (the openai package):") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Ctrl-C stops the server"))
    return "\n".join(lines[start:end])


@pytest.mark.slow
def test_serve_answers_the_openai_client_as_the_persona_and_ctrl_c_stops_it(trained_run):
    from openai import OpenAI

    port = free_port()
    env = {**os.environ, "CHATLIKE_API_KEY": SECRET}  # set, but transformers serve listens on 127.0.0.1 only
    env |= {"AWS_SECRET_ACCESS_KEY": "aws-secret", "OMP_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": ""}
    shutil.rmtree(RunDir(trained_run).merged, ignore_errors=True)  # another test may have merged it
    started = time.time()
    serving = Serving("experiment=smoke", f"hydra.run.dir={trained_run}", f"serve.port={port}", env=env)
    try:
        serving.wait_for("Ctrl-C stops the server")
        print(f"serve: ready {time.time() - started:.1f} s after the command started")
        out = serving.output
        assert f"http://127.0.0.1:{port}/v1" in out and "model 'smoke'" in out
        assert (
            "merging the adapter" in out and RunDir(trained_run).merged.is_dir()
        )  # no merged model yet: made
        serve_json = json.loads(RunDir(trained_run).serve_json.read_text(encoding="utf-8"))
        prompts = serve_json["models"]["smoke"]["system_prompts"]
        chats = read_chats(RunDir(trained_run).chats).chats
        assert prompts == {c.name: c.system for c in chats}  # every contact's training system prompt
        assert prompts == json.loads(
            (RunDir(trained_run).merged / "system_prompts.json").read_text(encoding="utf-8")
        )
        assert serve_json["base_url"] == f"http://127.0.0.1:{port}/v1"
        for c in chats:
            assert c.name in out
        assert chats[0].system in out  # the curl example carries the persona's prompt

        client = OpenAI(base_url=serve_json["base_url"], api_key="unused", timeout=120)
        assert [m.id for m in client.models.list()] == ["smoke"]
        messages = [
            {"role": "system", "content": prompts[chats[0].name]},
            {"role": "user", "content": "ciao! ci sei stasera?"},
        ]
        t = time.time()
        reply = client.chat.completions.create(model="smoke", messages=messages, temperature=0, max_tokens=64)
        print(
            f"serve: a non-streamed reply of {reply.usage.completion_tokens} tokens in {time.time() - t:.2f} s"
        )
        assert reply.choices[0].finish_reason == "stop"  # at the end of its turn, not the token cap
        assert reply.usage.completion_tokens < 64 and "<|" not in reply.choices[0].message.content
        t = time.time()
        stream = client.chat.completions.create(
            model="smoke", messages=messages, temperature=0, max_tokens=64, stream=True
        )
        chunks = list(stream)
        print(f"serve: a streamed reply of {len(chunks)} chunks in {time.time() - t:.2f} s")
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        assert text == reply.choices[0].message.content  # greedy: the same reply, streamed
        assert len(chunks) > 2 and chunks[-1].choices[0].finish_reason == "stop"
        # the default sampling is chat's (temperature 0.7): replies vary, each still ends its turn
        sampled = [client.chat.completions.create(model="smoke", messages=messages, max_tokens=64, seed=s)
                   for s in range(4)]  # fmt: skip
        assert all(r.choices[0].finish_reason == "stop" for r in sampled)
        assert len({r.choices[0].message.content for r in sampled}) > 1

        example = subprocess.run(
            [sys.executable, "-c", python_example(out)], capture_output=True, text=True, timeout=120
        )
        assert example.returncode == 0 and example.stdout.strip(), example.stderr

        pids = serving.engine_pids()
        assert pids and all(alive(p) for p in pids)
        engine = environ_of(pids[0])  # only what a tool needs to run; no secret it does not need
        assert SECRET not in "".join(engine.values()) and "AWS_SECRET_ACCESS_KEY" not in engine
        assert engine["HF_HUB_OFFLINE"] == "1" and engine["HF_HUB_CACHE"] == str(
            RunDir(trained_run).serve_hub
        )
        assert engine["OMP_NUM_THREADS"] == "2" and engine["CUDA_VISIBLE_DEVICES"] == ""
        assert engine["PATH"] == os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    finally:
        code = serving.stop(signal.SIGINT)
    assert code == 0, serving.output
    assert serving.lines[-2:] == ["serve: stopping transformers serve", "serve: stopped"]
    assert not RunDir(trained_run).serve_json.exists()  # it describes a running server only
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)  # no engine process left behind
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
        sock.bind(("127.0.0.1", port))  # the port is free again
    files = [f for f in trained_run.rglob("*") if f.is_file() and f.stat().st_size < 10_000_000]
    assert not any(SECRET.encode() in f.read_bytes() for f in files)  # the key is in no file, no snapshot
    assert SECRET not in serving.output


@pytest.mark.slow
def test_vllms_inputs_for_the_smoke_run_the_merged_model_its_template_and_stop_ids(trained_run, tmp_path):
    from chatlike.model import load
    from chatlike.model.engines import prepare_vllm

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*"))
    cfg = smoke_cfg("serve=vllm")
    m = prepare_vllm(cfg, RunDir(run), clones_of(cfg, run))
    assert (
        m.model == str(RunDir(run).merged) and "embed_tokens, lm_head" in m.whole_because
    )  # the tiny base's
    cmd = vllm_command(m, cfg.serve, RunDir(run).serve_template, RunDir(run).serve_generation)
    assert (
        flag(cmd, "--served-model-name") == "smoke" and flag(cmd, "--max-model-len") == "2048"
    )  # the tiny's
    assert RunDir(run).serve_template.read_text() == load.template_of("llama3")  # Axolotl's, as in training
    generation = json.loads((RunDir(run).serve_generation / "generation_config.json").read_text())
    template = load.training_template(cfg, load.tokenizer_from(str(RunDir(run).merged)), "merged")
    assert (
        set(template.stop_ids) <= set(generation["eos_token_id"])
        and template.tokenizer.convert_tokens_to_ids("<|eot_id|>") in generation["eos_token_id"]
    )

    config = json.loads((RunDir(run).train / "adapter_config.json").read_text())
    config["modules_to_save"] = None  # an instruct model's adapter: served as one
    (RunDir(run).train / "adapter_config.json").write_text(json.dumps(config))
    m = prepare_vllm(cfg, RunDir(run), clones_of(cfg, run))
    cmd = vllm_command(m, cfg.serve, RunDir(run).serve_template, RunDir(run).serve_generation)
    assert (
        cmd[2] == str(RunDir(run).tiny_model) and flag(cmd, "--lora-modules") == f"smoke={RunDir(run).train}"
    )
    assert flag(cmd, "--max-lora-rank") == "16" and flag(cmd, "--tokenizer") == str(RunDir(run).train)


@pytest.mark.slow
def test_an_engine_not_ready_in_time_is_stopped_and_one_line_after_its_log(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*"))
    port = free_port()
    serving = Serving(
        "experiment=smoke", f"hydra.run.dir={run}", f"serve.port={port}", "serve.start_timeout_s=1"
    )
    code = serving.proc.wait(300)
    serving.reader.join(10)
    assert code == 1
    assert serving.lines[-1].startswith("chatlike: error: serve: transformers serve did not answer")
    assert "serve.start_timeout_s=1" in serving.lines[-1] and str(RunDir(run).serve_log) in serving.lines[-1]
    assert not RunDir(run).serve_json.exists()
    commands = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout.splitlines()
    assert not [c for c in commands if "transformers serve" in c and f"--port {port}" in c]  # stopped


@pytest.mark.slow
def test_several_runs_are_served_side_by_side_and_an_engine_that_dies_is_one_line(trained_run, tmp_path):
    from openai import OpenAI

    sweep = tmp_path / "multirun"
    for job in ("0", "1"):
        shutil.copytree(trained_run, sweep / job, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*"),
                        symlinks=True)  # fmt: skip
    shutil.rmtree(sweep / "1" / "merged", ignore_errors=True)  # one run not merged yet: merged first
    port = free_port()
    serving = Serving("experiment=smoke", f"hydra.run.dir={tmp_path / 'here'}", f"serve.port={port}",
                      f"serve.runs=[{sweep / '0'},{sweep / '1'}]")  # fmt: skip
    try:
        serving.wait_for("Ctrl-C stops the server")
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", timeout=120)
        assert sorted(m.id for m in client.models.list()) == ["smoke-0", "smoke-1"]
        serve_json = json.loads((tmp_path / "here" / "serve.json").read_text(encoding="utf-8"))
        for name in ("smoke-0", "smoke-1"):
            system = next(iter(serve_json["models"][name]["system_prompts"].values()))
            messages = [{"role": "system", "content": system}, {"role": "user", "content": "ciao!"}]
            reply = client.chat.completions.create(
                model=name, messages=messages, temperature=0, max_tokens=64
            )
            assert reply.choices[0].finish_reason == "stop"
        for pid in serving.engine_pids():  # the engine dies under it
            os.kill(pid, signal.SIGKILL)
        code = serving.proc.wait(60)
        serving.reader.join(10)
    finally:
        if serving.proc.poll() is None:
            serving.stop()
    assert code == 1
    assert serving.lines[-1].startswith("chatlike: error: serve: transformers serve stopped by itself")
    assert serving.lines[-2].startswith("  | ")  # the engine's last log lines, just above
    assert not (tmp_path / "here" / "serve.json").exists()  # no client aims at the dead server


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT, ignored when it started", "SIGTERM"])
def test_serve_stops_on_sigint_though_started_ignoring_it_and_on_sigterm(trained_run, tmp_path, how):
    """Started from a script in the background, Python inherits an ignored SIGINT; a process
    manager stops a service with SIGTERM. Both stop the engine, and RUN/serve.json goes with it."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*"))
    sig = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
    ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sig == signal.SIGINT else None
    serving = Serving(
        "experiment=smoke", f"hydra.run.dir={run}", f"serve.port={free_port()}", preexec_fn=ignore_sigint
    )
    try:
        serving.wait_for("Ctrl-C stops the server")
        assert RunDir(run).serve_json.is_file()
        pids = serving.engine_pids()
        code = serving.stop(sig)
    finally:
        if serving.proc.poll() is None:
            serving.proc.kill()
    assert code == 0 and serving.lines[-1] == "serve: stopped", serving.output
    assert not RunDir(run).serve_json.exists()
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)


def test_no_code_of_chatlike_changes_the_process_environment():
    """Tools get their environment from chatlike.proc; no code of ours sets os.environ."""
    import ast

    mutators = {f"os.environ.{m}" for m in ("setdefault", "update", "pop", "popitem", "clear")}
    changes = []
    for path in sorted((ROOT / "chatlike").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                changing = ast.unparse(node.func) in mutators | {"os.putenv", "os.unsetenv"}
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets
                changing = any(
                    isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ" for t in targets
                )
            else:
                continue
            if changing:
                changes.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    # the one exception: the entry point's own switch for Hydra (its documented HYDRA_FULL_ERROR, so
    # Hydra raises its errors to main instead of printing them); no launched tool is given it
    assert [c.split(" ", 1)[1] for c in changes] == ["os.environ['HYDRA_FULL_ERROR'] = '1'"]
    assert changes[0].startswith("chatlike/app.py:")
