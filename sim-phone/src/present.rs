//! Showing the mobile ID at a relying party, QR-MPM direct mode ([`protocol::mip`]), as one
//! sans-IO state machine ([`PresentFlow`]).
//!
//! 1. The holder scans the counter's QR code; the camera's text is an M200 (direct mode,
//!    `host`, no profile).
//! 2. The app POSTs M310 to `{host}/mip/profile` and checks the signed profile it gets: the
//!    trxcode is the M200's, the verifier is in the app's [`VerifierRegistry`] (the phone's
//!    copy of the platform's registered verifier DIDs and keys) and its proof verifies, and it
//!    asks for keyType 1, encryptType 2, presentType 0.
//! 3. The app shows what the relying party asks for and waits for consent; the PIN the holder
//!    types unlocks the device key.
//! 4. It builds an ISO 18013-5 DeviceResponse holding only the requested elements, signed by
//!    the device key over the session transcript of this transaction (verifier id, trxcode,
//!    nonce), seals it to the profile's key with the trxcode as AAD, and POSTs M400 to the
//!    profile's callBackUrl or `{host}/mip/vp`.
//! 5. The answer is `{"result": true}` or an M900, shown to the holder.
//!
//! HTTP calls leave as [`PresentOutput::Post`]; the shell answers with
//! [`PresentEvent::Answer`]. A declined consent is reported to the verifier on `/mip/error`.

use std::collections::{BTreeSet, HashMap, VecDeque};

use p256::ecdsa::VerifyingKey;
use protocol::mdoc::device::{DeviceResponse, SessionTranscript};
use protocol::mdoc::{IssuerSigned, DOC_TYPE};
use protocol::mip::{self, Envelope, ErrorCode, HttpReply, Profile, Vp, M200, M310, M400, M900};
use rand_core::CryptoRngCore;

use crate::{Keystore, UiEvent, Wallet, WalletStatus};

/// The verifiers a phone trusts: identifier (DID) → the key its profiles are signed with.
#[derive(Debug, Clone, Default)]
pub struct VerifierRegistry {
    keys: HashMap<String, VerifyingKey>,
}

impl VerifierRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register (or replace) a verifier.
    pub fn register(&mut self, id: impl Into<String>, key: VerifyingKey) {
        self.keys.insert(id.into(), key);
    }

    /// The key of `id`.
    pub fn get(&self, id: &str) -> Option<&VerifyingKey> {
        self.keys.get(id)
    }
}

/// What the presentation flow needs.
#[derive(Debug, Clone)]
pub struct PresentConfig {
    /// Trusted verifiers.
    pub verifiers: VerifierRegistry,
    /// The app PIN the holder types (it unlocks the device key).
    pub app_pin: String,
}

/// An input to the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentEvent {
    /// Start: ask for the scan.
    Start,
    /// The camera read this text.
    Scanned(String),
    /// The camera found no readable QR code.
    ScanFailed,
    /// The holder agreed (true) or declined (false).
    Consent(bool),
    /// The answer body of the last [`PresentOutput::Post`], or why there was none.
    Answer(Result<Vec<u8>, String>),
}

/// An output of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentOutput {
    /// Show this.
    Show(UiEvent),
    /// POST `body` to `url` and feed the answer back.
    Post {
        /// The full URL.
        url: String,
        /// The request body (`{"data": ...}`).
        body: Vec<u8>,
    },
    /// The verifier accepted these elements.
    Presented {
        /// The transaction.
        trxcode: String,
        /// The elements shown.
        elements: Vec<String>,
    },
}

/// Where the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentState {
    /// Not started.
    Idle,
    /// Waiting for the scan.
    Scan,
    /// Waiting for the profile.
    Profile,
    /// Waiting for the holder's consent.
    Consent,
    /// Waiting for the verifier's answer to the VP.
    Submit,
    /// Reporting an error to the verifier (`/mip/error`).
    Reporting,
    /// Accepted.
    Done,
    /// Ended without a presentation.
    Failed,
}

struct Pending {
    m200: M200,
    profile: Option<Profile>,
}

/// Showing the mobile ID once.
pub struct PresentFlow {
    cfg: PresentConfig,
    state: PresentState,
    out: VecDeque<PresentOutput>,
    pending: Option<Pending>,
}

impl std::fmt::Debug for PresentFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentFlow")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn join(host: &str, path: &str) -> String {
    format!("{}{path}", host.trim_end_matches('/'))
}

impl PresentFlow {
    /// A new flow.
    pub fn new(cfg: PresentConfig) -> Self {
        Self {
            cfg,
            state: PresentState::Idle,
            out: VecDeque::new(),
            pending: None,
        }
    }

