"""Log entries (the ``logs`` verb's answer) -> text, as journalctl prints them (pure).

``short`` is journalctl's default (``Dec 08 01:02:03 host NAME[PID]: message``,
local time), ``short-iso`` the same with an ISO 8601 time, ``cat`` the message
alone, ``json`` one object per line with the journal's field names.
"""

import json
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

OUTPUTS = ("short", "short-iso", "short-precise", "cat", "json")


def render_entry(entry: "Mapping[str, object]", output: str, host: str) -> str:
    """One line, without its newline."""
    message = str(entry["message"])
    if output == "cat":
        return message
    if output == "json":
        return json.dumps(journal_fields(entry, host), ensure_ascii=False)
    when = float(entry["time"])  # type: ignore[arg-type]
    if output == "short-iso":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when))
    elif output == "short-precise":
        stamp = (
            time.strftime("%b %d %H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1e6):06d}"
        )
    else:
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(when))
    pid = entry.get("pid")
    who = f"{entry['name']}[{pid}]" if pid else str(entry["name"])
    return f"{stamp} {host} {who}: {message}"


def journal_fields(entry: "Mapping[str, object]", host: str) -> dict[str, str]:
    """journalctl -o json's fields (values as strings, as it prints them)."""
    when = float(entry["time"])  # type: ignore[arg-type]
    fields = {
        "__CURSOR": f"guestinit-seq={entry['seq']}",
        "__REALTIME_TIMESTAMP": str(int(when * 1_000_000)),
        "_HOSTNAME": host,
        "PRIORITY": str(entry["priority"]),
        "SYSLOG_IDENTIFIER": str(entry["name"]),
        "MESSAGE": str(entry["message"]),
        "_TRANSPORT": "syslog" if entry["stream"] == "syslog" else "stdout",
    }
    if entry.get("pid"):
        fields["_PID"] = str(entry["pid"])
    if entry.get("unit"):
        fields["_SYSTEMD_UNIT"] = str(entry["unit"])
    return fields
