//! Getting a mobile ID, both routes, as one sans-IO state machine ([`IssueFlow`]).
//!
//! QR download ([`IssueFlow::qr`]): the shell scans the desk's QR image with the camera and
//! hands over the text; the offer, given by value or fetched by reference from our issuer
//! ([`read_offer_uri`]), is checked ([`check_offer`]: our issuer, the mobile ID
//! configuration, a pre-authorized code), the holder types the transaction code
//! the clerk gave, and the token request carries both. Then the common tail below.
//!
//! Tap-to-issue ([`IssueFlow::tap`]), around [`TapRead`]:
//!
//! 1. fetch a nonce (OID4VCI §7) and derive the Active Authentication challenge from it
//!    ([`protocol::oid4vci::aa_challenge`]), before the tap so the card never waits on the
//!    network;
//! 2. the card part ([`TapRead`]): PACE, reads, Passive and Active Authentication;
//! 3. token request with the card-evidence grant (DG1, DG15, EF.SOD, nonce, signature);
//! 4. a second nonce, a fresh device key in the [`Keystore`], the ES256 proof JWT;
//! 5. credential request; the answer is decoded and verified (IACA chain, MSO signature,
//!    digests, validity, and that the MSO binds *our* device key) before it is stored.
//!
//! Issuer calls leave as [`IssueOutput::Call`] with an idempotency key drawn from the RNG;
//! the shell's [`IssuerClient`] retries with the same key, so a lost answer never issues
//! twice. Every refusal reaches the holder as a [`UiEvent`] in plain words.

use std::collections::VecDeque;

use protocol::issuance::{IssuerReply, IssuerRequest};
use protocol::mdoc::{self, IssuerSigned, VerifiedMdoc};
use protocol::oid4vci::{
    self, CredentialRequest, CredentialResponse, ErrorCode, ErrorResponse, Proofs, TokenRequest,
    MRRC_CONFIGURATION_ID,
};
use rand_core::CryptoRngCore;
use x509_cert::Certificate;

use crate::tap::{CardEvidence, TapEvent, TapOutput, TapRead};
use crate::{KeyHandle, Keystore, UiEvent};

/// How the phone reaches an issuer: in process (a test or the load harness wraps the issuer
/// core) or over HTTP. Implementations retry with the same `idempotency_key`.
pub trait IssuerClient {
    /// Make one call; `now` is unix seconds.
    fn call(&mut self, idempotency_key: &str, request: &IssuerRequest, now: i64) -> IssuerReply;
}

/// What the tap-to-issue flow needs to know.
#[derive(Debug, Clone)]
pub struct IssueConfig {
    /// The issuer identifier (`aud` of the proof JWT).
    pub issuer: String,
    /// This phone's id (its number), sent with the token request.
    pub phone_id: String,
    /// CSCA roots for Passive Authentication of the card.
    pub csca_roots: Vec<Certificate>,
    /// IACA roots for the mdoc.
    pub iaca_roots: Vec<Certificate>,
    /// The app PIN that gates the device key.
    pub app_pin: String,
}

/// A mobile ID as the wallet keeps it.
#[derive(Debug, Clone)]
pub struct MobileId {
    /// The document number the issuer gave it.
    pub document_number: String,
    /// The `IssuerSigned` CBOR as received.
    pub issuer_signed: Vec<u8>,
    /// What verification established.
    pub verified: VerifiedMdoc,
    /// The device key it is bound to.
    pub key: KeyHandle,
}

impl MobileId {
    /// Valid until (unix seconds): the date by which it must be reissued (every 3 years).
    pub fn valid_until(&self) -> i64 {
        self.verified.validity.valid_until
    }
}

/// Events of the tap-to-issue flow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueEvent {
    /// The holder opened "get a mobile ID by tapping".
    Start,
    /// Something for the card part (a tap, an APDU answer, the password...).
    Tap(TapEvent),
    /// The answer to the last [`IssueOutput::Call`].
    Issuer(IssuerReply),
    /// QR route: the text the camera decoded from the desk's QR image.
    Scanned(String),
    /// QR route: the camera found no readable code.
    ScanFailed,
    /// QR route: the holder typed the transaction code.
    TxCode(String),
}

