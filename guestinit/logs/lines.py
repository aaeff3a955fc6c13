"""Bytes from a service's output pipe -> complete lines (pure).

A line longer than ``max_line`` is cut there (a service printing megabytes
without a newline must not grow our memory); a partial line waits for its
newline, for ``flush()`` after a short delay, or for the end of the stream.
"""

MAX_LINE = 16 * 1024


class LineSplitter:
    __slots__ = ("_max", "_partial", "partial_since")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max = max_line
        self._partial = b""
        # When the pending partial line began (monotonic), for the flush delay.
        self.partial_since: float | None = None

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """The complete lines in ``data`` (without their newlines)."""
        if not data:
            return []
        chunks = (self._partial + data).split(b"\n")
        self._partial = chunks.pop()
        lines: list[bytes] = []
        for chunk in chunks:
            lines.extend(self._cut(chunk))
        if len(self._partial) >= self._max:
            *full, self._partial = self._cut(self._partial)
            lines.extend(full)
        self.partial_since = (self.partial_since or now) if self._partial else None
        return [line.rstrip(b"\r") for line in lines]

    def flush(self) -> list[bytes]:
        """The partial line, if any, as a line of its own."""
        partial, self._partial, self.partial_since = self._partial, b"", None
        return [partial.rstrip(b"\r")] if partial else []

    def _cut(self, chunk: bytes) -> list[bytes]:
        if len(chunk) <= self._max:
            return [chunk]
        pieces = [chunk[i : i + self._max] for i in range(0, len(chunk), self._max)]
        return pieces
