"""Reading WhatsApp's Export chat: every phone layout and locale, iOS's invisible marks, what is not
text, groups, who "me" is, bad files; and round trips through segmentation."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlike.config import FilterConfig, SourceConfig
from chatlike.data.filters import ChatFilter
from chatlike.data.records import Chat, Message
from chatlike.data.segment import segment
from chatlike.data.sources import read_sources, whatsapp
from chatlike.data.stats import FilterStats
from chatlike.errors import ChatlikeError
from tests.support import synth_sources as ss
from tests.support.cli import source_error

ME, T0 = ss.ME, ss.T0
DAY = 86400
ALL_TYPES = ["personal_chat", "private_group"]


def write(tmp_path, text: str, name: str = "WhatsApp Chat with Lorenzo.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def read(tmp_path, text: str, name: str = "WhatsApp Chat with Lorenzo.txt", **cfg):
    """read_sources on one WhatsApp file: its chat (named, me found) and the run."""
    sources = read_sources(SourceConfig(path=str(write(tmp_path, text, name)), **cfg))
    (chat,) = sources.chats
    return chat, sources


def kept(chat, sources, **overrides) -> tuple[Chat, FilterStats]:
    """The chat as the filters keep it (its messages as `Message`s), and what they counted."""
    cfg = FilterConfig(**({"min_messages": 0, "min_my_messages": 0, "chat_types": ALL_TYPES} | overrides))
    out, counts = ChatFilter(cfg, sources.me_ids, ME, "Deleted Account")(chat)
    return Chat(
        out.id, out.name, out.type, [Message._make(m) for m in out.messages], out.source
    ), counts.filter


def lines() -> list:
    """Three weeks of a chat (days past the 12th tell day from month), with every kind of line."""
    t = T0 + 20 * DAY
    return [
        *ss.talk(20, gap=DAY),
        ss.say(t, "Lorenzo", "ciao!\nci sei stasera?\n\nalle 21"),
        ss.media(t + 60, ME, "photo"),
        ss.edited(t + 120, ME, "sì ahah"),
        ss.deleted(t + 180, "Lorenzo"),
        ss.system(
            t + 200,
            "Lorenzo changed their phone number to a new number. Tap to message or add the new number.",
        ),
        ss.say(t + 240, "Lorenzo", "perfetto 😊"),
    ]


# ---- every layout, clock and date order reads the same -----------------------------------------


@pytest.mark.parametrize("locale", sorted(ss.LOCALES))
def test_every_locale_gives_the_same_messages_times_and_senders(tmp_path, locale):
    chat, sources = read(tmp_path, ss.whatsapp_text(lines(), locale))
    assert (chat.source, chat.type, chat.name) == ("whatsapp", "personal_chat", "Lorenzo")
    assert sources.me_ids == {f"whatsapp:{ME}"}
    minute = ss.LOCALES[locale].layout == "android"  # Android writes no seconds
    got = [(m.time, m.sender, m.text) for m in chat.messages if m.kind == "message" and m.text]
    want = [
        (x.t - x.t % 60 if minute else x.t, x.sender, x.text) for x in lines() if x.kind in ("text", "edited")
    ]
    assert got == want
    assert sources.sources["whatsapp"].shape == ss.LOCALES[locale].layout


@pytest.mark.parametrize(
    ("first", "order"),
    [("03/06/2024, 09:00", "dmy"), ("06/03/2024, 09:00", "mdy")],
    ids=["day-first", "month-first"],
)
def test_the_date_order_is_decided_from_the_whole_file_not_line_by_line(tmp_path, first, order):
    """The first dates fit both orders; one date late in the file (the 20th) fits only one."""
    twentieth = "20/06/2024" if order == "dmy" else "06/20/2024"
    text = f"{first} - Lorenzo: ciao\n{first[:10]}, 09:01 - {ME}: ehi\n{twentieth}, 10:00 - Lorenzo: dopo\n"
    chat, _ = read(tmp_path, text)
    days = [dt.datetime.fromtimestamp(m.time, dt.UTC).date().isoformat() for m in chat.messages]
    assert days == ["2024-06-03", "2024-06-03", "2024-06-20"]


def test_dates_that_fit_both_orders_are_ordered_by_which_reading_runs_forward(tmp_path):
    """01/02, 02/03, 03/04: day-first is Feb 1, Mar 2, Apr 3; month-first Jan 2, Feb 3, Mar 4: both
    forward. 12/01 after 11/02 only runs forward day-first (Jan 12 after Feb 11 goes back)."""
    text = "".join(f"{d}, 09:00 - {who}: m{i}\n" for i, (d, who) in enumerate(
        [("11/02/2024", "Lorenzo"), ("12/02/2024", ME), ("01/03/2024", "Lorenzo"), ("02/03/2024", ME)]))  # fmt: skip
    chat, _ = read(tmp_path, text)
    assert dt.datetime.fromtimestamp(chat.messages[0].time, dt.UTC).date() == dt.date(2024, 2, 11)


def test_ambiguous_dates_stop_with_one_line_naming_source_date_order(tmp_path):
    text = ss.whatsapp_text(ss.talk(3), "en_GB android")  # all on 03/06/2024
    with pytest.raises(ChatlikeError) as err:
        read(tmp_path, text)
    msg = str(err.value)
    assert "WhatsApp Chat with Lorenzo.txt" in msg and "source.date_order=dmy" in msg and "03/06/2024" in msg
    assert "\n" not in msg
    day_first, _ = read(tmp_path, text, date_order="dmy")
    month_first, _ = read(tmp_path, text, date_order="mdy")
    assert day_first.messages[1].time == T0
    assert month_first.messages[1].time == T0 - 89 * DAY  # 6 March


def test_a_forced_order_that_cannot_be_is_one_line(tmp_path):
    text = ss.whatsapp_text(lines(), "en_GB android")  # has 20/06
    with pytest.raises(ChatlikeError, match="not a date when read as mdy"):
        read(tmp_path, text, date_order="mdy")


# ---- what iOS and Android put in the lines -----------------------------------------------------


def test_ios_marks_bom_crlf_and_narrow_spaces_never_reach_texts_or_names(tmp_path):
    text = ss.whatsapp_text(lines(), "en_US ios", bom=True, crlf=True)
    assert ss.BOM in text and ss.LRM in text and ss.NNBSP in text and "\r\n" in text
    chat, sources = read(tmp_path, text)
    strings = [s for m in chat.messages for s in (m.text, m.sender or "") if isinstance(s, str)]
    assert not any(ch in s for s in strings for ch in (ss.BOM, ss.LRM, ss.NNBSP, "\r"))
    assert chat.name == "Lorenzo" and sources.me_ids == {f"whatsapp:{ME}"}


def test_multi_line_messages_stay_one_message_with_their_blank_lines(tmp_path):
    chat, _ = read(tmp_path, ss.whatsapp_text(lines(), "it ios"))
    assert "ciao!\nci sei stasera?\n\nalle 21" in [m.text for m in chat.messages]


def test_media_deleted_edited_and_system_lines_are_counted_and_never_text(tmp_path):
    for layout in ("en_GB android", "it ios"):
        chat, sources = read(tmp_path, ss.whatsapp_text(lines(), layout))
        out, counted = kept(chat, sources)
        texts = [m.text for m in out.messages]
        assert "sì ahah" in texts  # the edit marker is gone
        assert not any(w in t for t in texts for w in ("omitted", "deleted", "encrypted", "number", "<"))
        removed = counted.messages_removed
        media = "no_text:media" if layout.endswith("android") else "no_text:photo"
        assert removed == {media: 1, "deleted": 1, "service": 2}  # the encryption notice, the new number


def test_attachment_lines_of_an_export_with_media_drop_the_file_keep_the_caption(tmp_path):
    text = (
        f"21/06/2024, 10:00 - Lorenzo: IMG-20240621-WA0001.jpg (file attached)\nguarda che vista\n"
        f"21/06/2024, 10:01 - {ME}: VID-20240621-WA0002.mp4 (file attached)\n"
        f"21/06/2024, 10:02 - {ME}: bella!\n"
    )
    chat, _ = read(tmp_path, text)
    assert [(m.text, m.media) for m in chat.messages] == [
        ("guarda che vista", None),
        ("", "file"),
        ("bella!", None),
    ]


def test_sender_names_lose_the_tilde_and_the_marks_around_phone_numbers(tmp_path):
    text = (
        '21/06/2024, 10:00 - Marco created group "Calcetto"\n'
        "21/06/2024, 10:00 - ~\u202fCiro: chi porta il pallone?\n"
        "21/06/2024, 10:01 - \u202a+39 333 123 4567\u202c: io\n"
        f"21/06/2024, 10:02 - {ME}: ok\n"
    )
    chat, _ = read(tmp_path, text, name="WhatsApp Chat with Calcetto.txt", me=ME)
    assert [m.sender for m in chat.messages if m.kind == "message"] == ["Ciro", "+39 333 123 4567", ME]
    assert (chat.type, chat.name) == ("private_group", "Calcetto")


# ---- groups, one-to-one chats, names ------------------------------------------------------------


GROUP = [
    ss.say(T0 + 20 * DAY, "Marco", "giovedì ci siamo?"),
    ss.say(T0 + 20 * DAY + 30, "Lorenzo", "io sì"),
    ss.say(T0 + 20 * DAY + 60, ME, "ci sono"),
]


def test_an_android_group_is_a_private_group_named_after_its_file_or_its_subject(tmp_path):
    events = [ss.system(T0 + 13 * DAY, 'Marco created group "Calcetto del giovedì"'),
              ss.system(T0 + 14 * DAY, "Ciro joined using this group's invite link")]  # fmt: skip
    text = ss.whatsapp_text([*events, *GROUP])
    chat, _ = read(tmp_path, text, name="WhatsApp Chat with Calcetto del giovedì.txt", me=ME)
    assert (chat.type, chat.name) == ("private_group", "Calcetto del giovedì")
    chat, _ = read(tmp_path, text, name="chat.txt", me=ME)  # no title in the name: the subject
    assert (chat.type, chat.name) == ("private_group", "Calcetto del giovedì")


def test_an_ios_group_is_named_by_the_sender_ios_gives_its_system_lines(tmp_path):
    text = ss.whatsapp_text(GROUP, "it ios", chat="Calcetto del giovedì")
    chat, sources = read(tmp_path, text, name="_chat.txt", me=ME)
    assert (chat.type, chat.name) == ("private_group", "Calcetto del giovedì")


# The encryption notice that opens a chat, as each language writes it (docs/export-formats.md)
NOTICES = {
    "en": ss.ENCRYPTED,
    "en-old": "Messages to this group are now secured with end-to-end encryption. Tap for more info.",
    "it": "I messaggi e le chiamate sono crittografati end-to-end. Nessuno al di fuori di questa chat, "
    "nemmeno WhatsApp, può leggerne o ascoltarne il contenuto.",
    "es": "Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de este chat, ni "
    "siquiera WhatsApp, puede leerlos ni escucharlos.",
    "de": "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats kann sie "
    "lesen oder anhören, nicht einmal WhatsApp.",
    "fr": "Les messages et les appels sont chiffrés de bout en bout. Aucun tiers, pas même WhatsApp, ne peut "
    "les lire ou les écouter.",
    "pt": "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta e ficam somente "
    "entre você e os participantes desta conversa.",
    "ru": "Сообщения и звонки защищены сквозным шифрованием. Никто за пределами этого чата, даже WhatsApp, "
    "не может прочитать или прослушать их.",
    "nl": "Berichten en oproepen worden end-to-end versleuteld. Niemand buiten deze chat, zelfs WhatsApp "
    "niet, kan ze lezen of beluisteren.",
}


@pytest.mark.parametrize("lang", sorted(NOTICES))
def test_a_notice_sent_as_the_group_is_no_member_of_it(tmp_path, lang):
    """Some phones write the group's notices as if the group sent them
    (`03.12.2026, 14:05 - Weekend plans: Messages and calls are end-to-end encrypted. ...`): they are
    told by their text, so the group is named after that sender and never becomes a member."""
    loc = ss.Locale("android", "dmy", sep=".")
    first = GROUP[0].t - 600
    notices = [f"{ss.stamp(first, loc)} - Weekend plans: {NOTICES[lang]}",
               f"{ss.stamp(first + 60, loc)} - Weekend plans: Marco added Lorenzo"]  # fmt: skip
    text = "\n".join(notices) + "\n" + ss.whatsapp_text(GROUP, loc, notice=False)
    chat, sources = read(tmp_path, text, name="chat.txt", me=ME)
    assert (chat.type, chat.name) == ("private_group", "Weekend plans")
    assert [m.kind for m in chat.messages[:2]] == ["service", "service"]
    assert {m.sender for m in chat.messages if m.kind == "message"} == {"Marco", "Lorenzo", ME}


def test_a_notice_is_told_by_its_text_whoever_the_line_says_sent_it(tmp_path):
    """In a one-to-one chat the notice may show the contact as its sender: still a notice, and the
    contact's own messages stay theirs."""
    loc = ss.LOCALES["en_GB android"]
    head = f"{ss.stamp(T0 - 600, loc)} - Lorenzo: {NOTICES['it']}\n"
    chat, sources = read(tmp_path, head + ss.whatsapp_text(lines(), loc, notice=False), name="chat.txt")
    assert (chat.type, chat.name, sources.me_ids) == ("personal_chat", "Lorenzo", {f"whatsapp:{ME}"})
    assert chat.messages[0].kind == "service"
    assert not any("crittografati" in m.text for m in chat.messages)


