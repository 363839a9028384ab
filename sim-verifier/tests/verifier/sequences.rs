//! The verifier under generated message sequences: whatever arrives, in whatever order, it
//! answers every request with a well-formed mip answer, never accepts more than one VP per
//! transaction, and accepts nothing it could not verify.

use std::collections::BTreeMap;

use proptest::prelude::*;
use protocol::mip::{self, Envelope, HttpReply, Message, M310, M400, M900};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_verifier::{Endpoint, Event, Handled, RpKind};

use crate::{verifier, world, APRIL};

#[derive(Debug, Clone)]
enum Step {
    Open,
    Profile(usize),
    Vp(usize, String, String),
    PhoneError(usize),
    Garbage(Endpoint, Vec<u8>),
    Wait(i64),
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        Just(Endpoint::Profile),
        Just(Endpoint::Vp),
        Just(Endpoint::Error)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Open),
        3 => (0..4usize).prop_map(Step::Profile),
        3 => (0..4usize, "[0-9a-f]{0,8}", "[0-9a-f]{0,64}").prop_map(|(t, n, d)| Step::Vp(t, n, d)),
        1 => (0..4usize).prop_map(Step::PhoneError),
        2 => (endpoint(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(e, b)| Step::Garbage(e, b)),
        1 => (0..400i64).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_gets_well_formed_answers_and_no_unverified_acceptance(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let w = world();
        let mut v = verifier(&w, RpKind::Bank);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut now = APRIL;
        let mut trx: Vec<String> = Vec::new();
        let mut accepted: BTreeMap<String, u32> = BTreeMap::new();
        for s in steps {
            let pick = |i: usize, trx: &[String]| trx.get(i % trx.len().max(1)).cloned().unwrap_or_else(|| "none".into());
            let (endpoint, body) = match s {
                Step::Open => {
                    trx.push(v.open(&mut rng, now).trxcode);
                    continue;
                }
                Step::Wait(secs) => {
                    now += secs;
                    continue;
                }
                Step::Profile(i) => (Endpoint::Profile, Message::M310(M310 { trxcode: pick(i, &trx) }).to_body()),
                Step::Vp(i, nonce, data) => (
                    Endpoint::Vp,
                    Message::M400(M400 {
                        trxcode: pick(i, &trx),
                        vp: mip::Vp {
                            present_type: 0,
                            encrypt_type: 2,
                            key_type: 1,
                            auth_type: "pin".into(),
                            did: None,
                            nonce,
                            kind: mip::VERIFY.into(),
                            data,
                        },
                    })
                    .to_body(),
                ),
                Step::PhoneError(i) => (
                    Endpoint::Error,
                    Envelope::of(&M900 { trxcode: pick(i, &trx), errcode: 99999, errmsg: "x".into() }.to_message()).to_body(),
                ),
                Step::Garbage(e, b) => (e, b),
            };
            match v.handle(endpoint, &body, &mut rng, now) {
                Handled::Reply { reply, event } => {
                    // The answer is a mip answer a phone can read.
                    let back = HttpReply::from_body(&reply.to_body()).unwrap();
                    if !back.result {
                        prop_assert!(back.m900().is_ok());
                    }
                    if let Event::Accepted(p) = event {
                        *accepted.entry(p.trxcode).or_default() += 1;
                    }
                }
                Handled::NeedStatusList { .. } => {
                    // Only a VP that decrypted and verified gets this far; random data cannot.
                    prop_assert!(false, "random data passed the signature checks");
                }
            }
        }
        prop_assert!(accepted.is_empty(), "random VPs were accepted: {:?}", accepted);
    }
}
