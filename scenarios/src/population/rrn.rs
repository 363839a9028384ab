//! Resident registration numbers (주민등록번호), `YYMMDD-GNNNNNN`.
//!
//! Facts from DOMAIN.md ("Resident registration number"):
//! - G encodes century and sex: 1/2 born 1900-1999, 3/4 born 2000 or later, odd male, even
//!   female (9/0 for the 1800s; 5-8 foreign residents, which this simulator does not generate).
//! - Numbers issued before October 2020 end in a check digit: weights 2,3,4,5,6,7,8,9,2,3,4,5
//!   over the first 12 digits, then check = (11 - sum mod 11) mod 10.
//! - Numbers issued since October 2020 have random digits after G.
//!
//! An RRN is sensitive: `Debug` and `Display` show only the birth date and G
//! (`900101-1******`). [`Rrn::expose`] gives the full number for the card and the registry.

use std::fmt;

use rand::RngExt;
use time::{Date, Month};

use crate::locale::Sex;
use crate::Error;

/// The two kinds of number in circulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RrnKind {
    /// Issued before October 2020: region digits, a serial, and a check digit.
    Legacy,
    /// Issued since October 2020: six random digits after G.
    Random,
}

/// Check-digit weights over the first 12 digits.
const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];

/// The check digit of the first 12 digits: (11 - Σ wᵢdᵢ mod 11) mod 10.
pub fn check_digit(first12: &[u8; 12]) -> u8 {
    let sum: u32 = first12
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

/// A resident registration number: 13 decimal digits, stored as digit values 0-9.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rrn {
    digits: [u8; 13],
}

/// The G digit for a birth year and sex, or `None` outside 1800-2099.
pub fn gender_digit(year: i32, sex: Sex) -> Option<u8> {
    let (male, female) = match year {
        1800..=1899 => (9, 0),
        1900..=1999 => (1, 2),
        2000..=2099 => (3, 4),
        _ => return None,
    };
    Some(match sex {
        Sex::Male => male,
        Sex::Female => female,
    })
}

impl Rrn {
    /// 000101-1000002: a valid number used only where generation cannot fail but the
    /// types need a value.
    pub(crate) const PLACEHOLDER: Rrn = Rrn {
        digits: [0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 2],
    };