/// What the flow asks its shell to do.
#[derive(Debug)]
#[non_exhaustive]
pub enum IssueOutput {
    /// Send APDU bytes to the card.
    Transmit(Vec<u8>),
    /// Power the card down.
    Disconnect,
    /// Show this to the holder.
    Show(UiEvent),
    /// Call the issuer and feed the answer back as [`IssueEvent::Issuer`].
    Call {
        /// Idempotency key: the same for every retry of this call.
        idempotency_key: String,
        /// The call.
        request: IssuerRequest,
    },
    /// The mobile ID, verified: store it in the wallet.
    Issued(Box<MobileId>),
}

/// Where the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueState {
    /// Not started.
    Idle,
    /// QR route: waiting for a scan of the desk's QR code.
    Scan,
    /// QR route: fetching an offer the QR code named by reference.
    FetchingOffer,
    /// QR route: waiting for the transaction code.
    TxCode,
    /// Waiting for the first nonce.
    FetchingNonce,
    /// The card part is running.
    Card,
    /// Waiting for the access token.
    Token,
    /// Waiting for the proof nonce.
    ProofNonce,
    /// Waiting for the credential.
    Credential,
    /// Issued and stored.
    Done,
    /// Stopped; the last [`UiEvent`] says why.
    Failed,
}

/// The tap-to-issue flow; see the module documentation.
pub struct IssueFlow {
    cfg: IssueConfig,
    qr: bool,
    offer: Option<ParsedOffer>,
    state: IssueState,
    tap: Option<TapRead>,
    card_nonce: Option<String>,
    evidence: Option<Box<CardEvidence>>,
    access_token: Option<String>,
    key: Option<KeyHandle>,
    nonce_retries: u8,
    /// Password or CAN typed before the card part started.
    early: Vec<TapEvent>,
    queue: VecDeque<IssueOutput>,
}

impl std::fmt::Debug for IssueFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueFlow")
            .field("state", &self.state)
            .field("tap", &self.tap)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

fn key(rng: &mut impl CryptoRngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    hex::encode(b)
}

impl IssueFlow {
    /// Tap-to-issue for this phone and issuer.
    pub fn tap(cfg: IssueConfig) -> Self {
        Self::new(cfg, false)
    }

    /// QR download at the community center for this phone and issuer.
    pub fn qr(cfg: IssueConfig) -> Self {
        Self::new(cfg, true)
    }

