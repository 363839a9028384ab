//! The 17 first-level divisions of South Korea: the one region table of the workspace.
//!
//! The region codes are the standard 2-digit administrative codes, the first two digits of the
//! 5-digit district code (행정표준코드). The default population weights are end-of-2024
//! resident registration counts in thousands (DOMAIN.md, "Population by first-level
//! division"): inputs, not ground truth. The phone names a holder's region with it, the
//! issuer checks its rollout policy's area codes against it, and the population model draws
//! residents with its weights.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A first-level division (special city, metropolitan city, province).
///
/// Declared in code order, so `Ord` (and every `BTreeMap` keyed by region) sorts by code.
/// Serialized as the 2-digit code string (`"11"`), the same form as the issuer's rollout data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Region {
    /// Seoul, 11.
    Seoul,
    /// Busan, 26.
    Busan,
    /// Daegu, 27.
    Daegu,
    /// Incheon, 28.
    Incheon,
    /// Gwangju, 29.
    Gwangju,
    /// Daejeon, 30.
    Daejeon,
    /// Ulsan, 31.
    Ulsan,
    /// Sejong, 36.
    Sejong,
    /// Gyeonggi, 41.
    Gyeonggi,
    /// North Chungcheong, 43.
    NorthChungcheong,
    /// South Chungcheong, 44.
    SouthChungcheong,
    /// South Jeolla, 46.
    SouthJeolla,
    /// North Gyeongsang, 47.
    NorthGyeongsang,
    /// South Gyeongsang, 48.
    SouthGyeongsang,
    /// Jeju, 50.
    Jeju,
    /// Gangwon, 51 (42 before the 2023 special self-governing province).
    Gangwon,
    /// North Jeolla, 52 (45 before the 2024 special self-governing province).
    NorthJeolla,
}

/// One row of the region table: code, English name, Korean name, default weight.
struct RegionRow {
    code: u8,
    former_code: Option<u8>,
    name_en: &'static str,
    name_ko: &'static str,
    population_thousands: u32,
}

// Codes: standard administrative codes. Populations: DOMAIN.md, "Population by first-level
// division (approximate resident registration counts, end of 2024, thousands)".
const REGION_TABLE: [RegionRow; 17] = [
    row(11, None, "Seoul", "서울특별시", 9_335),
    row(26, None, "Busan", "부산광역시", 3_267),
    row(27, None, "Daegu", "대구광역시", 2_365),
    row(28, None, "Incheon", "인천광역시", 3_021),
    row(29, None, "Gwangju", "광주광역시", 1_408),
    row(30, None, "Daejeon", "대전광역시", 1_440),
    row(31, None, "Ulsan", "울산광역시", 1_097),
    row(36, None, "Sejong", "세종특별자치시", 391),
    row(41, None, "Gyeonggi", "경기도", 13_694),
    row(43, None, "North Chungcheong", "충청북도", 1_590),
    row(44, None, "South Chungcheong", "충청남도", 2_135),
    row(46, None, "South Jeolla", "전라남도", 1_789),
    row(47, None, "North Gyeongsang", "경상북도", 2_531),
    row(48, None, "South Gyeongsang", "경상남도", 3_228),
    row(50, None, "Jeju", "제주특별자치도", 669),
    row(51, Some(42), "Gangwon", "강원특별자치도", 1_514),
    row(52, Some(45), "North Jeolla", "전북특별자치도", 1_738),
];

const fn row(
    code: u8,
    former_code: Option<u8>,
    name_en: &'static str,
    name_ko: &'static str,
    population_thousands: u32,
) -> RegionRow {
    RegionRow {
        code,
        former_code,
        name_en,
        name_ko,
        population_thousands,
    }
}

impl Region {
    /// Every region, in code order.
    pub const ALL: [Region; 17] = [
        Region::Seoul,
        Region::Busan,
        Region::Daegu,
        Region::Incheon,
        Region::Gwangju,
        Region::Daejeon,
        Region::Ulsan,
        Region::Sejong,
        Region::Gyeonggi,
        Region::NorthChungcheong,
        Region::SouthChungcheong,
        Region::SouthJeolla,
        Region::NorthGyeongsang,
        Region::SouthGyeongsang,
        Region::Jeju,
        Region::Gangwon,
        Region::NorthJeolla,
    ];

    fn row(self) -> &'static RegionRow {
        &REGION_TABLE[self as usize]
    }

    /// The current 2-digit administrative code (Seoul 11, Gangwon 51, ...).
    pub fn code(self) -> u8 {
        self.row().code
    }

    /// The code used before a renaming (Gangwon 42 before 2023, North Jeolla 45 before 2024).
    pub fn former_code(self) -> Option<u8> {
        self.row().former_code
    }

    /// The region with this code; former codes (42, 45) are accepted too.
    pub fn from_code(code: u8) -> Option<Region> {
        Region::ALL
            .into_iter()
            .find(|r| r.code() == code || r.former_code() == Some(code))
    }

    /// The region a district code (or a region code) starts with: `"11110"` → Seoul.
    pub fn of_district(code: &str) -> Option<Region> {
        Region::from_code(code.get(..2)?.parse().ok()?)
    }

    /// English name, as in DOMAIN.md ("North Chungcheong").
    pub fn name_en(self) -> &'static str {
        self.row().name_en
    }

    /// Official Korean name ("충청북도").
    pub fn name_ko(self) -> &'static str {
        self.row().name_ko
    }

    /// DOMAIN.md's approximate end-2024 population in thousands: the default weight.
    pub fn default_population_thousands(self) -> u32 {
        self.row().population_thousands
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_en())
    }
}

impl FromStr for Region {
    type Err = crate::Error;

    /// Parses a 2-digit code (`"41"`, also former `"42"`) or an English name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let by_code = s.parse::<u8>().ok().and_then(Region::from_code);
        by_code
            .or_else(|| {
                Region::ALL
                    .into_iter()
                    .find(|r| r.name_en().eq_ignore_ascii_case(s))
            })
            .ok_or_else(|| crate::Error::UnknownRegion(s.to_owned()))
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:02}", self.code()))
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_former_codes_name_one_region_each() {
        assert_eq!(Region::of_district("11110"), Some(Region::Seoul));
        assert_eq!(Region::of_district("42110"), Some(Region::Gangwon));
        assert_eq!(Region::of_district("45"), Some(Region::NorthJeolla));
        assert_eq!(Region::of_district("9"), None);
        assert_eq!(Region::of_district("99999"), None);
        assert_eq!("busan".parse::<Region>(), Ok(Region::Busan));
        assert_eq!(
            "Atlantis".parse::<Region>(),
            Err(crate::Error::UnknownRegion("Atlantis".into()))
        );
        assert_eq!(serde_json::to_string(&Region::Jeju).unwrap(), "\"50\"");
        assert_eq!(
            serde_json::from_str::<Region>("\"52\"").unwrap(),
            Region::NorthJeolla
        );
        let total: u32 = Region::ALL
            .iter()
            .map(|r| r.default_population_thousands())
            .sum();
        assert_eq!(total, 51_212, "DOMAIN.md's end-2024 total, in thousands");
    }
}