    /// Generates a number for someone born on `birth` of sex `sex`, of the given kind.
    /// `None` if the birth year is outside 1800-2099 (G cannot encode it).
    pub fn generate<R: RngExt + ?Sized>(
        birth: Date,
        sex: Sex,
        kind: RrnKind,
        rng: &mut R,
    ) -> Option<Rrn> {
        let g = gender_digit(birth.year(), sex)?;
        let yy = birth.year().rem_euclid(100) as u8;
        let mm = birth.month() as u8;
        let dd = birth.day();
        let mut digits = [
            yy / 10,
            yy % 10,
            mm / 10,
            mm % 10,
            dd / 10,
            dd % 10,
            g,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        for d in &mut digits[7..] {
            *d = rng.random_range(0..10u8);
        }
        if kind == RrnKind::Legacy {
            let mut first12 = [0u8; 12];
            first12.copy_from_slice(&digits[..12]);
            digits[12] = check_digit(&first12);
        }
        Some(Rrn { digits })
    }

    /// Parses `YYMMDD-GNNNNNN` or 13 digits without the dash. Only the shape is checked; see
    /// [`Rrn::birth_date`] and [`Rrn::has_valid_check_digit`] for the meaning.
    pub fn parse(s: &str) -> Result<Rrn, Error> {
        let bytes = s.as_bytes();
        let mut digits = [0u8; 13];
        let mut n = 0;
        for (pos, &b) in bytes.iter().enumerate() {
            match b {
                b'0'..=b'9' if n < 13 => {
                    digits[n] = b - b'0';
                    n += 1;
                }
                b'-' if n == 6 && pos == 6 => {}
                _ => return Err(Error::MalformedRrn { position: pos }),
            }
        }
        if n != 13 {
            return Err(Error::MalformedRrn {
                position: bytes.len(),
            });
        }
        Ok(Rrn { digits })
    }

    /// The 13 digit values.
    pub fn digits(&self) -> [u8; 13] {
        self.digits
    }

    /// The full number, `YYMMDD-GNNNNNN`. Sensitive: for the card, the registry and replays,
    /// never for logs or reports.
    pub fn expose(&self) -> String {
        let mut s = String::with_capacity(14);
        for (i, d) in self.digits.iter().enumerate() {
            if i == 6 {
                s.push('-');
            }
            s.push(char::from(b'0' + d));
        }
        s
    }

    /// The G digit (century and sex).
    pub fn gender_digit(&self) -> u8 {
        self.digits[6]
    }

    /// Sex from G, or `None` for a G this simulator does not know (5-8: foreign residents).
    pub fn sex(&self) -> Option<Sex> {
        match self.digits[6] {
            1 | 3 | 9 => Some(Sex::Male),
            2 | 4 | 0 => Some(Sex::Female),
            _ => None,
        }
    }

    /// The birth date encoded in YYMMDD and G, or `None` if G is unknown or the date invalid.
    pub fn birth_date(&self) -> Option<Date> {
        let century = match self.digits[6] {
            1 | 2 => 1900,
            3 | 4 => 2000,
            9 | 0 => 1800,
            _ => return None,
        };
        let d = &self.digits;
        let year = century + i32::from(d[0] * 10 + d[1]);
        let month = Month::try_from(d[2] * 10 + d[3]).ok()?;
        Date::from_calendar_date(year, month, d[4] * 10 + d[5]).ok()
    }

    /// True if the last digit is the check digit of the first 12 (always true of a legacy
    /// number; true of one random number in ten by chance).
    pub fn has_valid_check_digit(&self) -> bool {
        let mut first12 = [0u8; 12];
        first12.copy_from_slice(&self.digits[..12]);
        check_digit(&first12) == self.digits[12]
    }

    fn write_masked(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.digits.iter().enumerate() {
            match i {
                0..=5 => write!(f, "{d}")?,
                6 => write!(f, "-{d}")?,
                _ => f.write_str("*")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Rrn {
    /// Masked: `900101-1******`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_masked(f)
    }
}

impl fmt::Debug for Rrn {
    /// Masked, as Display.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rrn(")?;
        self.write_masked(f)?;
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::ChaCha8Rng;
    use rand::SeedableRng;
    use time::macros::date;

    #[test]
    fn check_digit_matches_a_hand_computed_example() {
        // 900101-123456?: 9*2+0*3+0*4+1*5+0*6+1*7+1*8+2*9+3*2+4*3+5*4+6*5
        // = 18+0+0+5+0+7+8+18+6+12+20+30 = 124; 124 mod 11 = 3; (11-3) mod 10 = 8.
        assert_eq!(check_digit(&[9, 0, 0, 1, 0, 1, 1, 2, 3, 4, 5, 6]), 8);
        let rrn = Rrn::parse("900101-1234568").unwrap();
        assert!(rrn.has_valid_check_digit());
        assert!(!Rrn::parse("900101-1234567")
            .unwrap()
            .has_valid_check_digit());
        // Sum ≡ 1 (mod 11) gives (11-1) mod 10 = 0; sum ≡ 0 gives 11 mod 10 = 1.
        // 000000-1000000: sum = 1*8 = 8 → 3.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]), 3);
    }

    #[test]
    fn display_and_debug_mask_everything_after_g() {
        let rrn = Rrn::parse("9001011234568").unwrap();
        assert_eq!(rrn.to_string(), "900101-1******");
        assert_eq!(format!("{rrn:?}"), "Rrn(900101-1******)");
        assert_eq!(rrn.expose(), "900101-1234568");
        assert_eq!(rrn.birth_date(), Some(date!(1990 - 01 - 01)));
        assert_eq!(rrn.sex(), Some(Sex::Male));
    }

    #[test]
    fn g_digit_encodes_century_and_sex() {
        assert_eq!(gender_digit(1999, Sex::Male), Some(1));
        assert_eq!(gender_digit(1999, Sex::Female), Some(2));
        assert_eq!(gender_digit(2000, Sex::Male), Some(3));
        assert_eq!(gender_digit(2008, Sex::Female), Some(4));
        assert_eq!(gender_digit(1700, Sex::Female), None);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let r = Rrn::generate(
            date!(2008 - 02 - 29),
            Sex::Female,
            RrnKind::Random,
            &mut rng,
        )
        .unwrap();
        assert_eq!(r.to_string(), "080229-4******");
        assert_eq!(r.birth_date(), Some(date!(2008 - 02 - 29)));
    }

    #[test]
    fn malformed_numbers_say_where() {
        assert_eq!(
            Rrn::parse("90010"),
            Err(Error::MalformedRrn { position: 5 })
        );
        assert_eq!(
            Rrn::parse("9001-011234568"),
            Err(Error::MalformedRrn { position: 4 })
        );
        assert_eq!(
            Rrn::parse("900101-12345678"),
            Err(Error::MalformedRrn { position: 14 })
        );
        assert_eq!(
            Rrn::parse("900101-123456x"),
            Err(Error::MalformedRrn { position: 13 })
        );
        assert!(Rrn::parse("901301-1234568").unwrap().birth_date().is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = Rrn::parse(&s);
        }

        #[test]
        fn generated_legacy_numbers_validate_and_round_trip(
            seed in any::<u64>(),
            day in 0i32..70_000,
            male in any::<bool>(),
        ) {
            let birth = date!(1900 - 01 - 01) + time::Duration::days(i64::from(day));
            let sex = if male { Sex::Male } else { Sex::Female };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let rrn = Rrn::generate(birth, sex, RrnKind::Legacy, &mut rng).unwrap();
            prop_assert!(rrn.has_valid_check_digit());
            prop_assert_eq!(rrn.birth_date(), Some(birth));
            prop_assert_eq!(rrn.sex(), Some(sex));
            prop_assert_eq!(Rrn::parse(&rrn.expose()), Ok(rrn));
        }
    }
}
