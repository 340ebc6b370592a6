"""The dates of a series: lists, rules, the end of the year and the clock change."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.dates import DateError, parse_when
from rules.series_dates import SeriesDateError, parse_dates, parse_times, same_day
from tests.unit.test_dates import CORPUS, corpus_rows

BERLIN = ZoneInfo("Europe/Berlin")
NOW_2024 = datetime.fromisoformat("2024-11-01T10:00:00+01:00")
NOW = datetime.fromisoformat("2026-11-22T10:00:00+01:00")


def spans(text: str, now: datetime = NOW_2024) -> list[str]:
    return [w.iso() for w in parse_dates(text, now, BERLIN)]


def starts(text: str, now: datetime = NOW_2024) -> list[str]:
    return [w.start.isoformat() for w in parse_dates(text, now, BERLIN)]


TRANSFERREIHE = [
    "2024-11-14T14:00:00+01:00/2024-11-14T16:00:00+01:00",
    "2024-11-21T14:00:00+01:00/2024-11-21T16:00:00+01:00",
    "2024-11-28T14:00:00+01:00/2024-11-28T16:00:00+01:00",
    "2024-12-05T14:00:00+01:00/2024-12-05T16:00:00+01:00",
]


@pytest.mark.parametrize(
    "text",
    [
        "Do 14.11., 21.11., 28.11., 5.12.2024 14–16 Uhr",
        "Do 14.11., 21.11., 28.11., 5.12.2024, 14:00 - 16:00 Uhr",
        "14.11., 21.11., 28.11. und 5.12. 14-16 Uhr",
        "Donnerstag, 14.11.; 21.11.; 28.11.; 5.12. von 14 bis 16 Uhr",
        "donnerstags 14–16 Uhr vom 14.11. bis 5.12.",
        "jeden Donnerstag 14–16 Uhr vom 14.11.2024 bis 5.12.2024",
        "donnerstags 14-16 Uhr ab 14.11., 4 Termine",
        "donnerstags 14-16 Uhr ab 12.11. 4x",  # the first Thursday on or after the start
        "thursdays 14:00-16:00 from 14.11. to 5.12.",
        "vom 14.11. bis 5.12. donnerstags 14:00–16:00",
        "donnerstags 14.11., 21.11., 28.11. und 5.12. 14–16 Uhr",  # a weekday adverb before a list
    ],
)
def test_the_transfer_series_in_every_form(text):
    assert spans(text) == TRANSFERREIHE


def test_named_months_in_a_list():
    assert starts("14. Nov, 21. Nov. und 5. Dezember 14 Uhr") == [
        "2024-11-14T14:00:00+01:00",
        "2024-11-21T14:00:00+01:00",
        "2024-12-05T14:00:00+01:00",
    ]


def test_a_list_across_the_end_of_the_year_without_years():
    assert starts("Do 12.12., 9.1., 23.1. 10 Uhr") == [
        "2024-12-12T10:00:00+01:00",
        "2025-01-09T10:00:00+01:00",
        "2025-01-23T10:00:00+01:00",
    ]


def test_a_year_given_last_holds_for_the_dates_before_it_across_the_year():
    assert starts("12.12., 9.1.2025 10 Uhr") == ["2024-12-12T10:00:00+01:00", "2025-01-09T10:00:00+01:00"]


def test_a_rule_across_the_end_of_the_year():
    assert starts("donnerstags 10 Uhr vom 12.12. bis 9.1.") == [
        "2024-12-12T10:00:00+01:00",
        "2024-12-19T10:00:00+01:00",
        "2024-12-26T10:00:00+01:00",
        "2025-01-02T10:00:00+01:00",
        "2025-01-09T10:00:00+01:00",
    ]


def test_a_fortnightly_rule():
    assert starts("alle 2 Wochen mittwochs 9:30 Uhr vom 4.12.2024 bis 15.1.2025") == [
        "2024-12-04T09:30:00+01:00",
        "2024-12-18T09:30:00+01:00",
        "2025-01-01T09:30:00+01:00",
        "2025-01-15T09:30:00+01:00",
    ]
    assert starts("14-tägig mittwochs 9:30 Uhr ab 4.12., 2 Termine") == starts("Mi 4.12., 18.12. 9:30 Uhr")


def test_a_rule_across_the_autumn_clock_change_keeps_the_local_time():
    assert spans(
        "donnerstags 14–16 Uhr vom 15.10.2026 bis 5.11.2026", datetime.fromisoformat("2026-10-01T10:00+02:00")
    ) == [
        "2026-10-15T14:00:00+02:00/2026-10-15T16:00:00+02:00",
        "2026-10-22T14:00:00+02:00/2026-10-22T16:00:00+02:00",
        "2026-10-29T14:00:00+01:00/2026-10-29T16:00:00+01:00",
        "2026-11-05T14:00:00+01:00/2026-11-05T16:00:00+01:00",
    ]


def test_a_list_across_the_spring_clock_change():
    assert starts("Sa 21.3., 28.3., 4.4.2026 10 Uhr", datetime.fromisoformat("2026-03-01T10:00+01:00")) == [
        "2026-03-21T10:00:00+01:00",
        "2026-03-28T10:00:00+01:00",
        "2026-04-04T10:00:00+02:00",
    ]


def test_a_time_the_clock_change_skips_is_refused():
    with pytest.raises(DateError) as info:
        parse_dates(
            "sonntags 2:30 Uhr vom 22.3.2026 bis 5.4.2026", datetime.fromisoformat("2026-03-01T10:00+01:00"), BERLIN
        )
    assert info.value.key == "dates.dst_gap"


def test_a_rule_without_a_start_begins_with_the_next_such_day():
    # Sunday 22 November 2026: the next Thursdays.
    assert starts("donnerstags 14 Uhr, 3 Termine", NOW) == [
        "2026-11-26T14:00:00+01:00",
        "2026-12-03T14:00:00+01:00",
        "2026-12-10T14:00:00+01:00",
    ]
    # Today, later on: today counts.
    assert starts("sonntags 16 Uhr, 2 mal", NOW)[0] == "2026-11-22T16:00:00+01:00"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Do 14.11., 22.11. 14 Uhr", "dates.weekday_mismatch"),  # 22.11.2024 is a Friday
        ("donnerstags 14.11., 22.11. 14 Uhr", "dates.weekday_mismatch"),
        ("14.11. 14 Uhr, 21.11. 15 Uhr", "series_dates.one_time"),
        ("14.11., 14.11. 14 Uhr", "series_dates.twice"),
        ("21.11.2024, 14.11.2024 14 Uhr", "series_dates.order"),
        ("28.10.2024, 14.11.2024 14 Uhr", "series_dates.past"),
        ("14.11., 21.11.", "dates.no_time"),
        ("donnerstags 14 Uhr", "series_dates.rule_open"),
        ("donnerstags 14 Uhr vom 5.12. bis 14.11.2024", "series_dates.until_before_start"),
        ("donnerstags 14 Uhr ab 14.11., 99 Termine", "series_dates.too_many"),
        ("14.11., 31.11. 14 Uhr", "dates.invalid_date"),
        ("14.11., 21.11. 16-14 Uhr", "dates.end_before_start"),
        ("", "dates.empty"),
    ],
)
def test_refused_with_a_message(text, key):
    with pytest.raises(DateError) as info:
        parse_dates(text, NOW_2024, BERLIN)
    assert info.value.key == key
    assert "example" in info.value.params


def test_series_errors_show_a_series_example():
    with pytest.raises(SeriesDateError) as info:
        parse_dates("14.11., 14.11. 14 Uhr", NOW_2024, BERLIN)
    assert "," in info.value.params["example"]


def _corpus() -> list[tuple[str, str, str, str]]:
    """The shared date corpus, or nothing where the checkout has no shared data beside it (the
    corpus test of test_dates.py says so)."""
    return corpus_rows() if CORPUS.exists() else []


@pytest.mark.parametrize("row", [r for r in _corpus() if r[2] != "ERROR"], ids=lambda r: r[0])
def test_every_single_date_of_the_corpus_is_a_one_part_series(row):
    text, now, _, _ = row
    (when,) = parse_dates(text, datetime.fromisoformat(now), BERLIN)
    assert when == parse_when(text, datetime.fromisoformat(now), BERLIN)


@pytest.mark.parametrize("row", [r for r in _corpus() if r[2] == "ERROR"], ids=lambda r: r[0])
def test_every_refused_date_of_the_corpus_is_refused_here_too(row):
    with pytest.raises(DateError):
        parse_dates(row[0], datetime.fromisoformat(row[1]), BERLIN)


def test_a_new_time_of_day_for_every_part_keeps_each_day_and_its_offset():
    times = parse_times("15–17 Uhr")
    summer = same_day(datetime.fromisoformat("2026-10-22T14:00+02:00"), times, BERLIN, timedelta(hours=2))
    winter = same_day(datetime.fromisoformat("2026-10-29T14:00+01:00"), times, BERLIN, timedelta(hours=2))
    assert (summer.iso(), winter.iso()) == (
        "2026-10-22T15:00:00+02:00/2026-10-22T17:00:00+02:00",
        "2026-10-29T15:00:00+01:00/2026-10-29T17:00:00+01:00",
    )
    later = same_day(
        datetime.fromisoformat("2026-10-22T14:00+02:00"), parse_times("um 9:30"), BERLIN, timedelta(hours=1)
    )
    assert later.iso() == "2026-10-22T09:30:00+02:00/2026-10-22T10:30:00+02:00"


@pytest.mark.parametrize(("text", "key"), [("Do 15 Uhr", "series_dates.time_only"), ("morgen", "dates.no_time")])
def test_a_time_of_day_alone_is_asked_for(text, key):
    with pytest.raises(DateError) as info:
        parse_times(text)
    assert info.value.key == key
