//! A Korean (`ko_KR`) locale for the [`fake`] crate, and Korean road addresses.
//!
//! [`KO_KR`] implements [`fake::locales::Data`], so every faker that takes a locale works
//! with it through fake's ordinary API:
//!
//! ```
//! use fake::Fake;
//! use fake::faker::name::raw::Name;
//! use rand::SeedableRng;
//! use scenarios::locale::KO_KR;
//!
//! let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
//! let name: String = Name(KO_KR).fake_with_rng(&mut rng);
//! assert!(name.chars().all(|c| ('가'..='힣').contains(&c)));
//! ```
//!
//! Family names are drawn with their real shares (김 about 21.5%, 이 14.7%, 박 8.4%, ...; 2015
//! census, rounded to 0.1%): fake picks uniformly from `NAME_LAST_NAME`, so each name appears
//! in that list as many times as its share in tenths of a percent. Given names are common
//! two-syllable names across generations; [`GivenName`] picks one for a given sex.
//!
//! What fake's generic address fakers cannot express (a real district for a real region, a
//! road name with a branch number) is in [`RoadAddress`], which is also a fake `Dummy`.

use crate::region::Districts as _;
use fake::faker::address::raw::CityName;
use fake::locales::Data;
use fake::{Dummy, Fake};
use rand::seq::IndexedRandom;
use rand::RngExt;
use std::fmt;

use crate::region::{District, Region, DISTRICTS};

/// The Korean locale. Use it wherever fake takes a locale: `Name(KO_KR)`, `CellNumber(KO_KR)`.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KO_KR;

/// Family names and their shares of the population in tenths of a percent (2015 census,
/// rounded; names under 0.1% rounded up to 1 so that they appear at all).
pub const FAMILY_NAME_SHARES: &[(&str, usize)] = &[
    ("김", 215),
    ("이", 147),
    ("박", 84),
    ("최", 47),
    ("정", 43),
    ("강", 24),
    ("조", 21),
    ("윤", 21),
    ("장", 20),
    ("임", 17),
    ("한", 15),
    ("오", 15),
    ("서", 15),
    ("신", 14),
    ("권", 14),
    ("황", 14),
    ("안", 13),
    ("송", 13),
    ("유", 13),
    ("전", 11),
    ("홍", 11),
    ("고", 9),
    ("문", 9),
    ("양", 9),
    ("손", 9),
    ("배", 8),
    ("백", 8),
    ("허", 6),
    ("남", 5),
    ("심", 5),
    ("노", 4),
    ("하", 4),
    ("곽", 4),
    ("성", 4),
    ("차", 4),
    ("주", 4),
    ("우", 4),
    ("구", 4),
    ("류", 3),
    ("민", 3),
    ("나", 3),
    ("진", 3),
    ("지", 3),
    ("엄", 3),
    ("채", 3),
    ("원", 3),
    ("변", 3),
    ("천", 2),
    ("방", 2),
    ("공", 2),
    ("현", 2),
    ("함", 2),
    ("염", 1),
    ("여", 1),
    ("추", 1),
    ("도", 1),
    ("소", 1),
    ("석", 1),
    ("선", 1),
    ("설", 1),
    ("마", 1),
    ("길", 1),
    ("연", 1),
    ("위", 1),
    ("표", 1),
    ("명", 1),
    ("기", 1),
    ("반", 1),
    ("왕", 1),
    ("금", 1),
    ("옥", 1),
    ("육", 1),
    ("인", 1),
    ("맹", 1),
    ("제", 1),
    ("모", 1),
    ("탁", 1),
    ("국", 1),
    ("어", 1),
    ("남궁", 1),
    ("황보", 1),
    ("제갈", 1),
    ("선우", 1),
];

const fn total_share(shares: &[(&str, usize)]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < shares.len() {
        total += shares[i].1;
        i += 1;
    }
    total
}

const FAMILY_NAME_SLOTS: usize = total_share(FAMILY_NAME_SHARES);

