"""Reading the chats of a big export in worker processes, each a contiguous run of chats of about
equal bytes, its result sent back in chat order (the same files as one process).

One forked process per run of chats: it inherits the read export (nothing is pickled to it) and
sends its result back through a pipe of its own. Not ProcessPoolExecutor: its workers share one
result pipe, and a worker killed halfway through sending (the out-of-memory killer, a user) leaves
the parent waiting forever for the rest of the message (measured: 1 hang in about 40 kills). A pipe
only that worker writes to ends when it dies, so the parent always learns of it.
"""

from __future__ import annotations

import os
import signal
from typing import Callable, TypeVar

from chatlike.config import Config
from chatlike.errors import ChatlikeError

PARALLEL_FROM_BYTES = 64 * 2**20  # smaller exports are read in one process: workers would not pay
T = TypeVar("T")


def worker_count(cfg: Config, export_bytes: int) -> int:
    """source.workers, or for 0 (auto) one per core once the export is big enough to pay for them."""
    if cfg.source.workers:
        return cfg.source.workers
    if export_bytes < PARALLEL_FROM_BYTES or cfg.segment.tokenizer or not hasattr(os, "fork"):
        return 1
    return min(os.cpu_count() or 1, 8)


def chunks(sizes: list[int], n: int) -> list[tuple[int, int]]:
    """Contiguous ranges of chats of about equal bytes, at most n of them, in order."""
    total, out, start, acc = sum(sizes), [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= total * (len(out) + 1) / n and i + 1 < len(sizes):
            out.append((start, i + 1))
            start = i + 1
    out.append((start, len(sizes)))
    return out


def in_workers(
    task: Callable[[int, int], T], sizes: list[int], workers: int, where: str, advance: Callable[[int], None]
) -> list[T]:
    """task(lo, hi) over the chats [lo, hi) of every chunk, in order: in `workers` forked processes,
    or here for one; `advance(bytes)` as each chunk is done; `where` names the export in errors."""
    if workers <= 1 or len(sizes) < 2:
        result = task(0, len(sizes))
        advance(sum(sizes))
        return [result]
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    ranges = chunks(sizes, workers)
    started = []
    try:
        for lo, hi in ranges:
            receive, send = fork.Pipe(duplex=False)
            worker = fork.Process(target=_work, args=(send, task, lo, hi), daemon=True)
            worker.start()
            send.close()  # the worker holds the only writing end now
            started.append((worker, receive))
        results = []
        for (lo, hi), (_, receive) in zip(ranges, started):
            try:
                result = receive.recv()
            except EOFError:
                raise ChatlikeError(
                    f"{where}: a worker process reading the chats died (out of memory, or killed); "
                    "run again, or with source.workers=1"
                ) from None
            if isinstance(result, Exception):
                raise result
            results.append(result)
            advance(sum(sizes[lo:hi]))
    finally:  # done, failed or interrupted: no worker outlives the call
        for worker, receive in started:
            worker.terminate()
            worker.join()
            receive.close()
    return results


def _work(send, task: Callable[[int, int], object], lo: int, hi: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the workers
    try:
        result = task(lo, hi)
    except Exception as exc:  # a bad chat (ChatlikeError), or a bug: raised again in the parent
        result = exc
    send.send(result)
