"""Segmentation rules, and the segmenter's invariants under hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from chatlike.data.records import Chat, Message
from chatlike.data.segment import keep, segment, trainable, windows

ME, THEM = "user1", "user2"


def msg(i: int, t: int, mine: bool, text: str | None = None) -> Message:
    return Message(t, ME if mine else THEM, "Me" if mine else "Lorenzo", text or f"m{i}", mine)


def chat_of(messages) -> Chat:
    return Chat(7, "Lorenzo", "personal_chat", list(messages))


def conversations(messages, gap_s: float, window_s: float):
    return segment(chat_of(messages), gap_s, window_s)[0]


def turns_of(messages, window_s: float):
    """The turns of a chat in which no silence is long enough to end a conversation."""
    (only,) = conversations(messages, float("inf"), window_s)
    return only.turns


def test_messages_of_one_sender_within_the_window_form_one_turn_joined_by_newline():
    turns = turns_of([msg(1, 0, False), msg(2, 60, False), msg(3, 100, True)], window_s=300)
    assert [t.text for t in turns] == ["m1\nm2", "m3"]
    assert turns[0].start == 0 and turns[0].end == 60


def test_a_pause_longer_than_the_window_starts_a_new_turn_of_the_same_sender():
    turns = turns_of([msg(1, 0, False), msg(2, 301, False)], window_s=300)
    assert [(t.text, t.messages) for t in turns] == [("m1", 1), ("m2", 1)]


def test_a_silence_longer_than_the_gap_starts_a_new_conversation():
    convs = conversations([msg(1, 0, False), msg(2, 60, True), msg(3, 3661, False)], gap_s=3600, window_s=300)
    assert [len(c.turns) for c in convs] == [2, 1]


def test_trailing_turns_of_the_other_side_are_left_out():
    turns = turns_of([msg(1, 0, False), msg(2, 10, True), msg(3, 20, False)], 300)
    assert [t.mine for t in trainable(tuple(turns))] == [False, True]


def test_a_sample_may_begin_with_my_turn():
    turns = tuple(turns_of([msg(1, 0, True), msg(2, 10, False), msg(3, 20, True)], 300))
    assert keep(trainable(turns), 2)


def test_one_sided_conversations_are_not_kept():
    turns = tuple(turns_of([msg(1, 0, True), msg(2, 400, True)], 300))
    assert not keep(turns, 2)


def test_long_conversation_is_cut_into_windows_under_the_budget_each_ending_on_my_turn():
    ms = [msg(i, i * 10, i % 2 == 1, "x" * 300) for i in range(40)]
    conv = conversations(ms, 3600, 5)[0]
    ws = windows(conv, max_tokens=600, reserved=50)
    assert len(ws) > 1
    for w in ws:
        assert w[-1].mine
        assert sum(len(t.text) // 3 + 1 + 8 for t in w) <= 550
    flat = [t for w in ws for t in w]
    assert len(flat) == len(set((t.start, t.sender_id) for t in flat))  # no turn twice


events = st.lists(st.tuples(st.integers(0, 7200), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(events, st.integers(1, 600), st.integers(600, 7200))
def test_segmenter_invariants(evts, window_s, gap_s):
    t, ms = 0, []
    for i, (delta, mine) in enumerate(evts):
        t += delta
        ms.append(msg(i, t, mine))
    convs, silences = segment(chat_of(ms), gap_s, window_s)
    flat = [(text, t.mine, t.sender_id) for c in convs for t in c.turns for text in t.text.split("\n")]
    # order kept; no kept message lost or duplicated
    assert [text for text, _, _ in flat] == [m.text for m in ms]
    # every assistant turn mine, every user turn theirs
    assert all((sid == ME) == mine for _, mine, sid in flat)
    by_text = {m.text: m for m in ms}
    for c in convs:
        inner = [by_text[x] for t in c.turns for x in t.text.split("\n")]
        # no gap over the threshold inside a conversation
        assert all(b.time - a.time <= gap_s for a, b in zip(inner, inner[1:]))
        # turns alternate sender or are separated by more than the window
        for a, b in zip(c.turns, c.turns[1:]):
            assert a.sender_id != b.sender_id or b.start - a.end > window_s
        for w in windows(c, max_tokens=120, reserved=10):
            assert w and w[-1].mine
    # one silence between each two consecutive messages, for the report
    assert silences == [b.time - a.time for a, b in zip(ms, ms[1:])]
    # consecutive conversations are separated by more than the gap
    for a, b in zip(convs, convs[1:]):
        assert b.turns[0].start - a.turns[-1].end > gap_s
