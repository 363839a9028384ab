//! A restarted issuer keeps every resident, offer, credential and revocation, and rebuilds
//! the same Token Status Lists.

use std::path::PathBuf;

use p256::ecdsa::SigningKey;
use protocol::mdoc::{self, IssuerSigned};
use protocol::oid4vci::{self, CredentialRequest, Proofs, TokenRequest};
use protocol::status_list::{self, StatusRef, INVALID, VALID};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_issuer::durable::DurableIssuer;
use sim_issuer::issuer::{CredentialStatus, InPersonCheck, Issuer, IssuerConfig, RevocationReason};
use sim_issuer::policy::DEFAULT_ROLLOUT_TOML;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use sim_issuer::Error;

/// 2025-04-01T03:00:00Z, noon KST.
const NOW: i64 = 1_743_476_400;
const PHONE: &str = "010-1234-5678";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("sim-issuer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One call through the shell: the core's answer once its journal entries are durable.
trait Call {
    fn call<T>(&mut self, f: impl FnOnce(&mut Issuer) -> Result<T, Error>) -> Result<T, Error>;
}

impl Call for DurableIssuer {
    fn call<T>(&mut self, f: impl FnOnce(&mut Issuer) -> Result<T, Error>) -> Result<T, Error> {
        self.run(f).and_then(|r| r)
    }
}

fn open(dir: &TempDir) -> DurableIssuer {
    DurableIssuer::open(
        &dir.0,
        9,
        IssuerConfig::default(),
        DEFAULT_ROLLOUT_TOML,
        NOW - 86_400,
    )
    .unwrap()
}

fn resident() -> Resident {
    Resident {
        id: ResidentId(1),
        family_name: "최".into(),
        given_name: "지우".into(),
        rrn: "900101-1234568".parse().unwrap(),
        district: "11110".into(),
        card: CardState::Plastic {
            issued: time::macros::date!(2010 - 01 - 01),
            reported_lost: false,
        },
        phones: vec![PhoneRegistration {
            phone_id: PHONE.into(),
            in_own_name: true,
        }],
    }
}

fn check() -> InPersonCheck {
    InPersonCheck {
        presented_rrn: "900101-1234568".parse().unwrap(),
        face_matches: true,
    }
}

#[test]
fn a_restarted_issuer_keeps_residents_offers_credentials_and_revocations() {
    let dir = TempDir::new("restart");
    let offer = {
        let mut i = open(&dir);
        i.call(|c| c.register(resident())).unwrap();
        i.call(|c| c.desk_offer("o", ResidentId(1), "11110", &check(), NOW))
            .unwrap()
    };
    // Restart 1: the resident and the offer survived.
    let (doc, first_answer, req, token) = {
        let mut i = open(&dir);
        assert_eq!(i.core().registry().len(), 1);
        let tok = i
            .call(|c| {
                c.token(
                    "t",
                    &TokenRequest::PreAuthorized {
                        pre_authorized_code: offer
                            .offer
                            .grants
                            .pre_authorized_code
                            .pre_authorized_code
                            .clone(),
                        tx_code: Some(offer.tx_code.clone()),
                        phone_id: PHONE.into(),
                    },
                    NOW + 10,
                )
            })
            .unwrap();
        let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(1));
        let nonce = i.call(|c| c.nonce(NOW + 20)).unwrap().c_nonce;
        let req = CredentialRequest {
            credential_configuration_id: oid4vci::MRRC_CONFIGURATION_ID.into(),
            proofs: Proofs {
                jwt: vec![oid4vci::sign_proof_jwt(
                    &device,
                    &i.core().config().base_url,
                    &nonce,
                    NOW + 20,
                )],
            },
        };
        let resp = i
            .call(|c| c.credential("c", &tok.access_token, &req, NOW + 30))
            .unwrap();
        (resp.document_number.clone(), resp, req, tok.access_token)
    };
    // Restart 2: the credential is there, a retry gets the first answer and issues nothing.
    {
        let mut i = open(&dir);
        assert!(matches!(
            i.core().status(&doc, NOW + 40),
            Ok(CredentialStatus::Valid { .. })
        ));
        assert_eq!(
            i.call(|c| c.credential("c", &token, &req, NOW + 30)),
            Ok(first_answer)
        );
        assert_eq!(i.core().credentials().len(), 1);
        // The spent offer stays spent.
        assert_eq!(
            i.call(|c| c.token(
                "t2",
                &TokenRequest::PreAuthorized {
                    pre_authorized_code: offer.offer.grants.pre_authorized_code.pre_authorized_code,
                    tx_code: Some(offer.tx_code),
                    phone_id: PHONE.into(),
                },
                NOW + 50,
            )),
            Err(Error::OfferUsed)
        );
        i.call(|c| c.report_card_lost("lost", ResidentId(1), NOW + 60))
            .unwrap();
    }
    // Restart 3: the revocation survived.
    let i = open(&dir);
    assert_eq!(
        i.core().status(&doc, NOW + 70),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::CardReportedLost,
            at: NOW + 60
        })
    );
    assert!(i
        .core()
        .registry()
        .get(ResidentId(1))
        .unwrap()
        .card
        .reported_lost());
}

