"""Side-by-side benchmarks of guestinit against tini and dumb-init.

Run ``python bench/pid1.py [--quick] [--record]`` from anywhere; see README.md.

- ``pid1``          the command: runs every scenario, prints the table.
- ``_contenders``   who is measured and how each is started.
- ``_ns``           one init as PID 1 of a fresh PID namespace; /proc readers.
- ``_programs``     the C workloads in ``programs/``, compiled at bench time.
- ``_scenarios``    startup, RSS + idle CPU, reap burst, signal latency.
- ``_table``        rows, ratios and the markdown table.
"""
