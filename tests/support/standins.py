"""Stand-ins served over real HTTP on 127.0.0.1 for the bot's tests: the part of Telegram's Bot API
the bot uses (https://core.telegram.org/bots/api), and an OpenAI-compatible server with a fixed
reply (for what the tiny clone never says by itself, such as a phone number)."""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Clone", "username": "clone_test_bot"}


def _params(content_type: str, body: bytes) -> dict:
    """A Bot API call's parameters: JSON, a form, or multipart; complex values arrive as JSON text."""
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}")
    if content_type.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        return {
            part.get_param("name", header="content-disposition"): part.get_content()
            for part in msg.iter_parts()
        }
    return {k: v[-1] for k, v in parse_qs(body.decode()).items()}


class Server:
    """A ThreadingHTTPServer in a daemon thread; `url` is its base. `down()` stops listening (a
    client's connection is refused), `up()` listens again on the same port."""

    def __init__(self, handler_class):
        self.handler_class = handler_class
        self._listen(0)
        self.url = f"http://127.0.0.1:{self.port}"

    def _listen(self, port: int) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self.handler_class)
        self.httpd.standin = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def down(self) -> None:
        self.close()

    def up(self) -> None:
        self._listen(self.port)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _TelegramHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _, _, rest = self.path.partition("/bot")
        token, _, method = rest.partition("/")
        params = _params(self.headers.get("Content-Type", ""), body)
        status, answer = self.server.standin.call(token, method, params)  # type: ignore[attr-defined]
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the bot gave up waiting (a stalled answer)
            pass

    do_GET = do_POST


