"""Checks of free text and email addresses given by people: one line, no control
characters, an address mail servers accept. Used by the report schedules and by
the settings (LAUNDRY_ALERT_RECIPIENTS)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.headerregistry import Address

_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Characters that do not belong in one line of text: the C0 and C1 controls (ESC,
which starts terminal escape sequences, and all the line breaks `str.splitlines`
knows but U+2028 and U+2029, which are listed too), the bidirectional embeddings,
overrides and isolates (text that displays other than it reads), and lone
surrogates (bytes that were not UTF-8)."""

_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
"""A DNS label as mail servers accept it (RFC 5321's sub-domain): letters, digits and
inner hyphens, 1-63 characters; international names go in their xn-- form."""


def check_plain_text(value, what: str, limit: int) -> str:
    """`value` if it is text of at most `limit` characters on one line with no control
    characters, else ValueError naming `what` and the character to remove. Free text
    ends up in email subjects and bodies, file names and terminals: no header
    injection, no escape sequences, nothing that displays differently from what it is."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    found = _UNSAFE_TEXT.search(value)
    if found is None:
        return value
    char = found.group()
    if len(f"a{char}b".splitlines()) > 1:
        raise ValueError(f"{what} must be one line (no line breaks)")
    if unicodedata.category(char) == "Cs":
        raise ValueError(f"{what} is not valid text (it holds bytes that are not UTF-8)")
    kind = "bidirectional control" if unicodedata.category(char) == "Cf" else "control character"
    if char == "\x1b":
        kind = "escape character (terminal escape sequence)"
    raise ValueError(f"{what} contains the {kind} U+{ord(char):04X}; remove it")


def visible(text: str) -> str:
    """`text` with each character that `check_plain_text` refuses written as its
    escape (a line break as \\n, ESC as \\x1b, U+2028 as \\u2028): an error message
    that quotes what a user typed stays one line and sends no escape sequence to
    the terminal."""
    return _UNSAFE_TEXT.sub(lambda found: repr(found.group())[1:-1], text)


def parse_address(text: str, allowed_domains: Iterable[str] = ()) -> str:
    """One email address, normalised (domain lower-cased), or ValueError. Within the
    limits of RFC 5321: 64 characters before the @, 63 per domain label, 254 in all.
    With `allowed_domains` (LAUNDRY_RECIPIENT_DOMAINS), only those domains."""
    if not isinstance(text, str) or _UNSAFE_TEXT.search(text) or any(c in text for c in ',;<>"') or not text.strip():
        raise ValueError(f"{text!r} is not a plain email address (user@example.com)")
    text = text.strip()
    if len(text) > 254:
        raise ValueError(f"{text[:40]!r}... is {len(text)} characters; an email address has at most 254")
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        raise ValueError(f"{text!r} is not a valid email address") from None
    if not address.username or "." not in address.domain or address.addr_spec != text:
        raise ValueError(f"{text!r} is not a valid email address (user@example.com)")
    if len(address.username) > 64:
        raise ValueError(f"{text!r}: the part before @ is {len(address.username)} characters; at most 64 are allowed")
    for label in address.domain.split("."):
        if not _DOMAIN_LABEL.fullmatch(label):
            raise ValueError(
                f"{text!r}: {label[:70]!r} is not a domain name part (letters, digits and inner "
                "hyphens, at most 63 characters)"
            )
    allowed = tuple(allowed_domains)
    domain = address.domain.lower()
    if allowed and domain not in allowed:
        raise ValueError(f"{text!r}: domain {domain} is not in LAUNDRY_RECIPIENT_DOMAINS ({', '.join(allowed)})")
    return f"{address.username}@{domain}"
