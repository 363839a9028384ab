//! Resident registration numbers (`YYMMDD-GNNNNNN`).
//!
//! - G (the 7th digit) encodes century and sex: 1/2 born 1900-1999, 3/4 born 2000 or later,
//!   odd male, even female; 5-8 the same for foreign residents; 9/0 born 1800-1899.
//! - Numbers issued before October 2020 end in a check digit: weights 2,3,4,5,6,7,8,9,2,3,4,5
//!   over the first 12 digits, check = (11 - sum mod 11) mod 10. Newer numbers have random
//!   digits after G ([`RrnKind::Random`]).
//!
//! An RRN is sensitive: `Debug` and `Display` show only the birth date and G
//! (`900101-1******`); [`Rrn::expose`] gives the full number to code that must have it.
//!
//! The one RRN type of the workspace: the issuer's registry, the card's DG1 and the
//! population model all use it. Generators draw the six digits after G with their own RNG
//! and build the number with [`Rrn::from_parts`].

use core::fmt;
use core::str::FromStr;

use rand_core::CryptoRngCore;
use time::{Date, Month};

use crate::Error;

fn invalid(why: &'static str) -> Error {
    Error::InvalidRrn(why)
}

const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];

/// Sex as encoded by G.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Odd G.
    Male,
    /// Even G.
    Female,
}

/// Which scheme the digits after G follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RrnKind {
    /// Issued before October 2020: region and serial digits, then a check digit.
    CheckDigit,
    /// Issued since October 2020: six random digits after G.
    Random,
}

/// A syntactically valid resident registration number: 13 digits, a real birth date and a
/// known G. (A random-kind number cannot be told apart from a check-digit one, so the check
/// digit is tested only by [`Rrn::has_valid_check_digit`].)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rrn([u8; 13]);

