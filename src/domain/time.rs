//! Instants of the registry's histories.
//!
//! Every instant is kept as microseconds since the Unix epoch (UTC): exact, totally ordered and
//! stored the same way in SQLite and PostgreSQL. Intervals are half-open, `[start, end)`.

use serde::{Deserialize, Serialize};

/// An instant in UTC at microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

/// Six years of 365.25 days in microseconds: the fallback outside the calendar's range.
const SIX_YEARS_MICROS: i64 = 6 * 36_525 * 864_000_000;

impl Timestamp {
    pub const MICROS_PER_SECOND: i64 = 1_000_000;

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds * Self::MICROS_PER_SECOND)
    }

    /// The current time.
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(since_epoch.as_micros() as i64)
    }

    /// Seconds and nanoseconds, as in `google.protobuf.Timestamp`.
    pub fn to_seconds_nanos(self) -> (i64, i32) {
        let seconds = self.0.div_euclid(Self::MICROS_PER_SECOND);
        let micros = self.0.rem_euclid(Self::MICROS_PER_SECOND);
        (seconds, (micros * 1_000) as i32)
    }

    /// From seconds and nanoseconds; `None` when out of the range of RFC 3339 (years 1-9999)
    /// or when the nanoseconds are not in 0..1e9. Sub-microsecond digits are truncated.
    pub fn from_seconds_nanos(seconds: i64, nanos: i32) -> Option<Self> {
        const MIN_SECONDS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
        const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        Some(Self(seconds * Self::MICROS_PER_SECOND + i64::from(nanos / 1_000)))
    }

    /// The end DEQAR assumes for a decision without one: six years after its start, on the
    /// same calendar date and time (29 February becomes 28 February).
    pub fn plus_six_years(self) -> Self {
        let (seconds, nanos) = self.to_seconds_nanos();
        let shifted = time::OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|t| {
                let year = t.year() + 6;
                t.replace_year(year)
                    .or_else(|_| t.replace_day(28).and_then(|t| t.replace_year(year)))
                    .ok()
            });
        match shifted {
            Some(t) => Self(t.unix_timestamp() * Self::MICROS_PER_SECOND + i64::from(nanos / 1_000)),
            None => Self(self.0.saturating_add(SIX_YEARS_MICROS)),
        }
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(
            self.0
                .saturating_add(seconds.saturating_mul(Self::MICROS_PER_SECOND)),
        )
    }

    /// RFC 3339 text, for messages and logs.
    pub fn to_rfc3339(self) -> String {
        let (seconds, nanos) = self.to_seconds_nanos();
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .map(|t| t + time::Duration::nanoseconds(i64::from(nanos)))
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| format!("{}us", self.0))
    }

    /// Parses RFC 3339 text such as `2024-09-01T00:00:00Z`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
        Self::from_seconds_nanos(t.unix_timestamp(), t.nanosecond() as i32)
    }
}

/// Whether `at` lies in the half-open interval `[start, end)`; `None` bounds are open.
pub fn within(at: Timestamp, start: Option<Timestamp>, end: Option<Timestamp>) -> bool {
    start.is_none_or(|s| s <= at) && end.is_none_or(|e| at < e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_half_open() {
        let start = Timestamp::from_unix_seconds(100);
        let end = Timestamp::from_unix_seconds(200);
        assert!(within(start, Some(start), Some(end)));
        assert!(!within(end, Some(start), Some(end)));
        assert!(!within(
            Timestamp::from_micros(start.as_micros() - 1),
            Some(start),
            Some(end)
        ));
        assert!(within(
            Timestamp::from_micros(end.as_micros() - 1),
            Some(start),
            Some(end)
        ));
        assert!(within(end, None, None));
    }

    #[test]
    fn seconds_nanos_round_trip_and_bounds() {
        let t = Timestamp::from_seconds_nanos(1_700_000_000, 123_456_000).unwrap();
        assert_eq!(t.to_seconds_nanos(), (1_700_000_000, 123_456_000));
        let before_epoch = Timestamp::from_seconds_nanos(-1, 500_000_000).unwrap();
        assert_eq!(before_epoch.as_micros(), -500_000);
        assert_eq!(before_epoch.to_seconds_nanos(), (-1, 500_000_000));
        assert!(Timestamp::from_seconds_nanos(0, -1).is_none());
        assert!(Timestamp::from_seconds_nanos(0, 1_000_000_000).is_none());
        assert!(Timestamp::from_seconds_nanos(i64::MAX, 0).is_none());
    }

    #[test]
    fn six_years_are_calendar_years() {
        let t = Timestamp::parse_rfc3339("2019-03-01T00:00:00Z").unwrap();
        assert_eq!(t.plus_six_years().to_rfc3339(), "2025-03-01T00:00:00Z");
        let leap = Timestamp::parse_rfc3339("2020-02-29T10:00:00Z").unwrap();
        assert_eq!(leap.plus_six_years().to_rfc3339(), "2026-02-28T10:00:00Z");
    }

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2024-09-01T12:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-09-01T12:30:00Z");
    }
}