const fn expand<const N: usize>(shares: &[(&'static str, usize)]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut k = 0;
    let mut i = 0;
    while i < shares.len() {
        let mut j = 0;
        while j < shares[i].1 {
            out[k] = shares[i].0;
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

static FAMILY_NAMES_WEIGHTED: [&str; FAMILY_NAME_SLOTS] = expand(FAMILY_NAME_SHARES);

/// Common male given names, from names popular in the 1950s-60s (영수, 상철) to the 2010s (민준, 서준).
pub const MALE_GIVEN_NAMES: &[&str] = &[
    "민준", "서준", "도윤", "예준", "시우", "하준", "지호", "주원", "지후", "준우", "준서", "건우",
    "현우", "도현", "지훈", "우진", "선우", "서진", "민재", "현준", "연우", "유준", "정우", "승우",
    "승현", "시윤", "준혁", "은우", "지환", "승민", "유찬", "윤우", "민성", "준영", "시후", "진우",
    "재윤", "동현", "태윤", "민규", "재원", "한결", "민우", "재민", "은찬", "윤호", "시원", "이준",
    "성민", "준호", "승준", "성현", "재현", "태민", "민호", "영수", "영호", "영식", "정호", "성수",
    "상철", "성호", "상훈", "성훈", "동훈", "정훈", "영철", "광수", "종수", "병철", "재호", "상우",
    "진호", "민석", "경수", "용수", "기현", "대현", "형준", "석진",
];

/// Common female given names, from 영자, 순자 (1940s-50s) to 서연, 하윤 (2010s).
pub const FEMALE_GIVEN_NAMES: &[&str] = &[
    "서연", "서윤", "지우", "서현", "민서", "하은", "하윤", "윤서", "지유", "지민", "채원", "지윤",
    "은서", "수아", "다은", "예은", "지아", "수빈", "소율", "예린", "예원", "지원", "소윤", "지안",
    "하린", "시은", "유진", "채은", "가은", "윤아", "민지", "수진", "지영", "은지", "혜진", "지현",
    "미영", "영희", "순자", "영숙", "정숙", "영자", "경숙", "미숙", "춘자", "정희", "은영", "현정",
    "미경", "은주", "수정", "지혜", "선영", "미정", "혜원", "유나", "소연", "다연", "예진", "명숙",
    "옥순", "정미", "경희", "선희", "혜숙", "숙자", "순희", "미란", "보람", "아름",
];

const GIVEN_NAME_COUNT: usize = MALE_GIVEN_NAMES.len() + FEMALE_GIVEN_NAMES.len();

const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

static ALL_GIVEN_NAMES: [&str; GIVEN_NAME_COUNT] = concat(MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES);

/// Road names used in road-name addresses (도로명주소). Real, common names; a generated
/// address may put a road in a district that has no road of that name.
pub const ROAD_NAMES: &[&str] = &[
    "중앙로",
    "시청로",
    "번영로",
    "평화로",
    "희망로",
    "문화로",
    "산업로",
    "대학로",
    "공원로",
    "역전로",
    "신촌로",
    "세종대로",
    "종로",
    "을지로",
    "충무로",
    "테헤란로",
    "도산대로",
    "올림픽로",
    "강남대로",
    "해안로",
    "동문로",
    "서문로",
    "남문로",
    "북문로",
    "봉화로",
    "금강로",
    "백제로",
    "가야로",
    "신라대로",
    "무등로",
    "계룡로",
    "한밭대로",
    "달구벌대로",
    "태화강로",
    "새마을로",
    "광장로",
    "월드컵로",
    "경춘로",
    "경수대로",
    "호국로",
    "시민로",
    "장미로",
    "벚꽃로",
    "학교로",
    "시장로",
    "강변로",
    "청사로",
    "구청로",
    "충렬로",
    "의병로",
];

#[rustfmt::skip]
impl Data for KO_KR {
    const NAME_FIRST_NAME: &'static [&'static str] = &ALL_GIVEN_NAMES;
    const NAME_LAST_NAME: &'static [&'static str] = &FAMILY_NAMES_WEIGHTED;
    const NAME_TITLE: &'static [&'static str] = &["님", "씨"];
    const NAME_SUFFIX: &'static [&'static str] = &["님"];
    const NAME_TPL: &'static str = "{LastName}{FirstName}";
    const NAME_WITH_TITLE_TPL: &'static str = "{LastName}{FirstName} {Title}";

    const ADDRESS_CITY_PREFIX: &'static [&'static str] = &["신", "구"];
    const ADDRESS_CITY_SUFFIX: &'static [&'static str] = &["시", "군", "구"];
    const ADDRESS_CITY_TPL: &'static str = "{CityName}{CitySuffix}";
    const ADDRESS_CITY_WITH_PREFIX_TPL: &'static str = "{CityPrefix}{CityName}{CitySuffix}";
    const ADDRESS_COUNTRY: &'static [&'static str] = &["대한민국"];
    const ADDRESS_COUNTRY_CODE: &'static [&'static str] = &["KR"];
    const ADDRESS_STREET_SUFFIX: &'static [&'static str] = &["로", "길", "대로"];
    const ADDRESS_STREET_TPL: &'static str = "{StreetName}{StreetSuffix}";
    const ADDRESS_SECONDARY_ADDR_TYPE: &'static [&'static str] = &["동", "호"];
    const ADDRESS_SECONDARY_ADDR_TPL: &'static str = "{Number}{Type}";
    const ADDRESS_TIME_ZONE: &'static [&'static str] = &["Asia/Seoul"];
    const ADDRESS_STATE: &'static [&'static str] = &[
        "서울특별시", "부산광역시", "대구광역시", "인천광역시", "광주광역시", "대전광역시",
        "울산광역시", "세종특별자치시", "경기도", "충청북도", "충청남도", "전라남도", "경상북도",
        "경상남도", "제주특별자치도", "강원특별자치도", "전북특별자치도",
    ];
    const ADDRESS_STATE_ABBR: &'static [&'static str] = &[
        "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "충북", "충남",
        "전남", "경북", "경남", "제주", "강원", "전북",
    ];
    const ADDRESS_BUILDING_NUMBER_FORMATS: &'static [&'static str] = &["^", "^#", "^##", "^#-^"];
    // Five-digit postcodes (국가기초구역번호) since 2015.
    const ADDRESS_ZIP_FORMATS: &'static [&'static str] = &["#####"];
    const ADDRESS_POSTCODE_FORMATS: &'static [&'static str] = &["#####"];

    // Landlines by area code: 02 Seoul, 031 Gyeonggi, 032 Incheon, 033 Gangwon, 041-044
    // Chungcheong, Daejeon, Sejong, 051-055 Gyeongsang, Busan, Ulsan, Daegu, 061-064 Jeolla,
    // Gwangju, Jeju.
    const PHONE_NUMBER_FORMATS: &'static [&'static str] = &[
        "02-^##-####", "02-^###-####", "031-^##-####", "031-^###-####", "032-^##-####",
        "033-^##-####", "041-^##-####", "042-^##-####", "043-^##-####", "044-^##-####",
        "051-^##-####", "051-^###-####", "052-^##-####", "053-^##-####", "054-^##-####",
        "055-^##-####", "061-^##-####", "062-^##-####", "063-^##-####", "064-^##-####",
    ];
    // Every mobile number has been 010 since the 2G/3G prefixes were retired.
    const PHONE_CELL_NUMBER_FORMATS: &'static [&'static str] = &["010-^###-####"];

    const CURRENCY_CODE: &'static [&'static str] = &["KRW"];
    const CURRENCY_NAME: &'static [&'static str] = &["원"];
    const CURRENCY_SYMBOL: &'static [&'static str] = &["₩"];
}

