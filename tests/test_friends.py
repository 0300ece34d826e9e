"""The friends' test: which conversations each friend judges, the pass rate and its interval, the
stage's one-line refusals, and the page itself driven by a real browser (headless Chromium) against
the real stage serving an evaluated smoke run."""

import json
import re
import shutil
import signal
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, Serving, free_port, run_cli

from chatlike.eval.results import read_results
from chatlike.friends import quiz

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "outputs" / "test_artifacts" / "friends"


def sample(i: int, chat: str = "Lorenzo", real: str | None = None, tuned: str | None = None) -> dict:
    return {
        "chat": f"telegram:{len(chat)}",
        "contact": chat,
        "context": [{"role": "system", "content": "You are Pasquale."},
                    {"role": "user", "name": chat, "content": f"domanda {i}? chiamami al 333 1234567"},
                    {"role": "assistant", "name": "Pasquale", "content": "dimmi"}],
        "real": real if real is not None else f"vero {i}",
        "tuned": tuned if tuned is not None else f"clone {i}",
    }  # fmt: skip


def answer(friend: str, item: int, picked: str, eval_: str = "e1") -> quiz.Answer:
    return quiz.Answer(friend, item, picked, "A", "2026-12-03T10:00:00+00:00", eval_)


# ---- which conversations, in which order -------------------------------------------------------


def test_an_item_shows_the_end_of_its_conversation_redacted_and_identical_replies_are_left_out():
    items = quiz.items_of(
        [sample(0), sample(1, real="uguale", tuned="uguale ")], "Pasquale", context_messages=6
    )
    (item,) = items
    assert item.number == 0 and item.chat == "telegram:7" and (item.real, item.clone) == ("vero 0", "clone 0")
    assert [(line.who, line.mine) for line in item.context] == [("Lorenzo", False), ("Pasquale", True)]
    assert item.context[0].text == "domanda 0? chiamami al <PHONE>"  # the system prompt is not shown
    assert len(quiz.items_of([sample(0)], "Pasquale", context_messages=1)[0].context) == 1


def test_each_friend_gets_their_own_seeded_order_none_twice_and_both_sides():
    items = quiz.items_of([sample(i) for i in range(30)], "Pasquale", 6)
    anna = quiz.plan(items, "Anna", 10, seed=0)
    assert anna == quiz.plan(items, "Anna", 10, seed=0) != quiz.plan(items, "Marco", 10, seed=0)
    assert len({item.number for item, _ in anna}) == 10
    assert {side for _, side in anna} == {"A", "B"}
    assert len(quiz.plan(items[:4], "Anna", 10, seed=0)) == 4  # fewer when there are fewer


def test_only_the_first_answer_to_an_item_of_this_eval_counts():
    answers = [answer("Anna", 1, "clone"), answer("Anna", 1, "real"), answer("Anna", 2, "real", eval_="old")]
    assert quiz.current(answers, "e1") == {"Anna": {1: answers[0]}}


# ---- the number ----------------------------------------------------------------------------------


def test_the_pass_rate_is_the_share_taken_for_mine_with_its_wilson_interval():
    rate = quiz.pass_rate([answer("Anna", i, "clone" if i < 7 else "real") for i in range(10)])
    assert (rate.fooled, rate.answers, rate.rate) == (7, 10, 0.7)
    # Wilson: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96
    assert rate.low == pytest.approx(0.3968, abs=1e-4) and rate.high == pytest.approx(0.8922, abs=1e-4)
    none = quiz.pass_rate([])
    assert (none.answers, none.rate, none.low) == (0, None, None)


def test_results_hold_each_friend_and_everyone_together():
    by_friend = {"Anna": {1: answer("Anna", 1, "clone")}, "Marco": {1: answer("Marco", 1, "real")}}
    out = quiz.results(by_friend, ["Anna", "Marco", "Sara"], items=10)
    assert (out.overall.fooled, out.overall.answers) == (1, 2) and out.items == 10
    assert out.friends["Anna"].rate == 1.0 and out.friends["Marco"].rate == 0.0
    assert out.friends["Sara"].answers == 0


# ---- the stage -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated(trained_run, tmp_path_factory):
    """The session's trained smoke run, evaluated (a few held-out replies): what friends judge."""
    run = tmp_path_factory.mktemp("friends") / "run"
    shutil.copytree(
        trained_run, run, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "serve*", "bot")
    )
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[eval]", "eval.max_samples=16",
            "eval.blind_pairs=2", check=True)  # fmt: skip
    return run


def chats_of(run: Path) -> list[str]:
    return [c["name"] for c in json.loads((run / "data" / "chats.json").read_text())["chats"]]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "friends: name the friends to ask, e.g. 'friends.names=[Anna, Marco]'"),
        (["friends.names=[Anna]"], "friends: name the chats whose held-out conversations your friends may read"),
        (["friends.names=[Anna]", "friends.chats=[Nobody]"], "friends.chats names 'Nobody', not a chat of this run; choose one of:"),
        (["friends.names=[Anna, Anna]"], "friends.names has a name twice"),
    ],
)  # fmt: skip
def test_the_stage_refuses_in_one_line_what_it_cannot_do(evaluated, overrides, message):
    proc = run_cli("experiment=smoke", f"hydra.run.dir={evaluated}", "stages=[friends]", *overrides)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr


def test_before_eval_there_is_nothing_to_show(tmp_path):
    run_cli(f"hydra.run.dir={tmp_path}", "stages=[prepare]", check=True)
    proc = run_cli(
        f"hydra.run.dir={tmp_path}", "stages=[friends]", "friends.names=[Anna]", "friends.chats=[Lorenzo]"
    )
    assert proc.returncode == 1 and "samples.jsonl is missing: run the eval stage first" in proc.stderr


def test_a_friend_is_never_shown_their_own_chat_unless_the_owner_asks(evaluated):
    (chat,) = chats_of(evaluated)[:1]
    proc = run_cli("experiment=smoke", f"hydra.run.dir={evaluated}", "stages=[friends]",
                   f"friends.names=[{chat}]", f"friends.chats=[{chat}]")  # fmt: skip
    assert proc.returncode == 1 and f"to show {chat} (their own chat is left out" in proc.stderr


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)"
)
def test_a_friend_answers_every_item_in_a_real_browser_and_the_pass_rate_is_theirs(evaluated):
    from playwright.sync_api import sync_playwright

    chats = ",".join(chats_of(evaluated)[:3])
    port = free_port()
    server = Serving("experiment=smoke", f"hydra.run.dir={evaluated}", "friends.names=[Anna, Marco]",
                     f"friends.chats=[{chats}]", "friends.items=5", f"friends.port={port}",
                     stages="stages=[friends]")  # fmt: skip
    try:
        server.wait_for("Ctrl-C stops it", timeout=120)
        links = dict(re.findall(r"^  (Anna|Marco): (http://\S+)$", server.output, re.M))
        assert set(links) == {"Anna", "Marco"} and links["Anna"] != links["Marco"]
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/f/[A-Za-z0-9_-]{{24}}", links["Anna"])
        assert get(f"http://127.0.0.1:{port}/f/not-a-token") == (404, "Not Found")
        assert get(f"http://127.0.0.1:{port}/")[0] == 404

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # Anna takes reply A every time: the record says which side was mine
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(links["Anna"])
            for n in range(1, 6):
                assert f"conversation {n} of 5" in page.inner_text(".progress")
                assert page.locator("button").count() == 2
                if n == 1:
                    page.screenshot(path=str(ARTIFACTS / "question.png"), full_page=True)
                    page.reload()  # a reload shows the same question, answers nothing
                    assert "conversation 1 of 5" in page.inner_text(".progress")
                page.click("button[value=A]")
            result = page.inner_text("main")
            page.screenshot(path=str(ARTIFACTS / "result.png"), full_page=True)
            browser.close()
        assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in requests)  # nothing from elsewhere

        lines = [json.loads(line) for line in (evaluated / "eval" / "friends.jsonl").read_text().splitlines()]
        assert [a["friend"] for a in lines] == ["Anna"] * 5 and len({a["item"] for a in lines}) == 5
        fooled = sum(a["real_side"] != "A" for a in lines)
        assert [a["picked"] for a in lines] == ["real" if a["real_side"] == "A" else "clone" for a in lines]
        assert f"You spotted the clone {5 - fooled} of 5 times." in result
        # the back button's page posted again: the item is answered already, nothing is recorded
        first = lines[0]["item"]
        body = f"item={first}&pick=B".encode()
        urllib.request.urlopen(urllib.request.Request(links["Anna"], data=body), timeout=10).read()
        assert len((evaluated / "eval" / "friends.jsonl").read_text().splitlines()) == 5
        assert stat.S_IMODE((evaluated / "eval" / "friends.jsonl").stat().st_mode) == 0o600
        assert stat.S_IMODE((evaluated / "eval" / "friends_tokens.json").stat().st_mode) == 0o600
        friends = read_results(evaluated / "eval" / "results.json").friends
        assert (friends.friends["Anna"].fooled, friends.friends["Anna"].answers) == (fooled, 5)
        assert friends.friends["Marco"].answers == 0 and friends.overall.answers == 5
        assert "**Friends' test**" in (evaluated / "report.md").read_text()
        assert links["Anna"].rsplit("/", 1)[1] not in server.output.replace(
            links["Anna"], ""
        )  # no access log
    finally:
        assert server.stop(signal.SIGINT) == 0
    assert "friends: stopped" in server.output

    # a restart keeps the links and the answers: Anna sees her result at once
    server = Serving("experiment=smoke", f"hydra.run.dir={evaluated}", "friends.names=[Anna, Marco]",
                     f"friends.chats=[{chats}]", "friends.items=5", f"friends.port={port}",
                     stages="stages=[friends]")  # fmt: skip
    try:
        server.wait_for("Ctrl-C stops it", timeout=120)
        assert f"  Anna: {links['Anna']} (5 of 5 answered)" in server.output
        status, html = get(links["Anna"])
        assert status == 200 and "You spotted the clone" in html
    finally:
        server.stop(signal.SIGTERM)