#[test]
fn a_restarted_issuer_continues_exactly_like_one_that_never_stopped() {
    let dir = TempDir::new("twin");
    let mut twin = Issuer::new(
        9,
        IssuerConfig::default(),
        sim_issuer::policy::Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap();
    {
        let mut i = open(&dir);
        i.call(|c| c.register(resident())).unwrap();
        twin.register(resident()).unwrap();
        assert_eq!(i.call(|c| c.nonce(NOW)).unwrap(), twin.nonce(NOW).unwrap());
    }
    let mut i = open(&dir);
    assert_eq!(i.call(|c| c.nonce(NOW)).unwrap(), twin.nonce(NOW).unwrap());
    assert_eq!(
        i.call(|c| c.desk_offer("o", ResidentId(1), "11110", &check(), NOW)),
        twin.desk_offer("o", ResidentId(1), "11110", &check(), NOW)
    );
    assert_eq!(i.core().pki().iaca.cert_der(), twin.pki().iaca.cert_der());
}

#[test]
fn a_bad_policy_for_a_new_directory_is_refused_and_writes_nothing() {
    let dir = TempDir::new("badpolicy");
    let e = DurableIssuer::open(&dir.0, 1, IssuerConfig::default(), "nonsense", NOW).unwrap_err();
    assert!(matches!(e, Error::Policy(_)), "{e}");
    // The directory is still new: a good policy now makes an issuer.
    let i = open(&dir);
    assert_eq!(i.core().registry().len(), 0);
}

/// Up to a signed credential request on a fresh directory: resident, desk offer, token and
/// proof nonce all made durable through the shell.
fn up_to_credential(dir: &TempDir) -> (String, CredentialRequest) {
    let mut i = open(dir);
    i.call(|c| c.register(resident())).unwrap();
    let offer = i
        .call(|c| c.desk_offer("o", ResidentId(1), "11110", &check(), NOW))
        .unwrap();
    let tok = i
        .call(|c| {
            c.token(
                "t",
                &TokenRequest::PreAuthorized {
                    pre_authorized_code: offer.offer.grants.pre_authorized_code.pre_authorized_code,
                    tx_code: Some(offer.tx_code),
                    phone_id: PHONE.into(),
                },
                NOW + 10,
            )
        })
        .unwrap();
    let nonce = i.call(|c| c.nonce(NOW + 20)).unwrap().c_nonce;
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(1));
    let req = CredentialRequest {
        credential_configuration_id: oid4vci::MRRC_CONFIGURATION_ID.into(),
        proofs: Proofs {
            jwt: vec![oid4vci::sign_proof_jwt(
                &device,
                &i.core().config().base_url,
                &nonce,
                NOW + 20,
            )],
        },
    };
    (tok.access_token, req)
}

