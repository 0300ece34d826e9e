"""Privacy: typed placeholders and stable pseudonyms."""

from chatlike.data.redact import pseudonym, redact


def test_email_url_phone_and_card_become_typed_placeholders():
    text = (
        "scrivimi a pasquale.e@example.com o guarda https://example.org/x?y=1, "
        "chiama +39 333 123 4567, carta 4111 1111 1111 1111"
    )
    assert redact(text) == "scrivimi a <EMAIL> o guarda <URL>, chiama <PHONE>, carta <CARD>"


def test_plain_numbers_and_times_are_left_alone():
    assert redact("alle 21:30, siamo in 12, costa 15 euro") == "alle 21:30, siamo in 12, costa 15 euro"


def test_a_number_that_fails_luhn_is_not_a_card():
    assert "<CARD>" not in redact("ordine 1234 5678 9012 3456")


def test_cyrillic_text_with_a_phone():
    assert redact("позвони мне 8 (912) 345-67-89 вечером") == "позвони мне <PHONE> вечером"


def test_pseudonyms_are_stable_and_distinct():
    assert pseudonym("user2") == pseudonym("user2")
    assert pseudonym("user2") != pseudonym("user3")
    assert pseudonym("user2").startswith("Contact-")


def test_dates_times_prices_and_ip_addresses_are_not_phones():
    for text in (
        "il 12.05.2024 alle 10",
        "costa 1.250.000 euro",
        "1 000 000 рублей",
        "2024-05-01 10:30",
        "server 192.168.1.1",
        "siamo in 12345 persone",
    ):
        assert redact(text) == text, text


def test_phone_without_country_code_is_redacted():
    assert redact("chiamami al 333 1234567") == "chiamami al <PHONE>"