impl fake::faker::impls::address::CityNameGenFn for KO_KR {
    /// A real si/gun/gu name (not a made-up name plus suffix, the generic behaviour).
    fn gen<R: RngExt + ?Sized>(_: &CityName<Self>, rng: &mut R) -> String {
        let district = DISTRICTS.choose(rng).unwrap_or(&DISTRICTS[0]);
        city_part(district).to_owned()
    }
}

/// The city/county/district part of a district's name, or the region's for Sejong (no
/// second-level division).
fn city_part(district: &District) -> &'static str {
    if district.name_ko.is_empty() {
        district.region.name_ko()
    } else {
        district.name_ko
    }
}

/// Sex as the resident registration number encodes it (`protocol::rrn`).
pub use protocol::rrn::Sex;

/// Faker: a given name for a sex, `GivenName(Sex::Female).fake_with_rng::<&str, _>(rng)`.
#[derive(Clone, Copy, Debug)]
pub struct GivenName(pub Sex);

impl Dummy<GivenName> for &'static str {
    fn dummy_with_rng<R: RngExt + ?Sized>(c: &GivenName, rng: &mut R) -> Self {
        let list = match c.0 {
            Sex::Male => MALE_GIVEN_NAMES,
            Sex::Female => FEMALE_GIVEN_NAMES,
        };
        list.choose(rng).copied().unwrap_or("민준")
    }
}

