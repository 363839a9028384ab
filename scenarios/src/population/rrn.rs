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

use rand::RngExt;
use time::Date;

use crate::locale::Sex;
pub use protocol::rrn::{check_digit, gender_digit, Rrn, RrnKind};

/// Generates a number for someone born on `birth` of sex `sex`, of the given kind, the
/// digits after G drawn from the population's stream. `None` if the birth year is outside
/// 1800-2099 (G cannot encode it).
pub fn generate<R: RngExt + ?Sized>(
    birth: Date,
    sex: Sex,
    kind: RrnKind,
    rng: &mut R,
) -> Option<Rrn> {
    gender_digit(birth.year(), sex)?;
    let mut tail = [0u8; 6];
    for d in &mut tail {
        *d = rng.random_range(0..10u8);
    }
    Rrn::from_parts(birth, sex, true, kind, tail).ok()
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
        let rrn = "900101-1234568".parse::<Rrn>().unwrap();
        assert!(rrn.has_valid_check_digit());
        assert!(!"900101-1234567"
            .parse::<Rrn>()
            .unwrap()
            .has_valid_check_digit());
        // Sum ≡ 1 (mod 11) gives (11-1) mod 10 = 0; sum ≡ 0 gives 11 mod 10 = 1.
        // 000000-1000000: sum = 1*8 = 8 → 3.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]), 3);
    }

    #[test]
    fn display_and_debug_mask_everything_after_g() {
        let rrn = "9001011234568".parse::<Rrn>().unwrap();
        assert_eq!(rrn.to_string(), "900101-1******");
        assert_eq!(format!("{rrn:?}"), "Rrn(900101-1******)");
        assert_eq!(rrn.expose(), "900101-1234568");
        assert_eq!(rrn.birth_date(), date!(1990 - 01 - 01));
        assert_eq!(rrn.sex(), Sex::Male);
    }

    #[test]
    fn g_digit_encodes_century_and_sex() {
        assert_eq!(gender_digit(1999, Sex::Male), Some(1));
        assert_eq!(gender_digit(1999, Sex::Female), Some(2));
        assert_eq!(gender_digit(2000, Sex::Male), Some(3));
        assert_eq!(gender_digit(2008, Sex::Female), Some(4));
        assert_eq!(gender_digit(1700, Sex::Female), None);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let r = generate(
            date!(2008 - 02 - 29),
            Sex::Female,
            RrnKind::Random,
            &mut rng,
        )
        .unwrap();
        assert_eq!(r.to_string(), "080229-4******");
        assert_eq!(r.birth_date(), date!(2008 - 02 - 29));
    }

    proptest! {
        #[test]
        fn generated_legacy_numbers_validate_and_round_trip(
            seed in any::<u64>(),
            day in 0i32..70_000,
            male in any::<bool>(),
        ) {
            let birth = date!(1900 - 01 - 01) + time::Duration::days(i64::from(day));
            let sex = if male { Sex::Male } else { Sex::Female };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let rrn = generate(birth, sex, RrnKind::CheckDigit, &mut rng).unwrap();
            prop_assert!(rrn.has_valid_check_digit());
            prop_assert_eq!(rrn.birth_date(), birth);
            prop_assert_eq!(rrn.sex(), sex);
            prop_assert_eq!(rrn.expose().parse::<Rrn>(), Ok(rrn));
        }
    }
}
