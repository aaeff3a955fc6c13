"""/proc/cpuinfo showing only the visible CPUs, renumbered from 0 (pure).

Each CPU's block (the lines up to a blank line) is kept as the host wrote it
except its ``processor`` number. Blocks without one (arm64's trailing
"Hardware" block) stay at the end. A layout without ``processor : N`` blocks
(s390) passes through unchanged.
"""

import re

from procshim.cgroup.readings import CpuReadings
from procshim.render._lines import encode
from procshim.render.cpus import is_limited, visible_cpus

_PROCESSOR = re.compile(r"^(processor\s*:\s*)(\d+)\s*$", re.MULTILINE)


def render_cpuinfo(host_text: str, cpu: CpuReadings) -> bytes:
    if not is_limited(cpu):
        return encode(host_text)
    blocks = _blocks(host_text)
    by_id: dict[int, str] = {}
    others: list[str] = []
    for block in blocks:
        match = _PROCESSOR.search(block)
        if match:
            by_id.setdefault(int(match.group(2)), block)
        else:
            others.append(block)
    if not by_id:
        return encode(host_text)
    visible = visible_cpus(cpu, sorted(by_id))
    shown = [_renumber(by_id[host_id], number) for number, host_id in enumerate(visible)]
    return encode("".join(shown + others))


def _renumber(block: str, number: int) -> str:
    match = _PROCESSOR.search(block)
    assert match is not None
    return block[: match.start(2)] + str(number) + block[match.end(2) :]


def _blocks(text: str) -> list[str]:
    """Blocks with their trailing blank line, so that joining them gives the text back."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        current.append(line)
        if not line.strip():
            blocks.append("".join(current))
            current = []
    if current:
        blocks.append("".join(current))
    return blocks