    fn new(cfg: IssueConfig, qr: bool) -> Self {
        Self {
            cfg,
            qr,
            offer: None,
            state: IssueState::Idle,
            tap: None,
            card_nonce: None,
            evidence: None,
            access_token: None,
            key: None,
            nonce_retries: 0,
            early: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    /// Where the flow is.
    pub fn state(&self) -> IssueState {
        self.state
    }

    /// The next output, if any. Call after every [`IssueFlow::handle`] until `None`.
    #[must_use]
    pub fn poll(&mut self) -> Option<IssueOutput> {
        self.queue.pop_front()
    }

    /// When to deliver a timeout to the card part (unix seconds), if it waits on the card.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.tap.as_ref().and_then(TapRead::poll_timeout)
    }

    /// Feed one event. `keystore` holds the device key the flow creates.
    pub fn handle(
        &mut self,
        event: IssueEvent,
        now: u64,
        rng: &mut impl CryptoRngCore,
        keystore: &mut Keystore,
    ) {
        if matches!(self.state, IssueState::Done | IssueState::Failed) {
            return;
        }
        match event {
            IssueEvent::Start if self.state == IssueState::Idle => {
                if self.qr {
                    self.state = IssueState::Scan;
                    self.queue.push_back(IssueOutput::Show(UiEvent::ScanQr));
                } else {
                    self.call(IssuerRequest::Nonce, rng);
                    self.state = IssueState::FetchingNonce;
                }
            }
            IssueEvent::Start => {}
            IssueEvent::ScanFailed if self.state == IssueState::Scan => {
                self.queue
                    .push_back(IssueOutput::Show(UiEvent::QrUnreadable));
            }
            IssueEvent::Scanned(text) if self.state == IssueState::Scan => {
                match read_offer_uri(&text, &self.cfg.issuer) {
                    Ok(ScannedOffer::Offer(offer)) => self.offer_ready(offer, rng),
                    Ok(ScannedOffer::Fetch(uri)) => {
                        self.state = IssueState::FetchingOffer;
                        self.call(IssuerRequest::Offer { uri }, rng);
                    }
                    Err(_) => self.queue.push_back(IssueOutput::Show(UiEvent::NotAnOffer)),
                }
            }
            IssueEvent::TxCode(code) if self.state == IssueState::TxCode => {
                let length = self
                    .offer
                    .as_ref()
                    .and_then(|o| o.tx_code_length)
                    .unwrap_or(0);
                if code.len() == usize::from(length) && code.bytes().all(|b| b.is_ascii_digit()) {
                    self.redeem(Some(code), rng);
                } else {
                    self.queue
                        .push_back(IssueOutput::Show(UiEvent::EnterTxCode { length }));
                }
            }
            IssueEvent::Scanned(_) | IssueEvent::ScanFailed | IssueEvent::TxCode(_) => {}
            IssueEvent::Tap(e) => match self.tap.as_mut() {
                Some(t) => {
                    t.handle(e, now, rng);
                    self.drain_tap(rng);
                }
                // Typed before the nonce came back: keep it for the card part.
                None if matches!(e, TapEvent::Password(_) | TapEvent::Can(_)) => self.early.push(e),
                None => {}
            },
            IssueEvent::Issuer(reply) => self.on_reply(reply, now, rng, keystore),
        }
    }

    /// A checked offer: ask for the transaction code if it needs one, else redeem it.
    fn offer_ready(&mut self, offer: ParsedOffer, rng: &mut impl CryptoRngCore) {
        let len = offer.tx_code_length;
        self.offer = Some(offer);
        match len {
            Some(length) => {
                self.state = IssueState::TxCode;
                self.queue
                    .push_back(IssueOutput::Show(UiEvent::EnterTxCode { length }));
            }
            None => self.redeem(None, rng),
        }
    }

    fn redeem(&mut self, tx_code: Option<String>, rng: &mut impl CryptoRngCore) {
        let code = self
            .offer
            .as_ref()
            .map(|o| o.pre_authorized_code.clone())
            .unwrap_or_default();
        self.state = IssueState::Token;
        self.queue.push_back(IssueOutput::Show(UiEvent::Issuing));
        self.call(
            IssuerRequest::Token(TokenRequest::PreAuthorized {
                pre_authorized_code: code,
                tx_code,
                phone_id: self.cfg.phone_id.clone(),
            }),
            rng,
        );
    }

    fn call(&mut self, request: IssuerRequest, rng: &mut impl CryptoRngCore) {
        self.queue.push_back(IssueOutput::Call {
            idempotency_key: key(rng),
            request,
        });
    }

    fn fail(&mut self, e: UiEvent) {
        self.state = IssueState::Failed;
        self.queue.push_back(IssueOutput::Show(e));
    }

    fn drain_tap(&mut self, rng: &mut impl CryptoRngCore) {
        let Some(t) = self.tap.as_mut() else { return };
        let mut done = None;
        while let Some(o) = t.poll() {
            match o {
                TapOutput::Transmit(b) => self.queue.push_back(IssueOutput::Transmit(b)),
                TapOutput::Disconnect => self.queue.push_back(IssueOutput::Disconnect),
                TapOutput::Show(e) => self.queue.push_back(IssueOutput::Show(e)),
                TapOutput::Done(ev) => done = Some(ev),
            }
        }
        if t.state() == crate::TapState::Failed {
            self.state = IssueState::Failed;
            return;
        }
        if let Some(ev) = done {
            let request = IssuerRequest::Token(TokenRequest::CardEvidence {
                dg1: oid4vci::b64url(&ev.dg1),
                dg15: oid4vci::b64url(&ev.dg15),
                sod: oid4vci::b64url(&ev.sod),
                nonce: self.card_nonce.clone().unwrap_or_default(),
                aa_signature: oid4vci::b64url(&ev.aa_signature),
                phone_id: self.cfg.phone_id.clone(),
            });
            self.evidence = Some(ev);
            self.state = IssueState::Token;
            self.queue.push_back(IssueOutput::Show(UiEvent::Issuing));
            self.call(request, rng);
        }
    }

    fn on_reply(
        &mut self,
        reply: IssuerReply,
        now: u64,
        rng: &mut impl CryptoRngCore,
        keystore: &mut Keystore,
    ) {
        if !matches!(
            self.state,
            IssueState::FetchingOffer
                | IssueState::FetchingNonce
                | IssueState::Token
                | IssueState::ProofNonce
                | IssueState::Credential
        ) {
            // No call is outstanding: a stray or duplicated answer changes nothing.
            return;
        }
        match (self.state, reply) {
            (_, IssuerReply::Unreachable(why)) => {
                self.fail(UiEvent::IssuerUnreachable { detail: why })
            }
            (_, IssuerReply::Error(e)) => self.on_error(e, rng),
            (IssueState::FetchingOffer, IssuerReply::Offer(o)) => {
                match check_offer(o, &self.cfg.issuer) {
                    Ok(offer) => self.offer_ready(offer, rng),
                    Err(e) => self.fail(UiEvent::IssuerError {
                        detail: format!("the fetched offer: {e}"),
                    }),
                }
            }
            (IssueState::FetchingNonce, IssuerReply::Nonce(n)) => {
                let challenge = oid4vci::aa_challenge(&n.c_nonce).to_vec();
                self.card_nonce = Some(n.c_nonce);
                let mut tap = TapRead::new(self.cfg.csca_roots.clone(), challenge);
                for e in std::mem::take(&mut self.early) {
                    tap.handle(e, now, rng);
                }
                self.tap = Some(tap);
                self.state = IssueState::Card;
                self.drain_tap(rng);
            }
            (IssueState::Token, IssuerReply::Token(t)) => {
                self.access_token = Some(t.access_token);
                self.state = IssueState::ProofNonce;
                self.call(IssuerRequest::Nonce, rng);
            }
            (IssueState::ProofNonce, IssuerReply::Nonce(n)) => {
                let handle = match self.key {
                    Some(h) => h,
                    None => {
                        let h = keystore.generate(&self.cfg.app_pin, rng);
                        self.key = Some(h);
                        h
                    }
                };
                let iat = i64::try_from(now).unwrap_or(i64::MAX);
                let jwt = match keystore.proof_jwt(
                    handle,
                    &self.cfg.app_pin,
                    &self.cfg.issuer,
                    &n.c_nonce,
                    iat,
                ) {
                    Ok(j) => j,
                    Err(e) => {
                        return self.fail(UiEvent::PhoneError {
                            detail: e.to_string(),
                        })
                    }
                };
                let request = IssuerRequest::Credential {
                    access_token: self.access_token.clone().unwrap_or_default(),
                    request: CredentialRequest {
                        credential_configuration_id: MRRC_CONFIGURATION_ID.into(),
                        proofs: Proofs { jwt: vec![jwt] },
                    },
                };
                self.state = IssueState::Credential;
                self.call(request, rng);
            }
            (IssueState::Credential, IssuerReply::Credential(c)) => {
                self.on_credential(c, now, keystore)
            }
            (_, other) => self.fail(UiEvent::IssuerError {
                detail: format!("unexpected answer {}", other.name()),
            }),
        }
    }

    fn on_credential(&mut self, c: CredentialResponse, now: u64, keystore: &mut Keystore) {
        let Some(handle) = self.key else {
            return self.fail(UiEvent::PhoneError {
                detail: "no device key".into(),
            });
        };
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let checked = (|| -> Result<(Vec<u8>, VerifiedMdoc), crate::Error> {
            let first = c
                .credentials
                .first()
                .ok_or_else(|| crate::Error::Issuer("no credential in the answer".into()))?;
            let bytes = oid4vci::from_b64url(&first.credential, "credential")?;
            let verified = IssuerSigned::from_cbor(&bytes)?.verify(
                &self.cfg.iaca_roots,
                mdoc::DOC_TYPE,
                now,
            )?;
            if verified.device_key != keystore.public_key(handle)? {
                return Err(crate::Error::Issuer(
                    "the credential is bound to another device key".into(),
                ));
            }
            Ok((bytes, verified))
        })();
        match checked {
            Ok((issuer_signed, verified)) => {
                self.state = IssueState::Done;
                self.queue.push_back(IssueOutput::Show(UiEvent::Issued));
                self.queue.push_back(IssueOutput::Issued(Box::new(MobileId {
                    document_number: c.document_number,
                    issuer_signed,
                    verified,
                    key: handle,
                })));
            }
            Err(e) => {
                keystore.delete(handle);
                self.fail(UiEvent::CredentialRejected {
                    detail: e.to_string(),
                })
            }
        }
    }

    fn on_error(&mut self, e: ErrorResponse, rng: &mut impl CryptoRngCore) {
        // OID4VCI §8.3.1.2: a stale proof nonce is answered with a fresh try.
        if e.error == ErrorCode::InvalidNonce
            && self.state == IssueState::Credential
            && self.nonce_retries < 2
        {
            self.nonce_retries += 1;
            self.state = IssueState::ProofNonce;
            return self.call(IssuerRequest::Nonce, rng);
        }
        // QR route: a wrong transaction code leaves the offer usable until it burns.
        if self.qr && self.state == IssueState::Token {
            if let Some(left) = e.error_description.as_deref().and_then(attempts_left) {
                let length = self
                    .offer
                    .as_ref()
                    .and_then(|o| o.tx_code_length)
                    .unwrap_or(0);
                self.state = IssueState::TxCode;
                self.queue
                    .push_back(IssueOutput::Show(UiEvent::WrongTxCode {
                        attempts_left: left,
                    }));
                self.queue
                    .push_back(IssueOutput::Show(UiEvent::EnterTxCode { length }));
                return;
            }
        }
        let region = self
            .evidence
            .as_ref()
            .map(|ev| ev.holder.region_code.clone());
        self.fail(refusal_message(&e, region.as_deref()));
    }
}

/// "wrong transaction code (N attempts left)" → N.
fn attempts_left(desc: &str) -> Option<u8> {
    let rest = desc.split("wrong transaction code (").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// A credential offer the phone accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedOffer {
    /// The single-use pre-authorized code.
    pub pre_authorized_code: String,
    /// Digits of the transaction code, if one is required.
    pub tx_code_length: Option<u8>,
}

impl std::fmt::Debug for ParsedOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedOffer")
            .field("pre_authorized_code", &"<redacted>")
            .field("tx_code_length", &self.tx_code_length)
            .finish()
    }
}