/// Faker: a full name for a sex (family name with its real share, then a given name).
#[derive(Clone, Copy, Debug)]
pub struct FullName(pub Sex);

impl Dummy<FullName> for String {
    fn dummy_with_rng<R: RngExt + ?Sized>(c: &FullName, rng: &mut R) -> Self {
        let family: &str = fake::faker::name::raw::LastName(KO_KR).fake_with_rng(rng);
        let given: &str = GivenName(c.0).fake_with_rng(rng);
        let mut s = String::with_capacity(family.len() + given.len());
        s.push_str(family);
        s.push_str(given);
        s
    }
}

/// Faker: a district of the given region, weighted by district population,
/// `DistrictIn(Region::Gyeonggi).fake_with_rng::<&District, _>(rng)`.
#[derive(Clone, Copy, Debug)]
pub struct DistrictIn(pub Region);

impl Dummy<DistrictIn> for &'static District {
    fn dummy_with_rng<R: RngExt + ?Sized>(c: &DistrictIn, rng: &mut R) -> Self {
        let districts = c.0.districts();
        let total: u32 = districts.iter().map(|d| d.population_thousands).sum();
        let mut pick = rng.random_range(0..total.max(1));
        for d in districts {
            if pick < d.population_thousands {
                return d;
            }
            pick -= d.population_thousands;
        }
        districts.first().unwrap_or(&DISTRICTS[0])
    }
}

/// A road-name address (도로명주소) in a real district: region, district, road (with an
/// optional branch, `중앙로12번길`) and building number. `Copy`, no heap: rendered on Display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    /// The district (and through it the region) of the address.
    pub district: &'static District,
    /// The road name.
    pub road: &'static str,
    /// Branch road number (`12` in `중앙로12번길`), if the address is on a branch.
    pub road_branch: Option<u16>,
    /// Main building number.
    pub building: u16,
    /// Sub-number (`2` in `34-2`), if any.
    pub building_sub: Option<u16>,
}