/// The check digit over the first 12 digits.
pub fn check_digit(first12: &[u8; 12]) -> u8 {
    let sum: u32 = first12
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

/// The G digit of a Korean national born in `year` of `sex`, or `None` outside 1800-2099.
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

fn century_base(g: u8) -> Option<i32> {
    match g {
        1 | 2 | 5 | 6 => Some(1900),
        3 | 4 | 7 | 8 => Some(2000),
        9 | 0 => Some(1800),
        _ => None,
    }
}

impl Rrn {
    /// A valid number, 000101-1000002 (born 1900-01-01, check digit): for places that
    /// need a value where generation cannot fail.
    pub const EXAMPLE: Rrn = Rrn([0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 2]);

    /// The number of someone born on `birth` (1800..=2099; foreign residents 1900..=2099)
    /// of `sex`, with `tail` the six digits after G (each 0-9); with
    /// [`RrnKind::CheckDigit`] the last of them is replaced by the check digit.
    pub fn from_parts(
        birth: Date,
        sex: Sex,
        korean: bool,
        kind: RrnKind,
        tail: [u8; 6],
    ) -> Result<Self, Error> {
        let g = gender_digit(birth.year(), sex).ok_or(invalid("birth year outside 1800-2099"))?;
        let g = match (korean, g) {
            (true, g) => g,
            (false, 1..=4) => g + 4,
            (false, _) => return Err(invalid("no gender digit for a foreign resident born then")),
        };
        if tail.iter().any(|&d| d > 9) {
            return Err(invalid("not 13 digits"));
        }
        let yy = birth.year().rem_euclid(100) as u8;
        let mut d = [0u8; 13];
        d[0] = yy / 10;
        d[1] = yy % 10;
        d[2] = birth.month() as u8 / 10;
        d[3] = birth.month() as u8 % 10;
        d[4] = birth.day() / 10;
        d[5] = birth.day() % 10;
        d[6] = g;
        d[7..13].copy_from_slice(&tail);
        if kind == RrnKind::CheckDigit {
            let first12: [u8; 12] = d[..12].try_into().unwrap_or([0; 12]);
            d[12] = check_digit(&first12);
        }
        Ok(Self(d))
    }

    /// Generate a number for someone born on `birth` (1900..=2099) of `sex`, Korean or not,
    /// of the given kind. The digits after G come from `rng` (six bytes, each mod 10).
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        birth: Date,
        sex: Sex,
        korean: bool,
        kind: RrnKind,
    ) -> Result<Self, Error> {
        if !(1900..=2099).contains(&birth.year()) {
            return Err(invalid("birth year outside 1900-2099"));
        }
        let mut random = [0u8; 6];
        rng.fill_bytes(&mut random);
        Self::from_parts(birth, sex, korean, kind, random.map(|r| r % 10))
    }

    /// The 13 digit values.
    pub fn digits(&self) -> [u8; 13] {
        self.0
    }

    /// The date of birth.
    pub fn birth_date(&self) -> Date {
        // Checked at construction.
        let d = &self.0;
        let base = century_base(d[6]).unwrap_or(1900);
        let year = base + i32::from(d[0] * 10 + d[1]);
        Month::try_from(d[2] * 10 + d[3])
            .ok()
            .and_then(|m| Date::from_calendar_date(year, m, d[4] * 10 + d[5]).ok())
            .unwrap_or(Date::MIN)
    }

    /// G, the gender digit.
    pub fn gender_digit(&self) -> u8 {
        self.0[6]
    }

    /// Sex from G.
    pub fn sex(&self) -> Sex {
        if self.0[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Korean national (G in 1-4 or 9/0), not a foreign resident (5-8).
    pub fn is_korean(&self) -> bool {
        !matches!(self.0[6], 5..=8)
    }

    /// True if the last digit is the check digit of the first 12 (always true for the
    /// pre-2020 kind; true by chance for one in ten random ones).
    pub fn has_valid_check_digit(&self) -> bool {
        let first12: [u8; 12] = self.0[..12].try_into().unwrap_or([0; 12]);
        check_digit(&first12) == self.0[12]
    }

    /// The full number, `YYMMDD-GNNNNNN`. Sensitive: only for code that must have it.
    pub fn expose(&self) -> String {
        let mut s = String::with_capacity(14);
        for (i, d) in self.0.iter().enumerate() {
            if i == 6 {
                s.push('-');
            }
            s.push(char::from(b'0' + d));
        }
        s
    }

    /// The masked form shown in reports and credentials: `YYMMDD-G******`.
    pub fn masked(&self) -> String {
        let full = self.expose();
        format!("{}******", &full[..8])
    }
}

impl FromStr for Rrn {
    type Err = Error;

    /// Accepts `YYMMDD-GNNNNNN` or 13 digits without the hyphen.
    fn from_str(s: &str) -> Result<Self, Error> {
        let digits: Vec<u8> = match s.len() {
            14 if s.as_bytes()[6] == b'-' => s.bytes().filter(|&b| b != b'-').collect(),
            13 => s.bytes().collect(),
            _ => return Err(invalid("not 13 digits")),
        };
        let mut d = [0u8; 13];
        for (slot, b) in d.iter_mut().zip(&digits) {
            if !b.is_ascii_digit() {
                return Err(invalid("not 13 digits"));
            }
            *slot = b - b'0';
        }
        if digits.len() != 13 {
            return Err(invalid("not 13 digits"));
        }
        let base = century_base(d[6]).ok_or(invalid("unknown gender digit"))?;
        let year = base + i32::from(d[0] * 10 + d[1]);
        Month::try_from(d[2] * 10 + d[3])
            .ok()
            .and_then(|m| Date::from_calendar_date(year, m, d[4] * 10 + d[5]).ok())
            .ok_or(invalid("no such birth date"))?;
        Ok(Self(d))
    }
}

impl serde::Serialize for Rrn {
    /// The full number: only the issuer's own storage serialises an RRN.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for Rrn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Rrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rrn({})", self.masked())
    }
}

impl fmt::Display for Rrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use time::macros::date;

    #[test]
    fn check_digit_follows_the_published_weights() {
        // 900101-123456?: sum = 9*2+0*3+0*4+1*5+0*6+1*7+1*8+2*9+3*2+4*3+5*4+6*5 = 124;
        // 124 mod 11 = 3; (11 - 3) mod 10 = 8.
        let r: Rrn = "900101-1234568".parse().unwrap();
        assert!(r.has_valid_check_digit());
        let r: Rrn = "900101-1234567".parse().unwrap();
        assert!(!r.has_valid_check_digit());
    }

    #[test]
    fn debug_and_display_mask_everything_after_g() {
        let r: Rrn = "900101-1234568".parse().unwrap();
        assert_eq!(format!("{r}"), "900101-1******");
        assert_eq!(format!("{r:?}"), "Rrn(900101-1******)");
        assert_eq!(r.expose(), "900101-1234568");
    }

    #[test]
    fn gender_digit_gives_century_sex_and_nationality() {
        // 2005 is not a leap year.
        assert_eq!(
            "050229-4000000".parse::<Rrn>().unwrap_err(),
            Error::InvalidRrn("no such birth date")
        );
        let r: Rrn = "080229-4000000".parse().unwrap();
        assert_eq!(r.birth_date(), date!(2008 - 02 - 29));
        assert_eq!(r.sex(), Sex::Female);
        assert!(r.is_korean());
        let r: Rrn = "991231-5000000".parse().unwrap();
        assert_eq!(r.birth_date(), date!(1999 - 12 - 31));
        assert!(!r.is_korean());
        assert_eq!(r.sex(), Sex::Male);
        assert_eq!(
            "991231-8000000".parse::<Rrn>().map(|r| r.birth_date()),
            Ok(date!(2099 - 12 - 31))
        );
    }

    #[test]
    fn malformed_numbers_are_refused_by_reason() {
        for (s, why) in [
            ("", "not 13 digits"),
            ("900101-123456", "not 13 digits"),
            ("9001011234568x", "not 13 digits"),
            ("90010112345a8", "not 13 digits"),
            ("901301-1234568", "no such birth date"),
            ("900101+1234568", "not 13 digits"),
        ] {
            assert_eq!(s.parse::<Rrn>().unwrap_err(), Error::InvalidRrn(why), "{s}");
        }
    }

    #[test]
    fn generated_numbers_of_both_kinds_round_trip_and_carry_the_right_g() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let r = Rrn::generate(
            &mut rng,
            date!(1990 - 01 - 01),
            Sex::Male,
            true,
            RrnKind::CheckDigit,
        )
        .unwrap();
        assert!(r.has_valid_check_digit());
        assert_eq!(r.gender_digit(), 1);
        let r = Rrn::generate(
            &mut rng,
            date!(2008 - 05 - 05),
            Sex::Female,
            true,
            RrnKind::Random,
        )
        .unwrap();
        assert_eq!(r.gender_digit(), 4);
        assert_eq!(r.birth_date(), date!(2008 - 05 - 05));
        assert_eq!(r.expose().parse::<Rrn>().unwrap(), r);
        assert!(Rrn::generate(
            &mut rng,
            date!(1899 - 01 - 01),
            Sex::Male,
            true,
            RrnKind::Random
        )
        .is_err());
    }

    #[test]
    fn the_example_is_valid_and_g_encodes_century_and_sex() {
        assert!(Rrn::EXAMPLE.has_valid_check_digit());
        assert_eq!(Rrn::EXAMPLE.birth_date(), date!(1900 - 01 - 01));
        assert_eq!(Rrn::EXAMPLE.expose().parse::<Rrn>().unwrap(), Rrn::EXAMPLE);
        assert_eq!(gender_digit(1999, Sex::Female), Some(2));
        assert_eq!(gender_digit(2008, Sex::Female), Some(4));
        assert_eq!(gender_digit(1850, Sex::Male), Some(9));
        assert_eq!(gender_digit(1700, Sex::Female), None);
        let r = Rrn::from_parts(
            date!(1850 - 03 - 01),
            Sex::Female,
            true,
            RrnKind::Random,
            [1; 6],
        )
        .unwrap();
        assert_eq!(r.expose(), "500301-0111111");
        assert_eq!(r.birth_date(), date!(1850 - 03 - 01));
        assert!(Rrn::from_parts(
            date!(1990 - 01 - 01),
            Sex::Male,
            true,
            RrnKind::Random,
            [10; 6]
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<Rrn>();
        }

        #[test]
        fn generate_then_parse_is_identity(seed: u64, y in 1900i32..2100, doy in 1u16..366,
                                           female: bool, korean: bool, check: bool) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let birth = Date::from_ordinal_date(y, doy).unwrap();
            let sex = if female { Sex::Female } else { Sex::Male };
            let kind = if check { RrnKind::CheckDigit } else { RrnKind::Random };
            let r = Rrn::generate(&mut rng, birth, sex, korean, kind).unwrap();
            prop_assert_eq!(r.birth_date(), birth);
            prop_assert_eq!(r.sex(), sex);
            prop_assert_eq!(r.is_korean(), korean);
            if check { prop_assert!(r.has_valid_check_digit()); }
            prop_assert_eq!(r.expose().parse::<Rrn>().unwrap(), r);
        }
    }
}
