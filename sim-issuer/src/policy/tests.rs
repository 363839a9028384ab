use time::macros::date;

use super::*;
use crate::time::local_midnight;

fn policy() -> Policy {
    Policy::from_toml(DEFAULT_ROLLOUT_TOML).expect("shipped rollout.toml is valid")
}

fn adult<'a>(district: &'a str, card: CardKind) -> Applicant<'a> {
    Applicant {
        korean: true,
        birth_date: date!(1990 - 01 - 01),
        district,
        card,
        card_reported_lost: false,
    }
}

fn desk(district: &str) -> Channel {
    Channel::Desk {
        district: district.to_owned(),
    }
}

/// Local midnight KST of `day`, and one second before it.
fn around(p: &Policy, day: Date) -> (UnixTime, UnixTime) {
    let m = local_midnight(day, p.utc_offset);
    (m - 1, m)
}

fn allowed(d: &Decision) -> bool {
    matches!(d, Decision::Allowed { .. })
}

#[test]
fn shipped_file_holds_the_domain_schedule_and_fees() {
    let p = policy();
    let names: Vec<_> = p
        .phases
        .iter()
        .map(|ph| (ph.name.as_str(), ph.opens))
        .collect();
    assert_eq!(
        names,
        [
            ("pilot", date!(2024 - 12 - 27)),
            ("phase 1", date!(2025 - 02 - 14)),
            ("phase 2", date!(2025 - 02 - 28)),
            ("phase 3", date!(2025 - 03 - 14)),
            ("nationwide", date!(2025 - 03 - 28)),
        ]
    );
    assert_eq!(p.regions.len(), 17);
    assert_eq!(p.phases[0].areas.len(), 9);
    assert_eq!(p.utc_offset.whole_hours(), 9);
    assert_eq!(p.minimum_age, 17);
    assert_eq!(p.mobile_id_validity_years, 3);
    assert_eq!(p.ic_card_fee(true), 10_000);
    assert_eq!(p.ic_card_fee(false), 0);
    assert_eq!(p.free_choice_from(), Some(date!(2025 - 03 - 28)));
    assert_eq!(Policy::default_rollout(), p);
}

#[test]
fn each_phase_opens_at_midnight_kst_of_its_day_for_its_areas() {
    let p = policy();
    // (district of the legal address, opening day)
    let cases = [
        ("36110", date!(2024 - 12 - 27)), // Sejong, pilot
        ("41281", date!(2024 - 12 - 27)), // Goyang Deogyang-gu, pilot
        ("27720", date!(2024 - 12 - 27)), // Gunwi County, pilot
        ("27110", date!(2025 - 02 - 14)), // Daegu Jung-gu, phase 1
        ("50110", date!(2025 - 02 - 14)), // Jeju, phase 1
        ("28110", date!(2025 - 02 - 28)), // Incheon, phase 2
        ("41111", date!(2025 - 02 - 28)), // Suwon (Gyeonggi, not Goyang), phase 2
        ("11110", date!(2025 - 03 - 14)), // Seoul Jongno-gu, phase 3
        ("29110", date!(2025 - 03 - 14)), // Gwangju, phase 3
    ];
    for (district, day) in cases {
        let who = adult(district, CardKind::Plastic);
        let (before, at) = around(&p, day);
        let d = p.check(&who, Route::Qr, &desk(district), before);
        match d {
            Decision::Refused(Refusal::NotYetOpen { opens_on, .. }) => {
                assert_eq!(opens_on, day, "{district}")
            }
            other => panic!("{district} one second before opening: {other:?}"),
        }
        assert!(
            allowed(&p.check(&who, Route::Qr, &desk(district), at)),
            "{district} at opening"
        );
    }
}

#[test]
fn nationwide_opens_other_centers_and_online_at_midnight_kst_of_march_28() {
    let p = policy();
    let (before, at) = around(&p, date!(2025 - 03 - 28));
    let who = adult("11110", CardKind::Ic);
    assert_eq!(
        p.check(&who, Route::IcTap, &Channel::App, before),
        Decision::Refused(Refusal::OnlineNotYetOpen {
            opens_on: Some(date!(2025 - 03 - 28))
        })
    );
    assert_eq!(
        p.check(&who, Route::IcTap, &Channel::App, at),
        Decision::Allowed {
            phase: "nationwide".into()
        }
    );
    let elsewhere = desk("26110");
    assert!(matches!(
        p.check(&who, Route::Qr, &elsewhere, before),
        Decision::Refused(Refusal::OutsideJurisdiction { .. })
    ));
    assert!(allowed(&p.check(&who, Route::Qr, &elsewhere, at)));
}

#[test]
fn in_phases_one_to_three_only_the_legal_address_district_takes_applications() {
    let p = policy();
    let now = local_midnight(date!(2025 - 03 - 20), p.utc_offset);
    let who = adult("27110", CardKind::Plastic);
    assert_eq!(
        p.check(&who, Route::Qr, &desk("27140"), now),
        Decision::Refused(Refusal::OutsideJurisdiction {
            legal_district: "27110".into(),
            desk_district: "27140".into(),
            until: Some(date!(2025 - 03 - 28)),
        })
    );
    assert!(allowed(&p.check(&who, Route::Qr, &desk("27110"), now)));
}

#[test]
fn under_seventeen_is_refused_until_the_seventeenth_birthday_in_kst() {
    let p = policy();
    let mut who = adult("11110", CardKind::Ic);
    who.birth_date = date!(2008 - 06 - 10);
    let (before, at) = around(&p, date!(2025 - 06 - 10));
    assert_eq!(
        p.check(&who, Route::IcTap, &Channel::App, before),
        Decision::Refused(Refusal::UnderAge {
            minimum_age: 17,
            eligible_on: date!(2025 - 06 - 10)
        })
    );
    assert!(allowed(&p.check(&who, Route::IcTap, &Channel::App, at)));
}

