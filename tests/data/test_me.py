"""Who "me" is: from the export's own account data, never guessed from names unless asked."""

import pytest

from chatlike.data.sources.telegram import read_export
from chatlike.errors import ChatlikeError
from tests.support import synth

ME = f"user{synth.ME_ID}"
QUIRKS = synth.quirky_exports()


def path_of(tmp_path, name: str):
    path = tmp_path / f"{name}.json"
    path.write_bytes(QUIRKS[name])
    return path


def test_me_from_personal_information(tmp_path):
    export = read_export(str(path_of(tmp_path, "modern_full")))
    assert (export.me_id, export.me_name) == (ME, "Pasquale Esposito")


def test_me_from_saved_messages_when_personal_information_is_missing(tmp_path):
    assert read_export(str(path_of(tmp_path, "no_personal_information"))).me_id == ME


def test_single_personal_chat_export_me_is_the_sender_who_is_not_the_chat_peer(tmp_path):
    export = read_export(str(path_of(tmp_path, "single_personal")))
    assert export.shape == "single" and export.me_id == ME


def test_single_group_export_without_me_stops_listing_the_senders(tmp_path):
    with pytest.raises(ChatlikeError) as err:
        read_export(str(path_of(tmp_path, "single_group")))
    msg = str(err.value)
    assert "source.me" in msg and ME in msg and "Marco" in msg and "\n" not in msg


def test_single_group_export_with_me_given_by_id_or_name(tmp_path):
    path = path_of(tmp_path, "single_group")
    assert read_export(str(path), me=str(synth.ME_ID)).me_id == ME
    assert read_export(str(path), me=ME).me_id == ME
    assert read_export(str(path), me="Pasquale Esposito").me_id == ME
    with pytest.raises(ChatlikeError, match="no sender is named 'Nobody'"):
        read_export(str(path), me="Nobody")


def test_a_name_two_senders_share_asks_for_the_id(tmp_path):
    twin = synth.user("Pasquale Esposito", 999)
    me = synth.user("Pasquale Esposito", synth.ME_ID)
    msgs = [synth.message(i + 1, 1_700_000_000 + 60 * i, (me, twin)[i % 2], f"m{i}") for i in range(4)]
    path = tmp_path / "twins.json"
    synth.write_export(path, synth.single_chat_export(synth.group_chat("G", 5, msgs)))
    with pytest.raises(ChatlikeError, match="several senders are named 'Pasquale Esposito'.*user999"):
        read_export(str(path), me="Pasquale Esposito")