/// What the text of a desk QR code gives the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannedOffer {
    /// The offer itself, checked.
    Offer(ParsedOffer),
    /// The offer by reference: fetch it from this URL of our issuer.
    Fetch(String),
}

/// Read the text of a desk QR code (OID4VCI §4.1.3): an `openid-credential-offer://` URI
/// with the offer (checked as [`parse_offer`] does) or a `credential_offer_uri` on our
/// issuer (`{expected_issuer}/…`). Anything else is [`crate::Error::Offer`].
pub fn read_offer_uri(text: &str, expected_issuer: &str) -> Result<ScannedOffer, crate::Error> {
    let bad = |why: &str| crate::Error::Offer(why.to_owned());
    if text.len() > 8192 {
        return Err(bad("too long"));
    }
    match oid4vci::parse_offer_uri(text)? {
        oid4vci::OfferUri::ByValue(offer) => {
            check_offer(offer, expected_issuer).map(ScannedOffer::Offer)
        }
        oid4vci::OfferUri::ByReference(url) => {
            let ours = url
                .strip_prefix(expected_issuer)
                .is_some_and(|rest| rest.starts_with('/'));
            if ours {
                Ok(ScannedOffer::Fetch(url))
            } else {
                Err(bad("offer by reference from another issuer"))
            }
        }
    }
}