def test_a_group_of_two_writers_is_still_a_group(tmp_path):
    two = [GROUP[0], GROUP[2]]
    for layout in ("en_GB android", "it ios"):
        events = [ss.system(T0 + 13 * DAY, 'Marco created group "Calcetto"')] if "android" in layout else []
        chat, _ = read(
            tmp_path, ss.whatsapp_text([*events, *two], layout, chat="Calcetto"), name="c.txt", me=ME
        )
        assert chat.type == "private_group", layout


def test_a_one_to_one_chat_is_named_after_the_contact_and_me_is_the_other_one(tmp_path):
    text = ss.whatsapp_text(lines(), "en_GB android")
    chat, sources = read(tmp_path, text, name="WhatsApp Chat with Lorenzo (1).txt")
    assert (chat.type, chat.name, chat.peer) == ("personal_chat", "Lorenzo", "whatsapp:Lorenzo")
    ios, sources = read(tmp_path, ss.whatsapp_text(lines(), "it ios"), name="_chat.txt")  # iOS: by its notice
    assert ios.name == "Lorenzo" and sources.me_ids == {f"whatsapp:{ME}"}


def test_a_zip_holding_the_chat_reads_as_its_txt(tmp_path):
    text = ss.whatsapp_text(lines(), "it ios")
    plain, _ = read(tmp_path, text, name="_chat.txt")
    (tmp_path / "z").mkdir()
    zipped = tmp_path / "z" / "WhatsApp Chat - Lorenzo.zip"
    zipped.write_bytes(ss.whatsapp_zip(text, media=True))
    (chat,) = read_sources(SourceConfig(path=str(zipped))).chats
    assert [(m.time, m.text) for m in chat.messages] == [(m.time, m.text) for m in plain.messages]
    assert chat.name == "Lorenzo"