    /// Where it is.
    pub fn state(&self) -> PresentState {
        self.state
    }

    /// The next output, if any.
    pub fn poll(&mut self) -> Option<PresentOutput> {
        self.out.pop_front()
    }

    fn fail(&mut self, ui: UiEvent) {
        self.out.push_back(PresentOutput::Show(ui));
        self.state = PresentState::Failed;
    }

    /// Tell the verifier why the app stopped (`/mip/error`), then fail with `ui`.
    fn report(&mut self, code: ErrorCode, msg: &str, ui: UiEvent) {
        let Some(p) = &self.pending else {
            return self.fail(ui);
        };
        let m900 = M900 {
            trxcode: p.m200.trxcode.clone(),
            errcode: code.code(),
            errmsg: msg.to_owned(),
        };
        self.out.push_back(PresentOutput::Post {
            url: join(&p.m200.host, mip::PATH_ERROR),
            body: Envelope::of(&m900.to_message()).to_body(),
        });
        self.out.push_back(PresentOutput::Show(ui));
        self.state = PresentState::Reporting;
    }

    /// Feed one event. `wallet` holds the mobile ID, `keystore` its device key.
    pub fn handle(
        &mut self,
        event: PresentEvent,
        now: i64,
        rng: &mut impl CryptoRngCore,
        wallet: &Wallet,
        keystore: &mut Keystore,
    ) {
        match (self.state, event) {
            (PresentState::Idle, PresentEvent::Start) => {
                self.state = PresentState::Scan;
                self.out
                    .push_back(PresentOutput::Show(UiEvent::ScanVerifierQr));
            }
            (PresentState::Scan, PresentEvent::ScanFailed) => self.fail(UiEvent::QrUnreadable),
            (PresentState::Scan, PresentEvent::Scanned(text)) => self.scanned(&text, wallet, now),
            (PresentState::Profile, PresentEvent::Answer(answer)) => self.profile(answer),
            (PresentState::Consent, PresentEvent::Consent(false)) => self.report(
                ErrorCode::Unknown,
                "the holder declined",
                UiEvent::PhoneError {
                    detail: "declined".into(),
                },
            ),
            (PresentState::Consent, PresentEvent::Consent(true)) => {
                self.submit(rng, wallet, keystore)
            }
            (PresentState::Submit, PresentEvent::Answer(answer)) => self.answered(answer),
            (PresentState::Reporting, PresentEvent::Answer(_)) => {
                self.state = PresentState::Failed;
            }
            // Anything else is out of order for this state and changes nothing.
            _ => {}
        }
    }

    fn scanned(&mut self, text: &str, wallet: &Wallet, now: i64) {
        let m200 = match M200::from_qr_text(text) {
            Ok(m) => m,
            Err(_) => return self.fail(UiEvent::NotAVerifierRequest),
        };
        match wallet.status(now) {
            Some(WalletStatus::Valid | WalletStatus::ReissueSoon) => {}
            _ => return self.fail(UiEvent::NoMobileId),
        }
        self.out.push_back(PresentOutput::Post {
            url: join(&m200.host, mip::PATH_PROFILE),
            body: Envelope::of(
                &M310 {
                    trxcode: m200.trxcode.clone(),
                }
                .to_message(),
            )
            .to_body(),
        });
        self.pending = Some(Pending {
            m200,
            profile: None,
        });
        self.state = PresentState::Profile;
    }

    fn reply_of(answer: Result<Vec<u8>, String>) -> Result<HttpReply, UiEvent> {
        let body = answer.map_err(|detail| UiEvent::VerifierUnreachable { detail })?;
        HttpReply::from_body(&body).map_err(|e| UiEvent::VerifierUnreachable {
            detail: e.to_string(),
        })
    }

