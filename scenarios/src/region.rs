//! The districts (si/gun/gu) of South Korea's first-level divisions. The divisions
//! themselves are [`protocol::region::Region`], the workspace's one region table.
//!
//! District populations are rough end-2024 figures, used only as relative weights inside
//! their region; they are inputs, not ground truth.

pub use protocol::region::Region;

/// The districts of a region, from the built-in table (the region table itself is
/// `protocol::region`, shared with the phone and the issuer).
pub trait Districts {
    /// The districts of this region.
    fn districts(self) -> &'static [District];
}

impl Districts for Region {
    fn districts(self) -> &'static [District] {
        let start = DISTRICTS.partition_point(|d| d.region < self);
        let end = DISTRICTS.partition_point(|d| d.region <= self);
        &DISTRICTS[start..end]
    }
}

/// A second-level division (si, gun or gu; a city's gu where the city has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct District {
    /// The region it belongs to.
    pub region: Region,
    /// 5-digit administrative code (region code + 3 digits), e.g. 41281 for Deogyang-gu, Goyang.
    pub code: u32,
    /// Korean name below the region ("고양시 덕양구").
    pub name_ko: &'static str,
    /// Rough end-2024 population in thousands, a weight relative to its region's districts.
    pub population_thousands: u32,
}

impl District {
    /// The district with this 5-digit code.
    pub fn by_code(code: u32) -> Option<&'static District> {
        DISTRICTS.iter().find(|d| d.code == code)
    }

    /// True if the district's code starts with the digits of `prefix` (the issuer's rollout
    /// data names areas by code prefix: "27" is all of Daegu, "4128" all of Goyang).
    pub fn code_starts_with(&self, prefix: &str) -> bool {
        let mut buf = [0u8; 5];
        let digits = five_digits(self.code, &mut buf);
        !prefix.is_empty() && digits.starts_with(prefix)
    }
}

fn five_digits(code: u32, buf: &mut [u8; 5]) -> &str {
    let mut c = code;
    for b in buf.iter_mut().rev() {
        *b = b'0' + (c % 10) as u8;
        c /= 10;
    }
    std::str::from_utf8(buf).unwrap_or("")
}

const fn d(
    region: Region,
    code: u32,
    name_ko: &'static str,
    population_thousands: u32,
) -> District {
    District {
        region,
        code,
        name_ko,
        population_thousands,
    }
}

use Region::*;