# ---- who "me" is ---------------------------------------------------------------------------------


def test_me_is_the_one_sender_in_every_chat_of_the_run(tmp_path):
    a = write(tmp_path, ss.whatsapp_text(lines()), "lorenzo.txt")
    b = write(
        tmp_path,
        ss.whatsapp_text([ss.say(T0 + 13 * DAY, "Giulia", "ciao"), ss.say(T0 + 13 * DAY + 9, ME, "ehi")]),
        "giulia.txt",
    )
    sources = read_sources(SourceConfig(paths=[str(a), str(b)]))
    assert sources.me_ids == {f"whatsapp:{ME}"}
    assert [c.name for c in sources.chats] == ["Lorenzo", "Giulia"]


def test_the_sender_in_every_chat_is_not_me_when_a_file_name_says_it_is_the_contact(tmp_path):
    """A group where I never wrote: Lorenzo is in every chat, but his chat's file names him."""
    a = write(tmp_path, ss.whatsapp_text(lines()), "WhatsApp Chat with Lorenzo.txt")
    group = [ss.say(T0 + 13 * DAY, "Lorenzo", "giovedì?"), ss.say(T0 + 13 * DAY + 9, "Marco", "sì"),
             ss.say(T0 + 13 * DAY + 20, "Ciro", "ok")]  # fmt: skip
    b = write(tmp_path, ss.whatsapp_text(group, chat="Calcetto"), "WhatsApp Chat with Calcetto.txt")
    assert read_sources(SourceConfig(paths=[str(a), str(b)])).me_ids == {f"whatsapp:{ME}"}


