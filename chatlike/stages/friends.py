"""friends: can my friends tell my clone from me? A local web page (chatlike.friends.web) shows each
friend held-out conversations of the chats I name with two replies, mine and the clone's, and asks
which is mine; every answer goes to RUN/eval/friends.jsonl at once, and the pass rate (how often the
clone's reply was taken for mine) to eval/results.json and the report as it comes.

Reads RUN/eval/samples.jsonl (run eval first) and RUN/data/chats.json; keeps each friend's link in
RUN/eval/friends_tokens.json (the owner's only), so links and answers survive a restart.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import msgspec

from chatlike.config import Config
from chatlike.data.chats import ChatIndex, read_chats
from chatlike.errors import ChatlikeError
from chatlike.eval import report
from chatlike.eval.results import read_results, write_results
from chatlike.files import write_bytes
from chatlike.friends import quiz
from chatlike.rundir import RunDir


def run(cfg: Config, run_dir: Path) -> None:
    f, run = cfg.friends, RunDir(run_dir)
    if not f.names:
        raise ChatlikeError(
            "friends: name the friends to ask, e.g. 'friends.names=[Anna, Marco]': one link each"
        )
    index = read_chats(run.chats)
    shown = _chats(f.chats, index)  # by key
    try:
        data = run.eval_samples.read_bytes()
    except FileNotFoundError:
        raise ChatlikeError(
            f"{run.eval_samples} is missing: run the eval stage first ('stages=[eval]')"
        ) from None
    samples = [msgspec.json.decode(line) for line in data.splitlines() if line.strip()]
    items = [it for it in quiz.items_of(samples, index.me, f.context_messages) if it.chat in shown]
    read_results(run.eval_results)  # eval's results must be there to take the pass rate
    fingerprint = quiz.fingerprint(data)
    answers = quiz.current(_answers(run.friends_answers), fingerprint)
    tokens = _tokens(run.friends_tokens, f.names)
    from chatlike.friends.web import Friend, Test

    friends = []
    for name in f.names:
        own = {c.key for c in index.chats if name == c.name or name in c.members}
        theirs = [it for it in items if f.show_own_chat or it.chat not in own]
        if not theirs:
            raise ChatlikeError(
                f"friends: no held-out reply of {', '.join(shown.values())} to show {name} (their own chat is left "
                "out unless friends.show_own_chat=true); name more chats in friends.chats"
            )
        friend = Friend(name, tokens[name], quiz.plan(theirs, name, f.items, f.seed))
        friend.answers = {
            n: a for n, a in answers.get(name, {}).items() if any(i.number == n for i, _ in friend.plan)
        }
        friends.append(friend)

    def update() -> None:
        """The pass rate into eval/results.json and the report's eval section."""
        by_friend = {fr.name: fr.answers for fr in friends}
        results = msgspec.structs.replace(
            read_results(run.eval_results), friends=quiz.results(by_friend, f.names, f.items)
        )
        write_results(run.eval_results, results)
        report.write_section(run.root, results)

    if any(fr.answers for fr in friends):
        update()
    test = Test(friends, run.friends_answers, fingerprint, index.me, update)
    serve(test, f.host, f.port, shown, run)


def serve(test, host: str, port: int, shown: dict[str, str], run: RunDir) -> None:
    """Print each friend's link, then serve the page until Ctrl-C or SIGTERM."""
    import uvicorn

    from chatlike.friends.web import app
    from chatlike.model.serve import is_loopback, listen

    sock = listen(host, port, "friends.port")  # bound before the links are printed: a click is never refused
    where = host if is_loopback(host) or host not in ("0.0.0.0", "::") else _this_machine()
    print(f"friends: {', '.join(shown.values())}: send each friend their own link (it is their key):")
    for friend in test.friends:
        done = f" ({len(friend.answers)} of {len(friend.plan)} answered)" if friend.answers else ""
        print(f"  {friend.name}: http://{where}:{port}/f/{friend.token}{done}")
    print(f"  answers: {run.friends_answers}; the pass rate: {run.eval_results} and {run.report}")
    if not is_loopback(host):
        print(f"friends: listening on {host}: anyone on your network with a link can answer as its friend")
    print("  Ctrl-C stops it", flush=True)
    # no access log: a request's line holds the friend's token
    config = uvicorn.Config(app(test), host=host, port=port, log_level="warning", access_log=False)
    try:
        # uvicorn handles SIGINT and SIGTERM, then raises the signal again
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("friends: stopped", flush=True)


def _chats(names: list[str], index: ChatIndex) -> dict[str, str]:
    """The chats friends may read, as friends.chats names them (ChatIndex.find): key -> name."""
    if not names:
        listing = ", ".join(index.refs().values())
        raise ChatlikeError(
            "friends: name the chats whose held-out conversations your friends may read, e.g. "
            f"'friends.chats=[{index.chats[0].name}]' (the chats of this run: {listing}); they read them, redacted"
        )
    refs = index.refs()
    return {c.key: refs[c.key] for c in (index.find(name, "friends.chats") for name in names)}


def _answers(path: Path) -> list[quiz.Answer]:
    """RUN/eval/friends.jsonl as it is (none when it is not there yet); one line naming a bad line."""
    if not path.is_file():
        return []
    decoder = msgspec.json.Decoder(quiz.Answer)
    out = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                out.append(decoder.decode(line))
            except msgspec.DecodeError as exc:
                raise ChatlikeError(
                    f"{path}:{number}: not a friend's answer ({exc}); remove that line"
                ) from None
    return out


def _tokens(path: Path, names: list[str]) -> dict[str, str]:
    """Each friend's token: those given before (their links keep working), a new one for a new name."""
    decoder = msgspec.json.Decoder(dict[str, str])
    try:
        tokens = decoder.decode(path.read_bytes())
    except FileNotFoundError:
        tokens = {}
    except msgspec.DecodeError as exc:
        raise ChatlikeError(
            f"{path}: not chatlike's friends' links ({exc}); delete it to make new links"
        ) from None
    missing = [n for n in names if n not in tokens]
    if missing:
        tokens |= {n: secrets.token_urlsafe(18) for n in missing}
        write_bytes(path, msgspec.json.format(msgspec.json.encode(tokens), indent=2) + b"\n", private=True)
    return tokens


def _this_machine() -> str:
    """This machine's address on its network (for links friends open elsewhere); its name when unknown."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: it only picks the outgoing interface
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()
