//! The issuance service core: OpenID4VCI-shaped endpoints, the community-center desk and
//! the revocation rules, as plain method calls on [`Issuer`].
//!
//! Sans-IO: every method takes `now`; the issuer's randomness comes from the ChaCha20 RNG it
//! was built with ([`Issuer::new`] takes the seed). Mutating calls take an idempotency key:
//! a retried or duplicated request with the same key and the same content gets the first
//! answer (success or error) and changes nothing; the same key with other content is
//! refused ([`Error::IdempotencyKeyReused`]). Callers that share an issuer between threads
//! put it behind a `Mutex`, which makes each call atomic.

use std::collections::{BTreeMap, VecDeque};

use protocol::lds::{self, HolderData};
use protocol::mdoc::{self, IssueParams, ResidentClaims, Validity};
use protocol::oid4vci::{
    self, CredentialConfiguration, CredentialOffer, CredentialRequest, CredentialResponse,
    IssuedCredential, IssuerMetadata, NonceResponse, OfferGrants, PreAuthorizedGrant,
    ProofTypeMetadata, TokenRequest, TokenResponse, TxCodeSpec, MRRC_CONFIGURATION_ID,
};
use protocol::{aa, sod};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use time::Date;

use crate::journal::{Command, JournalEntry};
use crate::pki::IssuerPki;
use crate::policy::{Channel, Decision, Policy, Route};
use crate::registry::{CardState, Registry, Resident, ResidentId};
use crate::rrn::Rrn;
use crate::time::{age_on, local_date, UnixTime};
use crate::Error;

pub use crate::config::{InPersonCheck, IssuerConfig};

/// A one-time credential offer made at the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskOffer {
    /// The offer.
    pub offer: CredentialOffer,
    /// `openid-credential-offer://?credential_offer=…`: the offer by value.
    pub uri: String,
    /// `openid-credential-offer://?credential_offer_uri=…`: the offer by reference, the
    /// form the desk shows as a QR code (a version-6-to-8 code instead of version 16).
    pub reference_uri: String,
    /// The transaction code, told to the holder on a second channel (never in the QR).
    pub tx_code: String,
    /// When the pre-authorized code expires.
    pub expires_at: UnixTime,
}

pub use protocol::issuance::{CredentialStatus, RevocationReason};

/// A row of the status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatusEntry {
    /// Document number.
    pub document_number: String,
    /// Status.
    pub status: CredentialStatus,
}

/// The data an IC card is personalised with: the LDS files (EF.SOD signed by the issuer's
/// Document Signer) and the chip's Active Authentication key. Plain bytes, so `sim-card`
/// can load them without depending on this crate.
#[derive(Clone, PartialEq, Eq)]
pub struct CardPersonalisation {
    /// DG1 holder data.
    pub dg1: Vec<u8>,
    /// DG2 portrait.
    pub dg2: Vec<u8>,
    /// DG14 SecurityInfos (PACE and Active Authentication info).
    pub dg14: Vec<u8>,
    /// DG15 Active Authentication public key.
    pub dg15: Vec<u8>,
    /// EF.SOD over DG1, DG2, DG14 and DG15.
    pub sod: Vec<u8>,
    /// The Active Authentication private key (P-256 scalar, big-endian).
    pub aa_private_key: [u8; 32],
}

impl core::fmt::Debug for CardPersonalisation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardPersonalisation")
            .field("dg1", &format_args!("<{} bytes>", self.dg1.len()))
            .field("dg2", &format_args!("<{} bytes>", self.dg2.len()))
            .field("dg14", &format_args!("<{} bytes>", self.dg14.len()))
            .field("dg15", &format_args!("<{} bytes>", self.dg15.len()))
            .field("sod", &format_args!("<{} bytes>", self.sod.len()))
            .field("aa_private_key", &format_args!("<redacted>"))
            .finish()
    }
}

/// The outcome of an IC card application at the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcCardReceipt {
    /// Fee charged, in won.
    pub fee_won: u32,
    /// The new card's number.
    pub card_number: String,
    /// What to personalise the card with.
    pub card: CardPersonalisation,
}

#[derive(Debug, Clone)]
struct Offer {
    resident: ResidentId,
    tx_code: String,
    expires_at: UnixTime,
    attempts: u8,
    used: bool,
    burned: bool,
}

#[derive(Debug, Clone)]
struct AccessGrant {
    resident: ResidentId,
    phone_id: String,
    expires_at: UnixTime,
    used: bool,
}

#[derive(Debug, Clone)]
struct NonceState {
    expires_at: UnixTime,
    used: bool,
}

/// What the issuer remembers of an issued credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Holder.
    pub resident: ResidentId,
    /// Phone it was issued to.
    pub phone_id: String,
    /// Issued at.
    pub issued_at: UnixTime,
    /// Valid until.
    pub valid_until: UnixTime,
    /// Revocation, if any.
    pub revoked: Option<(RevocationReason, UnixTime)>,
}

