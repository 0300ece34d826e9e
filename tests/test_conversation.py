"""chatlike.bot.conversation: a Telegram chat kept as training data, and a reply cut into messages."""

from hypothesis import given
from hypothesis import strategies as st

from chatlike.bot.conversation import TELEGRAM_LIMIT, Conversation, telegram_messages


def test_each_line_of_a_reply_is_its_own_message_as_training_joined_them():
    assert telegram_messages("ciao!\n\n  sei a casa?  \nok", redact_replies=False) == [
        "ciao!",
        "sei a casa?",
        "ok",
    ]
    assert telegram_messages("  \n ", redact_replies=False) == []


def test_a_reply_holding_personal_data_is_sent_redacted():
    reply = "chiamami al +39 333 123 4567\nscrivi a mario.rossi@example.com o guarda www.example.com/x"
    sent = telegram_messages(reply, redact_replies=True)
    assert sent == ["chiamami al <PHONE>", "scrivi a <EMAIL> o guarda <URL>"]
    assert telegram_messages(reply, redact_replies=False) == reply.split("\n")


@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=3 * TELEGRAM_LIMIT))
def test_no_message_is_over_telegrams_limit_and_no_word_is_lost(reply):
    sent = telegram_messages(reply, redact_replies=False)
    assert all(0 < len(m) <= TELEGRAM_LIMIT for m in sent)
    assert " ".join(sent).split() == reply.split()


def test_a_long_line_is_cut_at_a_space():
    line = "parola " * 1000
    first, second = telegram_messages(line, redact_replies=False)
    assert len(first) <= TELEGRAM_LIMIT and not first.endswith(" ") and first.endswith("parola")


def test_messages_in_a_row_from_one_speaker_are_one_turn():
    conv = Conversation("You are Pasquale, chatting with Lorenzo.", "Pasquale")
    conv.heard("Lorenzo", "ciao")
    conv.heard("Lorenzo", "ci sei?")
    conv.said(["sì", "dimmi"])
    conv.heard("Lorenzo", "stasera?")
    assert conv.messages() == [
        {"role": "system", "content": "You are Pasquale, chatting with Lorenzo."},
        {"role": "user", "name": "Lorenzo", "content": "ciao\nci sei?"},
        {"role": "assistant", "name": "Pasquale", "content": "sì\ndimmi"},
        {"role": "user", "name": "Lorenzo", "content": "stasera?"},
    ]
    conv.forget()
    assert conv.messages() == [{"role": "system", "content": "You are Pasquale, chatting with Lorenzo."}]


def test_in_a_group_each_turn_starts_with_its_speaker_as_in_training():
    conv = Conversation("You are Pasquale, chatting in the group Calcetto.", "Pasquale", "{name}: {text}")
    conv.heard("Marco", "chi viene?")
    conv.heard("Marco", "alle 8")
    conv.heard("Giulia", "io")
    assert [m["content"] for m in conv.messages()[1:]] == ["Marco: chi viene?\nalle 8", "Giulia: io"]


def test_the_oldest_turns_go_first_when_the_history_outgrows_the_context():
    conv = Conversation("sys", "Me")
    for i in range(10):
        conv.heard("You", f"message {i}")
        conv.said([f"reply {i}"])
    conv.heard("You", "the newest")
    conv.fit(lambda messages: sum(len(m["content"]) for m in messages), budget=40)
    kept = conv.messages()
    assert kept[0] == {"role": "system", "content": "sys"} and kept[-1]["content"] == "the newest"
    assert sum(len(m["content"]) for m in kept) <= 40 and len(kept) < 22
    assert kept[-2]["content"] == "reply 9"