class TelegramStandin(Server):
    """getMe, getUpdates (long polling over a queue the test fills), sendMessage, sendChatAction,
    answerCallbackQuery, editMessageReplyMarkup, deleteWebhook; every call is kept in `calls`.
    As Telegram, it refuses a message to a user who has never written to the bot (403)."""

    def __init__(self, token: str):
        super().__init__(_TelegramHandler)
        self.token = token
        self.updates: list[dict] = []
        self.calls: list[tuple[str, dict, float]] = []
        self.faults: dict[str, list[tuple[int, dict]]] = {}
        self.stalls: dict[str, list[float]] = {}
        self.started: set[int] = set()  # users who wrote to the bot: it may write to them
        self.cond = threading.Condition()
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)

    # -- what the test does -----------------------------------------------------------------------

    def say(
        self, user_id: int, text: str, username: str | None = None, first_name: str = "Friend",
        reply_to: dict | None = None,
    ) -> None:  # fmt: skip
        """A user writes to the bot in their private chat (answering `reply_to`, one of the bot's
        messages as sent(), when given: Telegram's reply)."""
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        self.say_in(chat, user_id, text, username, first_name, reply_to)

    def say_in_group(self, group_id: int, user_id: int, text: str, username: str | None = None) -> None:
        """A user writes in a group the bot is in."""
        self.say_in({"id": group_id, "type": "group", "title": "A group"}, user_id, text, username, "Friend")

    def say_in(
        self, chat: dict, user_id: int, text: str, username: str | None, first_name: str,
        reply_to: dict | None = None,
    ) -> None:  # fmt: skip
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        message = {"message_id": next(self.message_ids), "date": int(time.time()), "chat": chat, "from": user,
                   "text": text}  # fmt: skip
        if reply_to is not None:
            message["reply_to_message"] = {"message_id": reply_to["message_id"], "date": int(time.time()),
                                           "chat": chat, "from": BOT_USER, "text": reply_to["text"]}  # fmt: skip
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if chat["type"] == "private":
            self.started.add(user_id)
        self._push({"message": message})

    def press(self, user_id: int, message: dict, data: str) -> None:
        """A user presses an inline button under one of the bot's messages."""
        self.started.add(user_id)
        query = {
            "id": str(next(self.update_ids) * 1000),
            "from": {"id": user_id, "is_bot": False, "first_name": "Owner"},
            "chat_instance": "1",
            "message": message,
            "data": data,
        }
        self._push({"callback_query": query})

    def fail_next(self, method: str, status: int, description: str, **parameters) -> None:
        """The next call of `method` fails as Telegram fails it (e.g. 429 with retry_after)."""
        error = {"ok": False, "error_code": status, "description": description}
        if parameters:
            error["parameters"] = parameters
        self.faults.setdefault(method, []).append((status, error))

    def stall_next(self, method: str, seconds: float) -> None:
        """The next call of `method` is done (a message: delivered), but its answer comes only after
        `seconds`, as when the network loses it."""
        self.stalls.setdefault(method, []).append(seconds)

    def sent(self, chat_id: int) -> list[dict]:
        """The messages the bot sent to a chat (sendMessage's parameters), in order."""
        return [
            p
            for m, p, _ in list(self.calls)
            if m == "sendMessage" and int(p["chat_id"]) == chat_id and "ok" in p
        ]

    def wait_sent(self, chat_id: int, count: int, timeout: float = 120) -> list[dict]:
        end = time.time() + timeout
        while len(self.sent(chat_id)) < count:
            assert time.time() < end, (
                f"{len(self.sent(chat_id))} of {count} messages to {chat_id}: {self.calls}"
            )
            time.sleep(0.05)
        return self.sent(chat_id)

    def methods(self, name: str) -> list[dict]:
        return [p for m, p, _ in list(self.calls) if m == name]

    # -- what the bot calls -----------------------------------------------------------------------

    def _push(self, update: dict) -> None:
        with self.cond:
            self.updates.append({"update_id": next(self.update_ids), **update})
            self.cond.notify_all()

    def call(self, token: str, method: str, params: dict) -> tuple[int, dict]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        record = dict(params)
        self.calls.append((method, record, time.time()))
        faults = self.faults.get(method)
        if faults:
            return faults.pop(0)
        chat_id = int(params.get("chat_id") or 0)
        if method == "sendMessage" and chat_id > 0 and chat_id not in self.started:
            return 403, {"ok": False, "error_code": 403,
                         "description": "Forbidden: bot can't initiate conversation with a user"}  # fmt: skip
        record["ok"] = True
        stalls = self.stalls.get(method)
        if stalls:
            time.sleep(stalls.pop(0))
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in ("sendMessage", "editMessageReplyMarkup"):
            result = self._message(params)
            record["message_id"] = result["message_id"]
            return 200, {"ok": True, "result": result}
        if method in ("sendChatAction", "answerCallbackQuery", "deleteWebhook", "close", "logOut"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": f"Not Found: method {method}"}

    def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        deadline = time.time() + min(float(params.get("timeout") or 0), 1.0)
        with self.cond:
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset]
                if ready or time.time() >= deadline:
                    return ready
                self.cond.wait(max(0.0, deadline - time.time()))

    def _message(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": int(params.get("message_id") or next(self.message_ids)),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return message


class _ModelHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # /v1/models: the bot asks before it starts
        standin = self.server.standin  # type: ignore[attr-defined]
        data = json.dumps(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in standin.models]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        standin = self.server.standin  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        standin.requests.append({**body, "_t": time.time(), "_auth": self.headers.get("Authorization")})
        time.sleep(standin.delay_s)
        if standin.fail_after is not None and len(standin.requests) > standin.fail_after:
            data = json.dumps({"error": {"message": "the stand-in fails", "type": "server_error"}}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        reply = standin.reply(body) if callable(standin.reply) else standin.reply
        answer = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "standin"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(answer).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting
            pass


class ModelStandin(Server):
    """POST /v1/chat/completions answers `reply` (or `reply(request body)`) after `delay_s`, and
    after `fail_after` answers fails every request (500); the requests are kept (`_t`: when).
    GET /v1/models lists `models`."""

    def __init__(self, reply, models: tuple[str, ...] = ("smoke",), fail_after: int | None = None):
        super().__init__(_ModelHandler)
        self.reply, self.delay_s, self.models, self.fail_after = reply, 0.0, models, fail_after
        self.requests: list[dict] = []
