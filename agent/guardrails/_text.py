"""Text helpers for the rails: normalising evasions (leetspeak, masks, spacing, stretched letters) and
finding text hidden in base64, hex or rot13."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Iterable

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_LEET_IN_WORD = re.compile(r"(?<=[A-Za-z])[0134579@$!]|[0134579@$](?=[A-Za-z])")
_TOKEN = re.compile(r"[a-z0-9@$!*#]+")
_SPACED = re.compile(r"\b(?:[a-z][ .\-_]){2,}[a-z]\b")
_MASK = re.compile(r"[*#]")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9a-f]{2}[\s,:]?){8,}", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{2,}")
ORDER_ID = re.compile(r"#?\bW\d{7}\b")
NUMBER_WORDS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def sentence_key(sentence: str) -> str:
    """A sentence as it compares: lower case, single spaces."""
    return " ".join(sentence.lower().split())


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of ``text``, markup stripped."""
    parts = (p.strip().lstrip("#-* ").replace("**", "") for p in _SPLIT.split(text))
    return [p for p in parts if len(p) > 3]


def clean(text: str) -> str:
    """NFKC-normalised text without zero-width characters (homoglyph and invisible-character evasions)."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def unleet(text: str) -> str:
    """Leetspeak digits and symbols inside words read as letters (``1gn0r3`` -> ``ignore``)."""
    return _LEET_IN_WORD.sub(lambda m: m[0].translate(_LEET), text)


def variants(text: str) -> list[str]:
    """``text`` and its de-obfuscated forms, each once."""
    cleaned = clean(text)
    return list(dict.fromkeys([text, cleaned, unleet(cleaned)]))


def word_forms(text: str) -> set[str]:
    """Lower-case word forms of ``text`` with evasions undone: leetspeak, spaced or dotted letters, stretched
    letters; masked words (``f*ck``) keep their mask characters for :func:`masked_matches`."""
    lowered = clean(text).lower()
    joined = [re.sub(r"[ .\-_]", "", m) for m in _SPACED.findall(lowered)]
    forms: set[str] = {*joined, *(j[1:] for j in joined)}  # "such a r e t a r d": the article may join the run
    for token in _TOKEN.findall(lowered):
        token = token.rstrip("!")
        if not token:
            continue
        word = token if _MASK.search(token) else token.translate(_LEET)
        forms |= {word, re.sub(r"(.)\1{2,}", r"\1", word), re.sub(r"(.)\1+", r"\1", word)}
    return forms


def masked_matches(form: str, words: Iterable[str]) -> bool:
    """True when ``form`` with mask characters (``f*ck``, ``a**hole``) spells one of ``words``."""
    if not _MASK.search(form) or not re.search(r"[a-z]", form):
        return False
    pattern = re.compile("".join("[a-z]" if _MASK.fullmatch(c) else re.escape(c) for c in form))
    return any(pattern.fullmatch(w) for w in words)


def _readable(raw: bytes, min_words: int) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c.isspace() for c in text) / max(len(text), 1)
    return text if printable >= 0.95 and len(_WORD.findall(text)) >= min_words else None


def _decoded_blobs(text: str, min_chars: int) -> Iterable[bytes]:
    for blob in _BASE64.findall(text):
        if len(blob) >= min_chars:
            bare = blob.rstrip("=")
            padded = bare + "=" * (-len(bare) % 4)
            try:
                yield base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                continue
    for blob in _HEX.findall(text):
        digits = re.sub(r"\\x|0x|[\s,:]", "", blob, flags=re.IGNORECASE)
        if len(digits) >= min_chars and len(digits) % 2 == 0:
            yield bytes.fromhex(digits)


def hidden_text(text: str, *, min_chars: int, min_words: int, rot13_words: int, common: frozenset[str]) -> str | None:
    """Readable text hidden in ``text`` as base64, hex or rot13, or None."""
    for raw in _decoded_blobs(text, min_chars):
        readable = _readable(raw, min_words)
        if readable:
            return readable
    rotated = codecs.encode(text, "rot13")

    def common_count(s: str) -> int:
        return sum(w in common for w in re.findall(r"[a-z]+", s.lower()))

    return rotated if common_count(rotated) - common_count(text) >= rot13_words else None


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    """The runs of ``n`` words in ``text`` (lower case, punctuation dropped)."""
    words = re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
