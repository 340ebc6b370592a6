"""Dates as coordinators type them: the shared corpus plus our own DST, range and error cases."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.dates import DateError, format_short, format_when, parse_when
from rules.i18n import t

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.fromisoformat("2026-11-22T10:00:00+01:00")
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "dates_de.tsv"


def corpus_rows() -> list[tuple[str, str, str, str]]:
    if not CORPUS.exists():
        pytest.skip(f"shared date corpus not found at {CORPUS}")
    with open(CORPUS, encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    return [(r[0], r[1], r[2], r[3] if len(r) > 3 else "") for r in rows]


def test_corpus_is_not_empty():
    assert len(corpus_rows()) >= 20


@pytest.mark.parametrize("row", corpus_rows() if CORPUS.exists() else [], ids=lambda r: r[0])
def test_corpus(row):
    text, now, start, end = row
    if start == "ERROR":
        with pytest.raises(DateError) as info:
            parse_when(text, datetime.fromisoformat(now), BERLIN)
        assert "example" in info.value.params
        return
    when = parse_when(text, datetime.fromisoformat(now), BERLIN)
    assert when.start.isoformat() == start
    assert (when.end.isoformat() if when.end else "") == end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spring forward 2027: 28 March, 02:00 → 03:00. Before and after the switch.
        ("27.3.2027 14 Uhr", "2027-03-27T14:00:00+01:00"),
        ("28.3.2027 14 Uhr", "2027-03-28T14:00:00+02:00"),
        # Fall back 2027: 31 October, 03:00 → 02:00.
        ("30.10.2027 14 Uhr", "2027-10-30T14:00:00+02:00"),
        ("31.10.2027 14 Uhr", "2027-10-31T14:00:00+01:00"),
        ("31.10.2027 02:30", "2027-10-31T02:30:00+02:00"),  # ambiguous hour: the first (summer) one
        ("von 14 bis 15 Uhr am 10.12.2026", "2026-12-10T14:00:00+01:00/2026-12-10T15:00:00+01:00"),
        ("10.12.2026 14:00 bis 15:30 Uhr", "2026-12-10T14:00:00+01:00/2026-12-10T15:30:00+01:00"),
        ("Do, 10.12., 9:30—11 Uhr", "2026-12-10T09:30:00+01:00/2026-12-10T11:00:00+01:00"),
        ("10. Dez. 14 Uhr", "2026-12-10T14:00:00+01:00"),
        ("5.1. 10 Uhr", "2027-01-05T10:00:00+01:00"),  # no year: the next 5 January
        ("Sonntag 16 Uhr", "2026-11-22T16:00:00+01:00"),  # today is Sunday and 16:00 is still ahead
        ("nächsten Sonntag 16 Uhr", "2026-11-29T16:00:00+01:00"),
        ("Sonntag 9 Uhr", "2026-11-29T09:00:00+01:00"),  # today's 9:00 has passed
        ("10.12.2026 2:30 pm", "2026-12-10T14:30:00+01:00"),
        ("in 3 Tagen um 9 Uhr", "2026-11-25T09:00:00+01:00"),
        ("2026-12-10T14:00:00+01:00", "2026-12-10T14:00:00+01:00"),
    ],
)
def test_more_phrasings(text, expected):
    assert parse_when(text, NOW, BERLIN).iso() == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "dates.empty"),
        ("28.3.2027 02:30", "dates.dst_gap"),
        ("10.12.2026 15-14 Uhr", "dates.end_before_start"),
        ("10.12.2026 25 Uhr", "dates.invalid_time"),
        ("Mi 10.12.2026 14 Uhr", "dates.weekday_mismatch"),
        ("29.2.2027 10 Uhr", "dates.invalid_date"),
        ("10.12.2026 14 Uhr oder 16 Uhr", "dates.ambiguous"),
        ("14 Uhr", "dates.no_date"),
        ("blabla 14 Uhr", "dates.unknown"),
    ],
)
def test_refusals_name_the_problem(text, key):
    with pytest.raises(DateError) as info:
        parse_when(text, NOW, BERLIN)
    assert info.value.key == key
    assert t(info.value.key, "de", **info.value.params).plain


def test_written_out_in_german_and_english():
    when = parse_when("Do 10.12. 14–15 Uhr", NOW, BERLIN)
    assert format_when(when.start, when.end, BERLIN, "de") == "Donnerstag, 10. Dezember 2026, 14:00–15:00 Uhr"
    assert format_when(when.start, when.end, BERLIN, "en") == "Thursday, 10 December 2026, 14:00–15:00"
    assert format_short(when.start, BERLIN, "de") == "Do 10.12.2026, 14:00 Uhr"


def test_same_words_other_zone():
    london = ZoneInfo("Europe/London")
    assert parse_when("10.12.2026 14:00", NOW, london).iso() == "2026-12-10T14:00:00+00:00"
