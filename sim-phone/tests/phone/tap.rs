//! Tap-to-read: PACE, reads, Passive and Active Authentication, and what torn taps and wrong
//! passwords do to the holder and to the card's password counter.

use sim_card::{CardFaults, Tear, TearPoint};
use sim_phone::{TapEvent, TapState, UiEvent};

use crate::{can, card_with, pin, wrong_pin, Rig};

const SEED: u64 = 11;

fn rig(faults: CardFaults) -> Rig {
    let (card, pki) = card_with(SEED, faults);
    Rig::new(card, &pki)
}

#[test]
fn tap_with_the_card_password_reads_and_authenticates_the_card() {
    let mut r = rig(CardFaults::default());
    assert_eq!(r.app.state(), TapState::NeedPassword);
    r.event(TapEvent::Password(pin(SEED)));
    assert_eq!(r.last_shown(), Some(&UiEvent::TapCard));
    r.tap();
    let ev = r.done.as_ref().expect("card read");
    assert_eq!(r.app.state(), TapState::Done);
    assert_eq!(ev.holder, sim_card::demo_holder(SEED));
    assert_eq!(ev.passive.checked, vec![1, 2, 14, 15]);
    assert_eq!(ev.aa_challenge, vec![0xA5; 8]);
    protocol::aa::verify(&ev.dg15, &ev.aa_challenge, &ev.aa_signature).unwrap();
    assert_eq!(r.card().password_tries(), 3);
    assert!(!r.card().is_powered(), "the app let go of the card");
    assert_eq!(r.last_shown(), Some(&UiEvent::CardRead));
}

#[test]
fn tap_with_the_can_alone_reads_the_card_without_touching_the_password_counter() {
    let mut r = rig(CardFaults::default());
    r.event(TapEvent::Can(can(SEED)));
    r.tap();
    assert!(r.done.is_some());
    assert_eq!(r.lowest_tries, 3);
}

#[test]
fn a_wrong_password_shows_tries_left_and_is_not_sent_again() {
    let mut r = rig(CardFaults::default());
    r.event(TapEvent::Password(wrong_pin(SEED)));
    r.tap();
    assert_eq!(
        r.last_shown(),
        Some(&UiEvent::WrongPassword { tries_left: 2 })
    );
    assert_eq!(
        UiEvent::WrongPassword { tries_left: 2 }.to_string(),
        "Wrong card password, 2 tries left"
    );
    assert_eq!(r.app.state(), TapState::NeedPassword);
    let before = r.apdus;
    r.event(TapEvent::Password(wrong_pin(SEED)));
    assert_eq!(r.last_shown(), Some(&UiEvent::PasswordAlreadyRefused));
    assert_eq!(r.apdus, before, "a refused password is not sent again");
    assert_eq!(r.card().password_tries(), 2);
    // The right one, with the card still in the field, finishes this tap.
    r.event(TapEvent::Password(pin(SEED)));
    assert!(r.done.is_some());
    assert_eq!(r.card().password_tries(), 3);
}

#[test]
fn a_suspended_password_needs_the_can_then_the_password_inside_its_channel() {
    let mut r = rig(CardFaults::default());
    r.event(TapEvent::Password(wrong_pin(SEED)));
    r.tap();
    let other = format!(
        "{:04}",
        (wrong_pin(SEED).parse::<u32>().unwrap() + 1) % 10_000
    );
    assert_ne!(other, pin(SEED));
    r.event(TapEvent::Password(other));
    assert_eq!(
        r.last_shown(),
        Some(&UiEvent::WrongPassword { tries_left: 1 })
    );
    assert_eq!(r.card().password_tries(), 1);
    r.event(TapEvent::Password(pin(SEED)));
    assert_eq!(r.last_shown(), Some(&UiEvent::EnterCan));
    assert_eq!(r.app.state(), TapState::NeedCan);
    r.event(TapEvent::Can(can(SEED)));
    assert!(r.done.is_some(), "shown: {:?}", r.shown);
    assert_eq!(r.card().password_tries(), 3);
}

#[test]
fn a_blocked_password_stops_with_a_clear_message() {
    let mut r = rig(CardFaults {
        blocked_password: true,
        ..Default::default()
    });
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    assert_eq!(r.app.state(), TapState::Failed);
    assert_eq!(r.last_shown(), Some(&UiEvent::PasswordBlocked));
    assert!(UiEvent::PasswordBlocked
        .to_string()
        .contains("community service center"));
}

#[test]
fn a_cloned_chip_fails_active_authentication() {
    let mut r = rig(CardFaults {
        clone: true,
        ..Default::default()
    });
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    assert_eq!(r.app.state(), TapState::Failed);
    assert!(
        matches!(r.last_shown(), Some(UiEvent::CardNotGenuine { detail }) if detail.contains("Active")),
        "{:?}",
        r.shown
    );
}

