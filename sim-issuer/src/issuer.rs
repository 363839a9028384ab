//! The issuance service core: OpenID4VCI-shaped endpoints, the community-center desk and
//! the revocation rules, as plain method calls on [`Issuer`]. Every credential has an entry
//! in a Token Status List, which [`Issuer::status_list_token`] serves signed (see the
//! `status_lists` module's constants for its sizes and lifetimes).
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
    /// The Token Status Lists, one entry per credential (`status_lists`).
    status_lists: status_lists::StatusLists,
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
            status_lists: status_lists::StatusLists::default(),
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
}

mod cards;
mod credential;
mod desk;
mod grants;
mod idempotency;
mod revocation;
mod status_lists;

pub use status_lists::{
    STATUS_LIST_BITS, STATUS_LIST_CAPACITY, STATUS_LIST_LIFETIME, STATUS_LIST_PATH,
    STATUS_LIST_RESIGN_AFTER, STATUS_LIST_TTL,
};

#[cfg(test)]
mod tests;