#[test]
fn a_crash_after_the_core_answered_but_before_the_journal_commit_issues_exactly_once() {
    let dir = TempDir::new("crash-before-commit");
    let (token, req) = up_to_credential(&dir);
    // The core answers the credential request, then the process dies before the commit:
    // the answer never leaves.
    let lost = open(&dir).crash_after_answer(|c| c.credential("key-1", &token, &req, NOW + 30));
    assert!(lost.is_ok(), "{lost:?}");
    // Restarted on the journal, the call never happened: the phone's retry with the same
    // idempotency key is issued, once.
    let mut i = open(&dir);
    assert_eq!(i.core().credentials().len(), 0);
    let issued = i
        .call(|c| c.credential("key-1", &token, &req, NOW + 40))
        .unwrap();
    let again = i
        .call(|c| c.credential("key-1", &token, &req, NOW + 41))
        .unwrap();
    assert_eq!(issued, again);
    assert_eq!(i.core().credentials().len(), 1);
    drop(i);
    let i = open(&dir);
    assert_eq!(i.core().credentials().len(), 1);
    assert!(matches!(
        i.core().status(&issued.document_number, NOW + 50),
        Ok(CredentialStatus::Valid { .. })
    ));
}

#[test]
fn a_crash_after_the_commit_but_before_the_answer_left_gives_the_retry_the_first_answer() {
    let dir = TempDir::new("crash-after-commit");
    let (token, req) = up_to_credential(&dir);
    let first = {
        let mut i = open(&dir);
        i.call(|c| c.credential("key-1", &token, &req, NOW + 30))
            .unwrap()
        // The process dies here, with the answer still in its hands.
    };
    let mut i = open(&dir);
    let retry = i
        .call(|c| c.credential("key-1", &token, &req, NOW + 40))
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(i.core().credentials().len(), 1);
}

/// What a relying party sees of the list holding `r`: the signed token fetched through the
/// shell at `t`, verified with the IACA root.
fn list_seen(i: &mut DurableIssuer, r: &StatusRef, t: i64) -> status_list::VerifiedStatusList {
    let id: u64 = r.uri.rsplit('/').next().unwrap().parse().unwrap();
    let cwt = i.call(|c| c.status_list_token(id, t)).unwrap();
    status_list::verify(&cwt, &i.core().pki().mdoc_roots(), t, &r.uri).unwrap()
}

#[test]
fn a_replayed_journal_rebuilds_the_same_status_lists_and_a_lost_revocation_stays_lost() {
    let dir = TempDir::new("status-lists");
    let (token, req) = up_to_credential(&dir);
    let (r, doc) = {
        let mut i = open(&dir);
        let resp = i
            .call(|c| c.credential("c", &token, &req, NOW + 30))
            .unwrap();
        let bytes = oid4vci::from_b64url(&resp.credentials[0].credential, "mdoc").unwrap();
        let r = IssuerSigned::from_cbor(&bytes)
            .unwrap()
            .verify(&i.core().pki().mdoc_roots(), mdoc::DOC_TYPE, NOW + 30)
            .unwrap()
            .status
            .unwrap();
        assert_eq!(list_seen(&mut i, &r, NOW + 40).status_of(&r), Ok(VALID));
        (r, resp.document_number)
    };
    // The phone-lost report is answered but the process dies before the commit.
    let lost = open(&dir).crash_after_answer(|c| c.report_phone_lost("lost", &doc, NOW + 50));
    assert_eq!(lost, Ok(()));
    // Restarted, the revocation never happened, in the list as in the record.
    let before = {
        let mut i = open(&dir);
        assert_eq!(i.core().status_ref(&doc), Some(r.clone()));
        let seen = list_seen(&mut i, &r, NOW + 55);
        assert_eq!(seen.status_of(&r), Ok(VALID));
        // The retry revokes it.
        i.call(|c| c.report_phone_lost("lost", &doc, NOW + 60))
            .unwrap();
        let after = list_seen(&mut i, &r, NOW + 61);
        assert_eq!(after.status_of(&r), Ok(INVALID));
        after.list
    };
    // Restarted again: the same list, bit for bit.
    let mut i = open(&dir);
    let seen = list_seen(&mut i, &r, NOW + 70);
    assert_eq!(seen.status_of(&r), Ok(INVALID));
    assert_eq!(seen.list, before);
    assert_eq!(i.core().status_list_count(), 1);
}
