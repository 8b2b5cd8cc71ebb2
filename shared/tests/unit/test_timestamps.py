"""The wire timestamp format of domain.md §0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from shared.timestamps import iso_utc, utc_now_iso


class TestIsoUtc:
    def test_utc_instant_has_milliseconds_and_z(self) -> None:
        assert iso_utc(datetime(2026, 2, 24, 10, 0, 0, 123456, tzinfo=UTC)) == "2026-02-24T10:00:00.123Z"

    def test_other_offsets_are_converted_to_utc(self) -> None:
        ist = timezone(timedelta(hours=5, minutes=30))
        assert iso_utc(datetime(2026, 4, 1, 0, 0, tzinfo=ist)) == "2026-03-31T18:30:00.000Z"

    def test_naive_values_are_not_shifted(self) -> None:
        naive = datetime(2026, 1, 1, 8, 30)  # noqa: DTZ001  the naive input is the case under test
        assert iso_utc(naive) == "2026-01-01T08:30:00.000"


class TestUtcNowIso:
    def test_now_is_in_the_wire_format_of_iso_utc_and_between_two_readings_of_the_clock(self) -> None:
        before = iso_utc(datetime.now(UTC))
        now = utc_now_iso()
        after = iso_utc(datetime.now(UTC))
        assert len(now) == len(before) == 24
        assert now.endswith("Z")
        assert now[10] == "T"
        assert now[19] == "."
        assert before <= now <= after
        assert datetime.fromisoformat(now.replace("Z", "+00:00")).tzinfo is not None
