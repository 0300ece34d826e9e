"""The clone as a Telegram bot (long polling), a client of the serve stage's OpenAI-compatible server.

Why aiogram 3: asyncio throughout, so several chats are answered at once while each waits on the
model; a documented custom Bot API server (`TelegramAPIServer.from_base`: a self-hosted server, or
a test's stand-in); request middlewares, where flood-wait retries belong, and the backoff its own
polling uses; `ChatActionSender` for "typing…". It also installs beside our stack as it is
(python-telegram-bot 22 would pull httpx back below the 0.29 we have).

Who gets an answer: the users (or groups) of bot.allow, each as the chat of data/chats.json it
names (ChatIndex.find: a name, or "whatsapp:Lorenzo" where two chats share it); everybody else one
polite refusal, and nothing of theirs reaches the model. Each chat keeps its history in the training
format (chatlike.conversation), trimmed to the model's context, and rebuilt from the record
(chatlike.bot.record) when the bot starts again; /forget is recorded too.

Draft mode: proposals go to the owner's private chat only (never a group the owner writes in), wait
there, bounded (bot.max_drafts), until the owner has started the bot, and are sent when the owner
presses Send. The owner corrects one by replying to it (Telegram's reply gesture; Edit explains it):
the correction is sent instead, and recorded beside the proposal, for the feedback stage.

Sending twice: Telegram's Bot API has no idempotency key, so a sendMessage whose answer was lost (a
read timeout, a dropped connection, a 5xx) may have been delivered; it is never resent (a log line
says so and the rest of that reply is dropped). Retried are only the calls that cannot have
been delivered (no connection was made: refused, DNS, TLS, connect timeout; or a 429, which
Telegram refused and says when to retry) and calls that are harmless to repeat (getMe, "typing…").
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import aiohttp
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import DeleteWebhook, GetMe, GetUpdates, SendChatAction
from aiogram.types import (
    CallbackQuery,
    Chat,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    User,
)
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiogram.utils.chat_action import ChatActionSender

from chatlike.bot.record import FORGET, Exchange, encode, histories, read_exchanges
from chatlike.config import Config, telegram_user_key
from chatlike.conversation import Conversation, Template, messages_of
from chatlike.data.chats import ChatIndex, ChatInfo
from chatlike.data.redact import redact
from chatlike.errors import ChatlikeError
from chatlike.files import append_line

log = logging.getLogger("chatlike.bot")
TELEGRAM_LIMIT = 4096  # characters of one Telegram text message
REPEATABLE = (GetMe, SendChatAction, DeleteWebhook)  # calls that change nothing when made twice
UNCONFIRMED = "unconfirmed, not sent again (it may have arrived)"
EDIT_HOW = ("To correct it, reply to this draft (swipe it, or Reply) with what you would send: "
            "{contact} gets yours instead, and the clone learns from it.")  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """Where the clone answers: an OpenAI-compatible base URL and the served model's name."""

    base_url: str
    model: str
    api_key: Optional[str]  # CHATLIKE_API_KEY when the server checks one; never printed


class Draft(CallbackData, prefix="draft"):
    """The owner's Send / Edit / Discard button under a proposed reply."""

    action: str  # send | edit (how to correct it) | discard
    id: int


@dataclass
class Proposal:
    telegram_chat: int
    chat: ChatInfo  # the chat of data/chats.json it plays
    messages: list[dict]  # what the model was given
    proposed: str
    outgoing: list[str]  # the Telegram messages it would send
    asked: str = ""  # draft mode: what the other side wrote, shown to the owner
    shown: bool = False  # draft mode: the owner has it (else it waits for the owner's /start)
    shown_id: Optional[int] = None  # draft mode: its message in the owner's chat, which a correction answers


def telegram_messages(reply: str, redact_replies: bool) -> list[str]:
    """A generated turn as the Telegram messages to send: one per message of the turn (training
    joined them with newlines), personal data redacted, none over Telegram's limit."""
    out = []
    for line in messages_of(reply):
        out += _chunks(redact(line) if redact_replies else line, TELEGRAM_LIMIT)
    return out


def _chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the last space when there is one."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces


