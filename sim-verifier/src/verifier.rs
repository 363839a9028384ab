//! The verifier core: one relying party's transactions, as a sans-IO state machine.
//!
//! [`Verifier::open`] starts a transaction and returns its [`M200`]. [`Verifier::handle`]
//! takes a request body for one of the handler paths ([`Endpoint`]) and returns the
//! [`HttpReply`] to send (always HTTP 200, as the spec says) with the [`Event`] it amounts
//! to. A transaction moves `Opened → ProfileSent → Done`; it times out
//! [`VerifierConfig::timeout_secs`] after it was opened (10202), an M400 before its M310 is a
//! sequence error (10201), an unknown trxcode is 10104.
//!
//! A VP's checks run in this order ([`crate::check`]): decryption with the transaction's
//! key, the issuer signature and the certificate chain to a trusted IACA root (and that
//! root's issuer is on the profile's `allowIssuerList`), the MSO digest of every disclosed
//! element, the device signature over the session transcript, the nonce (the profile's, and
//! used once), the validity period, revocation by the MSO's Token Status List, and that the
//! disclosed elements are exactly those asked for. A refusal is answered with M900 10100 and
//! an `errmsg` that starts with the [`Refusal`]'s key.
//!
//! Revocation needs the issuer's status list. When the cache has no fresh copy,
//! [`Verifier::handle`] answers [`Handled::NeedStatusList`] with its URI and consumes
//! nothing; the shell fetches the token, gives it to [`Verifier::add_status_list`], and
//! hands the same request in again.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use ciborium::Value;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::NonZeroScalar;
use protocol::mip::{
    self, decode_request, Cmd, ErrorCode, HttpReply, Message, MipError, Profile, ProfileBody,
    ProfileReply, Proof, M200, M900,
};
use rand_core::CryptoRngCore;
use x509_cert::Certificate;

use crate::check::{self, Checked, StatusView, STATUS_FAILURE_SECS};
use crate::RpKind;

/// Seconds a transaction stays open after its M200 (the time a person takes to scan, read
/// the consent screen and type the PIN).
pub const DEFAULT_TIMEOUT_SECS: i64 = 180;

/// One trusted issuer: its identifier (as `allowIssuerList` names it) and its IACA root.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// Its identifier, e.g. `did:kr:mobileid:mois`.
    pub id: String,
    /// Its IACA root certificate.
    pub iaca: Certificate,
}

/// What a relying party is.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Its kind: what it asks for.
    pub kind: RpKind,
    /// Its identifier (DID), the profile's `id`.
    pub id: String,
    /// The name on the holder's consent screen.
    pub name: String,
    /// Its base URL, the M200's `host`.
    pub host: String,
    /// Where M400 goes, if not `{host}/mip/vp`.
    pub call_back_url: Option<String>,
    /// Service code (svcCode).
    pub svc_code: String,
    /// Issuers whose credentials it accepts.
    pub issuers: Vec<TrustedIssuer>,
    /// Transaction lifetime in seconds.
    pub timeout_secs: i64,
}

impl VerifierConfig {
    /// A relying party of `kind` at `host`, trusting `issuers`.
    pub fn new(kind: RpKind, host: impl Into<String>, issuers: Vec<TrustedIssuer>) -> Self {
        Self {
            kind,
            id: format!("did:kr:mobileid:rp:{}", kind.key()),
            name: kind.display_name().into(),
            host: host.into(),
            call_back_url: None,
            svc_code: "SVC-VERIFY-01".into(),
            issuers,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        }
    }
}

/// The handler paths of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/mip/profile`: M310.
    Profile,
    /// `/mip/vp` (or the callBackUrl): M400.
    Vp,
    /// `/mip/error`: an M900 from the phone.
    Error,
}

