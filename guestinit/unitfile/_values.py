"""Scalar value parsers shared by the sections: booleans, modes, signals, exit
statuses, resource limits. Each raises ValueError with a message fit for a user."""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass

from guestinit._signames import parse_signal
from guestinit.unitfile._timespan import SECOND, USEC, parse_timespan

_TRUE = frozenset(("1", "yes", "y", "true", "t", "on"))
_FALSE = frozenset(("0", "no", "n", "false", "f", "off"))


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r} (use yes/no, true/false, on/off or 1/0)")


def parse_int(text: str, low: int, high: int) -> int:
    try:
        number = int(text, 10)
    except ValueError:
        raise ValueError(f"not an integer: {text!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range {low}..{high}")
    return number


def parse_mode(text: str, high: int = 0o7777) -> int:
    """An octal file mode such as ``0755`` or ``022``."""
    if not text or any(ch not in "01234567" for ch in text):
        raise ValueError(f"not an octal mode: {text!r}")
    mode = int(text, 8)
    if mode > high:
        raise ValueError(f"mode {text} is out of range (at most {high:o})")
    return mode


def parse_signal_value(text: str) -> int:
    """A signal by name (``SIGTERM``, ``TERM``) or number, as systemd.kill(5) takes."""
    return parse_signal(text)


# Exit status names systemd accepts (systemd.exec(5), "Process exit codes"):
# the LSB codes, BSD sysexits, and systemd's own 200+ codes for set-up failures.
EXIT_STATUS_NAMES = {
    "SUCCESS": 0,
    "FAILURE": 1,
    "INVALIDARGUMENT": 2,
    "NOTIMPLEMENTED": 3,
    "NOPERMISSION": 4,
    "NOTINSTALLED": 5,
    "NOTCONFIGURED": 6,
    "NOTRUNNING": 7,
    "USAGE": 64,
    "DATAERR": 65,
    "NOINPUT": 66,
    "NOUSER": 67,
    "NOHOST": 68,
    "UNAVAILABLE": 69,
    "SOFTWARE": 70,
    "OSERR": 71,
    "OSFILE": 72,
    "CANTCREAT": 73,
    "IOERR": 74,
    "TEMPFAIL": 75,
    "PROTOCOL": 76,
    "NOPERM": 77,
    "CONFIG": 78,
    "CHDIR": 200,
    "NICE": 201,
    "FDS": 202,
    "EXEC": 203,
    "MEMORY": 204,
    "LIMITS": 205,
    "OOM_ADJUST": 206,
    "SIGNAL_MASK": 207,
    "STDIN": 208,
    "STDOUT": 209,
    "CHROOT": 210,
    "IOPRIO": 211,
    "TIMERSLACK": 212,
    "SECUREBITS": 213,
    "SETSCHEDULER": 214,
    "CPUAFFINITY": 215,
    "GROUP": 216,
    "USER": 217,
    "CAPABILITIES": 218,
    "CGROUP": 219,
    "SETSID": 220,
    "CONFIRM": 221,
    "STDERR": 222,
    "PAM": 224,
    "NETWORK": 225,
    "NAMESPACE": 226,
    "NO_NEW_PRIVILEGES": 227,
    "SECCOMP": 228,
    "SELINUX_CONTEXT": 229,
    "PERSONALITY": 230,
    "APPARMOR_PROFILE": 231,
    "ADDRESS_FAMILIES": 232,
    "RUNTIME_DIRECTORY": 233,
    "CHOWN": 235,
    "SMACK_PROCESS_LABEL": 236,
    "KEYRING": 237,
    "STATE_DIRECTORY": 238,
    "CACHE_DIRECTORY": 239,
    "LOGS_DIRECTORY": 240,
    "CONFIGURATION_DIRECTORY": 241,
    "NUMA_POLICY": 242,
    "CREDENTIALS": 243,
    "BPF": 245,
}


@dataclass(frozen=True)
class ExitStatusSet:
    """Exit codes (0..255) and terminating signals, as in SuccessExitStatus=."""

    codes: frozenset[int] = frozenset()
    signals: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.codes or self.signals)


def parse_exit_status_words(words: list[str]) -> tuple[set[int], set[int]]:
    """(codes, signals) for words like ``75 TEMPFAIL SIGKILL``."""
    codes: set[int] = set()
    signals: set[int] = set()
    for word in words:
        if word.isascii() and word.isdigit():
            codes.add(parse_int(word, 0, 255))
        elif word.upper() in EXIT_STATUS_NAMES:
            codes.add(EXIT_STATUS_NAMES[word.upper()])
        else:
            try:
                signals.add(parse_signal(word))
            except ValueError:
                raise ValueError(f"not an exit status or signal: {word!r}") from None
    return codes, signals


