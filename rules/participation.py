"""Which municipalities take part (pure): registrations and sessions per municipality and region in
a year, the municipalities that took part in none, and the same as a CSV file. No person appears:
the input is counts per session and municipality."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from rules.municipalities import Directory, Outcome, match


@dataclass(frozen=True)
class Attendance:
    """`registrations` people with a place in session `session_id`, recorded with `municipality`
    (as stored: the directory's name, older free text, or None when not given)."""

    session_id: int
    municipality: str | None
    registrations: int


@dataclass(frozen=True)
class Counts:
    registrations: int = 0
    sessions: int = 0


@dataclass(frozen=True)
class Line:
    """One municipality of one region (a municipality of two regions has a line in each)."""

    region: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Participation:
    """The year's figures: every municipality of the directory by region, and the registrations
    whose municipality is not in the directory (`unlisted`) or was not given (`unknown`)."""

    year: int
    sessions: int  # sessions held that year
    lines: tuple[Line, ...]
    totals: tuple[tuple[str, Counts], ...]  # per region: its municipalities' registrations, sessions
    unlisted: Counts
    unknown: Counts

    def region_lines(self, region: str) -> list[Line]:
        return [line for line in self.lines if line.region == region]

    def regions(self) -> list[str]:
        return list(dict.fromkeys(line.region for line in self.lines))

    def total(self, region: str) -> Counts:
        return dict(self.totals)[region]

    def absent(self, region: str) -> list[str]:
        """The region's municipalities that took part in no session."""
        return [line.name for line in self.region_lines(region) if not line.counts.registrations]


def _counts(rows: list[Attendance]) -> Counts:
    taken = [r for r in rows if r.registrations > 0]
    return Counts(sum(r.registrations for r in taken), len({r.session_id for r in taken}))


def participation(rows: Iterable[Attendance], directory: Directory, year: int, sessions: int) -> Participation:
    """The figures of `year` from attendance `rows`; a stored municipality counts for the directory's
    name it surely matches (older registrations kept free text), else as not in the directory."""
    by_name: dict[str, list[Attendance]] = {}
    unlisted: list[Attendance] = []
    unknown: list[Attendance] = []
    names: dict[str, str | None] = {}  # each stored text matched once
    for row in rows:
        if not row.municipality:
            unknown.append(row)
            continue
        if row.municipality not in names:
            found = match(directory, row.municipality)
            names[row.municipality] = found.name if found.outcome == Outcome.SURE else None
        name = names[row.municipality]
        if name is not None:
            by_name.setdefault(name, []).append(row)
        else:
            unlisted.append(row)
    lines = tuple(
        Line(region, name, _counts(by_name.get(name, [])))
        for region, members in directory.regions.items()
        for name in members
    )
    totals = tuple(
        (region, _counts([r for name in members for r in by_name.get(name, [])]))
        for region, members in directory.regions.items()
    )
    return Participation(year, sessions, lines, totals, _counts(unlisted), _counts(unknown))


def participation_csv(figures: Participation, headers: list[str], unlisted: str, unknown: str) -> bytes:
    """One row per region and municipality (then the registrations not in the directory and those
    without a municipality): `;`-separated UTF-8 with BOM, as spreadsheet programs in Germany
    open it. `headers` names the four columns. Every cell is a name of the directory (from the
    shipped list or the config), a catalogue label or a number: nothing people typed."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for line in figures.lines:
        writer.writerow([line.region, line.name, line.counts.registrations, line.counts.sessions])
    writer.writerow(["", unlisted, figures.unlisted.registrations, figures.unlisted.sessions])
    writer.writerow(["", unknown, figures.unknown.registrations, figures.unknown.sessions])
    return ("\ufeff" + out.getvalue()).encode()


def filename(year: int, extension: str) -> str:
    return f"regiobot-statistik-{year}.{extension}"
