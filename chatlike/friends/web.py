"""The friends' test as a local web page: Starlette (with uvicorn, both already installed for
`transformers serve`; small, typed, well kept by Encode) and Jinja2 templates. Plain HTML forms and
inline CSS: no JavaScript, no font or script from a CDN, readable on a phone.

Each friend has a link with an unguessable token (`/f/<token>`); any other path or token is a bare
404. A question page posts the pick back to the same address, which records it and redirects to
the next question (post, redirect, get): a reload or the back button never answers twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from chatlike.files import append_line
from chatlike.friends.quiz import Answer, Item

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape()
)


@dataclass
class Friend:
    name: str
    token: str
    plan: list[tuple[Item, str]]  # the items in order, each with the side my reply is on
    answers: dict[int, Answer] = field(default_factory=dict)  # by item number

    def next(self) -> tuple[int, Item, str] | None:
        """The first item not answered yet (its position, the item, my reply's side)."""
        for k, (item, side) in enumerate(self.plan):
            if item.number not in self.answers:
                return k, item, side
        return None


class Test:
    """Who has which link, their plans and answers; each answer appended to RUN/eval/friends.jsonl
    at once (one O_APPEND write), then `on_answer` (the stage updates eval/results.json)."""

    def __init__(self, friends: list[Friend], record: Path, fingerprint: str, me: str,
                 on_answer: Callable[[], None]):  # fmt: skip
        self.by_token = {f.token: f for f in friends}
        self.friends, self.record, self.fingerprint, self.me = friends, record, fingerprint, me
        self.on_answer = on_answer

    def answer(self, friend: Friend, number: int, pick: str) -> None:
        """Record the friend's pick ("A" or "B") for item `number`, unless it is not theirs or already answered."""
        side = next((s for item, s in friend.plan if item.number == number), None)
        if side is None or number in friend.answers or pick not in ("A", "B"):
            return
        answer = Answer(
            friend=friend.name,
            item=number,
            picked="real" if pick == side else "clone",
            real_side=side,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            eval=self.fingerprint,
        )
        append_line(self.record, msgspec.json.encode(answer).decode())
        friend.answers[number] = answer
        self.on_answer()


def app(test: Test) -> Starlette:
    """The page. Its handler is a coroutine: answers are recorded one at a time, in the event loop."""

    async def page(request: Request) -> Response:
        friend = test.by_token.get(request.path_params["token"])
        if friend is None:
            return PlainTextResponse("Not Found", status_code=404)
        if request.method == "POST":
            form = await request.form()
            try:
                test.answer(friend, int(str(form.get("item", ""))), str(form.get("pick", "")))
            except ValueError:  # not a form of ours: nothing to record
                pass
            return RedirectResponse(request.url.path, status_code=303)
        found = friend.next()
        if found is None:
            fooled = sum(a.picked == "clone" for a in friend.answers.values())
            html = _TEMPLATES.get_template("result.html").render(
                friend=friend.name,
                me=test.me,
                total=len(friend.answers),
                spotted=len(friend.answers) - fooled,
            )
            return HTMLResponse(html)
        k, item, side = found
        a, b = (item.real, item.clone) if side == "A" else (item.clone, item.real)
        html = _TEMPLATES.get_template("question.html").render(
            friend=friend.name, me=test.me, n=k + 1, total=len(friend.plan), item=item, a=a, b=b
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    return Starlette(
        routes=[Route("/f/{token}", page, methods=["GET", "POST"])],
        exception_handlers={404: not_found, 405: not_found},
    )