def test_without_a_hint_me_is_asked_for_listing_the_senders(tmp_path):
    with pytest.raises(ChatlikeError) as err:
        read(tmp_path, ss.whatsapp_text(lines()), name="chat.txt")
    msg = str(err.value)
    assert "chat.txt" in msg and "source.me" in msg and "Lorenzo" in msg and ME in msg and "\n" not in msg
    chat, sources = read(tmp_path, ss.whatsapp_text(lines()), name="chat.txt", me=ME)
    assert sources.me_ids == {f"whatsapp:{ME}"} and chat.name == "Lorenzo"
    with pytest.raises(ChatlikeError, match="no sender is named 'Nobody'"):
        read(tmp_path, ss.whatsapp_text(lines()), name="chat.txt", me="Nobody")


def test_me_whatsapp_wins_over_source_me(tmp_path):
    _, sources = read(tmp_path, ss.whatsapp_text(lines()), name="chat.txt", me="12345", me_whatsapp=ME)
    assert sources.me_ids == {f"whatsapp:{ME}"}


# ---- real files, written by hand from the documented layouts ------------------------------------

ANDROID_US = (
    "6/20/24, 9:14\u202fPM - Messages and calls are end-to-end encrypted. No one outside of this chat, not "
    "even WhatsApp, can read or listen to them. Tap to learn more.\n"
    "6/20/24, 9:14\u202fPM - Lorenzo: hey are you coming tonight?\n"
    "6/20/24, 9:15\u202fPM - Pasquale Esposito: yes!\n"
    "see you at 9\n"
    "6/20/24, 9:15\u202fPM - Pasquale Esposito: <Media omitted>\n"
    "6/20/24, 11:58\u202fPM - Lorenzo: This message was deleted\n"
    "6/21/24, 12:03\u202fAM - Lorenzo: ok cool <This message was edited>\n"
    "6/21/24, 12:04\u202fAM - Lorenzo: null\n"
)
IOS_IT = (
    "\u200e[20/06/24, 21:14:05] Lorenzo: \u200eI messaggi e le chiamate sono crittografati end-to-end.\n"
    "[20/06/24, 21:14:07] Lorenzo: ci sei stasera?\n"
    "[20/06/24, 21:15:30] Pasquale Esposito: sì\n"
    "\u200e[20/06/24, 21:15:41] Pasquale Esposito: \u200eimage omitted\n"
    "\u200e[20/06/24, 21:16:00] Lorenzo: \u200eStato eliminato.\n"
    "[21/06/24, 00:03:12] Lorenzo: ok perfetto \u200e<This message was edited>\n"
    "\u200e[21/06/24, 00:04:00] Pasquale Esposito: \u200eBiglietto.pdf \u2022 2 pages \u200edocument omitted\n"
)