impl Endpoint {
    /// The endpoint of a request path, if it is one.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            mip::PATH_PROFILE => Some(Self::Profile),
            mip::PATH_VP => Some(Self::Vp),
            mip::PATH_ERROR => Some(Self::Error),
            _ => None,
        }
    }

    fn cmd(self) -> Cmd {
        match self {
            Self::Profile => Cmd::M310,
            Self::Vp => Cmd::M400,
            Self::Error => Cmd::M900,
        }
    }
}

/// Why a VP was refused after it decoded: each check of [`crate::check`] has its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Refusal {
    /// It does not decrypt with the transaction's key (encrypted to another key, or altered).
    Decryption,
    /// The decrypted bytes are not a DeviceResponse with one document of our docType.
    Malformed(String),
    /// The issuer signature or its certificate chain to a trusted IACA root failed.
    IssuerSignature(String),
    /// The issuer is not on the profile's `allowIssuerList`.
    IssuerNotAllowed,
    /// A disclosed element's digest is not the MSO's.
    DigestMismatch(String),
    /// The device signature does not verify over this transaction's session transcript.
    DeviceSignature,
    /// `vp.nonce` is not the profile's nonce.
    NonceMismatch,
    /// The nonce was already used by an accepted VP.
    NonceReused,
    /// The MSO is not valid now (expired or not yet valid).
    Validity(String),
    /// The status list says the credential is revoked (or suspended).
    Revoked,
    /// The MSO has no status reference, or its status list could not be verified.
    StatusUnavailable(String),
    /// An element was disclosed that was not asked for.
    UnrequestedElement(String),
    /// An element asked for is missing.
    MissingElement(String),
}

impl Refusal {
    /// The key reports count it under.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Decryption => "decryption_failed",
            Self::Malformed(_) => "malformed_response",
            Self::IssuerSignature(_) => "issuer_signature",
            Self::IssuerNotAllowed => "issuer_not_allowed",
            Self::DigestMismatch(_) => "digest_mismatch",
            Self::DeviceSignature => "device_signature",
            Self::NonceMismatch => "nonce_mismatch",
            Self::NonceReused => "nonce_reused",
            Self::Validity(_) => "not_valid_now",
            Self::Revoked => "revoked",
            Self::StatusUnavailable(_) => "status_unavailable",
            Self::UnrequestedElement(_) => "unrequested_element",
            Self::MissingElement(_) => "missing_element",
        }
    }

    fn errmsg(&self) -> String {
        let detail = match self {
            Self::Malformed(d)
            | Self::IssuerSignature(d)
            | Self::DigestMismatch(d)
            | Self::Validity(d)
            | Self::StatusUnavailable(d)
            | Self::UnrequestedElement(d)
            | Self::MissingElement(d) => d.clone(),
            Self::Decryption => "the VP does not decrypt with this transaction's key".into(),
            Self::IssuerNotAllowed => "issuer not on allowIssuerList".into(),
            Self::DeviceSignature => "device signature does not verify".into(),
            Self::NonceMismatch => "vp.nonce is not the profile's nonce".into(),
            Self::NonceReused => "the nonce was already used".into(),
            Self::Revoked => "the credential is revoked".into(),
        };
        format!("{}: {detail}", self.key())
    }
}

/// An accepted presentation: what the relying party learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// The transaction.
    pub trxcode: String,
    /// The disclosed elements (element identifier → value), exactly those asked for.
    pub elements: BTreeMap<String, Value>,
    /// The issuer (its `allowIssuerList` identifier).
    pub issuer: String,
    /// What the verifier checked, for an audit trail or an independent re-check.
    pub evidence: Evidence,
}

/// The bytes an accepted presentation was checked on: anyone holding them and the IACA
/// roots can verify the presentation again (ISO/IEC 18013-5 §9.1.2 and §9.1.3) with any
/// implementation, as `tests/verifier/independent.rs` does with isomdl and pymdoccbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The DeviceResponse as decrypted from `vp.data`, CBOR.
    pub device_response: Vec<u8>,
    /// The SessionTranscript the device signature was checked against, CBOR
    /// ([`protocol::mdoc::device::SessionTranscript::mip`]).
    pub session_transcript: Vec<u8>,
}