/// Every district, sorted by region (in `Region` order) then code.
pub static DISTRICTS: &[District] = &[
    d(Seoul, 11110, "종로구", 139),
    d(Seoul, 11140, "중구", 121),
    d(Seoul, 11170, "용산구", 212),
    d(Seoul, 11200, "성동구", 280),
    d(Seoul, 11215, "광진구", 336),
    d(Seoul, 11230, "동대문구", 357),
    d(Seoul, 11260, "중랑구", 380),
    d(Seoul, 11290, "성북구", 430),
    d(Seoul, 11305, "강북구", 285),
    d(Seoul, 11320, "도봉구", 300),
    d(Seoul, 11350, "노원구", 494),
    d(Seoul, 11380, "은평구", 460),
    d(Seoul, 11410, "서대문구", 310),
    d(Seoul, 11440, "마포구", 370),
    d(Seoul, 11470, "양천구", 430),
    d(Seoul, 11500, "강서구", 560),
    d(Seoul, 11530, "구로구", 400),
    d(Seoul, 11545, "금천구", 230),
    d(Seoul, 11560, "영등포구", 375),
    d(Seoul, 11590, "동작구", 380),
    d(Seoul, 11620, "관악구", 480),
    d(Seoul, 11650, "서초구", 410),
    d(Seoul, 11680, "강남구", 560),
    d(Seoul, 11710, "송파구", 655),
    d(Seoul, 11740, "강동구", 470),
    d(Busan, 26110, "중구", 39),
    d(Busan, 26140, "서구", 104),
    d(Busan, 26170, "동구", 88),
    d(Busan, 26200, "영도구", 107),
    d(Busan, 26230, "부산진구", 365),
    d(Busan, 26260, "동래구", 270),
    d(Busan, 26290, "남구", 255),
    d(Busan, 26320, "북구", 270),
    d(Busan, 26350, "해운대구", 380),
    d(Busan, 26380, "사하구", 300),
    d(Busan, 26410, "금정구", 215),
    d(Busan, 26440, "강서구", 143),
    d(Busan, 26470, "연제구", 205),
    d(Busan, 26500, "수영구", 175),
    d(Busan, 26530, "사상구", 205),
    d(Busan, 26710, "기장군", 180),
    d(Daegu, 27110, "중구", 95),
    d(Daegu, 27140, "동구", 335),
    d(Daegu, 27170, "서구", 160),
    d(Daegu, 27200, "남구", 140),
    d(Daegu, 27230, "북구", 410),
    d(Daegu, 27260, "수성구", 405),
    d(Daegu, 27290, "달서구", 525),
    d(Daegu, 27710, "달성군", 265),
    d(Daegu, 27720, "군위군", 23),
    d(Incheon, 28110, "중구", 165),
    d(Incheon, 28140, "동구", 60),
    d(Incheon, 28177, "미추홀구", 400),
    d(Incheon, 28185, "연수구", 390),
    d(Incheon, 28200, "남동구", 490),
    d(Incheon, 28237, "부평구", 485),
    d(Incheon, 28245, "계양구", 285),
    d(Incheon, 28260, "서구", 630),
    d(Incheon, 28710, "강화군", 69),
    d(Incheon, 28720, "옹진군", 20),
    d(Gwangju, 29110, "동구", 105),
    d(Gwangju, 29140, "서구", 285),
    d(Gwangju, 29155, "남구", 210),
    d(Gwangju, 29170, "북구", 420),
    d(Gwangju, 29200, "광산구", 390),
    d(Daejeon, 30110, "동구", 220),
    d(Daejeon, 30140, "중구", 220),
    d(Daejeon, 30170, "서구", 460),
    d(Daejeon, 30200, "유성구", 355),
    d(Daejeon, 30230, "대덕구", 170),
    d(Ulsan, 31110, "중구", 205),
    d(Ulsan, 31140, "남구", 305),
    d(Ulsan, 31170, "동구", 145),
    d(Ulsan, 31200, "북구", 220),
    d(Ulsan, 31710, "울주군", 220),
    d(Sejong, 36110, "", 391),
    d(Gyeonggi, 41111, "수원시 장안구", 270),
    d(Gyeonggi, 41113, "수원시 권선구", 370),
    d(Gyeonggi, 41115, "수원시 팔달구", 180),
    d(Gyeonggi, 41117, "수원시 영통구", 370),
    d(Gyeonggi, 41131, "성남시 수정구", 230),
    d(Gyeonggi, 41133, "성남시 중원구", 210),
    d(Gyeonggi, 41135, "성남시 분당구", 470),
    d(Gyeonggi, 41150, "의정부시", 460),
    d(Gyeonggi, 41171, "안양시 만안구", 230),
    d(Gyeonggi, 41173, "안양시 동안구", 310),
    d(Gyeonggi, 41190, "부천시", 780),
    d(Gyeonggi, 41210, "광명시", 280),
    d(Gyeonggi, 41220, "평택시", 600),
    d(Gyeonggi, 41250, "동두천시", 90),
    d(Gyeonggi, 41271, "안산시 상록구", 340),
    d(Gyeonggi, 41273, "안산시 단원구", 285),
    d(Gyeonggi, 41281, "고양시 덕양구", 490),
    d(Gyeonggi, 41285, "고양시 일산동구", 300),
    d(Gyeonggi, 41287, "고양시 일산서구", 280),
    d(Gyeonggi, 41290, "과천시", 80),
    d(Gyeonggi, 41310, "구리시", 185),
    d(Gyeonggi, 41360, "남양주시", 730),
    d(Gyeonggi, 41370, "오산시", 230),
    d(Gyeonggi, 41390, "시흥시", 520),
    d(Gyeonggi, 41410, "군포시", 260),
    d(Gyeonggi, 41430, "의왕시", 160),
    d(Gyeonggi, 41450, "하남시", 330),
    d(Gyeonggi, 41461, "용인시 처인구", 280),
    d(Gyeonggi, 41463, "용인시 기흥구", 450),
    d(Gyeonggi, 41465, "용인시 수지구", 380),
    d(Gyeonggi, 41480, "파주시", 510),
    d(Gyeonggi, 41500, "이천시", 225),
    d(Gyeonggi, 41550, "안성시", 190),
    d(Gyeonggi, 41570, "김포시", 490),
    d(Gyeonggi, 41590, "화성시", 950),
    d(Gyeonggi, 41610, "광주시", 390),
    d(Gyeonggi, 41630, "양주시", 290),
    d(Gyeonggi, 41650, "포천시", 145),
    d(Gyeonggi, 41670, "여주시", 110),
    d(Gyeonggi, 41800, "연천군", 41),
    d(Gyeonggi, 41820, "가평군", 62),
    d(Gyeonggi, 41830, "양평군", 125),
    d(NorthChungcheong, 43111, "청주시 상당구", 195),
    d(NorthChungcheong, 43112, "청주시 서원구", 215),
    d(NorthChungcheong, 43113, "청주시 흥덕구", 290),
    d(NorthChungcheong, 43114, "청주시 청원구", 195),
    d(NorthChungcheong, 43130, "충주시", 208),
    d(NorthChungcheong, 43150, "제천시", 130),
    d(NorthChungcheong, 43720, "보은군", 31),
    d(NorthChungcheong, 43730, "옥천군", 49),
    d(NorthChungcheong, 43740, "영동군", 44),
    d(NorthChungcheong, 43745, "증평군", 37),
    d(NorthChungcheong, 43750, "진천군", 86),
    d(NorthChungcheong, 43760, "괴산군", 36),
    d(NorthChungcheong, 43770, "음성군", 91),
    d(NorthChungcheong, 43800, "단양군", 27),
    d(SouthChungcheong, 44131, "천안시 동남구", 270),
    d(SouthChungcheong, 44133, "천안시 서북구", 390),
    d(SouthChungcheong, 44150, "공주시", 101),
    d(SouthChungcheong, 44180, "보령시", 96),
    d(SouthChungcheong, 44200, "아산시", 345),
    d(SouthChungcheong, 44210, "서산시", 176),
    d(SouthChungcheong, 44230, "논산시", 110),
    d(SouthChungcheong, 44250, "계룡시", 44),
    d(SouthChungcheong, 44270, "당진시", 170),
    d(SouthChungcheong, 44710, "금산군", 50),
    d(SouthChungcheong, 44760, "부여군", 61),
    d(SouthChungcheong, 44770, "서천군", 49),
    d(SouthChungcheong, 44790, "청양군", 30),
    d(SouthChungcheong, 44800, "홍성군", 98),
    d(SouthChungcheong, 44810, "예산군", 77),
    d(SouthChungcheong, 44825, "태안군", 60),
    d(SouthJeolla, 46110, "목포시", 214),
    d(SouthJeolla, 46130, "여수시", 271),
    d(SouthJeolla, 46150, "순천시", 276),
    d(SouthJeolla, 46170, "나주시", 117),
    d(SouthJeolla, 46230, "광양시", 152),
    d(SouthJeolla, 46710, "담양군", 45),
    d(SouthJeolla, 46720, "곡성군", 27),
    d(SouthJeolla, 46730, "구례군", 25),
    d(SouthJeolla, 46770, "고흥군", 60),
    d(SouthJeolla, 46780, "보성군", 38),
    d(SouthJeolla, 46790, "화순군", 61),
    d(SouthJeolla, 46800, "장흥군", 35),
    d(SouthJeolla, 46810, "강진군", 33),
    d(SouthJeolla, 46820, "해남군", 64),
    d(SouthJeolla, 46830, "영암군", 52),
    d(SouthJeolla, 46840, "무안군", 91),
    d(SouthJeolla, 46860, "함평군", 30),
    d(SouthJeolla, 46870, "영광군", 51),
    d(SouthJeolla, 46880, "장성군", 43),
    d(SouthJeolla, 46890, "완도군", 47),
    d(SouthJeolla, 46900, "진도군", 29),
    d(SouthJeolla, 46910, "신안군", 38),
    d(NorthGyeongsang, 47111, "포항시 남구", 230),
    d(NorthGyeongsang, 47113, "포항시 북구", 265),
    d(NorthGyeongsang, 47130, "경주시", 245),
    d(NorthGyeongsang, 47150, "김천시", 137),
    d(NorthGyeongsang, 47170, "안동시", 153),
    d(NorthGyeongsang, 47190, "구미시", 405),
    d(NorthGyeongsang, 47210, "영주시", 99),
    d(NorthGyeongsang, 47230, "영천시", 101),
    d(NorthGyeongsang, 47250, "상주시", 93),
    d(NorthGyeongsang, 47280, "문경시", 69),
    d(NorthGyeongsang, 47290, "경산시", 275),
    d(NorthGyeongsang, 47730, "의성군", 49),
    d(NorthGyeongsang, 47750, "청송군", 24),
    d(NorthGyeongsang, 47760, "영양군", 16),
    d(NorthGyeongsang, 47770, "영덕군", 34),
    d(NorthGyeongsang, 47820, "청도군", 41),
    d(NorthGyeongsang, 47830, "고령군", 31),
    d(NorthGyeongsang, 47840, "성주군", 43),
    d(NorthGyeongsang, 47850, "칠곡군", 110),
    d(NorthGyeongsang, 47900, "예천군", 54),
    d(NorthGyeongsang, 47920, "봉화군", 30),
    d(NorthGyeongsang, 47930, "울진군", 46),
    d(NorthGyeongsang, 47940, "울릉군", 9),
    d(SouthGyeongsang, 48121, "창원시 의창구", 225),
    d(SouthGyeongsang, 48123, "창원시 성산구", 230),
    d(SouthGyeongsang, 48125, "창원시 마산합포구", 175),
    d(SouthGyeongsang, 48127, "창원시 마산회원구", 185),
    d(SouthGyeongsang, 48129, "창원시 진해구", 190),
    d(SouthGyeongsang, 48170, "진주시", 340),
    d(SouthGyeongsang, 48220, "통영시", 122),
    d(SouthGyeongsang, 48240, "사천시", 109),
    d(SouthGyeongsang, 48250, "김해시", 530),
    d(SouthGyeongsang, 48270, "밀양시", 102),
    d(SouthGyeongsang, 48310, "거제시", 235),
    d(SouthGyeongsang, 48330, "양산시", 355),
    d(SouthGyeongsang, 48720, "의령군", 26),
    d(SouthGyeongsang, 48730, "함안군", 61),
    d(SouthGyeongsang, 48740, "창녕군", 58),
    d(SouthGyeongsang, 48820, "고성군", 49),
    d(SouthGyeongsang, 48840, "남해군", 40),
    d(SouthGyeongsang, 48850, "하동군", 42),
    d(SouthGyeongsang, 48860, "산청군", 34),
    d(SouthGyeongsang, 48870, "함양군", 37),
    d(SouthGyeongsang, 48880, "거창군", 60),
    d(SouthGyeongsang, 48890, "합천군", 41),
    d(Jeju, 50110, "제주시", 490),
    d(Jeju, 50130, "서귀포시", 180),
    d(Gangwon, 51110, "춘천시", 286),
    d(Gangwon, 51130, "원주시", 361),
    d(Gangwon, 51150, "강릉시", 209),
    d(Gangwon, 51170, "동해시", 88),
    d(Gangwon, 51190, "태백시", 38),
    d(Gangwon, 51210, "속초시", 82),
    d(Gangwon, 51230, "삼척시", 62),
    d(Gangwon, 51720, "홍천군", 67),
    d(Gangwon, 51730, "횡성군", 46),
    d(Gangwon, 51750, "영월군", 37),
    d(Gangwon, 51760, "평창군", 40),
    d(Gangwon, 51770, "정선군", 34),
    d(Gangwon, 51780, "철원군", 41),
    d(Gangwon, 51790, "화천군", 23),
    d(Gangwon, 51800, "양구군", 21),
    d(Gangwon, 51810, "인제군", 31),
    d(Gangwon, 51820, "고성군", 27),
    d(Gangwon, 51830, "양양군", 28),
    d(NorthJeolla, 52111, "전주시 완산구", 335),
    d(NorthJeolla, 52113, "전주시 덕진구", 305),
    d(NorthJeolla, 52130, "군산시", 258),
    d(NorthJeolla, 52140, "익산시", 268),
    d(NorthJeolla, 52180, "정읍시", 102),
    d(NorthJeolla, 52190, "남원시", 77),
    d(NorthJeolla, 52210, "김제시", 80),
    d(NorthJeolla, 52710, "완주군", 92),
    d(NorthJeolla, 52720, "진안군", 24),
    d(NorthJeolla, 52730, "무주군", 23),
    d(NorthJeolla, 52740, "장수군", 21),
    d(NorthJeolla, 52750, "임실군", 26),
    d(NorthJeolla, 52770, "순창군", 26),
    d(NorthJeolla, 52790, "고창군", 52),
    d(NorthJeolla, 52800, "부안군", 49),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_by_region_then_code_and_codes_match_regions() {
        for w in DISTRICTS.windows(2) {
            assert!((w[0].region, w[0].code) < (w[1].region, w[1].code), "{w:?}");
        }
        for dist in DISTRICTS {
            assert_eq!(dist.code / 1000, u32::from(dist.region.code()), "{dist:?}");
        }
        for r in Region::ALL {
            assert!(!r.districts().is_empty(), "{r}");
            assert_eq!(
                r as usize,
                Region::ALL.iter().position(|x| *x == r).unwrap()
            );
        }
    }

    #[test]
    fn codes_round_trip_and_former_codes_still_parse() {
        for r in Region::ALL {
            assert_eq!(Region::from_code(r.code()), Some(r));
            assert_eq!(format!("{:02}", r.code()).parse::<Region>().unwrap(), r);
            assert_eq!(r.name_en().parse::<Region>().unwrap(), r);
        }
        assert_eq!(Region::from_code(42), Some(Region::Gangwon));
        assert_eq!(Region::from_code(45), Some(Region::NorthJeolla));
        assert_eq!(Region::from_code(12), None);
        assert!("Atlantis".parse::<Region>().is_err());
        let json = serde_json::to_string(&Region::Gyeonggi).unwrap();
        assert_eq!(json, "\"41\"");
        assert_eq!(
            serde_json::from_str::<Region>(&json).unwrap(),
            Region::Gyeonggi
        );
    }

    #[test]
    fn pilot_area_prefixes_match_the_intended_districts() {
        let goyang: u32 = DISTRICTS
            .iter()
            .filter(|d| d.code_starts_with("4128"))
            .map(|d| d.population_thousands)
            .sum();
        assert_eq!(goyang, 1070);
        assert!(District::by_code(27720).unwrap().code_starts_with("27"));
        assert!(!District::by_code(27720).unwrap().code_starts_with(""));
        assert_eq!(District::by_code(36110).unwrap().region, Region::Sejong);
    }
}
