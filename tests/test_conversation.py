"""chatlike.conversation: one format for a sample, a chat session and a bot's chat; a chat template
as a value (Axolotl's real templates on a real tokenizer); a reply cut into Telegram messages."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlike.bot.telegram import TELEGRAM_LIMIT, telegram_messages
from chatlike.config import PersonaConfig
from chatlike.conversation import Conversation, Template, messages_of
from chatlike.data.chats import ChatInfo
from chatlike.data.persona import to_line
from chatlike.data.records import Conversation as Window
from chatlike.data.records import Turn

GROUP = ChatInfo("Calcetto", "private_group", ("Marco", "Giulia"), "You are Pasquale, in Calcetto.", 7, 1, 1)


# -- one format --------------------------------------------------------------------------------


def test_a_live_chat_is_written_as_prepare_writes_a_sample():
    """The bot and the chat stage build exactly the messages training saw for the same turns."""
    said = [("Marco", "chi viene?\nalle 8"), ("Giulia", "io"), ("Pasquale", "ci sono\narrivo")]
    turns = tuple(
        Turn(f"user{i}", who, who == "Pasquale", text, text.count("\n") + 1, i, i, 1)
        for i, (who, text) in enumerate(said)
    )
    line, *_ = to_line(PersonaConfig(), "Pasquale", Window(7, "Calcetto", "private_group", turns), turns,
                       GROUP.system, GROUP.key)  # fmt: skip
    conv = Conversation.of(GROUP, "Pasquale", PersonaConfig().group_speaker_format)
    for who, text in said:
        if who == "Pasquale":
            conv.said(messages_of(text))
        else:
            for message in text.split("\n"):  # one Telegram message at a time
                conv.heard(who, message)
    sample = json.loads(line)
    assert sample == {"messages": conv.messages(), "chat": "telegram:7"}
    assert sample["messages"][1]["content"] == "Marco: chi viene?\nalle 8"


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


# -- a reply as Telegram messages ----------------------------------------------------------------


def test_each_line_of_a_reply_is_its_own_message_as_training_joined_them():
    assert telegram_messages("ciao!\n\n  sei a casa?  \nok", redact_replies=False) == [
        "ciao!",
        "sei a casa?",
        "ok",
    ]
    assert telegram_messages("  \n ", redact_replies=False) == []
    assert messages_of("sì ahah\n\n  dove ci vediamo? \n") == ["sì ahah", "dove ci vediamo?"]


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


# -- the chat template as a value ----------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are Pasquale, chatting with Lorenzo."}
# a conversation of ours: my turn opens it, and the other side writes twice in a row
OURS = [
    SYSTEM,
    {"role": "assistant", "name": "Pasquale", "content": "buongiorno!"},
    {"role": "user", "name": "Lorenzo", "content": "ciao"},
    {"role": "assistant", "name": "Pasquale", "content": "come va?"},
    {"role": "user", "name": "Lorenzo", "content": "bene"},
    {"role": "user", "name": "Lorenzo", "content": "e tu?"},
]
# (Axolotl's template, its special tokens, its EOS)
FAMILIES = {
    "llama3": ([], None),
    "chatml": (["<|im_start|>", "<|im_end|>"], "<|im_end|>"),
    "gemma": (["<start_of_turn>", "<end_of_turn>"], "<eos>"),
    "mistral_v1": ([], "</s>"),
}


@pytest.fixture(scope="module")
def tokenizer_of(tmp_path_factory):
    """A real byte-level BPE tokenizer (the tiny model's), wearing one of Axolotl's templates."""
    from chatlike.model.load import template_of
    from chatlike.model.tiny import build_tokenizer

    data = tmp_path_factory.mktemp("tok") / "train.jsonl"
    lines = [{"messages": [SYSTEM, {"role": "user", "content": f"ciao {i}"}, {"role": "assistant", "content": "ok"}]}
             for i in range(20)]  # fmt: skip
    data.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")

    def build(family: str):
        specials, eos = FAMILIES[family]
        tok = build_tokenizer(data)
        tok.add_special_tokens({"additional_special_tokens": specials, **({"eos_token": eos} if eos else {})})
        tok.chat_template = template_of(family)
        assert tok.chat_template, f"Axolotl ships no {family} template"
        return tok

    return build


@pytest.mark.parametrize(
    ("family", "end_of_turn", "stops", "system_role", "alternating"),
    [
        ("llama3", "<|eot_id|>", ["<|eot_id|>"], True, False),
        ("chatml", "<|im_end|>\n", ["<|im_end|>"], True, False),
        ("gemma", "<end_of_turn>\n", ["<end_of_turn>", "<eos>"], False, True),
        ("mistral_v1", "</s>", ["</s>"], True, True),
    ],
)
def test_the_end_of_turn_and_the_stops_come_from_the_template_and_tokenizer(
    tokenizer_of, family, end_of_turn, stops, system_role, alternating
):
    tok = tokenizer_of(family)
    template = Template.of(tok)
    assert template.end_of_turn == end_of_turn
    assert template.stop_ids == tuple(sorted(tok.convert_tokens_to_ids(stops)))
    assert (template.system_role, template.alternating) == (system_role, alternating)
    prompt = template.prompt(OURS)  # every template takes a conversation of ours, ready for my reply
    probe = tok.apply_chat_template(
        [{"role": "user", "content": "QQ"}], tokenize=False, add_generation_prompt=True
    )
    assert SYSTEM["content"] in prompt and prompt.endswith("e tu?" + probe.split("QQ", 1)[1])
    assert template.count(OURS) == len(tok(prompt, add_special_tokens=False)["input_ids"])


def test_a_template_with_every_role_gets_the_conversation_as_it_is(tokenizer_of):
    tok = tokenizer_of("llama3")
    plain = [{"role": m["role"], "content": m["content"]} for m in OURS]
    assert Template.of(tok).prompt(OURS) == tok.apply_chat_template(
        plain, tokenize=False, add_generation_prompt=True
    )


def test_without_a_system_role_the_prompt_opens_the_first_user_turn_and_turns_alternate(tokenizer_of):
    gemma = Template.of(tokenizer_of("gemma"))
    assert gemma.shaped(OURS[:1] + OURS[2:]) == [
        {"role": "user", "content": "You are Pasquale, chatting with Lorenzo.\n\nciao"},
        {"role": "assistant", "content": "come va?"},
        {"role": "user", "content": "bene\ne tu?"},
    ]
    assert gemma.shaped(OURS)[:2] == [
        {"role": "user", "content": "You are Pasquale, chatting with Lorenzo."},
        {"role": "assistant", "content": "buongiorno!"},
    ]  # my turn opens the conversation: the system prompt is a user turn of its own before it
    mistral = Template.of(tokenizer_of("mistral_v1")).shaped(OURS)
    assert mistral[:2] == [
        SYSTEM,
        {"role": "user", "content": "ciao"},
    ]  # my opener: the oldest context, left out


def test_what_was_asked_stays_as_it_was_when_more_of_the_same_turn_follows():
    conv = Conversation("sys", "Pasquale")
    conv.heard("Lorenzo", "domanda 0")
    asked = conv.messages()  # a draft holds what the model was given
    conv.heard("Lorenzo", "domanda 1")
    assert asked[-1]["content"] == "domanda 0" and conv.messages()[-1]["content"] == "domanda 0\ndomanda 1"


@pytest.mark.parametrize("family", ["gemma", "mistral_v1"])
def test_configure_refuses_in_one_line_a_template_that_cannot_train_our_conversations(
    tokenizer_of, tmp_path, family
):
    from chatlike.errors import ChatlikeError
    from chatlike.stages import configure
    from tests.support.cli import smoke_cfg

    folder = tmp_path / family
    tokenizer_of(family).save_pretrained(folder)
    (tmp_path / "run" / "data").mkdir(parents=True)
    (tmp_path / "run" / "data" / "train.jsonl").write_text(json.dumps({"messages": OURS}) + "\n")
    cfg = smoke_cfg("model=llama31_8b", f"model.base_model={folder}", "model.chat_template=tokenizer_default")
    with pytest.raises(ChatlikeError) as refused:
        configure.run(cfg, tmp_path / "run")
    why = {"gemma": "has no system role", "mistral_v1": "demands strict user/assistant alternation"}[family]
    assert f"model.base_model={folder}: its chat template {why}" in str(refused.value)
    assert "\n" not in str(refused.value) and not (tmp_path / "run" / "axolotl.yaml").exists()