#[test]
fn card_problems_are_refused_by_name() {
    let p = policy();
    let now = local_midnight(date!(2025 - 04 - 01), p.utc_offset);
    let mut who = adult("11110", CardKind::None);
    assert_eq!(
        p.check(&who, Route::Qr, &desk("11110"), now),
        Decision::Refused(Refusal::NoResidentCard)
    );
    who.card = CardKind::Plastic;
    assert_eq!(
        p.check(&who, Route::IcTap, &Channel::App, now),
        Decision::Refused(Refusal::IcCardRequired)
    );
    who.card = CardKind::Ic;
    who.card_reported_lost = true;
    assert_eq!(
        p.check(&who, Route::IcTap, &Channel::App, now),
        Decision::Refused(Refusal::CardReportedLost)
    );
}

#[test]
fn foreigners_unknown_districts_and_online_qr_are_refused_by_name() {
    let p = policy();
    let now = local_midnight(date!(2025 - 04 - 01), p.utc_offset);
    let mut who = adult("11110", CardKind::Plastic);
    assert_eq!(
        p.check(&who, Route::Qr, &Channel::App, now),
        Decision::Refused(Refusal::QrOnlyAtDesk)
    );
    who.district = "99110";
    assert_eq!(
        p.check(&who, Route::Qr, &desk("99110"), now),
        Decision::Refused(Refusal::UnknownDistrict {
            district: "99110".into()
        })
    );
    who.district = "11110";
    who.korean = false;
    assert_eq!(
        p.check(&who, Route::Qr, &desk("11110"), now),
        Decision::Refused(Refusal::NotKorean)
    );
    assert_eq!(
        p.check(&who, Route::Qr, &desk("11110"), i64::MAX),
        Decision::Refused(Refusal::ClockOutOfRange)
    );
}

#[test]
fn a_district_no_phase_lists_never_opens() {
    let mut p = policy();
    p.phases.retain(|ph| ph.name == "phase 3");
    let now = local_midnight(date!(2026 - 01 - 01), p.utc_offset);
    let who = adult("50110", CardKind::Plastic);
    assert_eq!(
        p.check(&who, Route::Qr, &desk("50110"), now),
        Decision::Refused(Refusal::NeverOpens)
    );
}

#[test]
fn every_refusal_reads_as_a_sentence_naming_its_reason() {
    let r = Refusal::NotYetOpen {
        opens_on: date!(2025 - 03 - 14),
        phase: "phase 3".into(),
    };
    assert_eq!(
        r.to_string(),
        "not yet open for this legal address: opens on 2025-03-14 (phase 3)"
    );
    let json = serde_json_like(&r);
    assert!(json.contains("not_yet_open"), "{json}");
}

fn serde_json_like(r: &Refusal) -> String {
    toml::to_string(&toml::Value::try_from(r).unwrap()).unwrap()
}

#[test]
fn broken_policy_files_are_refused_with_the_problem_named() {
    let cases = [
        (
            "utc_offset_hours = 9",
            "utc_offset_hours = 99",
            "utc_offset_hours",
        ),
        ("opens = 2025-02-28", "opens = 2025-02-01", "before or with"),
        (
            "opens = 2024-12-27",
            "opens = 2024-12-27T00:00:00",
            "plain date",
        ),
        ("code = \"4128\"", "code = \"9\"", "area code"),
        (
            "minimum_age = 17",
            "minimum_age = 17\nfoo = 1",
            "unknown field",
        ),
        (
            "mobile_id_validity_years = 3",
            "mobile_id_validity_years = 0",
            "at least 1",
        ),
    ];
    for (from, to, expect) in cases {
        let text = DEFAULT_ROLLOUT_TOML.replacen(from, to, 1);
        assert_ne!(text, DEFAULT_ROLLOUT_TOML, "{from}");
        let err = Policy::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(expect), "{from} -> {err}");
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_policy_text_never_panics(s in ".{0,400}") {
        let _ = Policy::from_toml(&s);
    }

    #[test]
    fn arbitrary_applicants_and_times_never_panic(
        district in "[0-9]{0,6}",
        y in 1900i32..2030, doy in 1u16..366,
        now in proptest::num::i64::ANY,
        card in 0u8..3, lost: bool, korean: bool, app: bool, qr: bool,
    ) {
        let p = policy();
        let birth_date = Date::from_ordinal_date(y, doy).unwrap();
        let card = [CardKind::None, CardKind::Plastic, CardKind::Ic][card as usize];
        let who = Applicant { korean, birth_date, district: &district, card, card_reported_lost: lost };
        let ch = if app { Channel::App } else { desk(&district) };
        let route = if qr { Route::Qr } else { Route::IcTap };
        let _ = p.check(&who, route, &ch, now);
    }
}

#[test]
fn regions_come_from_the_one_table_and_an_old_file_listing_them_must_agree() {
    let p = Policy::from_toml(DEFAULT_ROLLOUT_TOML).unwrap();
    assert_eq!(p.regions["51"].name, "Gangwon");
    assert_eq!(p.regions["11"].population_thousands, 9_335);
    let agreeing = format!(
        "{DEFAULT_ROLLOUT_TOML}\n[[regions]]\ncode = \"11\"\nname = \"Seoul\"\npopulation_thousands = 9335\n"
    );
    assert!(Policy::from_toml(&agreeing).is_ok());
    let unknown =
        format!("{DEFAULT_ROLLOUT_TOML}\n[[regions]]\ncode = \"99\"\nname = \"Atlantis\"\n");
    let e = Policy::from_toml(&unknown).unwrap_err().to_string();
    assert!(e.contains("not in the region table"), "{e}");
}