    fn profile(&mut self, answer: Result<Vec<u8>, String>) {
        let reply = match Self::reply_of(answer) {
            Ok(r) => r,
            Err(ui) => return self.fail(ui),
        };
        if !reply.result {
            return self.refused(&reply);
        }
        let Some(pending) = self.pending.as_mut() else {
            return self.fail(UiEvent::NoMobileId);
        };
        let checked = reply
            .profile_reply()
            .map_err(|e| e.to_string())
            .and_then(|r| {
                if r.trxcode != pending.m200.trxcode {
                    return Err("the profile is for another transaction".to_owned());
                }
                Profile::from_b64(&r.profile).map_err(|e| e.to_string())
            })
            .and_then(|p| {
                let key = self
                    .cfg
                    .verifiers
                    .get(&p.id)
                    .ok_or_else(|| format!("{} is not a registered verifier", p.id))?;
                p.verify(key).map_err(|e| e.to_string())?;
                p.encryption_key().map_err(|e| e.to_string())?;
                Ok(p)
            });
        match checked {
            Ok(p) => {
                self.out
                    .push_back(PresentOutput::Show(UiEvent::ConsentRequested {
                        verifier: p.profile.name.clone(),
                        elements: p.profile.filter.requested().map(str::to_owned).collect(),
                    }));
                pending.profile = Some(p);
                self.state = PresentState::Consent;
            }
            Err(detail) => self.report(
                ErrorCode::InvalidData,
                &format!("profile refused: {detail}"),
                UiEvent::VerifierUntrusted { detail },
            ),
        }
    }

    fn submit(&mut self, rng: &mut impl CryptoRngCore, wallet: &Wallet, keystore: &mut Keystore) {
        let (Some(pending), Some(id)) = (self.pending.as_ref(), wallet.mobile_id()) else {
            return self.fail(UiEvent::NoMobileId);
        };
        let Some(profile) = pending.profile.as_ref() else {
            return self.fail(UiEvent::NoMobileId);
        };
        let requested: BTreeSet<&str> = profile.profile.filter.requested().collect();
        let issuer_signed = match IssuerSigned::from_cbor(&id.issuer_signed) {
            Ok(s) => s,
            Err(e) => {
                return self.fail(UiEvent::PhoneError {
                    detail: e.to_string(),
                })
            }
        };
        let disclosed = issuer_signed.disclose(|_, element| requested.contains(element));
        let transcript =
            SessionTranscript::mip(&profile.id, &pending.m200.trxcode, &profile.profile.nonce);
        let pin = self.cfg.app_pin.clone();
        let key = id.key;
        let response = DeviceResponse::build(DOC_TYPE, &disclosed, &transcript, |msg| {
            keystore.sign(key, &pin, msg)
        });
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return self.fail(UiEvent::PhoneError {
                    detail: e.to_string(),
                })
            }
        };
        let recipient = match profile.encryption_key() {
            Ok(k) => k,
            Err(e) => {
                return self.fail(UiEvent::VerifierUntrusted {
                    detail: e.to_string(),
                })
            }
        };
        let sealed =
            match protocol::seal::seal(rng, &recipient, pending.m200.trxcode.as_bytes(), &response)
            {
                Ok(s) => s,
                Err(e) => {
                    return self.fail(UiEvent::VerifierUntrusted {
                        detail: e.to_string(),
                    })
                }
            };
        let m400 = M400 {
            trxcode: pending.m200.trxcode.clone(),
            vp: Vp {
                present_type: mip::PRESENT_TYPE_MDOC,
                encrypt_type: mip::ENCRYPT_AES256,
                key_type: mip::KEY_TYPE_P256,
                auth_type: "pin".into(),
                did: None,
                nonce: profile.profile.nonce.clone(),
                kind: mip::VERIFY.into(),
                data: hex::encode(sealed),
            },
        };
        let url = profile
            .profile
            .call_back_url
            .clone()
            .unwrap_or_else(|| join(&pending.m200.host, mip::PATH_VP));
        self.out.push_back(PresentOutput::Post {
            url,
            body: Envelope::of(&m400.to_message()).to_body(),
        });
        self.state = PresentState::Submit;
    }

    fn refused(&mut self, reply: &HttpReply) {
        let ui = match reply.m900() {
            Ok(m) => UiEvent::PresentationRefused {
                code: m.errcode,
                detail: m.errmsg,
            },
            Err(e) => UiEvent::VerifierUnreachable {
                detail: e.to_string(),
            },
        };
        self.fail(ui);
    }

    fn answered(&mut self, answer: Result<Vec<u8>, String>) {
        let reply = match Self::reply_of(answer) {
            Ok(r) => r,
            Err(ui) => return self.fail(ui),
        };
        if !reply.result {
            return self.refused(&reply);
        }
        let Some(Pending {
            m200,
            profile: Some(profile),
        }) = self.pending.take()
        else {
            return self.fail(UiEvent::NoMobileId);
        };
        self.out.push_back(PresentOutput::Presented {
            trxcode: m200.trxcode,
            elements: profile
                .profile
                .filter
                .requested()
                .map(str::to_owned)
                .collect(),
        });
        self.out.push_back(PresentOutput::Show(UiEvent::Presented {
            verifier: profile.profile.name,
        }));
        self.state = PresentState::Done;
    }
}