def never_arrived(exc: TelegramNetworkError) -> bool:
    """Whether a failed call cannot have reached Telegram: no connection was made (refused, a name
    that does not resolve, TLS, a connect timeout). After a read timeout or a dropped connection
    Telegram may have done what was asked."""
    return isinstance(exc.__cause__, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


class Retry(BaseRequestMiddleware):
    """Retries what cannot send anything twice: a flood wait (429: Telegram refused the call) after
    its retry_after; a call that never reached Telegram, or one harmless to repeat (REPEATABLE),
    with backoff as aiogram's own polling does. A sendMessage whose answer was lost (a timeout, a
    5xx) may have been delivered: its error stands. After `tries`, every error stands."""

    def __init__(self, tries: int = 5):
        self.tries = tries

    async def __call__(self, make_request, bot, method):
        backoff = Backoff(BackoffConfig(min_delay=0.5, max_delay=20.0, factor=2.0, jitter=0.1))
        for attempt in itertools.count(1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= self.tries:
                    raise
                log.warning(
                    "telegram: flood wait on %s: retrying in %s s", type(method).__name__, exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                undone = isinstance(exc, TelegramNetworkError) and never_arrived(exc)
                if attempt >= self.tries or isinstance(method, GetUpdates):  # polling backs off itself
                    raise
                if not undone and not isinstance(method, REPEATABLE):  # it may have been done
                    raise
                log.warning("telegram: %s failed (%s); retrying", type(method).__name__, one_line(exc))
                await backoff.asleep()


class Redact(logging.Filter):
    """Takes the bot's token out of every log record (a library may log a URL holding it)."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = record.exc_text = None
        record.msg, record.args = text.replace(self.secret, "<TELEGRAM_BOT_TOKEN>"), ()
        return True


def check_allow(allow: dict[str, str], index: ChatIndex) -> dict[str, ChatInfo]:
    """bot.allow with each user (or group) as the chat of data/chats.json it names (ChatIndex.find:
    one line when a name is no chat of the run, or two)."""
    return {telegram_user_key(who): index.find(name, "bot.allow") for who, name in allow.items()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class CloneBot:
    """The state of the bot: who is allowed as whom, each chat's conversation, pending drafts."""

    def __init__(
        self,
        cfg: Config,
        index: ChatIndex,
        endpoint: Endpoint,
        template: Template,
        budget: int,
        record: Path,
    ):
        from openai import AsyncOpenAI

        self.cfg, self.b, self.index, self.endpoint = cfg, cfg.bot, index, endpoint
        self.template, self.budget, self.record = template, budget, record
        self.allow = check_allow(cfg.bot.allow, index)
        self.owner = telegram_user_key(self.b.owner) if self.b.owner is not None else None
        # the owner's private chat (its id is the owner's user id), where drafts go: known from a
        # numeric bot.owner, else once the owner writes to the bot privately; never a group
        self.owner_chat: Optional[int] = int(self.owner) if self.owner and self.owner.isdigit() else None
        self.client = AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key or "unused", timeout=self.b.reply_timeout_s,
            max_retries=0,
        )  # fmt: skip
        self.conversations: dict[int, Conversation] = {}
        # each chat's turns as the last run left them (RUN/bot/conversations.jsonl), taken up when
        # the chat next writes, if it still plays the same chat
        self.remembered = histories(read_exchanges(record))
        self.locks: dict[int, asyncio.Lock] = {}
        self.refused: set[str] = set()
        self.disclosed: set[int] = set()
        self.told_down: set[int] = set()  # chats told "can't answer" in this outage of the server
        self.drafts: dict[int, Proposal] = {}  # undecided, oldest first
        self.draft_ids = itertools.count(1)

    # -- who is who ---------------------------------------------------------------------------

    def _keys(self, user: User) -> list[str]:
        keys = [str(user.id)]
        if user.username:
            keys.append("@" + user.username.lower())
        return keys

    def is_owner(self, user: Optional[User]) -> bool:
        return user is not None and self.owner is not None and self.owner in self._keys(user)

    def whom(self, message: Message) -> Optional[tuple[ChatInfo, str]]:
        """The chat of data/chats.json this Telegram chat plays and who speaks; None when not allowed.
        A private chat is allowed by its user; a group by its own id (its members then speak under
        their name in bot.allow, else their Telegram name)."""
        user = message.from_user
        if user is None:
            return None
        person = next((self.allow[k] for k in self._keys(user) if k in self.allow), None)
        if message.chat.type == "private":
            return (person, person.name) if person is not None else None
        chat = self.allow.get(str(message.chat.id))
        if chat is None:
            return None
        speaker = person.name if person is not None and person.name in chat.members else user.full_name
        return chat, speaker

    def in_private(self, message: Message) -> bool:
        """Whether the owner wrote this in the owner's private chat with the bot."""
        return self.is_owner(message.from_user) and message.chat.type == "private"

    def conversation(self, chat_id: int, chat: ChatInfo) -> Conversation:
        conv = self.conversations.get(chat_id)
        if conv is None:
            key, turns = self.remembered.pop(chat_id, (chat.key, []))
            turns = turns if key == chat.key else []
            conv = Conversation.of(chat, self.index.me, self.cfg.persona.group_speaker_format, turns)
            self.conversations[chat_id] = conv
        return conv

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self.locks.setdefault(chat_id, asyncio.Lock())

    # -- what the bot does --------------------------------------------------------------------

    async def start(self, message: Message, bot: Bot) -> None:
        if self.whom(message) is None and not self.is_owner(message.from_user):
            await self.refuse(message)
            return
        await self.disclose(bot, message.chat.id, again=True)
        if self.in_private(message) and self.b.mode == "draft":
            await bot.send_message(
                message.chat.id, "You are the owner: each proposed reply comes here first."
            )
        await self.owner_here(message, bot)

    async def owner_here(self, message: Message, bot: Bot) -> None:
        """The owner wrote privately: that chat is where drafts go, and the waiting ones go now."""
        if not self.in_private(message):
            return
        self.owner_chat = message.chat.id
        for draft_id, proposal in list(self.drafts.items()):
            if not proposal.shown:
                await self.show(bot, draft_id)

    async def forget(self, message: Message, bot: Bot) -> None:
        found = self.whom(message)
        if found is None:
            await self.refuse(message)
            return
        chat, _ = found
        async with self.lock(message.chat.id):
            self.conversations.pop(message.chat.id, None)
            self.remembered.pop(message.chat.id, None)
            append_line(self.record, encode(Exchange(message.chat.id, chat.key, now(), event=FORGET)))
        log.info("bot: chat %s: history forgotten", message.chat.id)
        await bot.send_message(message.chat.id, "Forgotten: this chat starts afresh.")

    async def refuse(self, message: Message) -> None:
        """One polite refusal per person (per group, in a group not allowed); later messages are
        dropped without a word."""
        user = message.from_user
        key = str(user.id) if user is not None and message.chat.type == "private" else str(message.chat.id)
        if key in self.refused:
            return
        self.refused.add(key)
        log.info("bot: refused user %s (not in bot.allow)", key)
        await message.answer(self.b.refusal)

    async def disclose(self, bot: Bot, chat_id: int, again: bool = False) -> None:
        """Say, once per chat, that replies come from an AI (bot.disclosure; null = never)."""
        if self.b.disclosure is None or (chat_id in self.disclosed and not again):
            return
        self.disclosed.add(chat_id)
        await bot.send_message(chat_id, self.b.disclosure.format(owner=self.index.me))

    async def text(self, message: Message, bot: Bot) -> None:
        await self.owner_here(message, bot)
        if self.in_private(message) and message.reply_to_message is not None and self.b.mode == "draft":
            await self.correct(message, bot)
            return
        found = self.whom(message)
        if found is None:
            if not self.is_owner(message.from_user):
                await self.refuse(message)
            return
        chat, speaker = found
        chat_id = message.chat.id
        async with self.lock(chat_id):
            conv = self.conversation(chat_id, chat)
            conv.heard(speaker, message.text or "")
            conv.fit(self.template.count, self.budget)
            await self.disclose(bot, chat_id)
            messages = conv.messages()
            try:
                async with ChatActionSender.typing(bot=bot, chat_id=chat_id):
                    reply = await self.generate(messages)
            except Exception as exc:  # the model server is down, slow or refuses: the bot stays up
                log.warning(
                    "bot: chat %s: no reply from %s (%s)", chat_id, self.endpoint.base_url, one_line(exc)
                )
                if chat_id not in self.told_down:
                    self.told_down.add(chat_id)
                    await bot.send_message(chat_id, self.b.unavailable)
                return
            self.told_down.discard(chat_id)
            outgoing = telegram_messages(reply, self.b.redact_replies)
            proposal = Proposal(chat_id, chat, messages, reply, outgoing, asked=message.text or "")
            if self.b.mode == "draft":
                await self.propose(bot, proposal)
                return
            sent = await self.send(bot, conv, proposal)
            self.write(proposal, sent=sent, decision=None)

    async def generate(self, messages: list[dict]) -> str:
        c = self.cfg.chat
        response = await self.client.chat.completions.create(
            model=self.endpoint.model,
            messages=self.template.shaped(messages),  # as the server's template (the run's) takes them
            temperature=c.temperature,
            top_p=c.top_p,
            max_tokens=c.max_new_tokens,
        )
        return (response.choices[0].message.content or "").strip()

    async def send(self, bot: Bot, conv: Optional[Conversation], proposal: Proposal) -> list[str]:
        """The reply's messages one by one, "typing…" and a pause between them, as a person writes;
        what was sent. A message Telegram did not confirm is not sent again (it may have arrived:
        it counts as sent) and the rest of the reply is dropped, in one log line."""
        chat_id, sent = proposal.telegram_chat, []
        for i, text in enumerate(proposal.outgoing):
            if i and self.b.delay_seconds:
                try:
                    await bot.send_chat_action(chat_id, "typing")
                except (TelegramNetworkError, TelegramServerError):
                    pass  # "typing…" is a courtesy
                await asyncio.sleep(self.b.delay_seconds)
            try:
                await bot.send_message(chat_id, text)
            except (TelegramNetworkError, TelegramServerError) as exc:
                lost = isinstance(exc, TelegramNetworkError) and never_arrived(exc)
                if not lost:
                    sent.append(text)
                what = "not sent: Telegram unreachable" if lost else UNCONFIRMED
                rest = "; the rest of the reply is dropped" if i + 1 < len(proposal.outgoing) else ""
                log.warning("bot: chat %s: message %d of %d %s (%s)%s", chat_id, i + 1, len(proposal.outgoing),
                            what, one_line(exc), rest)  # fmt: skip
                break
            sent.append(text)
        if conv is not None:  # None: the chat was forgotten while the owner decided
            conv.said(sent)
        return sent

    async def propose(self, bot: Bot, proposal: Proposal) -> None:
        """Draft mode: the proposal waits for the owner (bot.max_drafts at most: beyond, the oldest
        is dropped), and goes to the owner's private chat when the bot knows it."""
        if not proposal.outgoing:
            self.write(proposal, sent=None, decision=None)
            return
        draft_id = next(self.draft_ids)
        self.drafts[draft_id] = proposal
        while len(self.drafts) > self.b.max_drafts:
            old_id = next(iter(self.drafts))
            old = self.drafts.pop(old_id)
            log.warning("bot: draft %s for %s dropped, undecided: more than bot.max_drafts=%s wait for the owner",
                        old_id, old.chat.name, self.b.max_drafts)  # fmt: skip
            self.write(old, sent=None, decision="dropped")
        await self.show(bot, draft_id)

    async def show(self, bot: Bot, draft_id: int) -> None:
        """A draft to the owner's private chat, with Send / Discard; it waits while the owner has
        not started the bot (Telegram forbids writing first)."""
        proposal = self.drafts[draft_id]
        if self.owner_chat is None:
            log.warning("bot: a draft for %s waits: the owner (bot.owner) has not written to the bot yet; "
                        "send it /start", proposal.chat.name)  # fmt: skip
            return
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[
                InlineKeyboardButton(text="Send", callback_data=Draft(action="send", id=draft_id).pack()),
                InlineKeyboardButton(text="Edit", callback_data=Draft(action="edit", id=draft_id).pack()),
                InlineKeyboardButton(text="Discard", callback_data=Draft(action="discard", id=draft_id).pack()),
            ]]
        )  # fmt: skip
        outgoing = "\n".join(proposal.outgoing)
        text = f"{proposal.chat.name} wrote:\n{proposal.asked}\n\nProposed reply:\n{outgoing}"
        proposal.shown = True  # before the call: a /start meanwhile does not show it twice
        try:
            shown = await bot.send_message(self.owner_chat, text[:TELEGRAM_LIMIT], reply_markup=keyboard)
            proposal.shown_id = shown.message_id
        except TelegramForbiddenError:
            proposal.shown = False
            log.warning("bot: a draft for %s waits: the owner has not started the bot; send it /start",
                        proposal.chat.name)  # fmt: skip

    async def decide(self, query: CallbackQuery, callback_data: Draft, bot: Bot) -> None:
        """The owner pressed Send, Edit or Discard under a draft."""
        if not self.is_owner(query.from_user):
            await query.answer("Only the owner decides.")
            return
        if callback_data.action == "edit":  # the draft stays: the correction is a reply to it
            pending = self.drafts.get(callback_data.id)
            await query.answer(EDIT_HOW.format(contact=pending.chat.name) if pending else "Already decided, or dropped.",
                               show_alert=pending is not None)  # fmt: skip
            return
        proposal = self.drafts.pop(callback_data.id, None)
        if proposal is None:
            await query.answer("Already decided, or dropped.")
            return
        # answered at once (Telegram shows the button busy until then), the buttons gone
        await query.answer("Sending." if callback_data.action == "send" else "Discarded.")
        if isinstance(query.message, Message):
            await bot.edit_message_reply_markup(
                chat_id=query.message.chat.id, message_id=query.message.message_id, reply_markup=None
            )
        if callback_data.action == "send":
            async with self.lock(proposal.telegram_chat):
                sent = await self.send(bot, self.conversations.get(proposal.telegram_chat), proposal)
            self.write(proposal, sent=sent, decision="send")
        else:
            self.write(proposal, sent=None, decision="discard")

    async def correct(self, message: Message, bot: Bot) -> None:
        """The owner answered a draft (Telegram's reply) with the reply they would have sent: that
        goes to the contact instead, and is recorded beside the proposal (owner: edit)."""
        answered = message.reply_to_message.message_id if message.reply_to_message else None
        draft_id = next((i for i, p in self.drafts.items() if p.shown_id == answered), None)
        if draft_id is None or not (message.text or "").strip():
            await bot.send_message(message.chat.id, "That is no draft waiting for you: nothing was sent.")
            return
        proposal = self.drafts.pop(draft_id)
        proposal.outgoing = telegram_messages(message.text or "", redact_replies=False)  # the owner's words
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=answered, reply_markup=None)
        async with self.lock(proposal.telegram_chat):
            sent = await self.send(bot, self.conversations.get(proposal.telegram_chat), proposal)
        self.write(proposal, sent=sent, decision="edit")
        await bot.send_message(message.chat.id, f"Sent your reply to {proposal.chat.name}.")

    def write(self, proposal: Proposal, sent: Optional[list[str]], decision: Optional[str]) -> None:
        """One exchange appended to RUN/bot/conversations.jsonl, as training data: the messages (ending
        with what was sent, when something was) and the chat's key, as data/*.jsonl has them, and
        what the owner decided."""
        conv = Conversation.of(proposal.chat, self.index.me, self.cfg.persona.group_speaker_format,
                               proposal.messages[1:])  # fmt: skip
        conv.said(sent or [])
        exchange = Exchange(
            proposal.telegram_chat, proposal.chat.key, now(), conv.messages(), proposal.chat.name,
            self.b.mode, proposal.proposed, sent, decision,
        )  # fmt: skip
        append_line(self.record, encode(exchange))


