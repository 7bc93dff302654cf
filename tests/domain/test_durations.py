"""Parsing `when:` inputs: relative durations, absolute dates in the guild's zone, bounds."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.durations import (
    ACCEPTED_FORMS,
    MAX_DELAY,
    MIN_DELAY,
    DurationError,
    describe,
    parse_duration,
    parse_when,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
        (" 1D 12H ", timedelta(days=1, hours=12)),
        ("1m", timedelta(minutes=1)),
    ],
)
def test_relative_durations(text, expected):
    assert parse_duration(text) == expected
    assert parse_when(text, NOW) == NOW + expected


@pytest.mark.parametrize(
    "text", ["", "   ", "soon", "3", "3x", "h", "12h1d", "1d1d", "-5m", "1.5h", "3 dayz",
             "tres días",
             "2026-13-01 10:00", "2026-02-30 10:00", "2026-01-06 25:00", "2026-01-06"],
)
def test_unreadable_input_lists_the_accepted_forms(text):
    with pytest.raises(DurationError) as caught:
        parse_when(text, NOW)
    assert ACCEPTED_FORMS in str(caught.value)


@pytest.mark.parametrize("text", ["0m", "59s", "0d0h"])
def test_less_than_a_minute_is_refused(text):
    with pytest.raises(DurationError) as caught:
        parse_when(text, NOW)
    assert "`30m`" in str(caught.value)


def test_exactly_a_minute_and_exactly_a_year_are_accepted():
    assert parse_when("1m", NOW) == NOW + MIN_DELAY
    assert parse_when("365d", NOW) == NOW + MAX_DELAY
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("366d", NOW)
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("53w", NOW)


def test_absolute_dates_are_read_in_the_guild_time_zone():
    # 15:30 in New York in January is 20:30 UTC.
    assert parse_when("2026-01-10 15:30", NOW, "America/New_York") == datetime(
        2026, 1, 10, 20, 30, tzinfo=UTC)
    assert parse_when("2026-01-10 15:30", NOW, "UTC") == datetime(2026, 1, 10, 15, 30, tzinfo=UTC)
    assert parse_when("2026-01-10T15:30", NOW) == datetime(2026, 1, 10, 15, 30, tzinfo=UTC)


def test_absolute_dates_in_the_past_or_too_far_are_refused():
    with pytest.raises(DurationError, match="in the past"):
        parse_when("2025-12-31 10:00", NOW)
    with pytest.raises(DurationError, match="less than a minute"):
        parse_when("2026-01-05 09:01", NOW.replace(second=30))
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("2027-06-01 10:00", NOW)


def test_a_wall_time_skipped_by_daylight_saving_is_refused():
    with pytest.raises(DurationError, match="doesn't exist"):
        parse_when("2026-03-29 01:30", NOW, "Europe/London")


def test_describe():
    assert describe(timedelta(days=3)) == "3 days"
    assert describe(timedelta(hours=2, minutes=30)) == "2 hours 30 minutes"
    assert describe(timedelta(minutes=1)) == "1 minute"
    assert describe(timedelta(seconds=5)) == "less than a minute"


units = st.fixed_dictionaries({
    "w": st.integers(0, 60), "d": st.integers(0, 400), "h": st.integers(0, 9000),
    "m": st.integers(0, 600000),
})


@given(units)
def test_any_well_formed_duration_is_parsed_exactly_or_refused_by_bounds(parts):
    text = "".join(f"{parts[u]}{u}" for u in "wdhm" if parts[u])
    expected = (timedelta(weeks=parts["w"], days=parts["d"], hours=parts["h"],
                          minutes=parts["m"]))
    if not text:
        with pytest.raises(DurationError):
            parse_when(text, NOW)
        return
    assert parse_duration(text) == expected
    if MIN_DELAY <= expected <= MAX_DELAY:
        assert parse_when(text, NOW) == NOW + expected
    else:
        with pytest.raises(DurationError):
            parse_when(text, NOW)


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text):
    try:
        when = parse_when(text, NOW, "Europe/Paris")
    except DurationError as exc:
        assert ACCEPTED_FORMS in str(exc)
    else:
        assert NOW + MIN_DELAY <= when <= NOW + MAX_DELAY
        assert when.tzinfo is not None


@given(st.datetimes(min_value=datetime(2026, 1, 6), max_value=datetime(2026, 12, 31)),
       st.sampled_from(["UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata",
                        "Australia/Sydney"]))
def test_absolute_round_trip(local, tz_name):
    from zoneinfo import ZoneInfo

    local = local.replace(second=0, microsecond=0)
    text = local.strftime("%Y-%m-%d %H:%M")
    try:
        when = parse_when(text, NOW, tz_name)
    except DurationError as exc:
        # Only a daylight-saving gap may refuse an in-range date.
        assert "doesn't exist" in str(exc)
        return
    assert when.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None) == local


# --- unit words, in English and Spanish ---------------------------------------------------------

_WORDS = {
    "en": {"w": ("week", "weeks"), "d": ("day", "days"), "h": ("hour", "hours"),
           "m": ("minute", "minutes")},
    "es": {"w": ("semana", "semanas"), "d": ("día", "días"), "h": ("hora", "horas"),
           "m": ("minuto", "minutos")},
}


@given(w=st.integers(0, 50), d=st.integers(0, 300), h=st.integers(0, 500),
       m=st.integers(0, 5000), language=st.sampled_from(["en", "es"]),
       spaced=st.booleans(), joiner=st.sampled_from([" ", ", ", " y ", " and "]),
       upper=st.booleans())
def test_unit_words_read_like_the_compact_form(w, d, h, m, language, spaced, joiner, upper):
    amounts = {"w": w, "d": d, "h": h, "m": m}
    if not any(amounts.values()):
        m = amounts["m"] = 1
    parts = [f"{n}{' ' if spaced else ''}{_WORDS[language][u][0 if n == 1 else 1]}"
             for u, n in amounts.items() if n]
    text = joiner.join(parts)
    if upper:
        text = text.upper()
    compact = "".join(f"{n}{u}" for u, n in amounts.items() if n)
    assert parse_duration(text) == parse_duration(compact) == timedelta(
        weeks=w, days=d, hours=h, minutes=m)


@pytest.mark.parametrize("text, expected", [
    ("3 días", timedelta(days=3)), ("2 horas", timedelta(hours=2)),
    ("1 semana y 2 días", timedelta(days=9)), ("45 minutos", timedelta(minutes=45)),
    ("3 dias", timedelta(days=3)), ("1 día 12 horas", timedelta(days=1, hours=12)),
])
def test_spanish_durations_are_accepted(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["3 días 2 días", "2 horas 3 días", "días", "3 dias extra",
                                  "tres días", "3 lunas"])
def test_spanish_words_out_of_order_repeated_or_unknown_are_refused(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_describe_speaks_the_language_being_spoken():
    from bot.i18n import speaking

    with speaking("es"):
        assert describe(timedelta(days=3, hours=1)) == "3 días 1 hora"
        assert describe(timedelta(minutes=1)) == "1 minuto"
        assert describe(timedelta(seconds=5)) == "menos de un minuto"
    assert describe(timedelta(days=1, minutes=2)) == "1 day 2 minutes"


def test_errors_are_in_the_language_being_spoken():
    from bot.i18n import speaking

    with speaking("es"), pytest.raises(DurationError) as caught:
        parse_duration("pronto")
    assert str(caught.value).startswith("No pude entender `pronto` como una hora. Usa ")
    assert "`3 días`" in str(caught.value)