/// Parse and check the text of a desk QR code holding the offer by value (OID4VCI §4.1.3):
/// an `openid-credential-offer://` URI from `expected_issuer`, offering the mobile resident
/// card, with a pre-authorized code and, if any, a numeric transaction code of 1 to 12
/// digits. Anything else is [`crate::Error::Offer`].
pub fn parse_offer(text: &str, expected_issuer: &str) -> Result<ParsedOffer, crate::Error> {
    if text.len() > 8192 {
        return Err(crate::Error::Offer("too long".into()));
    }
    check_offer(oid4vci::CredentialOffer::from_uri(text)?, expected_issuer)
}

/// Check an offer, scanned or fetched: see [`parse_offer`].
pub fn check_offer(
    offer: oid4vci::CredentialOffer,
    expected_issuer: &str,
) -> Result<ParsedOffer, crate::Error> {
    let bad = |why: &str| crate::Error::Offer(why.to_owned());
    if offer.credential_issuer != expected_issuer {
        return Err(bad("from another issuer"));
    }
    if !offer
        .credential_configuration_ids
        .iter()
        .any(|c| c == MRRC_CONFIGURATION_ID)
    {
        return Err(bad("not a mobile resident card offer"));
    }
    let grant = offer.grants.pre_authorized_code;
    if grant.pre_authorized_code.is_empty() || grant.pre_authorized_code.len() > 512 {
        return Err(bad("bad pre-authorized code"));
    }
    let tx_code_length = match grant.tx_code {
        None => None,
        Some(spec) if spec.input_mode == "numeric" && (1..=12).contains(&spec.length) => {
            Some(spec.length)
        }
        Some(_) => return Err(bad("unsupported transaction code")),
    };
    Ok(ParsedOffer {
        pre_authorized_code: grant.pre_authorized_code,
        tx_code_length,
    })
}

