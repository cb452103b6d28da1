"""What a benchmark record says about where it ran: the machine and the package versions.

One place for every benchmark (`python -m benchmarks`, `benchmarks.rts_day`,
`benchmarks.phase3_timing`, `benchmarks.pglib_reference`, `benchmarks.sweep_throughput`), so
their records compare. Timings on a shared machine scale with the load, hence the load average.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine_info() -> dict[str, Any]:
    """CPU count and model, memory (GB), platform, Python and the 1/5/15-minute load average."""
    mem = _proc_field("/proc/meminfo", "MemTotal")
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cpus": os.cpu_count(),
            "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
            "mem_gb": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average": load}


def versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The run manifest's versions (`clearing.market.manifest.versions`: Python, the pinned solver stack,
    the HiGHS library, the table libraries) plus those of the `extra` packages."""
    from clearing.market.manifest import versions as manifest_versions
    out = manifest_versions()
    for p in extra:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out
