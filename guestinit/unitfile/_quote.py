"""Words out of a value: the quoting and C-escape rules of systemd.syntax(7).

Used by Exec lines, ``Environment=`` and ``$VAR`` word splitting. Quotes may open
anywhere inside a word (``a"b c"d`` is one word ``ab cd``), as systemd's
implementation allows even though its manual describes only whole-word quoting.
Backslash escapes work both inside and outside quotes. An unknown escape is kept
literally with a warning and an unterminated quote is an error, matching systemd.
"""

from __future__ import annotations

from guestinit.unitfile._syntax import WHITESPACE

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "s": " ",
}
_HEX = "0123456789abcdefABCDEF"


class QuoteError(ValueError):
    """The value cannot be split: an unterminated quote or an escape of NUL."""


def _unescape_one(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the escape whose letter is at ``text[pos]``; None if unknown.

    Returns (decoded text, index after the escape).
    """
    letter = text[pos]
    if letter in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[letter], pos + 1
    for prefix, width, base, digits in (("x", 2, 16, _HEX), ("u", 4, 16, _HEX), ("U", 8, 16, _HEX)):
        if letter == prefix:
            chunk = text[pos + 1 : pos + 1 + width]
            if len(chunk) != width or any(ch not in digits for ch in chunk):
                return None
            code = int(chunk, base)
            return _checked_char(code), pos + 1 + width
    if letter in "0123":
        chunk = text[pos : pos + 3]
        if len(chunk) != 3 or any(ch not in "01234567" for ch in chunk):
            return None
        return _checked_char(int(chunk, 8)), pos + 3
    return None


def _checked_char(code: int) -> str:
    # systemd refuses escapes that would put a NUL into a C string.
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise QuoteError(f"escape decodes to an invalid character (U+{code:04X})")
    return chr(code)


def skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in WHITESPACE:
        pos += 1
    return pos


def next_word(
    text: str, pos: int, warnings: list[str], *, c_escapes: bool = True, relax: bool = False
) -> tuple[str | None, int]:
    """Extract the word starting at or after ``pos``; (None, end) when none is left.

    Unknown escapes append a message to ``warnings``; QuoteError for fatal faults.
    Without ``c_escapes`` a backslash just takes the next character literally (how
    ``$VAR`` values are split); ``relax`` lets a quote run to the end of the text.
    """
    pos = skip_space(text, pos)
    if pos >= len(text):
        return None, pos
    out: list[str] = []
    quote: str | None = None
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            if pos + 1 >= len(text):
                warnings.append("trailing backslash kept literally")
                out.append("\\")
                pos += 1
                continue
            if not c_escapes:
                out.append(text[pos + 1])
                pos += 2
                continue
            decoded = _unescape_one(text, pos + 1)
            if decoded is None:
                warnings.append(f"unknown escape sequence '\\{text[pos + 1]}' kept literally")
                out.append("\\" + text[pos + 1])
                pos += 2
            else:
                out.append(decoded[0])
                pos = decoded[1]
            continue
        if quote is not None:
            if char == quote:
                quote = None
            else:
                out.append(char)
        elif char in "\"'":
            quote = char
        elif char in WHITESPACE:
            break
        else:
            out.append(char)
        pos += 1
    if quote is not None and not relax:
        raise QuoteError(f"unterminated {quote} quote")
    return "".join(out), pos


def split_words(
    text: str, warnings: list[str], *, c_escapes: bool = True, relax: bool = False
) -> list[str]:
    """All words of ``text``; QuoteError if it cannot be split."""
    words: list[str] = []
    pos = 0
    while True:
        word, pos = next_word(text, pos, warnings, c_escapes=c_escapes, relax=relax)
        if word is None:
            return words
        words.append(word)
