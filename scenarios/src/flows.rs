//! End-to-end issuance flows, run for real: `sim-phone`'s app on a virtual phone, a
//! personalised [`sim_card::Card`] on the phone's NFC reader, and the issuer core behind a
//! capacity [`Gate`], all through the pair harness ([`crate::harness`]). Every APDU, signature
//! and key agreement is computed.
//!
//! - [`ic_tap`]: the IC route in the app. The card is personalised with the issuer's
//!   Document Signer; the app fetches a nonce, the holder types the card password and taps,
//!   and the app runs PACE, reads the card under secure messaging, checks it (Passive and
//!   Active Authentication against the country's CSCA) and only then sends the card-evidence
//!   grant; then the proof of possession with a fresh key in the phone's keystore, the mdoc,
//!   and its verification against the issuer's IACA root before the wallet stores it.
//! - [`desk_qr`]: the QR route at a community center. The clerk's in-person check and desk
//!   offer; the desk renders the offer as a QR image, the phone's camera reads it, the app
//!   checks the offer, the holder types the transaction code, then the same tail.
//!
//! The issuer sits behind a [`Gate`]: a semaphore of `concurrent` permits and a service time,
//! in virtual time. A request that cannot get a permit within `timeout_ms` is retried after a
//! backoff, so overload shows up as queueing, timeouts and retries.
//!
//! The card-evidence grant of the issuer is online-only (`Channel::App`), so before online
//! applications open an IC holder at a desk is issued by the desk's QR offer like anyone
//! else there; the report counts the route actually used.

use std::cell::RefCell;
use std::time::Duration;

use protocol::issuance::{IssuerReply, IssuerRequest};
use protocol::lds::HolderData;
use rand::Rng as _;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sim_card::{Card, CardFaults, Personalisation};
use sim_issuer::issuer::{InPersonCheck, Issuer};
use sim_issuer::registry::ResidentId;
use sim_issuer::registry::{CardState, ChipKeys, PhoneRegistration, Resident as IssuerResident};
use sim_phone::{IssueConfig, IssueFlow, UiEvent};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use x509_cert::Certificate;

use crate::harness::{
    self, Answer, Deliver, Filter, FlowEnd, Holder, IssuerTransport, Pair, Phone,
};
use crate::population::{CardType, Resident};
use crate::rng::{rng_for, Stream};
use crate::vtime::UnixTime;
use crate::Error;

/// The issuer's capacity as the simulation models it, per shard. A shard simulates a sample
/// of the country, so its issuer is scaled down with it: the default (2 requests at a time,
/// 20 s each, 0.1 requests/s) is what a 150,000-resident sample in 4 shards needs for the
/// phase-opening surges to queue, time out and retry, as a national launch day does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerCapacity {
    /// Requests served at once.
    pub concurrent: u32,
    /// Service time of one request, milliseconds of virtual time.
    pub service_ms: u64,
    /// How long a request waits for a free slot before the phone gives up, milliseconds.
    pub timeout_ms: u64,
    /// Retries after a timeout before the flow fails.
    pub retries: u32,
    /// Backoff before the first retry, milliseconds; doubles with each retry.
    pub backoff_ms: u64,
}

impl Default for IssuerCapacity {
    fn default() -> Self {
        IssuerCapacity {
            concurrent: 2,
            service_ms: 20_000,
            timeout_ms: 20_000,
            retries: 3,
            backoff_ms: 5_000,
        }
    }
}

impl IssuerCapacity {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.concurrent == 0 {
            return Err(Error::config("issuer.concurrent", "must be at least 1"));
        }
        if self.timeout_ms == 0 {
            return Err(Error::config("issuer.timeout_ms", "must be at least 1"));
        }
        Ok(())
    }
}

