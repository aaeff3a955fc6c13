"""/proc/pressure/{cpu,memory,io}: the cgroup's own PSI file when it has one (pure).

cgroup2 keeps PSI per cgroup in the same format ("some avg10=... total=..."),
so a container sees its own stalls. cgroup v1 has none: the host's file.
"""

from procshim.render._lines import encode


def render_pressure(host_text: str, cgroup_text: str | None) -> bytes:
    if cgroup_text is None or not cgroup_text.startswith("some "):
        return encode(host_text)
    return encode(cgroup_text)