def test_a_hand_written_android_us_export(tmp_path):
    chat, sources = read(tmp_path, ANDROID_US)
    got = [(m.kind, dt.datetime.fromtimestamp(m.time, dt.UTC).strftime("%m-%d %H:%M"), m.sender, m.text,
            m.media) for m in chat.messages]  # fmt: skip
    assert got == [
        ("service", "06-20 21:14", None, "", None),
        ("message", "06-20 21:14", "Lorenzo", "hey are you coming tonight?", None),
        ("message", "06-20 21:15", ME, "yes!\nsee you at 9", None),
        ("message", "06-20 21:15", ME, "", "media"),
        ("deleted", "06-20 23:58", None, "", None),
        ("message", "06-21 00:03", "Lorenzo", "ok cool", None),
        ("message", "06-21 00:04", "Lorenzo", "", "media"),
    ]
    assert sources.me_ids == {f"whatsapp:{ME}"}


def test_a_hand_written_ios_italian_export(tmp_path):
    chat, sources = read(tmp_path, IOS_IT, name="_chat.txt")
    got = [(m.kind, m.time % DAY, m.sender, m.text, m.media) for m in chat.messages]
    assert got == [
        ("service", 76445, None, "", None),
        ("message", 76447, "Lorenzo", "ci sei stasera?", None),
        ("message", 76530, ME, "sì", None),
        ("message", 76541, ME, "", "photo"),
        (
            "service",
            76560,
            None,
            "",
            None,
        ),  # a deletion in a language chatlike does not list: not text anyway
        ("message", 192, "Lorenzo", "ok perfetto", None),
        ("message", 240, ME, "", "file"),
    ]
    assert (chat.name, chat.type) == ("Lorenzo", "personal_chat") and sources.me_ids == {f"whatsapp:{ME}"}


