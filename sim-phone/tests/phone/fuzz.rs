//! Generated event sequences: the tap flow never panics, and from wherever they leave it,
//! the holder can always finish (no stuck state).

use proptest::prelude::*;
use sim_card::CardFaults;
use sim_phone::{FaultyReader, NfcReader, ReaderFaults, TapEvent, TapOutput, TapState};

use crate::{can, card_with, pin, wrong_pin, Rig};

const SEED: u64 = 23;

#[derive(Debug, Clone)]
enum Op {
    Tap,
    Remove,
    Password(bool),
    Can(bool),
    Timeout,
    /// Deliver these bytes as if the card had answered them.
    Garbage(Vec<u8>),
    /// Carry out up to n pending outputs (the rest wait).
    Pump(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Tap),
        Just(Op::Remove),
        any::<bool>().prop_map(Op::Password),
        any::<bool>().prop_map(Op::Can),
        Just(Op::Timeout),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Op::Garbage),
        (0u8..40).prop_map(Op::Pump),
    ]
}

fn step(r: &mut Rig, n: usize) {
    for _ in 0..n {
        let Some(out) = r.app.poll() else { return };
        match out {
            TapOutput::Transmit(bytes) => {
                let e = match r.reader.transmit(&bytes) {
                    Ok(a) => TapEvent::Response(a),
                    Err(_) => TapEvent::CardRemoved,
                };
                r.app.handle(e, crate::NOW, &mut r.rng);
            }
            TapOutput::Disconnect => r.reader.disconnect(),
            TapOutput::Show(e) => r.shown.push(e),
            TapOutput::Done(ev) => r.done = Some(*ev),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_event_sequence_leaves_a_flow_the_holder_can_finish(ops in proptest::collection::vec(op(), 0..30)) {
        let (card, pki) = card_with(SEED, CardFaults::default());
        let mut r = Rig::new(card, &pki);
        for o in ops {
            match o {
                Op::Tap => {
                    if r.reader.connect().is_ok() {
                        r.app.handle(TapEvent::CardTapped, crate::NOW, &mut r.rng);
                    }
                }
                Op::Remove => {
                    r.reader.disconnect();
                    r.app.handle(TapEvent::CardRemoved, crate::NOW, &mut r.rng);
                }
                Op::Password(right) => {
                    let p = if right { pin(SEED) } else { wrong_pin(SEED) };
                    r.app.handle(TapEvent::Password(p), crate::NOW, &mut r.rng);
                }
                Op::Can(right) => {
                    let c = if right { can(SEED) } else { "000000".to_string() };
                    r.app.handle(TapEvent::Can(c), crate::NOW, &mut r.rng);
                }
                Op::Timeout => r.app.handle(TapEvent::Timeout, crate::NOW + 60, &mut r.rng),
                Op::Garbage(b) => r.app.handle(TapEvent::Response(b), crate::NOW, &mut r.rng),
                Op::Pump(n) => step(&mut r, usize::from(n)),
            }
        }
        // Recovery: drain, take the card away, then behave like a holder who knows the
        // secrets. Every state must lead to Done or to a clear stop.
        step(&mut r, 10_000);
        r.reader.disconnect();
        r.app.handle(TapEvent::CardRemoved, crate::NOW, &mut r.rng);
        for _ in 0..6 {
            step(&mut r, 10_000);
            match r.app.state() {
                TapState::Done | TapState::Failed => break,
                TapState::NeedPassword => r.event(TapEvent::Password(pin(SEED))),
                TapState::NeedCan => r.event(TapEvent::Can(can(SEED))),
                TapState::WaitingForTap | TapState::Reading => {
                    r.reader.disconnect();
                    r.app.handle(TapEvent::CardRemoved, crate::NOW, &mut r.rng);
                    r.tap();
                }
                _ => {}
            }
        }
        let state = r.app.state();
        prop_assert!(
            matches!(state, TapState::Done | TapState::Failed),
            "stuck in {:?}; shown {:?}", state, r.shown
        );
        if state == TapState::Failed {
            // A genuine card stops only for a blocked password or after repeated garbage.
            prop_assert!(
                matches!(
                    r.shown.last(),
                    Some(sim_phone::UiEvent::PasswordBlocked | sim_phone::UiEvent::CardError { .. })
                ),
                "shown {:?}", r.shown
            );
        }
    }
}

#[test]
fn a_corrupted_answer_at_any_apdu_is_recovered_by_tapping_again() {
    for k in 1..=40u64 {
        let (card, pki) = card_with(SEED, CardFaults::default());
        let rig = Rig::new(card, &pki);
        let mut app = rig.app;
        let mut rng = rig.rng;
        let mut reader = FaultyReader::new(
            rig.reader,
            ReaderFaults {
                corrupt_at: Some(k),
                ..Default::default()
            },
        );
        let mut shown = Vec::new();
        let mut done = false;
        app.handle(TapEvent::Password(pin(SEED)), crate::NOW, &mut rng);
        for _tap in 0..3 {
            if done || app.state() == TapState::Failed {
                break;
            }
            if app.state() == TapState::NeedPassword {
                app.handle(TapEvent::Password(pin(SEED)), crate::NOW, &mut rng);
            }
            reader.connect().unwrap();
            app.handle(TapEvent::CardTapped, crate::NOW, &mut rng);
            while let Some(out) = app.poll() {
                match out {
                    TapOutput::Transmit(b) => {
                        let e = match reader.transmit(&b) {
                            Ok(a) => TapEvent::Response(a),
                            Err(_) => TapEvent::CardRemoved,
                        };
                        app.handle(e, crate::NOW, &mut rng);
                    }
                    TapOutput::Disconnect => reader.disconnect(),
                    TapOutput::Show(e) => shown.push(e),
                    TapOutput::Done(_) => done = true,
                    _ => {}
                }
            }
        }
        let tries = reader.inner().card().unwrap().password_tries();
        assert!(done, "corrupt at {k}: {shown:?}");
        assert_eq!(tries, 3, "corrupt at {k}");
        assert!(
            !shown
                .iter()
                .any(|e| matches!(e, sim_phone::UiEvent::WrongPassword { .. })),
            "corrupt at {k}: {shown:?}"
        );
    }
}

mod issue_flow {
    use proptest::prelude::*;
    use protocol::oid4vci::{
        CredentialResponse, ErrorCode, ErrorResponse, IssuedCredential, NonceResponse,
        TokenResponse,
    };
    use rand_chacha::rand_core::SeedableRng;
    use sim_phone::{
        IssueConfig, IssueEvent, IssueFlow, IssueState, IssuerReply, Keystore, TapEvent,
    };

    fn reply() -> impl Strategy<Value = IssuerReply> {
        prop_oneof![
            "[a-z0-9]{0,8}".prop_map(|c_nonce| IssuerReply::Nonce(NonceResponse { c_nonce })),
            "[a-z0-9]{0,8}".prop_map(|t| IssuerReply::Token(TokenResponse {
                access_token: t,
                token_type: "Bearer".into(),
                expires_in: 300
            })),
            "[A-Za-z0-9_-]{0,40}".prop_map(|c| IssuerReply::Credential(CredentialResponse {
                credentials: vec![IssuedCredential { credential: c }],
                document_number: "D1".into()
            })),
            (
                ".{0,60}",
                prop_oneof![
                    Just(ErrorCode::InvalidGrant),
                    Just(ErrorCode::InvalidNonce),
                    Just(ErrorCode::CredentialRequestDenied),
                    Just(ErrorCode::InvalidToken)
                ]
            )
                .prop_map(|(d, error)| IssuerReply::Error(ErrorResponse {
                    error,
                    error_description: Some(d)
                })),
            ".{0,20}".prop_map(IssuerReply::Unreachable),
        ]
    }

    fn event() -> impl Strategy<Value = IssueEvent> {
        prop_oneof![
            Just(IssueEvent::Start),
            reply().prop_map(IssueEvent::Issuer),
            ".{0,80}".prop_map(IssueEvent::Scanned),
            Just(IssueEvent::ScanFailed),
            "[0-9]{0,8}".prop_map(IssueEvent::TxCode),
            Just(IssueEvent::Tap(TapEvent::CardTapped)),
            Just(IssueEvent::Tap(TapEvent::CardRemoved)),
            "[0-9]{4}".prop_map(|p| IssueEvent::Tap(TapEvent::Password(p))),
            proptest::collection::vec(any::<u8>(), 0..8)
                .prop_map(|b| IssueEvent::Tap(TapEvent::Response(b))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_event_sequence_never_panics_and_a_dead_issuer_never_leaves_a_flow_waiting(
            qr in any::<bool>(),
            events in proptest::collection::vec(event(), 0..25),
        ) {
            let cfg = IssueConfig {
                issuer: "https://issuer.midsim.invalid".into(),
                phone_id: "p".into(),
                csca_roots: vec![],
                iaca_roots: vec![],
                app_pin: "1".into(),
            };
            let mut flow = if qr { IssueFlow::qr(cfg) } else { IssueFlow::tap(cfg) };
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
            let mut ks = Keystore::new();
            for e in events {
                flow.handle(e, 1_000, &mut rng, &mut ks);
                while flow.poll().is_some() {}
            }
            flow.handle(IssueEvent::Issuer(IssuerReply::Unreachable("down".into())), 1_000, &mut rng, &mut ks);
            let s = flow.state();
            prop_assert!(
                !matches!(
                    s,
                    IssueState::FetchingNonce | IssueState::Token | IssueState::ProofNonce | IssueState::Credential
                ),
                "stuck waiting on the issuer in {:?}", s
            );
        }
    }
}