# Limit*= keys -> resource.RLIMIT_* names, with how their values are read.
_BYTES, _COUNT, _CPU, _RTTIME, _NICE = "bytes", "count", "cpu", "rttime", "nice"
RLIMIT_KEYS = {
    "LimitCPU": ("RLIMIT_CPU", _CPU),
    "LimitFSIZE": ("RLIMIT_FSIZE", _BYTES),
    "LimitDATA": ("RLIMIT_DATA", _BYTES),
    "LimitSTACK": ("RLIMIT_STACK", _BYTES),
    "LimitCORE": ("RLIMIT_CORE", _BYTES),
    "LimitRSS": ("RLIMIT_RSS", _BYTES),
    "LimitNOFILE": ("RLIMIT_NOFILE", _COUNT),
    "LimitAS": ("RLIMIT_AS", _BYTES),
    "LimitNPROC": ("RLIMIT_NPROC", _COUNT),
    "LimitMEMLOCK": ("RLIMIT_MEMLOCK", _BYTES),
    "LimitLOCKS": ("RLIMIT_LOCKS", _COUNT),
    "LimitSIGPENDING": ("RLIMIT_SIGPENDING", _COUNT),
    "LimitMSGQUEUE": ("RLIMIT_MSGQUEUE", _BYTES),
    "LimitNICE": ("RLIMIT_NICE", _NICE),
    "LimitRTPRIO": ("RLIMIT_RTPRIO", _COUNT),
    "LimitRTTIME": ("RLIMIT_RTTIME", _RTTIME),
}
RLIM_INFINITY = resource.RLIM_INFINITY
_RLIM_MAX = 2**63  # Python's setrlimit takes a signed 64-bit value
_SIZE_SUFFIXES = {
    "K": 1 << 10,
    "M": 1 << 20,
    "G": 1 << 30,
    "T": 1 << 40,
    "P": 1 << 50,
    "E": 1 << 60,
}


@dataclass(frozen=True)
class RLimit:
    """Soft and hard limit; ``RLIM_INFINITY`` for no limit (ready for setrlimit)."""

    soft: int
    hard: int


def parse_size(text: str) -> int:
    """Bytes with optional base-1024 suffix (``16G``, ``1.5K``, ``512B``)."""
    number = text
    factor = 1
    if number[-1:] == "B":
        number = number[:-1]
    if number[-1:] in _SIZE_SUFFIXES:
        factor = _SIZE_SUFFIXES[number[-1]]
        number = number[:-1]
    if not number or any(ch not in "0123456789." for ch in number) or number.count(".") > 1:
        raise ValueError(f"not a size: {text!r}")
    if number.startswith("."):
        number = "0" + number
    whole, _, fraction = number.partition(".")
    value = int(whole) * factor + int(int(fraction or "0") * factor // 10 ** len(fraction or "0"))
    return value


def _one_limit(text: str, kind: str) -> int:
    if text == "infinity":
        return RLIM_INFINITY
    if kind == _BYTES:
        size = parse_size(text)
        # Anything setrlimit cannot hold means "no limit", as in systemd.
        return RLIM_INFINITY if size >= _RLIM_MAX else size
    if kind == _CPU:  # seconds, rounded up as the kernel counts whole seconds
        seconds = parse_timespan(text, SECOND)
        return RLIM_INFINITY if math.isinf(seconds) else math.ceil(seconds)
    if kind == _RTTIME:  # microseconds are the default unit here
        seconds = parse_timespan(text, USEC)
        return RLIM_INFINITY if math.isinf(seconds) else round(seconds * 1_000_000)
    if kind == _NICE and text[:1] in "+-":
        nice = parse_int(text, -20, 19)
        return 20 - nice  # the kernel's encoding: rlimit 1..40 for nice 19..-20
    if kind == _NICE:
        return parse_int(text, 0, 40)
    return parse_int(text, 0, _RLIM_MAX - 1)


def parse_rlimit(key: str, text: str) -> tuple[str, RLimit]:
    """``LimitNOFILE=1024:4096`` -> ("RLIMIT_NOFILE", RLimit(1024, 4096))."""
    name, kind = RLIMIT_KEYS[key]
    soft_text, colon, hard_text = text.partition(":")
    soft = _one_limit(soft_text.strip(), kind)
    hard = _one_limit(hard_text.strip(), kind) if colon else soft
    # RLIM_INFINITY is -1 in Python's resource module; compare with it as "largest".
    if hard != RLIM_INFINITY and (soft == RLIM_INFINITY or soft > hard):
        raise ValueError(f"soft limit exceeds hard limit in {text!r}")
    return name, RLimit(soft, hard)