/// Every credential the issuer has issued, by document number. Numbers are `M` and 11
/// digits, given out in sequence from `M00000000001`, so the records sit in a vector at
/// `number - 1`: about a hundred bytes per issuance, no key strings, no tree nodes.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    records: Vec<CredentialRecord>,
}

impl Credentials {
    /// The document number of the `index`th credential (0-based).
    pub fn document_number(index: usize) -> String {
        format!("M{:011}", index as u64 + 1)
    }

    /// The index of `document_number`, if it is well formed and issued.
    fn index_of(&self, document_number: &str) -> Option<usize> {
        let digits = document_number.strip_prefix('M')?;
        if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let i = usize::try_from(n.checked_sub(1)?).ok()?;
        (i < self.records.len()).then_some(i)
    }

    /// Credentials issued.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True before the first issuance.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record of `document_number`.
    pub fn get(&self, document_number: &str) -> Option<&CredentialRecord> {
        self.index_of(document_number)
            .and_then(|i| self.records.get(i))
    }

    /// True if `document_number` was issued.
    pub fn contains_key(&self, document_number: &str) -> bool {
        self.index_of(document_number).is_some()
    }

    /// (document number, record) in issuance order.
    pub fn iter(&self) -> impl Iterator<Item = (String, &CredentialRecord)> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| (Self::document_number(i), r))
    }

    fn get_mut(&mut self, document_number: &str) -> Option<&mut CredentialRecord> {
        let i = self.index_of(document_number)?;
        self.records.get_mut(i)
    }

    /// Appends `rec`; gives its document number.
    fn push(&mut self, rec: CredentialRecord) -> String {
        self.records.push(rec);
        Self::document_number(self.records.len() - 1)
    }

    /// The number the next issuance will get.
    fn next_number(&self) -> String {
        Self::document_number(self.records.len())
    }
}

/// Record counts of an [`Issuer`] ([`Issuer::retained`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Retained {
    /// Residents in the registry.
    pub residents: u64,
    /// Credentials ever issued (each keeps its status for the status list).
    pub credentials: u64,
    /// Residents with an active mobile ID.
    pub active: u64,
    /// Desk offers within their retention.
    pub offers: u64,
    /// Access tokens within their retention.
    pub tokens: u64,
    /// Nonces not yet expired.
    pub nonces: u64,
    /// Idempotency records within their retention.
    pub idempotency: u64,
}

/// A record dropped once its retention has passed.
#[derive(Debug, Clone)]
enum Expiring {
    Offer(String),
    Token(String),
    Idempotency(String),
}

#[derive(Debug, Clone)]
enum Stored {
    Offer(Result<DeskOffer, Error>),
    Token(Result<TokenResponse, Error>),
    Credential(Result<CredentialResponse, Error>),
    Ack(Result<(), Error>),
    IcCard(Result<IcCardReceipt, Error>),
}

/// The mock issuer.
#[derive(Debug)]
pub struct Issuer {
    config: IssuerConfig,
    policy: Policy,
    pki: IssuerPki,
    registry: Registry,
    rng: ChaCha20Rng,
    offers: BTreeMap<String, Offer>,
    /// Offers by reference: the id in `credential_offer_uri` → the pre-authorized code.
    offer_refs: BTreeMap<String, String>,
    tokens: BTreeMap<String, AccessGrant>,
    nonces: BTreeMap<String, NonceState>,
    credentials: Credentials,
    /// The active credential of each holder, as its index in `credentials`.
    active: BTreeMap<ResidentId, usize>,
    idempotency: BTreeMap<String, ([u8; 32], Stored)>,
    /// When records of offers, tokens and idempotency keys may be dropped, oldest first.
    expiries: VecDeque<(UnixTime, Expiring)>,
    /// Entries of the calls since the last [`Issuer::take_journal`], when journaling.
    journal: Option<Vec<Command>>,
}

const YEAR_SECONDS: i64 = 365 * 86_400;

/// A tiny JPEG placeholder portrait (SOI, APP0 JFIF marker, EOI).
const PORTRAIT: [u8; 20] = [
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0xFF, 0xD9,
];

fn fingerprint(endpoint: &str, body: &impl Serialize) -> [u8; 32] {
    let json = serde_json::to_vec(body).unwrap_or_default();
    protocol::crypto::sha256_parts(&[endpoint.as_bytes(), &[0], &json])
}

/// The id of an offer by reference: 128 bits of the SHA-256 of its pre-authorized code, so
/// it gives nothing of the code away and draws nothing from the issuer's RNG.
fn offer_ref(code: &str) -> String {
    let h = protocol::crypto::sha256_parts(&[b"offer-ref", &[0], code.as_bytes()]);
    oid4vci::b64url(&h[..16])
}

