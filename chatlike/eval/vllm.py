"""Eval's replies from vLLM (eval.engine=vllm, a GPU box): the tuned and the base model's replies to
the same prompts, each batch in one request, from engines started for the while as the serve stage
starts its own (chatlike.model.serve's `up`)."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from chatlike.config import Config, ServeConfig
from chatlike.data.chats import read_chats
from chatlike.model.engines import Clone, VllmModel, check_on_disk, vllm_command, vllm_model, whole_model
from chatlike.model.serve import Server, executable_of, up
from chatlike.model.trained import trained_model
from chatlike.proc import tool_env
from chatlike.rundir import RunDir


def vllm_replies(
    cfg: Config,
    run_dir: Path,
    prompts: list[list[int]],
    stop_ids: list[int],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
) -> tuple[list[str], list[str]]:
    """(tuned, base) replies to `prompts` (token ids of chat-template prompts, exactly as HF
    generate gets them): one server with the adapter and the base side by side when vLLM takes the
    adapter, else one server for the merged model, then one for the base. Each listens on a free
    port of 127.0.0.1 and takes the GPU memory left by what this process already holds (eval's
    model, for lm-eval)."""
    run = RunDir(Path(run_dir).resolve())  # vLLM is given absolute paths
    model = trained_model(cfg, run).require()
    env = tool_env()  # no API key: it listens on 127.0.0.1 for this process only
    executable = executable_of("vllm", env)
    s = replace(
        cfg.serve, host="127.0.0.1", port=_free_port(), gpu_memory_utilization=_free_gpu_share(cfg.serve)
    )
    check_on_disk(model.base)
    m = vllm_model([Clone("tuned", model, read_chats(run.chats))])
    if m.whole_because is None:
        servers = [(m, {"tuned": "tuned", "base": m.model})]
    else:
        whole = VllmModel(str(whole_model(cfg, model)), served_name="tuned", whole_because=m.whole_because)
        servers = [(whole, {"tuned": "tuned"}), (VllmModel(model.base, served_name="base"), {"base": "base"})]
    replies: dict[str, list[str]] = {}
    log = run.eval / "vllm.log"
    for served, roles in servers:
        print(f"eval: starting vLLM for the {' and '.join(roles)} replies (log: {log})", flush=True)
        # no chat template or generation config of ours: eval sends token ids and sets all the sampling
        cmd = vllm_command(served, s, None, "vllm", executable)
        server = Server("vllm", f"http://127.0.0.1:{s.port}/v1", [], None)
        with up(server, cmd, env, log, list(roles.values()), s.start_timeout_s):
            client = server.client(timeout=3600)
            for role, name in roles.items():
                replies[role] = []
                for start in range(0, len(prompts), 256):
                    answer = client.completions.create(
                        model=name, prompt=prompts[start : start + 256], max_tokens=max_new_tokens,
                        temperature=temperature, top_p=top_p, seed=seed, extra_body={"stop_token_ids": stop_ids},
                    )  # fmt: skip
                    replies[role] += [c.text for c in sorted(answer.choices, key=lambda c: c.index)]
    return replies["tuned"], replies["base"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_gpu_share(s: ServeConfig) -> float:
    """serve.gpu_memory_utilization, or less: 90% of what is free now (vLLM refuses to start when
    the share it is given is more than what is free)."""
    try:
        import torch

        free, total = torch.cuda.mem_get_info()
    except Exception:  # no CUDA here: vLLM says so itself
        return s.gpu_memory_utilization
    return round(min(s.gpu_memory_utilization, 0.9 * free / total), 3)