def router_for(clone: CloneBot) -> Router:
    """The handlers (aiogram passes each the arguments its signature names). A fault in one chat is
    a log line through aiogram's error event, never the end of the bot or of other chats."""
    router = Router(name="chatlike")
    router.message.register(clone.start, CommandStart())
    router.message.register(clone.forget, Command("forget"))
    router.message.register(clone.text, F.text)
    router.callback_query.register(clone.decide, Draft.filter())

    @router.errors()
    async def fault(event: ErrorEvent, event_chat: Optional[Chat] = None) -> None:
        log.error("bot: chat %s: %s", event_chat.id if event_chat else "?", one_line(event.exception))

    return router


async def serve_forever(clone: CloneBot, token: str, telegram_api: str) -> None:
    """Check the token, then long-poll until SIGINT / SIGTERM."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(telegram_api), timeout=clone.b.telegram_timeout_s
    )
    session.middleware(Retry())
    bot = Bot(token, session=session)
    try:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise ChatlikeError(
                "bot: Telegram refused the token in TELEGRAM_BOT_TOKEN (401 Unauthorized); "
                "copy it again from @BotFather"
            ) from None
        except TelegramAPIError as exc:
            raise ChatlikeError(f"bot: the Bot API at {telegram_api} answered {one_line(exc)}") from None
        refs = clone.index.refs()
        users = ", ".join(f"{k} as {refs[c.key]}" for k, c in clone.allow.items()) or "nobody (set bot.allow)"
        print(
            f"bot: @{me.username} answers {users}, in {clone.b.mode} mode, with model "
            f"{clone.endpoint.model!r} at {clone.endpoint.base_url}\n"
            f"  exchanges: {clone.record}\n  Ctrl-C stops it",
            flush=True,
        )
        dp = Dispatcher()
        dp.include_router(router_for(clone))
        await dp.start_polling(bot, polling_timeout=10, handle_signals=True, close_bot_session=False)
    finally:
        await bot.session.close()
        await clone.client.close()
