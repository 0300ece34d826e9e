"""Privacy: typed placeholders for personal data in text, and stable pseudonyms for contacts."""

from __future__ import annotations

import hashlib
import re

_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|it|ru|io|de|fr|me|co|uk)(?:/[^\s<>\"']*)?\b",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# Dates, times and IP addresses are matched first and kept, so their digits are never a phone.
_NUMBERS = re.compile(
    r"(?P<keep>\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d{2}\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b)"
    r"|(?P<phone>(?<![\w+(])(?:\+|\()?\d(?:[\s().-]{0,2}\d){6,14}\b)"
)
_TRAILING = ".,;:!?)]}'\""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "<CARD>" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()


def _url(match: re.Match) -> str:
    """A URL's trailing punctuation belongs to the sentence."""
    url = match.group()
    stripped = url.rstrip(_TRAILING)
    return "<URL>" + url[len(stripped) :]


def _phone(match: re.Match) -> str:
    """With a country code: 7 to 15 digits; without: 9 to 15 (shorter runs are prices, counts)."""
    if match.group("keep"):
        return match.group()
    number = match.group()
    digits = sum(ch.isdigit() for ch in number)
    return "<PHONE>" if (7 if number[0] == "+" else 9) <= digits <= 15 else number


def redact(text: str) -> str:
    """E-mails, URLs, card numbers (Luhn-valid) and phone numbers become <EMAIL>, <URL>, <CARD>,
    <PHONE>. E-mails go first, so their domain is not taken for a URL."""
    text = _EMAIL.sub("<EMAIL>", text)
    text = _URL.sub(_url, text)
    text = _CARD.sub(_card, text)
    return _NUMBERS.sub(_phone, text)


def personal_data(text: str) -> list[tuple[str, str]]:
    """What `redact` would replace in `text`, as (placeholder, the text it replaces), in the order
    redact finds them: the same rules, so the two never disagree."""
    found: list[tuple[str, str]] = []

    def noting(rule):
        def note(match: re.Match) -> str:
            out = rule(match) if callable(rule) else rule
            if out != match.group():
                placeholder = out[: out.index(">") + 1]
                found.append(
                    (placeholder, match.group()[: len(match.group()) - (len(out) - len(placeholder))])
                )
            return out

        return note

    text = _EMAIL.sub(noting("<EMAIL>"), text)
    text = _URL.sub(noting(_url), text)
    text = _CARD.sub(noting(_card), text)
    _NUMBERS.sub(noting(_phone), text)
    return found


def pseudonym(sender_id: str) -> str:
    """The same id always gets the same pseudonym, in every run and on every machine."""
    return "Contact-" + hashlib.sha256(sender_id.encode()).hexdigest()[:6].upper()