/// What a request amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A profile went out for this transaction.
    ProfileSent {
        /// The transaction.
        trxcode: String,
    },
    /// A VP was accepted.
    Accepted(Presentation),
    /// A VP was refused after it decoded.
    Refused {
        /// The transaction.
        trxcode: String,
        /// Why.
        refusal: Refusal,
    },
    /// A message was refused with an M900 before any VP check (bad message, unknown
    /// trxcode, sequence, timeout).
    Rejected(M900),
    /// The phone reported an error on `/mip/error`.
    PhoneError(M900),
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Send this (HTTP 200).
    Reply {
        /// The body.
        reply: HttpReply,
        /// What happened.
        event: Event,
    },
    /// Fetch the status list at `uri`, give it to [`Verifier::add_status_list`], and hand
    /// the same request in again. Nothing was consumed.
    NeedStatusList {
        /// The list's URI (the MSO's `status.status_list.uri`).
        uri: String,
    },
}

#[derive(Debug)]
enum TxnState {
    Opened,
    ProfileSent(Box<Sent>),
    /// Answered (accepted, refused, or the phone gave up); an accepted VP's nonce is kept
    /// in `used_nonces` until the transaction is forgotten.
    Done(Option<String>),
}

pub(crate) struct Sent {
    pub(crate) nonce: String,
    pub(crate) secret: NonZeroScalar,
    pub(crate) profile: ProfileBody,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Txn {
    expires: i64,
    state: TxnState,
}

/// Counts of what a verifier did, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Transactions opened.
    pub opened: u64,
    /// VPs accepted.
    pub accepted: u64,
    /// Refusals by key (a [`Refusal::key`] or `m900_<code>`).
    pub refused: BTreeMap<String, u64>,
}

/// One relying party.
pub struct Verifier {
    cfg: VerifierConfig,
    signing_key: SigningKey,
    txns: HashMap<String, Txn>,
    expiry: VecDeque<(i64, String)>,
    used_nonces: HashSet<String>,
    status: StatusView,
    counters: Counters,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kind", &self.cfg.kind)
            .field("host", &self.cfg.host)
            .field("open", &self.txns.len())
            .finish_non_exhaustive()
    }
}