/// Knobs of the flows themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowConfig {
    /// Share of IC taps where the holder first types a wrong card password.
    pub wrong_password_share: f64,
    /// Virtual seconds a tap takes the holder (holding the card to the phone).
    pub tap_seconds: u64,
    /// Share of new mobile ID holders who lose their physical card within
    /// `card_loss_window_days` of issuance, report it (which revokes the mobile ID) and get a
    /// replacement IC card and a new mobile ID at their community center.
    pub card_loss_share: f64,
    /// The window of card losses, days after issuance.
    pub card_loss_window_days: u32,
    /// Share of new holders (who did not lose their card) who lose their phone within
    /// `phone_window_days`: they report it (the issuer revokes that copy), get a new handset
    /// with the same number and get a new mobile ID on it.
    #[serde(default)]
    pub phone_loss_share: f64,
    /// Share of new holders who change handsets (same number) within `phone_window_days`
    /// and get the mobile ID again on the new one; the issuer supersedes the old copy.
    #[serde(default)]
    pub phone_change_share: f64,
    /// The window of phone losses and changes, days after issuance.
    #[serde(default = "default_phone_window")]
    pub phone_window_days: u32,
    /// Share of IC cards whose DG1 was altered after the card was signed (a forged or
    /// tampered card): the phone's Passive Authentication must refuse it before the card's
    /// data reaches the issuer.
    #[serde(default)]
    pub tampered_card_share: f64,
}

fn default_phone_window() -> u32 {
    180
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            wrong_password_share: 0.03,
            tap_seconds: 8,
            card_loss_share: 0.02,
            card_loss_window_days: 120,
            phone_loss_share: 0.01,
            phone_change_share: 0.04,
            phone_window_days: default_phone_window(),
            tampered_card_share: 0.001,
        }
    }
}

impl FlowConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.card_loss_share) || self.card_loss_window_days == 0 {
            return Err(Error::config(
                "flows.card_loss_share",
                "must be within 0..=1, with a window of at least one day",
            ));
        }
        let phone = self.phone_loss_share + self.phone_change_share;
        if !(0.0..=1.0).contains(&self.phone_loss_share)
            || !(0.0..=1.0).contains(&self.phone_change_share)
            || phone > 1.0
            || self.phone_window_days == 0
        {
            return Err(Error::config(
                "flows.phone_loss_share",
                "phone loss and change shares must be within 0..=1 together, with a window of at least one day",
            ));
        }
        if !(0.0..=1.0).contains(&self.tampered_card_share) {
            return Err(Error::config(
                "flows.tampered_card_share",
                "must be within 0..=1",
            ));
        }
        if !(0.0..=1.0).contains(&self.wrong_password_share) {
            return Err(Error::config(
                "flows.wrong_password_share",
                "must be within 0..=1",
            ));
        }
        Ok(())
    }
}

/// The issuer behind its capacity limit, on a paused tokio clock whose origin is `origin`.
pub struct Gate {
    issuer: RefCell<Issuer>,
    permits: Semaphore,
    capacity: IssuerCapacity,
    origin: (Instant, UnixTime),
    latencies: RefCell<Vec<(UnixTime, u64)>>,
    /// What a phone is configured with for this issuer: its identifier, the country's CSCA
    /// roots and the IACA roots.
    trust: (String, Vec<Certificate>, Vec<Certificate>),
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Why a call through the gate did not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl Gate {
    /// The issuer behind `capacity`; virtual `origin_unix` is the tokio instant now. Call
    /// inside a runtime.
    pub fn new(issuer: Issuer, capacity: IssuerCapacity, origin_unix: UnixTime) -> Gate {
        let trust = (
            issuer.config().base_url.clone(),
            issuer.pki().country_roots(),
            issuer.pki().mdoc_roots(),
        );
        Gate {
            trust,
            issuer: RefCell::new(issuer),
            permits: Semaphore::new(capacity.concurrent as usize),
            capacity,
            origin: (Instant::now(), origin_unix),
            latencies: RefCell::new(Vec::new()),
        }
    }

    /// Virtual Unix time now.
    pub fn now(&self) -> UnixTime {
        let d = Instant::now().saturating_duration_since(self.origin.0);
        self.origin.1 + d.as_secs() as i64
    }

    /// The tokio instant of virtual Unix time `t`.
    pub fn instant_of(&self, t: UnixTime) -> Instant {
        let secs = u64::try_from(t - self.origin.1).unwrap_or(0);
        self.origin.0 + Duration::from_secs(secs)
    }

    /// The issuer, for set-up outside its endpoints (registering residents, reading PKI).
    pub fn issuer(&self) -> std::cell::RefMut<'_, Issuer> {
        self.issuer.borrow_mut()
    }