impl Address {
    /// The first-level division.
    pub fn region(&self) -> Region {
        self.district.region
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.district.region.name_ko())?;
        if !self.district.name_ko.is_empty() {
            write!(f, " {}", self.district.name_ko)?;
        }
        write!(f, " {}", self.road)?;
        if let Some(b) = self.road_branch {
            write!(f, "{b}번길")?;
        }
        write!(f, " {}", self.building)?;
        if let Some(s) = self.building_sub {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// Faker: a road address in the given district, `RoadAddress(d).fake_with_rng::<Address, _>(rng)`.
#[derive(Clone, Copy, Debug)]
pub struct RoadAddress(pub &'static District);

impl Dummy<RoadAddress> for Address {
    fn dummy_with_rng<R: RngExt + ?Sized>(c: &RoadAddress, rng: &mut R) -> Self {
        let road = ROAD_NAMES.choose(rng).copied().unwrap_or("중앙로");
        let road_branch = rng.random_bool(0.4).then(|| rng.random_range(1..=80u16));
        let building = rng.random_range(1..=300u16);
        let building_sub = rng.random_bool(0.25).then(|| rng.random_range(1..=20u16));
        Address {
            district: c.0,
            road,
            road_branch,
            building,
            building_sub,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::faker::address::raw::{CityName, StateName, ZipCode};
    use fake::faker::name::raw::{FirstName, LastName, Name};
    use fake::faker::phone_number::raw::{CellNumber, PhoneNumber};
    use rand::rngs::ChaCha8Rng;
    use rand::SeedableRng;

    fn is_hangul(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| ('가'..='힣').contains(&c))
    }

    #[test]
    fn names_are_hangul_family_name_first_and_deterministic_for_a_seed() {
        let gen = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..50)
                .map(|_| Name(KO_KR).fake_with_rng::<String, _>(&mut rng))
                .collect::<Vec<_>>()
        };
        let a = gen(1);
        assert_eq!(a, gen(1));
        assert_ne!(a, gen(2));
        for name in &a {
            assert!(is_hangul(name), "{name}");
            let n = name.chars().count();
            assert!((3..=4).contains(&n), "{name}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let first: String = FirstName(KO_KR).fake_with_rng(&mut rng);
        assert_eq!(first.chars().count(), 2);
        let full: String = FullName(Sex::Female).fake_with_rng(&mut rng);
        assert!(is_hangul(&full));
    }

    #[test]
    fn family_names_follow_their_census_shares() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 100_000;
        let mut kim = 0;
        let mut lee = 0;
        for _ in 0..n {
            match LastName(KO_KR).fake_with_rng::<&str, _>(&mut rng) {
                "김" => kim += 1,
                "이" => lee += 1,
                _ => {}
            }
        }
        let total = FAMILY_NAME_SLOTS as f64;
        let kim_share = f64::from(kim) / f64::from(n);
        let lee_share = f64::from(lee) / f64::from(n);
        assert!((kim_share - 215.0 / total).abs() < 0.01, "{kim_share}");
        assert!((lee_share - 147.0 / total).abs() < 0.01, "{lee_share}");
        // 김 alone is about a fifth of everyone.
        assert!((0.19..0.24).contains(&kim_share));
    }

    #[test]
    fn phone_numbers_addresses_and_regions_are_korean_shaped() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..200 {
            let cell: String = CellNumber(KO_KR).fake_with_rng(&mut rng);
            let b = cell.as_bytes();
            assert_eq!(cell.len(), 13, "{cell}");
            assert!(
                cell.starts_with("010-") && b[8] == b'-' && b[4] != b'0',
                "{cell}"
            );
            let land: String = PhoneNumber(KO_KR).fake_with_rng(&mut rng);
            assert!(
                land.starts_with('0') && land.matches('-').count() == 2,
                "{land}"
            );
            let state: String = StateName(KO_KR).fake_with_rng(&mut rng);
            assert!(Region::ALL.iter().any(|r| r.name_ko() == state), "{state}");
            let city: String = CityName(KO_KR).fake_with_rng(&mut rng);
            assert!(
                city.chars().all(|c| c == ' ' || ('가'..='힣').contains(&c)),
                "{city}"
            );
            let zip: String = ZipCode(KO_KR).fake_with_rng(&mut rng);
            assert!(zip.len() == 5 && zip.bytes().all(|c| c.is_ascii_digit()));
        }
        let goyang = District::by_code(41281).unwrap();
        let addr: Address = RoadAddress(goyang).fake_with_rng(&mut rng);
        let s = addr.to_string();
        assert!(s.starts_with("경기도 고양시 덕양구 "), "{s}");
        let sejong = District::by_code(36110).unwrap();
        let s = RoadAddress(sejong)
            .fake_with_rng::<Address, _>(&mut rng)
            .to_string();
        assert!(s.starts_with("세종특별자치시 ") && !s.contains("  "), "{s}");
    }

    #[test]
    fn districts_of_a_region_are_drawn_by_population() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let n = 20_000;
        let mut gunwi = 0;
        for _ in 0..n {
            let d: &District = DistrictIn(Region::Daegu).fake_with_rng(&mut rng);
            assert_eq!(d.region, Region::Daegu);
            gunwi += u32::from(d.code == 27720);
        }
        // Gunwi County: 23 of Daegu's 2,358 thousand, about 1%.
        let share = f64::from(gunwi) / f64::from(n);
        assert!((share - 23.0 / 2358.0).abs() < 0.004, "{share}");
    }

    #[test]
    fn state_table_matches_region_table_order() {
        for (r, name) in Region::ALL.iter().zip(KO_KR::ADDRESS_STATE) {
            assert_eq!(r.name_ko(), *name);
        }
    }
}