/// The first-level division a region or district code names (its first two digits), in
/// English: the workspace's one region table, [`protocol::region::Region`].
pub fn region_name(code: &str) -> Option<&'static str> {
    protocol::region::Region::of_district(code).map(protocol::region::Region::name_en)
}

/// The first `YYYY-MM-DD` after "open on" / "opens on" in a refusal's description.
fn opening_date(desc: &str) -> Option<(u16, u8, u8)> {
    let at = desc
        .find("open on ")
        .map(|i| i + 8)
        .or_else(|| desc.find("opens on ").map(|i| i + 9))?;
    let d = desc.get(at..at + 10)?;
    let y = d.get(0..4)?.parse().ok()?;
    let m = d.get(5..7)?.parse().ok()?;
    let day = d.get(8..10)?.parse().ok()?;
    (d.as_bytes().get(4) == Some(&b'-')).then_some((y, m, day))
}

/// The holder's message for an issuer refusal. The wire carries a code and a description
/// (OID4VCI §6.3); the rollout's opening date is read from the description and the region
/// from the card's DG1.
pub fn refusal_message(e: &ErrorResponse, region_code: Option<&str>) -> UiEvent {
    let desc = e.error_description.clone().unwrap_or_default();
    if e.error == ErrorCode::CredentialRequestDenied {
        if let Some((year, month, day)) = opening_date(&desc) {
            return UiEvent::NotOpenYet {
                region: region_code.and_then(region_name).map(str::to_owned),
                year,
                month,
                day,
            };
        }
    }
    if e.error == ErrorCode::InvalidGrant
        && ["pre-authorized code", "offer burned"]
            .iter()
            .any(|k| desc.contains(k))
    {
        return UiEvent::OfferUnusable { detail: desc };
    }
    UiEvent::IssuerRefused {
        code: e.error,
        detail: desc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_not_yet_open_refusal_names_the_region_and_the_day() {
        let e = ErrorResponse {
            error: ErrorCode::CredentialRequestDenied,
            error_description: Some(
                "refused: not yet open for this legal address: opens on 2025-03-14 (3)".into(),
            ),
        };
        let m = refusal_message(&e, Some("11"));
        assert_eq!(m.to_string(), "This service opens for Seoul on 14 March");
        let e = ErrorResponse {
            error: ErrorCode::CredentialRequestDenied,
            error_description: Some(
                "refused: online applications are not open yet: they open on 2025-03-28".into(),
            ),
        };
        assert_eq!(
            refusal_message(&e, Some("26")).to_string(),
            "This service opens for Busan on 28 March"
        );
    }

    #[test]
    fn other_refusals_keep_the_issuers_reason() {
        let e = ErrorResponse {
            error: ErrorCode::CredentialRequestDenied,
            error_description: Some("refused: the resident card has been reported lost".into()),
        };
        let m = refusal_message(&e, Some("11")).to_string();
        assert!(m.contains("reported lost"), "{m}");
        assert_eq!(opening_date("opens on 2025-3-1"), None);
        assert_eq!(opening_date("opens on "), None);
    }
}
