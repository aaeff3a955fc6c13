"""One log line as guestinit writes it to its stdout (pure).

Formats (``--log-format``):
- ``prefixed`` (default): ``UNIT[PID]: message``, what ``docker logs`` shows;
- ``plain``: the message alone, as the service wrote it;
- ``json``: one object per line with time, unit, pid, stream, priority and
  message, for log shippers;
- any other text is a template with ``{unit} {pid} {stream} {time}
  {priority} {message}``, e.g. ``{time} {unit}: {message}``.
"""

import json
import time

FORMATS = ("prefixed", "plain", "json")


class LineFormat:
    __slots__ = ("template",)

    def __init__(self, template: str = "prefixed") -> None:
        self.template = template

    def render(
        self,
        unit: str,
        pid: int | None,
        message: str,
        stream: str = "stdout",
        priority: int | None = None,
        when: float | None = None,
    ) -> bytes:
        if self.template == "prefixed":
            where = f"{unit}[{pid}]" if pid else unit
            return f"{where}: {message}\n".encode("utf-8", "replace")
        if self.template == "plain":
            return f"{message}\n".encode("utf-8", "replace")
        stamp = time.time() if when is None else when
        if self.template == "json":
            record = {
                "time": _iso(stamp),
                "unit": unit,
                "pid": pid,
                "stream": stream,
                "priority": priority,
                "message": message,
            }
            return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        text = self.template.format_map(
            {
                "unit": unit,
                "pid": pid or "",
                "stream": stream,
                "time": _iso(stamp),
                "priority": "" if priority is None else priority,
                "message": message,
            }
        )
        return f"{text}\n".encode("utf-8", "replace")


def check_template(template: str) -> str | None:
    """Why ``template`` cannot be used, or None."""
    if template in FORMATS:
        return None
    try:
        template.format_map(
            {k: "" for k in ("unit", "pid", "stream", "time", "priority", "message")}
        )
    except (KeyError, ValueError, IndexError) as error:
        return f"bad --log-format template {template!r}: {error}"
    return None


def _iso(stamp: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
    return f"{seconds}.{int(stamp % 1 * 1000):03d}Z"