fn lds_date(d: Date) -> Option<lds::Date> {
    lds::Date::new(u16::try_from(d.year()).ok()?, d.month() as u8, d.day())
}

impl Issuer {
    /// An issuer with a fresh PKI, drawing all its randomness from `seed`.
    pub fn new(
        seed: u64,
        config: IssuerConfig,
        policy: Policy,
        now: UnixTime,
    ) -> Result<Self, Error> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let pki = IssuerPki::generate(&mut rng, now)?;
        Ok(Self {
            config,
            policy,
            pki,
            registry: Registry::new(),
            rng,
            offers: BTreeMap::new(),
            offer_refs: BTreeMap::new(),
            tokens: BTreeMap::new(),
            nonces: BTreeMap::new(),
            credentials: Credentials::default(),
            active: BTreeMap::new(),
            idempotency: BTreeMap::new(),
            expiries: VecDeque::new(),
            journal: None,
        })
    }

    /// From now on, every state-changing call leaves a journal entry for
    /// [`Issuer::take_journal`] (an in-memory issuer keeps none, and pays nothing for it).
    pub fn journaling(mut self) -> Self {
        self.journal.get_or_insert_with(Vec::new);
        self
    }

    /// The journal entries of the calls made since the last take, in order: what a shell
    /// must make durable before it lets their answers leave.
    pub fn take_journal(&mut self) -> Vec<JournalEntry> {
        self.journal
            .as_mut()
            .map(|j| std::mem::take(j).into_iter().map(JournalEntry).collect())
            .unwrap_or_default()
    }

    /// Replay journaled calls (their answers were given before a restart). The replayed calls
    /// leave no new entries.
    pub fn replay(&mut self, entries: impl IntoIterator<Item = JournalEntry>) {
        let journal = self.journal.take();
        for JournalEntry(cmd) in entries {
            self.apply(cmd);
        }
        self.journal = journal;
    }

    /// Replay one journaled call (its answer was given before the restart).
    fn apply(&mut self, cmd: Command) {
        let _ = match cmd {
            Command::Register { resident } => self.register(resident),
            Command::Release { resident } => self.release_resident(resident).map(drop),
            Command::Nonce { now } => self.nonce(now).map(drop),
            Command::DeskOffer {
                key,
                resident,
                desk_district,
                check,
                now,
            } => self
                .desk_offer(&key, resident, &desk_district, &check, now)
                .map(drop),
            Command::IcCard { key, resident, now } => {
                self.desk_ic_card(&key, resident, now).map(drop)
            }
            Command::Token { key, req, now } => self.token(&key, &req, now).map(drop),
            Command::Credential {
                key,
                access_token,
                req,
                now,
            } => self.credential(&key, &access_token, &req, now).map(drop),
            Command::CardLost { key, resident, now } => self.report_card_lost(&key, resident, now),
            Command::PhoneLost {
                key,
                document_number,
                now,
            } => self.report_phone_lost(&key, &document_number, now),
        };
    }

    /// Journal a state-changing call (no-op unless journaling).
    fn log(&mut self, cmd: impl FnOnce() -> Command) -> Result<(), Error> {
        if let Some(j) = self.journal.as_mut() {
            j.push(cmd());
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// The rollout policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The PKI (trust anchors for verifiers and phones).
    pub fn pki(&self) -> &IssuerPki {
        &self.pki
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Register a resident (population set-up; not an endpoint).
    pub fn register(&mut self, r: Resident) -> Result<(), Error> {
        if self.registry.get(r.id).is_ok() || self.registry.by_rrn(&r.rrn).is_some() {
            return Err(Error::DuplicateResident);
        }
        self.log(|| Command::Register {
            resident: r.clone(),
        })?;
        self.registry.insert(r)
    }

    /// Forgets the registry record of `resident` if the issuer never changed it (no card
    /// swap, no loss report): for callers that model the national registry themselves and
    /// register residents on demand, as the rollout engine does, re-deriving the same record
    /// on the resident's next visit. Credentials, their status and changed records stay, so
    /// the issuer's memory follows what it really keeps, not everyone it has seen. Returns
    /// whether the record was dropped.
    pub fn release_resident(&mut self, resident: ResidentId) -> Result<bool, Error> {
        self.log(|| Command::Release { resident })?;
        Ok(self.registry.release(resident))
    }

    /// Credential records by document number.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn random_token(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.rng.fill_bytes(&mut b);
        oid4vci::b64url(&b)
    }

    /// Drops the records whose retention ended before `now`. Records are queued in the
    /// order they were made, so this stops at the first one still kept.
    fn purge(&mut self, now: UnixTime) {
        while let Some((t, _)) = self.expiries.front() {
            if *t >= now {
                break;
            }
            let Some((_, what)) = self.expiries.pop_front() else {
                break;
            };
            match what {
                Expiring::Offer(k) => {
                    self.offer_refs.remove(&offer_ref(&k));
                    self.offers.remove(&k).map(|_| ())
                }
                Expiring::Token(k) => self.tokens.remove(&k).map(|_| ()),
                Expiring::Idempotency(k) => self.idempotency.remove(&k).map(|_| ()),
            };
        }
    }

    /// How many records of each kind the issuer keeps now: what its memory grows with.
    pub fn retained(&self) -> Retained {
        Retained {
            residents: self.registry.len() as u64,
            credentials: self.credentials.len() as u64,
            active: self.active.len() as u64,
            offers: self.offers.len() as u64,
            tokens: self.tokens.len() as u64,
            nonces: self.nonces.len() as u64,
            idempotency: self.idempotency.len() as u64,
        }
    }

    fn idempotent<T: Clone>(
        &mut self,
        now: UnixTime,
        key: &str,
        fp: [u8; 32],
        wrap: fn(Result<T, Error>) -> Stored,
        unwrap: fn(&Stored) -> Option<&Result<T, Error>>,
        run: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some((seen, stored)) = self.idempotency.get(key) {
            if *seen != fp {
                return Err(Error::IdempotencyKeyReused);
            }
            return unwrap(stored)
                .cloned()
                .unwrap_or(Err(Error::IdempotencyKeyReused));
        }
        self.purge(now);
        let out = run(self);
        self.idempotency
            .insert(key.to_owned(), (fp, wrap(out.clone())));
        self.expiries.push_back((
            now.saturating_add(self.config.retention),
            Expiring::Idempotency(key.to_owned()),
        ));
        out
    }

    /// Issuer metadata (OID4VCI §12.2).
    pub fn metadata(&self) -> IssuerMetadata {
        let base = &self.config.base_url;
        let mut proofs = BTreeMap::new();
        proofs.insert(
            "jwt".to_owned(),
            ProofTypeMetadata {
                proof_signing_alg_values_supported: vec!["ES256".into()],
            },
        );
        let mut configs = BTreeMap::new();
        configs.insert(
            MRRC_CONFIGURATION_ID.to_owned(),
            CredentialConfiguration {
                format: "mso_mdoc".into(),
                doctype: mdoc::DOC_TYPE.into(),
                cryptographic_binding_methods_supported: vec!["cose_key".into()],
                credential_signing_alg_values_supported: vec![-7],
                proof_types_supported: proofs,
            },
        );
        IssuerMetadata {
            credential_issuer: base.clone(),
            token_endpoint: format!("{base}/token"),
            nonce_endpoint: format!("{base}/nonce"),
            credential_endpoint: format!("{base}/credential"),
            status_endpoint: format!("{base}/status"),
            credential_configurations_supported: configs,
        }
    }

    /// Nonce endpoint (OID4VCI §7): a fresh single-use nonce for a proof JWT or for the
    /// card's Active Authentication. Expired nonces are dropped here.
    pub fn nonce(&mut self, now: UnixTime) -> Result<NonceResponse, Error> {
        self.log(|| Command::Nonce { now })?;
        self.nonces.retain(|_, n| n.expires_at >= now);
        let c_nonce = self.random_token(16);
        self.nonces.insert(
            c_nonce.clone(),
            NonceState {
                expires_at: now.saturating_add(self.config.nonce_ttl),
                used: false,
            },
        );
        Ok(NonceResponse { c_nonce })
    }

    fn consume_nonce(&mut self, nonce: &str, now: UnixTime) -> Result<(), Error> {
        let n = self.nonces.get_mut(nonce).ok_or(Error::UnknownNonce)?;
        if n.used {
            return Err(Error::NonceUsed);
        }
        if now > n.expires_at {
            return Err(Error::NonceExpired);
        }
        n.used = true;
        Ok(())
    }

    fn check_phone(resident: &Resident, phone_id: &str) -> Result<(), Error> {
        let p = resident
            .phones
            .iter()
            .find(|p| p.phone_id == phone_id)
            .ok_or(Error::PhoneNotRegistered)?;
        if !p.in_own_name {
            return Err(Error::PhoneNotInOwnName);
        }
        Ok(())
    }

    fn check_policy(
        &self,
        resident: &Resident,
        route: Route,
        channel: &Channel,
        now: UnixTime,
    ) -> Result<(), Error> {
        match self
            .policy
            .check(&resident.applicant(), route, channel, now)
        {
            Decision::Allowed { .. } => Ok(()),
            Decision::Refused(r) => Err(Error::Refused(r)),
        }
    }

    /// Community-center desk, QR route: the clerk checks the plastic card in person, the
    /// policy is applied for this desk, and a one-time offer is made.
    pub fn desk_offer(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        desk_district: &str,
        check: &InPersonCheck,
        now: UnixTime,
    ) -> Result<DeskOffer, Error> {
        self.log(|| Command::DeskOffer {
            key: idempotency_key.to_owned(),
            resident,
            desk_district: desk_district.to_owned(),
            check: check.clone(),
            now,
        })?;
        let fp = fingerprint("desk_offer", &(resident, desk_district, check));
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::Offer,
            |s| match s {
                Stored::Offer(r) => Some(r),
                _ => None,
            },
            |me| me.desk_offer_inner(resident, desk_district, check, now),
        )
    }

    fn desk_offer_inner(
        &mut self,
        resident: ResidentId,
        desk_district: &str,
        check: &InPersonCheck,
        now: UnixTime,
    ) -> Result<DeskOffer, Error> {
        let r = self.registry.get(resident)?;
        if check.presented_rrn != r.rrn {
            return Err(Error::InPersonCheckFailed(
                "card does not belong to the resident",
            ));
        }
        if !check.face_matches {
            return Err(Error::InPersonCheckFailed(
                "photo does not match the person",
            ));
        }
        let channel = Channel::Desk {
            district: desk_district.to_owned(),
        };
        self.check_policy(r, Route::Qr, &channel, now)?;
        let code = self.random_token(32);
        let digits = usize::from(self.config.tx_code_len.clamp(4, 12));
        let tx_code: String = (0..digits)
            .map(|_| char::from(b'0' + (self.rng.next_u32() % 10) as u8))
            .collect();
        let expires_at = now.saturating_add(self.config.offer_ttl);
        self.expiries.push_back((
            expires_at.saturating_add(self.config.retention),
            Expiring::Offer(code.clone()),
        ));
        self.offers.insert(
            code.clone(),
            Offer {
                resident,
                tx_code: tx_code.clone(),
                expires_at,
                attempts: 0,
                used: false,
                burned: false,
            },
        );
        let offer = CredentialOffer {
            credential_issuer: self.config.base_url.clone(),
            credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
            grants: OfferGrants {
                pre_authorized_code: PreAuthorizedGrant {
                    pre_authorized_code: code,
                    tx_code: Some(TxCodeSpec {
                        input_mode: "numeric".into(),
                        length: digits as u8,
                        description: "Told to you by the clerk".into(),
                    }),
                },
            },
        };
        let id = offer_ref(&offer.grants.pre_authorized_code.pre_authorized_code);
        self.offer_refs.insert(
            id.clone(),
            offer.grants.pre_authorized_code.pre_authorized_code.clone(),
        );
        Ok(DeskOffer {
            uri: offer.to_uri(),
            reference_uri: CredentialOffer::reference_uri(&self.offer_url(&id)),
            offer,
            tx_code,
            expires_at,
        })
    }

    /// Where an offer by reference is fetched from: `{base_url}/credential-offer/{id}`.
    fn offer_url(&self, id: &str) -> String {
        format!("{}/credential-offer/{id}", self.config.base_url)
    }

    /// `GET /credential-offer/{id}` (OID4VCI §4.1.3): the desk's offer by reference, while
    /// it can still be redeemed. `url` is the whole `credential_offer_uri`.
    pub fn offer_by_reference(&self, url: &str, now: UnixTime) -> Result<CredentialOffer, Error> {
        let id = url
            .strip_prefix(&self.offer_url(""))
            .ok_or(Error::UnknownOffer)?;
        let code = self.offer_refs.get(id).ok_or(Error::UnknownOffer)?;
        let o = self.offers.get(code).ok_or(Error::UnknownOffer)?;
        if o.used {
            return Err(Error::OfferUsed);
        }
        if o.burned {
            return Err(Error::OfferBurned);
        }
        if now > o.expires_at {
            return Err(Error::OfferExpired);
        }
        Ok(CredentialOffer {
            credential_issuer: self.config.base_url.clone(),
            credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
            grants: OfferGrants {
                pre_authorized_code: PreAuthorizedGrant {
                    pre_authorized_code: code.clone(),
                    tx_code: Some(TxCodeSpec {
                        input_mode: "numeric".into(),
                        length: o.tx_code.len() as u8,
                        description: "Told to you by the clerk".into(),
                    }),
                },
            },
        })
    }

    /// Token endpoint (OID4VCI §6) for both grants.
    pub fn token(
        &mut self,
        idempotency_key: &str,
        req: &TokenRequest,
        now: UnixTime,
    ) -> Result<TokenResponse, Error> {
        self.log(|| Command::Token {
            key: idempotency_key.to_owned(),
            req: req.clone(),
            now,
        })?;
        let fp = fingerprint("token", req);
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::Token,
            |s| match s {
                Stored::Token(r) => Some(r),
                _ => None,
            },
            |me| me.token_inner(req, now),
        )
    }

    fn token_inner(&mut self, req: &TokenRequest, now: UnixTime) -> Result<TokenResponse, Error> {
        let (resident, phone_id) = match req {
            TokenRequest::PreAuthorized {
                pre_authorized_code,
                tx_code,
                phone_id,
            } => {
                let max = self.config.tx_code_max_attempts;
                let offer = self
                    .offers
                    .get_mut(pre_authorized_code)
                    .ok_or(Error::UnknownOffer)?;
                if offer.burned {
                    return Err(Error::OfferBurned);
                }
                if offer.used {
                    return Err(Error::OfferUsed);
                }
                if now > offer.expires_at {
                    return Err(Error::OfferExpired);
                }
                let Some(tx) = tx_code else {
                    return Err(Error::TxCodeRequired);
                };
                if *tx != offer.tx_code {
                    offer.attempts = offer.attempts.saturating_add(1);
                    if offer.attempts >= max {
                        offer.burned = true;
                        return Err(Error::OfferBurned);
                    }
                    return Err(Error::WrongTxCode {
                        attempts_left: max - offer.attempts,
                    });
                }
                let resident = offer.resident;
                let r = self.registry.get(resident)?;
                Self::check_phone(r, phone_id)?;
                if r.card.reported_lost() {
                    return Err(Error::Refused(crate::policy::Refusal::CardReportedLost));
                }
                if let Some(o) = self.offers.get_mut(pre_authorized_code) {
                    o.used = true;
                }
                (resident, phone_id.clone())
            }
            TokenRequest::CardEvidence {
                dg1,
                dg15,
                sod,
                nonce,
                aa_signature,
                phone_id,
            } => {
                let dg1 = oid4vci::from_b64url(dg1, "dg1")?;
                let dg15 = oid4vci::from_b64url(dg15, "dg15")?;
                let sod = oid4vci::from_b64url(sod, "sod")?;
                let sig = oid4vci::from_b64url(aa_signature, "aa_signature")?;
                // The nonce is spent whatever happens next: evidence is never checked
                // twice against one nonce.
                self.consume_nonce(nonce, now)?;
                let now_u = u64::try_from(now).unwrap_or(0);
                // ICAO 9303-11 §5.1 Passive Authentication: the data is the issuer's.
                sod::passive_authentication(
                    &sod,
                    &[(1, &dg1), (15, &dg15)],
                    &self.pki.country_roots(),
                    now_u,
                )?;
                // §6.1 Active Authentication: the chip holds DG15's key (not a clone).
                aa::verify(&dg15, &oid4vci::aa_challenge(nonce), &sig)?;
                let holder = HolderData::decode(&dg1)?;
                let rrn: Rrn = holder
                    .rrn
                    .parse()
                    .map_err(|_| Error::InvalidRrn("DG1 RRN"))?;
                let r = self.registry.by_rrn(&rrn).ok_or(Error::UnknownResident)?;
                match &r.card {
                    CardState::Ic { card_number, .. } if *card_number == holder.card_number => {}
                    _ => return Err(Error::CardNotCurrent),
                }
                self.check_policy(r, Route::IcTap, &Channel::App, now)?;
                Self::check_phone(r, phone_id)?;
                (r.id, phone_id.clone())
            }
        };
        let access_token = self.random_token(32);
        self.expiries.push_back((
            now.saturating_add(self.config.token_ttl + self.config.retention),
            Expiring::Token(access_token.clone()),
        ));
        self.tokens.insert(
            access_token.clone(),
            AccessGrant {
                resident,
                phone_id,
                expires_at: now.saturating_add(self.config.token_ttl),
                used: false,
            },
        );
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: u64::try_from(self.config.token_ttl).unwrap_or(0),
        })
    }

    /// Credential endpoint (OID4VCI §8): checks the access token and the proof of
    /// possession over a fresh nonce, revokes the holder's previous mobile ID and issues the
    /// mdoc bound to the proof's device key.
    pub fn credential(
        &mut self,
        idempotency_key: &str,
        access_token: &str,
        req: &CredentialRequest,
        now: UnixTime,
    ) -> Result<CredentialResponse, Error> {
        self.log(|| Command::Credential {
            key: idempotency_key.to_owned(),
            access_token: access_token.to_owned(),
            req: req.clone(),
            now,
        })?;
        let fp = fingerprint("credential", &(access_token, req));
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::Credential,
            |s| match s {
                Stored::Credential(r) => Some(r),
                _ => None,
            },
            |me| me.credential_inner(access_token, req, now),
        )
    }

    fn credential_inner(
        &mut self,
        access_token: &str,
        req: &CredentialRequest,
        now: UnixTime,
    ) -> Result<CredentialResponse, Error> {
        let grant = self
            .tokens
            .get(access_token)
            .ok_or(Error::UnknownToken)?
            .clone();
        if grant.used {
            return Err(Error::TokenUsed);
        }
        if now > grant.expires_at {
            return Err(Error::TokenExpired);
        }
        if req.credential_configuration_id != MRRC_CONFIGURATION_ID {
            return Err(Error::UnknownConfiguration(
                req.credential_configuration_id.clone(),
            ));
        }
        let [jwt] = req.proofs.jwt.as_slice() else {
            return Err(Error::ProofRequired);
        };
        let nonce = oid4vci::proof_jwt_nonce(jwt)?;
        {
            let n = self.nonces.get(&nonce).ok_or(Error::UnknownNonce)?;
            if n.used {
                return Err(Error::NonceUsed);
            }
            if now > n.expires_at {
                return Err(Error::NonceExpired);
            }
        }
        let device_key = oid4vci::verify_proof_jwt(
            jwt,
            &self.config.base_url,
            &nonce,
            now,
            self.config.proof_max_age,
        )?;
        let r = self.registry.get(grant.resident)?.clone();
        if r.card.reported_lost() {
            return Err(Error::Refused(crate::policy::Refusal::CardReportedLost));
        }
        let today = local_date(now, self.policy.utc_offset)
            .ok_or(Error::Refused(crate::policy::Refusal::ClockOutOfRange))?;
        let years = i64::from(self.policy.mobile_id_validity_years);
        let valid_until = now.saturating_add(years * YEAR_SECONDS);
        let expiry = local_date(valid_until, self.policy.utc_offset).unwrap_or(today);
        let document_number = self.credentials.next_number();
        let age = age_on(r.rrn.birth_date(), today);
        let claims = ResidentClaims {
            family_name: r.family_name.clone(),
            given_name: r.given_name.clone(),
            birth_date: r.rrn.birth_date(),
            rrn_masked: r.rrn.masked(),
            legal_address_region: r.region().to_owned(),
            portrait: PORTRAIT.to_vec(),
            age_over_17: age >= 17,
            age_over_19: age >= 19,
            issue_date: today,
            expiry_date: expiry,
            document_number: document_number.clone(),
        };
        let params = IssueParams {
            doc_type: mdoc::DOC_TYPE,
            device_key: &device_key,
            validity: Validity {
                signed: now,
                valid_from: now,
                valid_until,
            },
        };
        let doc = mdoc::issue(
            &mut self.rng,
            &self.pki.mdoc_signer,
            &params,
            &claims.to_elements(),
        )?;
        let cbor = doc.to_cbor()?;
        // Everything that can fail has; now change state, all together.
        if let Some(n) = self.nonces.get_mut(&nonce) {
            n.used = true;
        }
        if let Some(t) = self.tokens.get_mut(access_token) {
            t.used = true;
        }
        if let Some(old) = self.active.insert(r.id, self.credentials.len()) {
            if let Some(rec) = self.credentials.records.get_mut(old) {
                if rec.revoked.is_none() {
                    rec.revoked = Some((RevocationReason::Superseded, now));
                }
            }
        }
        let pushed = self.credentials.push(CredentialRecord {
            resident: r.id,
            phone_id: grant.phone_id,
            issued_at: now,
            valid_until,
            revoked: None,
        });
        debug_assert_eq!(pushed, document_number);
        Ok(CredentialResponse {
            credentials: vec![IssuedCredential {
                credential: oid4vci::b64url(&cbor),
            }],
            document_number,
        })
    }

    /// Report the physical card lost: the card is marked lost and the holder's mobile ID is
    /// revoked at once.
    pub fn report_card_lost(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.log(|| Command::CardLost {
            key: idempotency_key.to_owned(),
            resident,
            now,
        })?;
        let fp = fingerprint("report_card_lost", &resident);
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::Ack,
            |s| match s {
                Stored::Ack(r) => Some(r),
                _ => None,
            },
            |me| {
                let r = me.registry.get_mut(resident)?;
                match &mut r.card {
                    CardState::None => {
                        return Err(Error::Refused(crate::policy::Refusal::NoResidentCard))
                    }
                    CardState::Plastic { reported_lost, .. }
                    | CardState::Ic { reported_lost, .. } => *reported_lost = true,
                }
                if let Some(&i) = me.active.get(&resident) {
                    if let Some(rec) = me.credentials.records.get_mut(i) {
                        if rec.revoked.is_none() {
                            rec.revoked = Some((RevocationReason::CardReportedLost, now));
                        }
                    }
                }
                Ok(())
            },
        )
    }

    /// Report the phone holding `document_number` lost: only that mobile copy is revoked.
    pub fn report_phone_lost(
        &mut self,
        idempotency_key: &str,
        document_number: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.log(|| Command::PhoneLost {
            key: idempotency_key.to_owned(),
            document_number: document_number.to_owned(),
            now,
        })?;
        let fp = fingerprint("report_phone_lost", &document_number);
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::Ack,
            |s| match s {
                Stored::Ack(r) => Some(r),
                _ => None,
            },
            |me| {
                let rec = me
                    .credentials
                    .get_mut(document_number)
                    .ok_or(Error::UnknownDocument)?;
                if rec.revoked.is_none() {
                    rec.revoked = Some((RevocationReason::PhoneReportedLost, now));
                }
                Ok(())
            },
        )
    }

    /// Status of one credential at `now`.
    pub fn status(&self, document_number: &str, now: UnixTime) -> Result<CredentialStatus, Error> {
        let rec = self
            .credentials
            .get(document_number)
            .ok_or(Error::UnknownDocument)?;
        Ok(Self::status_of(rec, now))
    }

    fn status_of(rec: &CredentialRecord, now: UnixTime) -> CredentialStatus {
        match rec.revoked {
            Some((reason, at)) => CredentialStatus::Revoked { reason, at },
            None if now > rec.valid_until => CredentialStatus::Expired {
                valid_until: rec.valid_until,
            },
            None => CredentialStatus::Valid {
                valid_until: rec.valid_until,
            },
        }
    }

    /// The whole status list, in document-number order.
    pub fn status_list(&self, now: UnixTime) -> Vec<StatusEntry> {
        self.credentials
            .iter()
            .map(|(d, rec)| StatusEntry {
                document_number: d,
                status: Self::status_of(rec, now),
            })
            .collect()
    }

    /// The data an IC card for `resident` carries, signed by the issuer's Document Signer
    /// (card production; used by the desk's IC card application).
    pub fn personalise_card(
        &self,
        resident: &Resident,
        card_number: &str,
        aa_key_seed: &[u8; 32],
        issued: Date,
    ) -> Result<CardPersonalisation, Error> {
        let aa_key =
            protocol::crypto::generate_signing_key(&mut ChaCha20Rng::from_seed(*aa_key_seed));
        let holder = HolderData {
            name: format!("{}{}", resident.family_name, resident.given_name),
            rrn: resident.rrn.expose().replace('-', ""),
            birth_date: lds_date(resident.rrn.birth_date())
                .ok_or(Error::InvalidRrn("birth date out of range"))?,
            region_code: resident.region().to_owned(),
            issue_date: lds_date(issued).ok_or(Error::InvalidRrn("issue date out of range"))?,
            card_number: card_number.to_owned(),
        };
        let dg1 = holder.encode()?;
        let dg2 = lds::Dg2 {
            portrait: PORTRAIT.to_vec(),
        }
        .encode();
        let dg14 = lds::SecurityInfos::dg14().encode_dg14()?;
        let dg15 = lds::encode_dg15(aa_key.verifying_key())?;
        let sod = sod::create_sod(
            &[(1, &dg1), (2, &dg2), (14, &dg14), (15, &dg15)],
            &self.pki.document_signer,
        )?;
        Ok(CardPersonalisation {
            dg1,
            dg2,
            dg14,
            dg15,
            sod,
            aa_private_key: aa_key.to_bytes().into(),
        })
    }

    /// Community-center desk, IC card application: a new IC card for the resident (10,000
    /// won by default, free for a first card). The old card, if any, stops being current,
    /// and so does any mobile ID issued from it.
    pub fn desk_ic_card(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        now: UnixTime,
    ) -> Result<IcCardReceipt, Error> {
        self.log(|| Command::IcCard {
            key: idempotency_key.to_owned(),
            resident,
            now,
        })?;
        let fp = fingerprint("desk_ic_card", &resident);
        self.idempotent(
            now,
            idempotency_key,
            fp,
            Stored::IcCard,
            |s| match s {
                Stored::IcCard(r) => Some(r),
                _ => None,
            },
            |me| {
                let today = local_date(now, me.policy.utc_offset)
                    .ok_or(Error::Refused(crate::policy::Refusal::ClockOutOfRange))?;
                let r = me.registry.get(resident)?.clone();
                let had_card = r.card != CardState::None;
                let fee_won = me.policy.ic_card_fee(had_card);
                let card_number = crate::registry::card_number(&mut me.rng);
                let mut seed = [0u8; 32];
                me.rng.fill_bytes(&mut seed);
                let card = me.personalise_card(&r, &card_number, &seed, today)?;
                let rm = me.registry.get_mut(resident)?;
                rm.card = CardState::Ic {
                    card_number: card_number.clone(),
                    issued: today,
                    chip: crate::registry::ChipKeys { aa_key_seed: seed },
                    reported_lost: false,
                };
                Ok(IcCardReceipt {
                    fee_won,
                    card_number,
                    card,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests;
