//! The card password's retry counter: counts down, suspends, blocks, and survives tearing.

use protocol::apdu::{CommandApdu, StatusWord};
use protocol::pace::PasswordRef;
use sim_card::{Card, CardFaults, PasswordState, SmartCard, Tear, TearPoint, PIN_TRIES};

use crate::terminal::{Failure, Terminal};

const SEED: u64 = 21;

fn attempt(card: &mut Card, which: PasswordRef, password: &str) -> Result<(), Failure> {
    let mut t = Terminal::new(card, 9);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))?;
    t.pace(which, password)
}

#[test]
fn counts_down_suspends_resumes_with_can_and_blocks() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let wrong = crate::wrong_pin(SEED);
    assert!(matches!(
        attempt(&mut card, PasswordRef::Pin, &wrong),
        Err(Failure::Status(StatusWord::TriesLeft(2)))
    ));
    assert_eq!(card.password_state(), PasswordState::Active(2));
    assert!(matches!(
        attempt(&mut card, PasswordRef::Pin, &wrong),
        Err(Failure::Status(StatusWord::TriesLeft(1)))
    ));
    assert_eq!(card.password_state(), PasswordState::Suspended);
    // Suspended: even the right password is refused until a PACE with the CAN.
    assert!(matches!(
        attempt(&mut card, PasswordRef::Pin, &crate::pin(SEED)),
        Err(Failure::Status(StatusWord::ReferenceDataNotUsable))
    ));
    assert_eq!(
        card.password_state(),
        PasswordState::Suspended,
        "refusal costs no try"
    );
    // CAN, then the password in the same power cycle: a wrong one blocks.
    {
        let mut t = Terminal::new(&mut card, 5);
        t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
            .unwrap();
        t.pace(PasswordRef::Can, &crate::can(SEED)).unwrap();
        assert!(matches!(
            t.pace(PasswordRef::Pin, &wrong),
            Err(Failure::Status(StatusWord::TriesLeft(0)))
        ));
    }
    assert_eq!(card.password_state(), PasswordState::Blocked);
    assert!(matches!(
        attempt(&mut card, PasswordRef::Pin, &crate::pin(SEED)),
        Err(Failure::Status(StatusWord::AuthenticationBlocked))
    ));
    // The CAN still works on a blocked card.
    attempt(&mut card, PasswordRef::Can, &crate::can(SEED)).unwrap();
}

#[test]
fn suspended_password_resumes_after_can_and_success_restores_the_count() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let wrong = crate::wrong_pin(SEED);
    for _ in 0..2 {
        let _ = attempt(&mut card, PasswordRef::Pin, &wrong);
    }
    assert_eq!(card.password_state(), PasswordState::Suspended);
    let mut t = Terminal::new(&mut card, 6);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Can, &crate::can(SEED)).unwrap();
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    assert_eq!(card.password_state(), PasswordState::Active(PIN_TRIES));
}

#[test]
fn wrong_can_costs_no_password_try() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let r = attempt(&mut card, PasswordRef::Can, "000000");
    assert!(
        matches!(r, Err(Failure::Status(StatusWord::Other(0x6300)))),
        "{r:?}"
    );
    assert_eq!(card.password_tries(), PIN_TRIES);
}

#[test]
fn blocked_at_personalisation_is_blocked() {
    let (mut card, _) = crate::card_with(
        SEED,
        CardFaults {
            blocked_password: true,
            ..Default::default()
        },
    );
    assert!(matches!(
        attempt(&mut card, PasswordRef::Pin, &crate::pin(SEED)),
        Err(Failure::Status(StatusWord::AuthenticationBlocked))
    ));
}

/// The APDUs of one tap: SELECT, MSE:Set AT, four GENERAL AUTHENTICATE, then reads.
const TOKEN_APDU: u32 = 6;

fn tap_counts(password_is_right: bool) {
    let right = crate::pin(SEED);
    let wrong = crate::wrong_pin(SEED);
    let pw = if password_is_right { &right } else { &wrong };
    for point in [TearPoint::BeforeResponse, TearPoint::MidCommand] {
        for k in 1..=TOKEN_APDU + 3 {
            let (mut card, _) = crate::card_with(SEED, Default::default());
            card.faults_mut().tear = Some(Tear {
                after_apdu: k,
                point,
            });
            let torn = {
                let mut t = Terminal::new(&mut card, 9);
                let r = t
                    .expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
                    .and_then(|_| t.pace(PasswordRef::Pin, pw))
                    .and_then(|_| t.read_file(0x01).map(|_| ()));
                matches!(r, Err(Failure::Torn))
            };
            let after_tear = card.password_tries();
            let expected = match (password_is_right, point, k) {
                // Torn before the token reached the chip: nothing was checked.
                (_, _, k) if k < TOKEN_APDU => PIN_TRIES,
                // A wrong password is counted whenever the token reached the chip.
                (false, _, _) => PIN_TRIES - 1,
                // Right password torn between decrement and check: counted once.
                (true, TearPoint::MidCommand, TOKEN_APDU) => PIN_TRIES - 1,
                (true, _, _) => PIN_TRIES,
            };
            assert_eq!(
                after_tear, expected,
                "tear at APDU {k} {point:?}, torn={torn}"
            );
            if k <= TOKEN_APDU || (password_is_right && k == TOKEN_APDU + 1) {
                assert!(torn, "a tear at APDU {k} is seen by the terminal");
            }
            // The next tap without a tear: counts exactly one more wrong try, or restores.
            card.faults_mut().tear = None;
            let r = attempt(&mut card, PasswordRef::Pin, pw);
            if password_is_right {
                r.unwrap();
                assert_eq!(card.password_tries(), PIN_TRIES);
            } else {
                assert_eq!(card.password_tries(), expected - 1, "tear at {k} {point:?}");
            }
        }
    }
}

#[test]
fn counter_survives_tearing_at_every_apdu_with_a_wrong_password() {
    tap_counts(false);
}

#[test]
fn counter_survives_tearing_at_every_apdu_with_the_right_password() {
    tap_counts(true);
}

#[test]
fn power_off_drops_the_channel_but_keeps_the_counter() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let _ = attempt(&mut card, PasswordRef::Pin, &crate::wrong_pin(SEED));
    attempt(&mut card, PasswordRef::Can, &crate::can(SEED)).unwrap();
    assert!(card.secure_channel_open());
    card.power_off();
    assert!(!card.secure_channel_open());
    assert_eq!(card.password_tries(), PIN_TRIES - 1);
}
