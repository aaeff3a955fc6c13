"""Signal names <-> numbers, pure.

Accepts what users type in the tools we replace: ``TERM``, ``SIGTERM``, ``15``,
``RTMIN+3``, ``SIGRTMAX-1``; case-insensitive.
"""

from guestinit._sig import sig

_ALIASES = {"CLD": "CHLD", "IOT": "ABRT", "POLL": "IO"}


def _table() -> dict[str, int]:
    names: dict[str, int] = {}
    for attr in dir(sig):
        if attr.startswith("SIG") and "_" not in attr and attr not in ("SIGRTMIN", "SIGRTMAX"):
            names[attr[3:]] = int(getattr(sig, attr))
    for alias, target in _ALIASES.items():
        names[alias] = names[target]
    return names


NUMBERS = _table()
RTMIN = int(sig.SIGRTMIN)
RTMAX = int(sig.SIGRTMAX)
_CANONICAL = {num: name for name, num in NUMBERS.items() if name not in _ALIASES}


def parse_signal(text: str) -> int:
    """Return the signal number for ``text``; ValueError names what was wrong."""
    word = text.strip().upper()
    if word.isdigit():
        number = int(word)
        if 1 <= number <= RTMAX:
            return number
        raise ValueError(f"signal number out of range: {text}")
    if word.startswith("SIG"):
        word = word[3:]
    if word in NUMBERS:
        return NUMBERS[word]
    if word == "RTMIN":
        return RTMIN
    if word == "RTMAX":
        return RTMAX
    for prefix, anchor, step in (("RTMIN+", RTMIN, 1), ("RTMAX-", RTMAX, -1)):
        offset = word[len(prefix) :]
        if word.startswith(prefix) and offset.isdigit():
            number = anchor + step * int(offset)
            if RTMIN <= number <= RTMAX:
                return number
    raise ValueError(f"unknown signal: {text}")


def signal_name(number: int) -> str:
    """``SIGTERM`` for 15, ``SIGRTMIN+3`` for 37, the number as text if unknown."""
    if number in _CANONICAL:
        return "SIG" + _CANONICAL[number]
    if RTMIN < number <= RTMAX:
        return f"SIGRTMIN+{number - RTMIN}"
    if number == RTMIN:
        return "SIGRTMIN"
    return str(number)


def describe(number: int) -> str:
    """The C library's description ("Terminated"), as tini prints it."""
    text = sig.strsignal(number)
    return text if text else f"Unknown signal {number}"
