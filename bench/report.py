"""Figures, verdicts, the printed table and bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")  # the latest full run, kept in git
LOCAL_RESULTS = Path(__file__).with_name("results.local.json")  # the latest smaller run, not kept


def summary(seconds: list[float]) -> dict[str, float]:
    """Median and 90th percentile in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p90 = statistics.quantiles(ms, n=10)[8] if len(ms) >= 2 else ms[0]
    return {"median_ms": round(statistics.median(ms), 1), "p90_ms": round(p90, 1), "samples": len(ms)}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "synapse": version("matrix-synapse"),
        "matrix_nio": version("matrix-nio"),
        "os": platform.platform(),
    }


@dataclass
class Report:
    """Rows of (what, target, measured, met) plus the raw figures for results.json."""

    rows: list[tuple[str, str, str, bool | None]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, what: str, target: str, measured: str, met: bool | None) -> None:
        self.rows.append((what, target, measured, met))

    def table(self) -> str:
        head = ("measurement", "target", "measured", "verdict")
        verdict = {True: "met", False: "MISSED", None: "-"}
        lines = [(w, t, m, verdict[ok]) for w, t, m, ok in self.rows]
        widths = [max(len(str(r[i])) for r in [head, *lines]) for i in range(4)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in lines)])

    def write(self, params: dict[str, Any], path: Path = RESULTS) -> dict[str, Any]:
        data = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "parameters": params,
            "verdicts": [{"measurement": w, "target": t, "measured": m, "met": ok} for w, t, m, ok in self.rows],
            **self.figures,
        }
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return data
