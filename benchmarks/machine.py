"""One line that says what machine a benchmark ran on, the same in every benchmark's output."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(*details: str) -> str:
    """``machine: CPU, N cpus, Linux X, python Y[, details…]``."""
    parts = [
        cpu_model(),
        f"{os.cpu_count()} cpus",
        f"{platform.system()} {platform.release()}",
        f"python {platform.python_version()}",
        *details,
    ]
    return "machine: " + ", ".join(parts)
