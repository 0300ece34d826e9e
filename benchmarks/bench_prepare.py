"""Time chatlike's prepare beside the plain `json.load` way (benchmarks/plain_prepare.py).

Each implementation runs in a fresh process, so its peak memory (ru_maxrss from wait4) is its own:
  plain json.load    benchmarks/plain_prepare.py, the yardstick
  chatlike CLI       python -m chatlike source.path=FILE hydra.run.dir=TMP 'stages=[prepare]'
  CLI, no near-dups  the same with split.near_duplicate_threshold=null: the plain way's splits exactly
  chatlike in-proc   chatlike.stages.prepare.run(Config(...)) without Hydra
  msgspec decode     chatlike's decoder on the file alone (the floor)
  json.load alone    the plain way's decoding alone
  WhatsApp CLI       the CLI on a WhatsApp .txt of as many messages (one chat, Android layout)

    python benchmarks/bench_prepare.py                 # 100k and 1M messages
    python benchmarks/bench_prepare.py 200k --repeat 2
    python benchmarks/bench_prepare.py 1M --profile    # cProfile + time/RSS per step of prepare

Exports are generated once and cached in benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
sys.path.insert(0, str(ROOT))  # tests/support/synth.py makes the exports
SPEEDUP_TARGET = 6.0  # at least 6x faster than the plain way (issue 10)
MEMORY_TARGET = 0.35  # at most 35% of the plain way's peak memory (issue 10)
WHATSAPP_TARGET = 2.0  # a WhatsApp .txt: at most 2x the Telegram CLI's time per message (sources issue)
TARGET_MESSAGES = 1_000_000  # the export size the targets are set for

IMPLS = {
    "plain": "plain json.load",
    "cli": "chatlike CLI",
    "cli_off": "CLI, no near-dups",
    "inproc": "chatlike in-proc",
    "msgspec": "msgspec decode alone",
    "jsonload": "json.load alone",
    "whatsapp": "WhatsApp CLI",
}


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def export_for(n: int) -> Path:
    """The cached export of n messages (tests/support/synth.py's large_export), generated if absent."""
    from tests.support.synth import large_export

    path = DATA / f"export-{n}.json"
    if not path.exists():
        print(f"generating {path.name} ({n:,} messages)…", file=sys.stderr, flush=True)
        t = time.perf_counter()
        DATA.mkdir(parents=True, exist_ok=True)
        large_export(path, n, seed=0)
        print(f"  {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


def whatsapp_for(n: int) -> Path:
    """The cached WhatsApp .txt of n messages (tests/support/synth_sources.py's large_whatsapp)."""
    from tests.support.synth_sources import large_whatsapp

    path = DATA / f"whatsapp-{n}.txt"
    if not path.exists():
        print(f"generating {path.name} ({n:,} messages)…", file=sys.stderr, flush=True)
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        large_whatsapp(tmp, n, seed=0)
        tmp.replace(path)
    return path


# ---- workers: each runs in its own process and prints {"work_s": ...} as its last line ----


def _prepare_config(export: str):
    from chatlike.config import Config

    cfg = Config()
    cfg.source.path = export
    cfg.stages = ["prepare"]
    return cfg


def _decode_all(data: bytes):
    """Every message of every chat typed as chatlike's RawMessage in one msgspec decode: the floor."""
    import msgspec

    from chatlike.data.sources.telegram import RawMessage

    chat = msgspec.defstruct("Chat", [("messages", list[RawMessage], [])], gc=False)
    chats = msgspec.defstruct("Chats", [("list", list[chat], [])], gc=False)
    root = msgspec.defstruct(
        "Root",
        [
            ("chats", chats | None, None),
            ("left_chats", chats | None, None),
            ("messages", list[RawMessage] | None, None),
        ],
        gc=False,
    )
    return msgspec.json.Decoder(root, strict=False).decode(data)  # as chatlike: "123" dates -> int


def worker(mode: str, export: str, out: str) -> None:
    t = time.perf_counter()
    if mode == "plain":
        sys.path.insert(0, str(HERE))
        import plain_prepare

        plain_prepare.main(export, out)
    elif mode == "inproc":
        from chatlike.stages import prepare

        prepare.run(_prepare_config(export), Path(out))
    elif mode == "msgspec":
        assert _decode_all(Path(export).read_bytes()) is not None
    elif mode == "jsonload":
        with open(export, encoding="utf-8") as f:
            assert json.load(f) is not None
    else:
        raise SystemExit(f"unknown worker {mode}")
    print(json.dumps({"work_s": time.perf_counter() - t}))


def measure(cmd: list[str], log: Path) -> dict | None:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with open(log, "w") as f:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"failed ({proc.returncode}): {' '.join(cmd)}\n" + "\n".join(tail), file=sys.stderr)
        return None
    work = None
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if line.startswith('{"work_s"'):
            work = json.loads(line)["work_s"]
            break
    return {"wall": wall, "work": work, "rss_mb": usage.ru_maxrss / 1024}


def run_impl(impl: str, export: Path, out: Path) -> dict | None:
    if impl == "whatsapp":
        cmd = [
            sys.executable,
            "-m",
            "chatlike",
            f"source.path={export}",
            "source.me=Pasquale Esposito",
            f"hydra.run.dir={out}",
            "stages=[prepare]",
        ]
    elif impl in ("cli", "cli_off"):
        cmd = [
            sys.executable,
            "-m",
            "chatlike",
            f"source.path={export}",
            f"hydra.run.dir={out}",
            "stages=[prepare]",
            *(["split.near_duplicate_threshold=null"] if impl == "cli_off" else []),
        ]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", impl, str(export), str(out)]
    return measure(cmd, out.with_suffix(".log"))


def same_outputs(a: Path, b: Path) -> bool:
    return all(
        (a / "data" / f"{s}.jsonl").read_bytes() == (b / "data" / f"{s}.jsonl").read_bytes()
        for s in ("train", "val", "test")
    )


def bench(n: int, impls: list[str], repeat: int) -> None:
    export = export_for(n)
    mb = export.stat().st_size / 1e6
    scratch = Path(tempfile.mkdtemp(prefix="chatlike-bench-"))
    try:
        best: dict[str, dict] = {}
        for r in range(repeat):
            for impl in impls:
                out = scratch / f"{impl}-{r}"
                res = run_impl(impl, whatsapp_for(n) if impl == "whatsapp" else export, out)
                if res is None:
                    continue
                print(
                    f"  run {r + 1}/{repeat} {IMPLS[impl]:<22} {res['wall']:7.2f} s  {res['rss_mb']:7.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
                if impl not in best or res["wall"] < best[impl]["wall"]:
                    best[impl] = res
        checks = []
        # the plain way has no near-duplicate check: with it off, chatlike's splits are the same
        for impl in ("cli_off",):
            if "plain" in best and impl in best:
                ok = same_outputs(scratch / "plain-0", scratch / f"{impl}-0")
                checks.append(f"{IMPLS[impl]} JSONL {'==' if ok else '!='} plain JSONL")
        print_table(n, mb, best, repeat, checks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def print_table(n: int, mb: float, best: dict[str, dict], repeat: int, checks: list[str]) -> None:
    plain = best.get("plain")
    print(
        f"\n{n:,} messages, {mb:.0f} MB export (best of {repeat}; wall = whole process, "
        "work = inside it after imports)"
    )
    head = f"{'implementation':<22} {'wall s':>7} {'work s':>7} {'peak MB':>8} {'speed-up':>9} {'memory':>7}  target"
    print(head)
    print("-" * len(head))
    for impl, res in best.items():
        speed = mem = verdict = ""
        if impl == "whatsapp" and "cli" in best:  # the same number of messages: time per message
            ratio = res["wall"] / best["cli"]["wall"]
            verdict = f"{ratio:.2f}x the Telegram CLI's time per message"
            if n >= TARGET_MESSAGES:
                verdict += f": {'PASS' if ratio <= WHATSAPP_TARGET else 'FAIL'}"
        elif plain and impl != "plain":
            s, m = plain["wall"] / res["wall"], res["rss_mb"] / plain["rss_mb"]
            speed, mem = f"{s:.1f}x", f"{m:.0%}"
            if impl in ("cli", "cli_off", "inproc") and n >= TARGET_MESSAGES:
                verdict = (
                    f"speed {'PASS' if s >= SPEEDUP_TARGET else 'FAIL'}, "
                    f"memory {'PASS' if m <= MEMORY_TARGET else 'FAIL'}"
                )
        work = f"{res['work']:7.2f}" if res["work"] is not None else f"{'':>7}"
        print(
            f"{IMPLS[impl]:<22} {res['wall']:7.2f} {work} {res['rss_mb']:8.0f} {speed:>9} {mem:>7}  {verdict}"
        )
    print(
        f"targets (issue 10, for a {TARGET_MESSAGES:,}-message export): >= {SPEEDUP_TARGET:.0f}x faster than "
        f"plain (wall), <= {MEMORY_TARGET:.0%} of its peak memory; a WhatsApp .txt <= {WHATSAPP_TARGET:.0f}x "
        "the Telegram CLI's time per message"
    )
    for c in checks:
        print(f"check: {c}")


# ---- profiling ----


def _rss_mb() -> tuple[float, float]:
    """(current, peak so far) resident memory of this process in MB."""
    import resource

    with open("/proc/self/statm") as f:
        current = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steps_worker(export: str, out: str) -> None:
    """Time and RSS after each step prepare.run calls directly (the names its code uses, wrapped)."""
    import types

    from chatlike.stages import prepare

    rows = []

    def wrap(name, fn):
        def inner(*a, **k):
            t = time.perf_counter()
            result = fn(*a, **k)
            rows.append((name, time.perf_counter() - t, *_rss_mb()))
            return result

        return inner

    t = time.perf_counter()
    from chatlike.data import plots  # prepare.run imports it to draw: imported here, timed apart

    plots_import = time.perf_counter() - t
    prepare.plots = plots
    used = set(prepare.run.__code__.co_names) | {"plots"}
    for name in used - {"run"}:
        value = getattr(prepare, name, None)
        if isinstance(value, types.FunctionType) and value.__module__.startswith("chatlike"):
            setattr(prepare, name, wrap(name, value))
        elif (
            isinstance(value, type) and value.__module__.startswith("chatlike") and "__call__" in vars(value)
        ):
            value.__call__ = wrap(f"{name}.__call__", vars(value)["__call__"])  # per-chat steps
        elif isinstance(value, types.ModuleType) and value.__name__.startswith("chatlike"):
            for attr in used & set(vars(value)):
                fn = getattr(value, attr)
                if isinstance(fn, types.FunctionType):
                    setattr(value, attr, wrap(f"{name}.{attr}", fn))
    t = time.perf_counter()
    prepare.run(_prepare_config(export), Path(out))
    total = time.perf_counter() - t
    print(f"\nsteps of prepare.run (in call order; RSS after the step; total {total:.2f} s)")
    print(f"{'step':<26} {'calls':>6} {'seconds':>8} {'RSS MB':>8} {'peak MB':>8}")
    merged: dict[str, list] = {}
    for name, s, cur, peak in rows:
        m = merged.setdefault(name, [0, 0.0, 0.0, 0.0])
        m[0] += 1
        m[1] += s
        m[2], m[3] = cur, peak
    for name, (calls, s, cur, peak) in merged.items():
        print(f"{name:<26} {calls:>6} {s:8.2f} {cur:8.0f} {peak:8.0f}")
    rest = total - sum(m[1] for m in merged.values())
    print(f"{'(the rest of run)':<26} {'':>6} {rest:8.2f}")
    print(
        f"{'import chatlike.data.plots':<26} {1:>6} {plots_import:8.2f}  (matplotlib; in run when it draws)"
    )


def profile_worker(export: str, out: str, top: int = 25) -> None:
    import cProfile
    import pstats

    from chatlike.stages import prepare

    cfg = _prepare_config(export)
    prof = cProfile.Profile()
    prof.enable()
    prepare.run(cfg, Path(out))
    prof.disable()
    for key in ("cumulative", "tottime"):
        print(f"\n==== top {top} by {key} ====")
        pstats.Stats(prof, stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(top)


def profile(n: int) -> None:
    export = export_for(n)
    with tempfile.TemporaryDirectory(prefix="chatlike-prof-") as tmp:
        for mode in ("steps", "profile"):
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                mode,
                str(export),
                f"{tmp}/{mode}",
            ]
            env = os.environ | {"PYTHONPATH": str(ROOT)}
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", default=["100k", "1M"], help="messages per export, e.g. 100k 1M")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each implementation; the best is shown")
    ap.add_argument("--only", default=",".join(IMPLS), help=f"comma-separated subset of {','.join(IMPLS)}")
    ap.add_argument("--profile", action="store_true", help="profile chatlike's prepare in-process instead")
    ap.add_argument("--worker", nargs=3, metavar=("MODE", "EXPORT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        mode, export, out = args.worker
        {"steps": steps_worker, "profile": profile_worker}.get(mode, lambda e, o: worker(mode, e, o))(
            export, out
        )
        return
    sizes = [parse_size(s) for s in args.sizes]
    if args.profile:
        for n in sizes:
            profile(n)
        return
    impls = [i for i in args.only.split(",") if i]
    unknown = set(impls) - set(IMPLS)
    if unknown:
        raise SystemExit(f"unknown implementation(s) {sorted(unknown)}; choose from {list(IMPLS)}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}")
    for n in sizes:
        bench(n, impls, args.repeat)


if __name__ == "__main__":
    main()