fn random_text(rng: &mut impl CryptoRngCore, bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Verifier {
    /// A relying party signing its profiles with `signing_key` (its registered DID key).
    pub fn new(cfg: VerifierConfig, signing_key: SigningKey) -> Self {
        Self {
            cfg,
            signing_key,
            txns: HashMap::new(),
            expiry: VecDeque::new(),
            used_nonces: HashSet::new(),
            status: StatusView::default(),
            counters: Counters::default(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.cfg
    }

    /// The key its profiles verify under: what a phone's verifier registry holds for
    /// [`VerifierConfig::id`].
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// What it has done so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Transactions still held (open, or done and kept for replay detection).
    pub fn transactions(&self) -> usize {
        self.txns.len()
    }

    /// Open a transaction: the M200 the counter's screen shows as a QR code.
    pub fn open(&mut self, rng: &mut impl CryptoRngCore, now: i64) -> M200 {
        self.sweep(now);
        let trxcode = random_text(rng, 16);
        let expires = now + self.cfg.timeout_secs;
        self.txns.insert(
            trxcode.clone(),
            Txn {
                expires,
                state: TxnState::Opened,
            },
        );
        self.expiry.push_back((expires, trxcode.clone()));
        self.counters.opened += 1;
        M200::direct(trxcode, self.cfg.host.clone())
    }

    /// Forget transactions that timed out long enough ago: a done one is kept for a second
    /// timeout so that a replayed VP is told `nonce_reused`, not 10104.
    fn sweep(&mut self, now: i64) {
        let keep = self.cfg.timeout_secs;
        while let Some((expires, _)) = self.expiry.front() {
            if *expires + keep > now {
                break;
            }
            if let Some((_, trxcode)) = self.expiry.pop_front() {
                if let Some(Txn {
                    state: TxnState::Done(Some(nonce)),
                    ..
                }) = self.txns.remove(&trxcode)
                {
                    self.used_nonces.remove(&nonce);
                }
            }
        }
    }

    /// Give it a status list token fetched from `uri`.
    pub fn add_status_list(
        &mut self,
        uri: &str,
        token: &[u8],
        now: i64,
    ) -> Result<(), protocol::Error> {
        let roots: Vec<Certificate> = self.cfg.issuers.iter().map(|i| i.iaca.clone()).collect();
        let list = protocol::status_list::verify(token, &roots, now, uri)?;
        self.status.cache.insert(list, now);
        self.status.failures.remove(uri);
        Ok(())
    }

    /// Tell it that fetching or verifying the status list at `uri` failed: for
    /// [`STATUS_FAILURE_SECS`] VPs that need it are refused with `status_unavailable`.
    pub fn status_failed(&mut self, uri: &str, why: &str, now: i64) {
        self.status.failures.insert(
            uri.to_owned(),
            (
                now + STATUS_FAILURE_SECS,
                format!("status list {uri}: {why}"),
            ),
        );
    }

    fn reject(&mut self, m900: M900) -> Handled {
        *self
            .counters
            .refused
            .entry(format!("m900_{}", m900.errcode))
            .or_default() += 1;
        Handled::Reply {
            reply: HttpReply::error(&m900),
            event: Event::Rejected(m900),
        }
    }

    /// Handle one request body for `endpoint` at `now`.
    pub fn handle(
        &mut self,
        endpoint: Endpoint,
        body: &[u8],
        rng: &mut impl CryptoRngCore,
        now: i64,
    ) -> Handled {
        self.sweep(now);
        let message = match decode_request(body, endpoint.cmd()) {
            Ok(m) => m,
            Err(refused) => return self.reject(refused.to_m900()),
        };
        let trxcode = message.trxcode().to_owned();
        if let Message::M900(m) = message {
            if let Some(t) = self.txns.get_mut(&trxcode) {
                if !matches!(t.state, TxnState::Done(_)) {
                    t.state = TxnState::Done(None);
                }
            }
            return Handled::Reply {
                reply: HttpReply::ok(),
                event: Event::PhoneError(m),
            };
        }
        let Some(txn) = self.txns.get(&trxcode) else {
            return self.reject(
                MipError::new(ErrorCode::UnknownTrxcode, "no such transaction").to_m900(&trxcode),
            );
        };
        if now > txn.expires && !matches!(txn.state, TxnState::Done(_)) {
            self.txns.remove(&trxcode);
            return self.reject(
                MipError::new(ErrorCode::TimedOut, "the transaction timed out").to_m900(&trxcode),
            );
        }
        match message {
            Message::M310(_) => self.profile(trxcode, rng, now),
            Message::M400(m) => self.vp(trxcode, m.vp, now),
            // M200 is never posted (the decoder only yields what `endpoint` expects).
            Message::M200(_) | Message::M900(_) => self
                .reject(MipError::new(ErrorCode::WrongCmd, "unexpected message").to_m900(&trxcode)),
        }
    }

    fn profile(&mut self, trxcode: String, rng: &mut impl CryptoRngCore, now: i64) -> Handled {
        let Some(txn) = self.txns.get_mut(&trxcode) else {
            return self.reject(MipError::new(ErrorCode::UnknownTrxcode, "").to_m900(&trxcode));
        };
        if !matches!(txn.state, TxnState::Opened) {
            let e = MipError::new(ErrorCode::Sequence, "the profile was already sent");
            return self.reject(e.to_m900(&trxcode));
        }
        let (secret, public) = protocol::crypto::generate_ecdh(rng);
        let nonce = random_text(rng, 16);
        let issuers: Vec<String> = self.cfg.issuers.iter().map(|i| i.id.clone()).collect();
        let body = ProfileBody {
            kind: mip::VERIFY.into(),
            name: self.cfg.name.clone(),
            nonce: nonce.clone(),
            public_key: mip::public_key_text(&public),
            key_type: mip::KEY_TYPE_P256,
            encrypt_type: mip::ENCRYPT_AES256,
            present_type: mip::PRESENT_TYPE_MDOC,
            auth_type: vec!["pin".into(), "bio".into()],
            call_back_url: self.cfg.call_back_url.clone(),
            sp_code: self.cfg.kind.sp_code().into(),
            svc_code: self.cfg.svc_code.clone(),
            filter: self.cfg.kind.filter(&issuers),
        };
        let created = time::OffsetDateTime::from_unix_timestamp(now)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let profile = Profile {
            id: self.cfg.id.clone(),
            encoding: "UTF-8".into(),
            language: "ko".into(),
            timezone: "Asia/Seoul".into(),
            version: mip::VERSION.into(),
            profile: body.clone(),
            proof: Proof {
                kind: mip::PROOF_TYPE.into(),
                created,
                creator: format!("{}#key1", self.cfg.id),
                nonce: random_text(rng, 8),
                signature_value: String::new(),
            },
        }
        .sign(&self.signing_key);
        txn.state = TxnState::ProfileSent(Box::new(Sent {
            nonce,
            secret,
            profile: body,
        }));
        Handled::Reply {
            reply: HttpReply::ok_with(&ProfileReply {
                trxcode: trxcode.clone(),
                profile: profile.to_b64(),
            }),
            event: Event::ProfileSent { trxcode },
        }
    }

    fn vp(&mut self, trxcode: String, vp: mip::Vp, now: i64) -> Handled {
        let Some(txn) = self.txns.get(&trxcode) else {
            return self.reject(MipError::new(ErrorCode::UnknownTrxcode, "").to_m900(&trxcode));
        };
        let sent = match &txn.state {
            TxnState::Opened => {
                let e = MipError::new(ErrorCode::Sequence, "M400 before M310");
                return self.reject(e.to_m900(&trxcode));
            }
            TxnState::Done(_) => {
                return self.refuse(trxcode, Refusal::NonceReused);
            }
            TxnState::ProfileSent(sent) => sent,
        };
        let checked = check::check_vp(
            &self.cfg,
            &trxcode,
            sent,
            &vp,
            &self.used_nonces,
            &mut self.status,
            now,
        );
        match checked {
            Checked::NeedStatusList(uri) => Handled::NeedStatusList { uri },
            Checked::Refused(r) => {
                // A VP that failed is final for the transaction: the phone starts again.
                if let Some(t) = self.txns.get_mut(&trxcode) {
                    t.state = TxnState::Done(None);
                }
                self.refuse(trxcode, r)
            }
            Checked::Accepted {
                elements,
                issuer,
                evidence,
            } => {
                let nonce = sent.nonce.clone();
                self.used_nonces.insert(nonce.clone());
                if let Some(t) = self.txns.get_mut(&trxcode) {
                    t.state = TxnState::Done(Some(nonce));
                }
                self.counters.accepted += 1;
                Handled::Reply {
                    reply: HttpReply::ok(),
                    event: Event::Accepted(Presentation {
                        trxcode,
                        elements,
                        issuer,
                        evidence,
                    }),
                }
            }
        }
    }

    fn refuse(&mut self, trxcode: String, refusal: Refusal) -> Handled {
        *self
            .counters
            .refused
            .entry(refusal.key().to_owned())
            .or_default() += 1;
        let m900 = MipError::new(ErrorCode::InvalidData, refusal.errmsg()).to_m900(&trxcode);
        Handled::Reply {
            reply: HttpReply::error(&m900),
            event: Event::Refused { trxcode, refusal },
        }
    }
}
