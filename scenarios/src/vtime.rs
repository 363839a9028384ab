//! Virtual time: seconds since the Unix epoch (the same `UnixTime` the issuer uses), and
//! calendar days in a fixed UTC offset (KST, UTC+9, by default; Korea has no daylight saving).
//!
//! Nothing here reads a clock: every function takes the instant it works on.

use time::{Date, Weekday};

/// Seconds since 1970-01-01T00:00:00Z: the workspace's one time type.
pub use protocol::issuance::UnixTime;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Korea Standard Time's offset from UTC, in seconds.
pub const KST_OFFSET_SECONDS: i32 = 9 * 3600;

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The local day number (days since 1970-01-01 in local time) of instant `t`.
pub fn local_day(t: UnixTime, offset_seconds: i32) -> i64 {
    t.saturating_add(i64::from(offset_seconds)).div_euclid(DAY)
}

/// The instant local midnight starts local day `day`.
pub fn local_midnight(day: i64, offset_seconds: i32) -> UnixTime {
    day.saturating_mul(DAY) - i64::from(offset_seconds)
}

/// The local day number of a calendar date.
pub fn day_of_date(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
}

/// The calendar date of a local day number, or `None` outside `time`'s range.
pub fn date_of_day(day: i64) -> Option<Date> {
    let jd = i32::try_from(day.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
    Date::from_julian_day(jd).ok()
}

/// The instant local midnight starts `date`.
pub fn midnight_of(date: Date, offset_seconds: i32) -> UnixTime {
    local_midnight(day_of_date(date), offset_seconds)
}

/// Weekday of a local day number, Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday).
pub fn weekday_index(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Weekday of a local day number.
pub fn weekday(day: i64) -> Weekday {
    match weekday_index(day) {
        0 => Weekday::Monday,
        1 => Weekday::Tuesday,
        2 => Weekday::Wednesday,
        3 => Weekday::Thursday,
        4 => Weekday::Friday,
        5 => Weekday::Saturday,
        _ => Weekday::Sunday,
    }
}

/// Seconds since local midnight of instant `t`.
pub fn second_of_day(t: UnixTime, offset_seconds: i32) -> i64 {
    t.saturating_add(i64::from(offset_seconds)).rem_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn kst_midnight_of_phase_one_is_15_utc_the_day_before() {
        // 2025-02-14T00:00+09:00 is 2025-02-13T15:00Z = 1739458800.
        let t = midnight_of(date!(2025 - 02 - 14), KST_OFFSET_SECONDS);
        assert_eq!(t, 1_739_458_800);
        assert_eq!(
            date_of_day(local_day(t, KST_OFFSET_SECONDS)),
            Some(date!(2025 - 02 - 14))
        );
        assert_eq!(
            date_of_day(local_day(t - 1, KST_OFFSET_SECONDS)),
            Some(date!(2025 - 02 - 13))
        );
        assert_eq!(second_of_day(t + 9 * 3600, KST_OFFSET_SECONDS), 9 * 3600);
    }

    #[test]
    fn every_phase_opens_on_a_friday() {
        for d in [
            date!(2024 - 12 - 27),
            date!(2025 - 02 - 14),
            date!(2025 - 02 - 28),
            date!(2025 - 03 - 14),
            date!(2025 - 03 - 28),
        ] {
            assert_eq!(weekday(day_of_date(d)), Weekday::Friday, "{d}");
            assert_eq!(weekday(day_of_date(d)), d.weekday());
        }
        assert_eq!(date_of_day(i64::MAX), None);
    }
}