#[test]
fn a_tampered_data_group_fails_passive_authentication() {
    let mut r = rig(CardFaults {
        tamper_dg: Some(1),
        ..Default::default()
    });
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    assert!(
        matches!(r.last_shown(), Some(UiEvent::CardNotGenuine { detail }) if detail.contains("Passive")),
        "{:?}",
        r.shown
    );
}

#[test]
fn a_card_from_an_untrusted_country_fails_passive_authentication() {
    let (card, _) = card_with(SEED, CardFaults::default());
    let other = sim_card::TestPki::new(SEED + 1);
    let mut r = Rig::new(card, &other);
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    assert!(matches!(
        r.last_shown(),
        Some(UiEvent::CardNotGenuine { .. })
    ));
}

/// APDUs of an untorn tap with the password.
fn apdus_of_a_clean_tap() -> u32 {
    let mut r = rig(CardFaults::default());
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    assert!(r.done.is_some());
    r.card().apdus_total() as u32
}

/// Tear the card out at APDU `k`, then keep tapping (re-entering the password when asked)
/// until the flow ends. Returns the rig.
fn torn_run(k: u32, point: TearPoint) -> Rig {
    let mut r = rig(CardFaults::default());
    r.card_mut().faults_mut().tear = Some(Tear {
        after_apdu: k,
        point,
    });
    r.event(TapEvent::Password(pin(SEED)));
    r.tap();
    for _ in 0..4 {
        if matches!(r.app.state(), TapState::Done | TapState::Failed) {
            break;
        }
        if r.app.state() == TapState::NeedPassword {
            r.event(TapEvent::Password(pin(SEED)));
        }
        if r.app.state() == TapState::WaitingForTap {
            r.tap();
        }
    }
    r
}

#[test]
fn tearing_at_every_apdu_completes_on_re_tap_and_never_spends_two_tries() {
    let n = apdus_of_a_clean_tap();
    assert!(n > 20, "a tap is {n} APDUs");
    for point in [TearPoint::BeforeResponse, TearPoint::MidCommand] {
        for k in 1..=n {
            let r = torn_run(k, point);
            let ctx = format!("tear at APDU {k} ({point:?}): shown {:?}", r.shown);
            assert_eq!(r.app.state(), TapState::Done, "{ctx}");
            assert!(r.done.is_some(), "{ctx}");
            assert!(
                r.shown.contains(&UiEvent::CardRemovedEarly),
                "the holder was told: {ctx}"
            );
            assert!(
                !r.shown
                    .iter()
                    .any(|e| matches!(e, UiEvent::WrongPassword { .. })),
                "a tear is never a wrong password: {ctx}"
            );
            assert!(r.lowest_tries >= 2, "at most one try spent: {ctx}");
            assert_eq!(r.card().password_tries(), 3, "{ctx}");
        }
    }
}

#[test]
fn a_tear_during_the_password_check_asks_the_holder_instead_of_spending_another_try() {
    // Find the APDU that carries the token: the one after which the counter moves.
    let n = apdus_of_a_clean_tap();
    let token = (1..=n)
        .find(|&k| {
            let r = torn_run(k, TearPoint::MidCommand);
            r.shown
                .iter()
                .any(|e| matches!(e, UiEvent::PasswordCheckInterrupted { .. }))
        })
        .expect("some tear lands on the password check");
    let r = torn_run(token, TearPoint::MidCommand);
    assert!(r
        .shown
        .contains(&UiEvent::PasswordCheckInterrupted { tries_left: 2 }));
    assert_eq!(r.lowest_tries, 2);
    // Torn after the check succeeded: the counter is full again, the app carries on alone.
    let r = torn_run(token, TearPoint::BeforeResponse);
    assert!(!r
        .shown
        .iter()
        .any(|e| matches!(e, UiEvent::PasswordCheckInterrupted { .. })));
    assert_eq!(r.lowest_tries, 3);
}

#[test]
fn a_wrong_password_torn_during_its_check_spends_one_try_per_entry() {
    let n = apdus_of_a_clean_tap();
    for k in 1..=n.min(12) {
        let mut r = rig(CardFaults::default());
        r.card_mut().faults_mut().tear = Some(Tear {
            after_apdu: k,
            point: TearPoint::BeforeResponse,
        });
        r.event(TapEvent::Password(wrong_pin(SEED)));
        r.tap();
        for _ in 0..3 {
            if r.app.state() == TapState::WaitingForTap {
                r.tap();
            }
        }
        // One entry of a wrong password costs the card one try, whatever was torn.
        assert_eq!(r.card().password_tries(), 2, "tear at {k}: {:?}", r.shown);
        assert!(matches!(r.app.state(), TapState::NeedPassword));
    }
}