    /// Latencies (virtual µs, by request time) measured since the last drain.
    pub fn drain_latencies(&self) -> Vec<(UnixTime, u64)> {
        std::mem::take(&mut *self.latencies.borrow_mut())
    }

    /// Call the issuer: wait for a slot (retrying after timeouts), hold it for the service
    /// time, then run `f` at the virtual time it completes.
    pub async fn call<T>(
        &self,
        f: impl FnOnce(&mut Issuer, UnixTime) -> T,
    ) -> Result<T, Overloaded> {
        let cap = &self.capacity;
        let mut backoff = cap.backoff_ms;
        for attempt in 0..=cap.retries {
            let asked = Instant::now();
            let asked_unix = self.now();
            let slot = tokio::time::timeout(
                Duration::from_millis(cap.timeout_ms),
                self.permits.acquire(),
            )
            .await;
            if let Ok(Ok(permit)) = slot {
                tokio::time::sleep(Duration::from_millis(cap.service_ms)).await;
                let out = f(&mut self.issuer.borrow_mut(), self.now());
                drop(permit);
                let micros = asked.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                self.latencies.borrow_mut().push((asked_unix, micros));
                return Ok(out);
            }
            if attempt < cap.retries {
                tokio::time::sleep(Duration::from_millis(backoff)).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        Err(Overloaded)
    }
}

/// The issuer as the phone reaches it: every request waits for a slot like any other.
impl IssuerTransport for Gate {
    async fn call(&self, idempotency_key: &str, request: &IssuerRequest) -> Answer {
        match Gate::call(self, |i, now| i.serve(idempotency_key, request, now)).await {
            Ok(Ok(reply)) => Answer {
                reply,
                refusal: None,
            },
            Ok(Err(e)) => Answer {
                reply: sim_issuer::phone_api::error_reply(&e),
                refusal: refusal_key(&e),
            },
            Err(Overloaded) => Answer {
                reply: IssuerReply::Unreachable(format!(
                    "no answer to {} after retries",
                    request.endpoint()
                )),
                refusal: None,
            },
        }
    }

    fn now(&self) -> UnixTime {
        Gate::now(self)
    }
}

impl Gate {
    /// The app's configuration on `phone` for this issuer.
    pub fn phone_config(&self, phone: &Phone) -> IssueConfig {
        let (issuer, csca, iaca) = &self.trust;
        IssueConfig {
            issuer: issuer.clone(),
            phone_id: phone.id.clone(),
            csca_roots: csca.clone(),
            iaca_roots: iaca.clone(),
            app_pin: APP_PIN.into(),
        }
    }
}

/// The app PIN every simulated holder chose (it gates the device key in the keystore).
pub const APP_PIN: &str = "246810";

/// How an issuance attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A mobile ID was issued and verified.
    Issued {
        /// The route used.
        route: crate::arrival::Route,
        /// The document number.
        document_number: String,
    },
    /// The issuer (or the card) refused, for the reason given: `snake_case` key.
    Refused(String),
    /// Something broke: `snake_case` kind and a description.
    Failed(String, String),
}

/// A refusal key from the issuer's error (`not_yet_open`, `under_age`, …).
fn refusal_key(e: &sim_issuer::Error) -> Option<String> {
    match e {
        sim_issuer::Error::Refused(r) => {
            let v = serde_json::to_value(r).ok()?;
            v.get("reason")?.as_str().map(str::to_owned)
        }
        _ => None,
    }
}

fn issuer_outcome(step: &str, e: sim_issuer::Error) -> Outcome {
    match refusal_key(&e) {
        Some(k) => Outcome::Refused(k),
        None => Outcome::Failed(format!("issuer_{step}"), e.to_string()),
    }
}

/// The failure kind of a flow whose request got no issuer slot after every retry.
pub const OVERLOADED: &str = "issuer_timeout";

fn overloaded(step: &str) -> Outcome {
    Outcome::Failed(
        OVERLOADED.into(),
        format!("no answer to {step} after retries"),
    )
}

/// The issuer's registry record for a simulated resident (the registry's copy of the
/// population; in reality it already holds everyone). Card numbers and chip seeds are drawn
/// from the resident's own stream, so they are the same in every run.
pub fn registry_record(seed: u64, r: &Resident) -> Result<IssuerResident, Error> {
    let rrn = r.rrn;
    let mut rng = rng_for(seed, r.index, Stream::Other(FLOW_STREAM_CARD));
    let mut chars = r.name.chars();
    let family: String = chars.next().map(String::from).unwrap_or_default();
    let given: String = chars.collect();
    let card_issued = r.birthday_at(17);
    let card = match r.card {
        CardType::None => CardState::None,
        CardType::Plastic => CardState::Plastic {
            issued: card_issued,
            reported_lost: false,
        },
        CardType::Ic => {
            let mut seed32 = [0u8; 32];
            rng.fill_bytes(&mut seed32);
            CardState::Ic {
                card_number: format!("{:012}", rng.next_u64() % 1_000_000_000_000),
                issued: card_issued,
                chip: ChipKeys {
                    aa_key_seed: seed32,
                },
                reported_lost: false,
            }
        }
    };
    Ok(IssuerResident {
        id: ResidentId(r.index),
        family_name: family,
        given_name: given,
        rrn,
        district: format!("{:05}", r.district().code),
        card,
        phones: vec![PhoneRegistration {
            phone_id: phone_id(r),
            in_own_name: true,
        }],
    })
}

const FLOW_STREAM_CARD: u32 = 1;
const FLOW_STREAM_PHONE: u32 = 2;
const FLOW_STREAM_TAMPER: u32 = 3;

fn phone_id(r: &Resident) -> String {
    match r.phone {
        Some(p) => format!("010-{:08}", p.subscriber()),
        None => format!("phone-{}", r.index),
    }
}

/// Registers the resident with the issuer unless it already knows them.
pub fn ensure_registered(gate: &Gate, seed: u64, r: &Resident) -> Result<(), Error> {
    let mut issuer = gate.issuer();
    if issuer.registry().get(ResidentId(r.index)).is_ok() {
        return Ok(());
    }
    let rec = registry_record(seed, r)?;
    issuer
        .register(rec)
        .map_err(|e| Error::Issuer(e.to_string()))
}

/// The phone's randomness for attempt `attempt` of resident `r`.
fn phone_rng(seed: u64, r: &Resident, attempt: u32) -> ChaCha20Rng {
    let mut s = rng_for(seed, r.index, Stream::Other(FLOW_STREAM_PHONE));
    let mut out = [0u8; 32];
    s.fill_bytes(&mut out);
    out[0] ^= attempt as u8;
    out[1] ^= (attempt >> 8) as u8;
    ChaCha20Rng::from_seed(out)
}

/// A personalised card for the resident's current IC card in the issuer's registry, signed
/// by the issuer's Document Signer; with `tampered`, DG1 was altered after signing.
fn card_for(gate: &Gate, seed: u64, r: &Resident, tampered: bool) -> Result<Card, Outcome> {
    let issuer = gate.issuer();
    let rec = issuer
        .registry()
        .get(ResidentId(r.index))
        .map_err(|e| Outcome::Failed("setup".into(), e.to_string()))?;
    let CardState::Ic {
        card_number,
        issued,
        ..
    } = &rec.card
    else {
        return Err(Outcome::Refused("ic_card_required".into()));
    };
    let lds_date = |d: time::Date| {
        protocol::lds::Date::new(
            u16::try_from(d.year()).unwrap_or(0),
            d.month() as u8,
            d.day(),
        )
    };
    let (Some(birth), Some(issue)) = (lds_date(rec.rrn.birth_date()), lds_date(*issued)) else {
        return Err(Outcome::Failed("setup".into(), "date out of range".into()));
    };
    let holder = HolderData {
        name: format!("{}{}", rec.family_name, rec.given_name),
        rrn: rec.rrn.expose().replace('-', ""),
        birth_date: birth,
        region_code: rec.region().to_owned(),
        issue_date: issue,
        card_number: card_number.clone(),
    };
    let (can, pin) = secrets(r);
    let card_seed = rng_for(seed, r.index, Stream::Other(FLOW_STREAM_CARD)).next_u64()
        ^ card_number
            .get(..12)
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap_or(0);
    Card::personalise(&Personalisation {
        holder,
        portrait: vec![0xFF, 0xD8, 0xFF, 0xD9],
        can,
        pin,
        document_signer: &issuer.pki().document_signer,
        seed: card_seed,
        faults: CardFaults {
            tamper_dg: tampered.then_some(1),
            ..CardFaults::default()
        },
    })
    .map_err(|e| Outcome::Failed("personalise".into(), e.to_string()))
}

fn secrets(r: &Resident) -> (String, String) {
    match &r.ic {
        Some(s) => (s.can.as_str().to_owned(), s.password.as_str().to_owned()),
        // A swapped card: the holder chose a password at the desk, drawn from the index.
        None => (
            format!("{:06}", r.index % 1_000_000),
            format!("{:04}", (r.index / 7) % 10_000),
        ),
    }
}

/// Whether resident `r`'s card is a tampered one (drawn from its own stream: the same in
/// every run and shard layout).
fn is_tampered(seed: u64, r: &Resident, flows: &FlowConfig) -> bool {
    if flows.tampered_card_share <= 0.0 {
        return false;
    }
    let draw = rng_for(seed, r.index, Stream::Other(FLOW_STREAM_TAMPER)).next_u32();
    (f64::from(draw) / 4_294_967_296.0) < flows.tampered_card_share
}

/// How a flow the harness ran ended, in the report's terms. `refusals` gets one
/// `wrong_card_password` per password the card refused.
pub fn outcome_of(
    end: &FlowEnd,
    route: crate::arrival::Route,
    refusals: &mut Vec<String>,
) -> Outcome {
    for _ in 0..end.wrong_passwords {
        refusals.push("wrong_card_password".into());
    }
    if let Some(m) = &end.issued {
        return Outcome::Issued {
            route,
            document_number: m.document_number.clone(),
        };
    }
    let Some(last) = end.shown.last() else {
        return Outcome::Failed("flow".into(), "the app ended without a word".into());
    };
    let text = last.to_string();
    match last {
        UiEvent::NotOpenYet { .. }
        | UiEvent::IssuerRefused { .. }
        | UiEvent::OfferUnusable { .. } => match &end.refusal {
            Some(k) => Outcome::Refused(k.clone()),
            None => Outcome::Failed("issuer_error".into(), text),
        },
        UiEvent::IssuerUnreachable { detail } => Outcome::Failed(OVERLOADED.into(), detail.clone()),
        UiEvent::IssuerError { detail } => Outcome::Failed("issuer_error".into(), detail.clone()),
        UiEvent::CardNotGenuine { detail } => Outcome::Refused(
            if detail.starts_with("Passive Authentication") {
                "passive_authentication_failed"
            } else if detail.starts_with("Active Authentication") {
                "active_authentication_failed"
            } else {
                "card_not_genuine"
            }
            .into(),
        ),
        UiEvent::PasswordBlocked => Outcome::Refused("card_password_blocked".into()),
        UiEvent::CredentialRejected { detail } => {
            Outcome::Failed("mdoc_verify".into(), detail.clone())
        }
        UiEvent::QrUnreadable | UiEvent::NotAnOffer => Outcome::Failed("qr_offer".into(), text),
        UiEvent::PhoneError { detail } => Outcome::Failed("phone".into(), detail.clone()),
        _ => Outcome::Failed("card".into(), text),
    }
}

/// The phone of resident `r` for attempt `attempt`: its number and its randomness.
pub fn phone_for(seed: u64, r: &Resident, attempt: u32) -> Phone {
    Phone::new(phone_id(r), phone_rng(seed, r, attempt))
}

/// The IC route in the app (see the module docs). `attempt` numbers the resident's
/// attempts, keeping idempotency keys and randomness apart.
pub async fn ic_tap(
    gate: &Gate,
    seed: u64,
    r: &Resident,
    flows: &FlowConfig,
    attempt: u32,
    refusals: &mut Vec<String>,
) -> Outcome {
    ic_tap_altered(gate, seed, r, flows, attempt, refusals, Deliver).await
}

/// [`ic_tap`] with `filter` on every message between the phone, the card and the issuer.
pub async fn ic_tap_altered(
    gate: &Gate,
    seed: u64,
    r: &Resident,
    flows: &FlowConfig,
    attempt: u32,
    refusals: &mut Vec<String>,
    filter: impl Filter,
) -> Outcome {
    let mut phone = phone_for(seed, r, attempt);
    ic_tap_on(&mut phone, gate, seed, r, flows, refusals, filter).await
}

/// [`ic_tap_altered`] on a given phone, which keeps the mobile ID in its wallet afterwards
/// (for presentations).
pub async fn ic_tap_on(
    phone: &mut Phone,
    gate: &Gate,
    seed: u64,
    r: &Resident,
    flows: &FlowConfig,
    refusals: &mut Vec<String>,
    filter: impl Filter,
) -> Outcome {
    let mut card = match card_for(gate, seed, r, is_tampered(seed, r, flows)) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (can, password) = secrets(r);
    let typo = (f64::from(phone.rng.next_u32()) / 4_294_967_296.0) < flows.wrong_password_share;
    let holder = Holder {
        typo: typo.then(|| format!("{:04}", (password.parse::<u32>().unwrap_or(0) + 1) % 10_000)),
        password,
        can,
        tx_code: None,
        tap_seconds: flows.tap_seconds,
    };
    let app = IssueFlow::tap(gate.phone_config(phone));
    let reader = sim_phone::InProcessReader::new(&mut card);
    let end = Pair::run_altered(phone, app, reader, None, holder, gate, filter).await;
    outcome_of(&end, crate::arrival::Route::IcTap, refusals)
}

/// The QR route at the desk, after the clerk has called the holder (see the module docs).
/// With `swap_card`, the clerk first replaces the older card with an IC card (the fee rule is
/// the issuer's).
pub async fn desk_qr(
    gate: &Gate,
    seed: u64,
    r: &Resident,
    attempt: u32,
    swap_card: bool,
) -> Outcome {
    let mut phone = phone_for(seed, r, attempt);
    desk_qr_on(&mut phone, gate, r, attempt, swap_card).await
}

/// [`desk_qr`] on a given phone, which keeps the mobile ID in its wallet afterwards (for
/// presentations).
pub async fn desk_qr_on(
    phone: &mut Phone,
    gate: &Gate,
    r: &Resident,
    attempt: u32,
    swap_card: bool,
) -> Outcome {
    let key = format!("r{}/a{}", r.index, attempt);
    let id = ResidentId(r.index);
    if swap_card {
        match gate
            .call(|i, now| i.desk_ic_card(&format!("{key}/ic_card"), id, now))
            .await
        {
            Ok(Ok(_receipt)) => {}
            Ok(Err(e)) => return issuer_outcome("ic_card", e),
            Err(_) => return overloaded("ic_card"),
        }
    }
    let (rrn, district) = {
        let i = gate.issuer();
        match i.registry().get(id) {
            Ok(rec) => (rec.rrn, rec.district.clone()),
            Err(e) => return Outcome::Failed("setup".into(), e.to_string()),
        }
    };
    let check = InPersonCheck {
        presented_rrn: rrn,
        face_matches: true,
    };
    let offer = match gate
        .call(|i, now| i.desk_offer(&format!("{key}/offer"), id, &district, &check, now))
        .await
    {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return issuer_outcome("desk_offer", e),
        Err(_) => return overloaded("desk_offer"),
    };
    // The desk's screen shows the offer as a QR code; the phone's camera reads it.
    let qr = match sim_issuer::qr::offer_qr_screen(&offer.reference_uri) {
        Ok(img) => img,
        Err(e) => return Outcome::Failed("qr_offer".into(), e.to_string()),
    };
    let holder = Holder {
        tx_code: Some(offer.tx_code),
        ..Holder::default()
    };
    let app = IssueFlow::qr(gate.phone_config(phone));
    let end = Pair::new(
        phone,
        app,
        harness::no_card(),
        Some(&qr),
        holder,
        gate,
        Deliver,
    )
    .run_flow()
    .await;
    outcome_of(&end, crate::arrival::Route::Qr, &mut Vec::new())
}

/// The holder reports the physical card lost: the issuer must revoke the mobile ID
/// `document_number` at once (checked through its status endpoint).
pub async fn report_card_lost(
    gate: &Gate,
    r: &Resident,
    attempt: u32,
    document_number: &str,
) -> Outcome {
    let id = ResidentId(r.index);
    let key = format!("r{}/a{}/card_lost", r.index, attempt);
    match gate.call(|i, now| i.report_card_lost(&key, id, now)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return issuer_outcome("card_lost", e),
        Err(_) => return overloaded("card_lost"),
    }
    expect_revoked(
        gate,
        document_number,
        sim_issuer::issuer::RevocationReason::CardReportedLost,
        "card_reported_lost",
    )
}

/// The holder reports the phone holding `document_number` lost: the issuer must revoke that
/// copy at once (checked through its status endpoint).
pub async fn report_phone_lost(
    gate: &Gate,
    r: &Resident,
    attempt: u32,
    document_number: &str,
) -> Outcome {
    let key = format!("r{}/a{}/phone_lost", r.index, attempt);
    match gate
        .call(|i, now| i.report_phone_lost(&key, document_number, now))
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return issuer_outcome("phone_lost", e),
        Err(_) => return overloaded("phone_lost"),
    }
    expect_revoked(
        gate,
        document_number,
        sim_issuer::issuer::RevocationReason::PhoneReportedLost,
        "phone_reported_lost",
    )
}

/// Checks through the status call that `document_number` is revoked for `reason` (or
/// already superseded by a later issuance): `Refused(marker)` if so, a failure otherwise.
pub fn expect_revoked(
    gate: &Gate,
    document_number: &str,
    reason: sim_issuer::issuer::RevocationReason,
    marker: &str,
) -> Outcome {
    use sim_issuer::issuer::{CredentialStatus, RevocationReason};
    match gate.issuer().status(document_number, gate.now()) {
        Ok(CredentialStatus::Revoked { reason: got, .. })
            if got == reason || got == RevocationReason::Superseded =>
        {
            Outcome::Refused(marker.into())
        }
        other => Outcome::Failed(
            "revocation".into(),
            format!("{document_number} should be revoked ({reason:?}): {other:?}"),
        ),
    }
}
