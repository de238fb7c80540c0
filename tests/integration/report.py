"""The numbers a reader wants after a run: how long each change took to reach
every worker, and how many responses the fault tests counted. Printed as they
come, shown in the terminal summary, and written to ``artifacts/propagation.txt``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.servers import MARGIN, PROPAGATION_BOUND, REPO, STATE_TTL
from tests.integration.traffic import Agreement, Tally

ARTIFACT = REPO / "artifacts" / "propagation.txt"


@dataclass(frozen=True)
class Line:
    section: str
    text: str


_lines: list[Line] = []


def propagation(scenario: str, change: str, agreement: Agreement) -> None:
    by_server = ", ".join(f"{server} {seconds:.3f} s" for server, seconds in agreement.slowest_by_server().items())
    _add(
        "propagation",
        f"{scenario}: {change}: every worker ({len(agreement.workers)}) after {agreement.slowest:.3f} s "
        f"[slowest per server: {by_server}]",
    )


def faults(scenario: str, tally: Tally) -> None:
    _add("faults", f"{scenario}: {tally}")


def hang(fault: str, server: str, longest_gap: float, tally: Tally, worker_kills: int) -> None:
    """One row of the table of hangs: the longest stretch without a completed response."""
    _add(
        "hangs",
        f"| {fault} | {server} | {longest_gap:.2f} s | {tally.responses} ({_statuses(tally)}) | {worker_kills} |",
    )


def _statuses(tally: Tally) -> str:
    return ", ".join(f"{status or 'none'}: {count}" for status, count in sorted(tally.statuses.items()))


def note(scenario: str, text: str) -> None:
    _add("faults", f"{scenario}: {text}")


def _add(section: str, text: str) -> None:
    _lines.append(Line(section, text))
    print(f"[{section}] {text}", file=sys.stdout, flush=True)


def summary() -> list[str]:
    if not _lines:
        return []
    propagation_lines = [f"  {line.text}" for line in _lines if line.section == "propagation"]
    lines: list[str] = []
    if propagation_lines:
        lines += [
            f"State propagation (MAINTENANCE_MODE_STATE_TTL={STATE_TTL} s; bound TTL + {MARGIN} s = "
            f"{PROPAGATION_BOUND} s, measured from the row's updated_at to the answer's arrival):",
            *propagation_lines,
        ]
    fault_lines = [f"  {line.text}" for line in _lines if line.section == "faults"]
    if fault_lines:
        lines += ["Fault injection (every response of the background traffic):", *fault_lines]
    hang_lines = [f"  {line.text}" for line in _lines if line.section == "hangs"]
    if hang_lines:
        lines += [
            "Hangs (a service frozen or locked; the longest stretch without a completed response per server):",
            "  | fault | server | longest gap | responses (by status) | workers killed |",
            "  | --- | --- | ---: | --- | ---: |",
            *hang_lines,
        ]
    return lines


def write_artifact(command: str, path: Path = ARTIFACT) -> Path | None:
    lines = summary()
    if not lines:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}", f"# {command}"]
    path.write_text("\n".join([*header, *lines]) + "\n")
    return path
