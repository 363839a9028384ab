//! Time as the issuer sees it: a `now` handed in by the caller, in seconds since the Unix
//! epoch, and calendar days in the policy's time zone (KST by default).

use time::{Date, OffsetDateTime, UtcOffset};

pub use protocol::issuance::UnixTime;

/// The calendar day `now` falls on at `offset`, or `None` if `now` is outside the years
/// -9999..=9999.
pub fn local_date(now: UnixTime, offset: UtcOffset) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .map(|t| t.to_offset(offset).date())
}

/// The instant local midnight starts `date` at `offset`.
pub fn local_midnight(date: Date, offset: UtcOffset) -> UnixTime {
    date.midnight().assume_offset(offset).unix_timestamp()
}

/// Completed years of someone born on `birth` on day `on` (the day before a birthday the age
/// is still the old one; someone born on 29 February has a birthday on 1 March in other
/// years).
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

/// The day someone born on `birth` turns `years` old (1 March for a 29 February birthday in
/// a common year).
pub fn birthday_at(birth: Date, years: i32) -> Option<Date> {
    let year = birth.year().checked_add(years)?;
    Date::from_calendar_date(year, birth.month(), birth.day())
        .ok()
        .or_else(|| Date::from_calendar_date(year, time::Month::March, 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, offset};

    #[test]
    fn local_date_switches_at_kst_midnight_not_utc_midnight() {
        let kst = offset!(+9);
        let midnight = local_midnight(date!(2025 - 02 - 14), kst);
        // 2025-02-14T00:00+09:00 is 2025-02-13T15:00Z.
        assert_eq!(midnight, 1_739_458_800);
        assert_eq!(local_date(midnight, kst), Some(date!(2025 - 02 - 14)));
        assert_eq!(local_date(midnight - 1, kst), Some(date!(2025 - 02 - 13)));
    }

    #[test]
    fn age_counts_completed_years_and_leap_day_birthdays_fall_on_march_first() {
        assert_eq!(age_on(date!(2008 - 03 - 28), date!(2025 - 03 - 27)), 16);
        assert_eq!(age_on(date!(2008 - 03 - 28), date!(2025 - 03 - 28)), 17);
        assert_eq!(
            birthday_at(date!(2008 - 02 - 29), 17),
            Some(date!(2025 - 03 - 01))
        );
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2025 - 02 - 28)), 16);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2025 - 03 - 01)), 17);
    }

    #[test]
    fn out_of_range_instants_have_no_date() {
        assert_eq!(local_date(i64::MAX, offset!(+9)), None);
    }
}