# ---- bad files: one line naming the file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (b'{"guild": {"id": "0"}}', "this is JSON"),
        (b"hello\nthis is just a note\n", "no WhatsApp message lines"),
        (
            ss.whatsapp_zip("x", name="notes.md").replace(b"notes.md", b"notes.md"),
            "a zip without a WhatsApp chat",
        ),
        (b"PK\x03\x04broken", "not a readable zip"),
        (b"21/06/2024, 10:00 - Lorenzo: \xff\xfe\n", "not valid UTF-8"),
    ],
    ids=["empty", "json", "no-lines", "zip-without-chat", "broken-zip", "not-utf8"],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path, content, expect):
    path = tmp_path / "WhatsApp Chat with Lorenzo.txt"
    path.write_bytes(content)
    msg = source_error(path, "whatsapp")
    assert str(path) in msg and expect in msg and "\n" not in msg


def test_the_detector_knows_a_chat_from_its_lines_not_its_name(tmp_path):
    assert whatsapp.looks_like(ANDROID_US) and whatsapp.looks_like(IOS_IT)
    assert not whatsapp.looks_like("just some notes\n- a list: of things\n")


# ---- round trips through segmentation: nothing lost or doubled, roles by sender ------------------

# WhatsApp trims what is sent: no message starts or ends with white space
TEXT = (
    st.text(alphabet=st.sampled_from("abcxyz èà😊 ,.!?\n"), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 3 * 60), TEXT), min_size=2, max_size=40),
    st.sampled_from(sorted(ss.LOCALES)),
)
def test_round_trip_through_segmentation_loses_and_doubles_nothing(tmp_path, script, locale):
    t, convo = T0 + 20 * DAY, []
    for mine, minutes, text in [(False, 1, "ciao"), (True, 1, "ehi"), *script]:
        t += minutes * 60
        convo.append(ss.say(t, ME if mine else "Lorenzo", text))
    text = ss.whatsapp_text(convo, locale)
    chat, sources = read(tmp_path, text, date_order=ss.LOCALES[locale].order, me=ME)
    out, _ = kept(chat, sources)
    conversations, _ = segment(out, gap_s=3600, window_s=300)
    turns = [turn for c in conversations for turn in c.turns]
    assert sum(turn.messages for turn in turns) == len(convo)
    assert "\n".join(turn.text for turn in turns) == "\n".join(x.text for x in convo)
    assert all(turn.mine == (turn.sender == ME) for turn in turns)
