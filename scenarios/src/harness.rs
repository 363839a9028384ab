//! The pair harness: one phone, its card and its issuer, and every message between them.
//!
//! Shaped after rustls-test (`transfer`, `do_handshake`, `do_handshake_altered`):
//!
//! - [`Pair::transfer`] moves one output of the phone's app across its link (phone→card and
//!   back, or phone→issuer and back) and returns what the app gets in answer;
//! - [`Pair::run_flow`] runs the app until it is done or failed, with the holder's part
//!   played by [`Holder`] (typing the card password, tapping, scanning the desk's QR code
//!   with the camera, typing the transaction code);
//! - a [`Filter`] given to [`Pair::new`] ([`Pair::run_altered`] in one call) sees every
//!   message and may pass, drop, duplicate, delay, corrupt (by editing it) or tear it.
//!
//! The app is `sim-phone`'s [`IssueFlow`] with the phone's own keystore, wallet and camera:
//! nothing here builds an APDU or an issuer request. The issuer is reached through an
//! [`IssuerTransport`]; the capacity-limited in-process issuer ([`crate::flows::Gate`]) is
//! one such transport.

mod present;

use std::fmt::Write as _;
use std::time::Duration;

use image::{DynamicImage, GrayImage};
use protocol::issuance::{IssuerReply, IssuerRequest, UnixTime};
use protocol::SmartCard;
use rand_chacha::ChaCha20Rng;
use sim_phone::{
    Camera, IssueEvent, IssueFlow, IssueOutput, IssueState, Keystore, MobileId, NfcReader,
    TapEvent, TapOutput, TapRead, TapState, UiEvent, Wallet,
};

/// One message on one of the pair's links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// APDU bytes from the phone to the card.
    ToCard(Vec<u8>),
    /// The card's response APDU (data and SW1 SW2).
    FromCard(Vec<u8>),
    /// A call from the phone to the issuer.
    ToIssuer {
        /// The call's idempotency key (the same for every retry).
        idempotency_key: String,
        /// The call.
        request: IssuerRequest,
    },
    /// The issuer's reply.
    FromIssuer(IssuerReply),
    /// A request from the phone to a relying party: the URL and the `{"data": ...}` body.
    ToVerifier {
        /// The full URL.
        url: String,
        /// The body.
        body: Vec<u8>,
    },
    /// The relying party's answer body.
    FromVerifier(Vec<u8>),
}

/// What a [`Filter`] does with a message. A filter corrupts a message by editing it and
/// returning [`Verdict::Deliver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver it (as the filter left it).
    Deliver,
    /// Lose it: a lost card frame reads as the card leaving the field, a lost issuer message
    /// as no answer, which the phone's client retries with the same idempotency key.
    Drop,
    /// Deliver it twice: a command the card processes twice, a request the issuer serves
    /// twice, an answer the phone receives twice.
    Duplicate,
    /// Deliver it after this much virtual time.
    Delay(Duration),
    /// Tear the tap: the card loses power with this message in flight (before a command is
    /// processed, or after, with its answer lost). On an issuer link, the same as `Drop`.
    Tear,
}

/// Sees every message of a flow, in order, and decides its fate.
pub trait Filter {
    /// Decide what happens to `message`; it may be edited in place.
    fn filter(&mut self, message: &mut Message) -> Verdict;
}

pub use present::{
    HttpVerifier, InProcessVerifier, PresentEnd, PresentPair, StatusSource, VerifierAnswer,
    VerifierTransport,
};

/// The filter of an unaltered run: every message is delivered as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deliver;

impl Filter for Deliver {
    fn filter(&mut self, _: &mut Message) -> Verdict {
        Verdict::Deliver
    }
}

impl<F: FnMut(&mut Message) -> Verdict> Filter for F {
    fn filter(&mut self, message: &mut Message) -> Verdict {
        self(message)
    }
}

/// What the issuer side of a transport answered, with the issuer's own reason when it
/// refused (the `snake_case` key the report counts; the phone sees only the wire error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What the phone receives.
    pub reply: IssuerReply,
    /// The issuer's refusal reason, if it refused for one.
    pub refusal: Option<String>,
}

/// How a phone reaches the issuer, in virtual time.
#[allow(async_fn_in_trait)]
pub trait IssuerTransport {
    /// Deliver one request and wait for the answer; [`IssuerReply::Unreachable`] when there
    /// is none after the transport's own retries.
    async fn call(&self, idempotency_key: &str, request: &IssuerRequest) -> Answer;
    /// Virtual Unix time now.
    fn now(&self) -> UnixTime;
}

/// The phone: its app's keys, wallet and camera, and its randomness.
pub struct Phone {
    /// The phone's number, which the issuer knows it by.
    pub id: String,
    /// The app's PIN-gated device keys.
    pub keystore: Keystore,
    /// The mobile ID it holds.
    pub wallet: Wallet,
    /// The camera that reads QR codes.
    pub camera: Camera,
    /// The app's randomness (idempotency keys, PACE, device keys).
    pub rng: ChaCha20Rng,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// A phone with an empty wallet.
    pub fn new(id: String, rng: ChaCha20Rng) -> Phone {
        Phone {
            id,
            keystore: Keystore::new(),
            wallet: Wallet::new(),
            camera: Camera::new(),
            rng,
        }
    }
}

/// The holder's part in a flow.
#[derive(Debug, Clone, Default)]
pub struct Holder {
    /// The card password they type.
    pub password: String,
    /// The card's CAN, typed if the app asks for it.
    pub can: String,
    /// A wrong password typed first (a typo), then the right one.
    pub typo: Option<String>,
    /// The transaction code the clerk gave (QR route).
    pub tx_code: Option<String>,
    /// Virtual seconds a tap takes (holding the card to the phone).
    pub tap_seconds: u64,
}

/// The most taps a holder makes before giving up on a flow.
pub const MAX_TAPS: u32 = 4;

/// How a flow ended.
#[derive(Debug)]
pub struct FlowEnd {
    /// The app's final state.
    pub state: IssueState,
    /// Everything the app showed, in order.
    pub shown: Vec<UiEvent>,
    /// The mobile ID, if issued (also stored in the phone's wallet).
    pub issued: Option<Box<MobileId>>,
    /// The issuer's reason for the last refusal the phone received.
    pub refusal: Option<String>,
    /// Issuer calls the phone made.
    pub issuer_calls: u32,
    /// Taps.
    pub taps: u32,
    /// Wrong card passwords the card refused.
    pub wrong_passwords: u32,
}

/// The phone's app, its reader with the card on it, the desk's QR image, the holder, the
/// issuer transport and the filter: one flow's whole world.
pub struct Pair<'a, R: NfcReader, T: IssuerTransport, F: Filter> {
    phone: &'a mut Phone,
    app: IssueFlow,
    reader: R,
    qr: Option<&'a GrayImage>,
    holder: Holder,
    transport: &'a T,
    filter: F,
    transcript: Option<String>,
    end: FlowEnd,
    tx_code_typed: bool,
}

impl<'a, R: NfcReader, T: IssuerTransport, F: Filter> Pair<'a, R, T, F> {
    /// A flow ready to start: `app` on `phone`, `reader` with the holder's card (for the IC
    /// route), `qr` the desk's QR image (for the QR route).
    pub fn new(
        phone: &'a mut Phone,
        app: IssueFlow,
        reader: R,
        qr: Option<&'a GrayImage>,
        holder: Holder,
        transport: &'a T,
        filter: F,
    ) -> Self {
        Pair {
            phone,
            app,
            reader,
            qr,
            holder,
            transport,
            filter,
            transcript: None,
            end: FlowEnd {
                state: IssueState::Idle,
                shown: Vec::new(),
                issued: None,
                refusal: None,
                issuer_calls: 0,
                taps: 0,
                wrong_passwords: 0,
            },
            tx_code_typed: false,
        }
    }

    /// Keep a readable transcript of every message (secrets and keys redacted).
    pub fn with_transcript(mut self) -> Self {
        self.transcript = Some(String::new());
        self
    }

    /// The transcript so far, if kept.
    pub fn transcript(&self) -> Option<&str> {
        self.transcript.as_deref()
    }

    /// The reader, to inspect the card after the flow.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.transcript.as_mut() {
            let _ = writeln!(t, "{}", line());
        }
    }

    fn feed(&mut self, e: IssueEvent) {
        let now = u64::try_from(self.transport.now()).unwrap_or(0);
        let Phone { keystore, rng, .. } = &mut *self.phone;
        self.app.handle(e, now, rng, keystore);
    }

    /// Move one output of the app across its link, through the filter, and return the
    /// events the app receives in answer (none, one, or two for a duplicated answer).
    pub async fn transfer(&mut self, out: IssueOutput) -> Vec<IssueEvent> {
        match out {
            IssueOutput::Transmit(bytes) => self
                .card_exchange(bytes)
                .await
                .into_iter()
                .map(IssueEvent::Tap)
                .collect(),
            IssueOutput::Disconnect => {
                self.reader.disconnect();
                Vec::new()
            }
            IssueOutput::Call {
                idempotency_key,
                request,
            } => self.issuer_exchange(idempotency_key, request).await,
            IssueOutput::Show(e) => {
                self.note(|| format!("screen: {e}"));
                let answer = self.holder_answers(&e);
                self.end.shown.push(e);
                answer
            }
            IssueOutput::Issued(m) => {
                self.note(|| format!("wallet: stored {}", m.document_number));
                let Phone {
                    wallet, keystore, ..
                } = &mut *self.phone;
                wallet.store((*m).clone(), keystore);
                self.end.issued = Some(m);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// One APDU exchange through the filter: the events for the card part.
    async fn card_exchange(&mut self, bytes: Vec<u8>) -> Vec<TapEvent> {
        let mut msg = Message::ToCard(bytes);
        let verdict = self.filter.filter(&mut msg);
        let Message::ToCard(bytes) = msg else {
            return vec![TapEvent::CardRemoved];
        };
        let name = apdu_name(&bytes);
        let times = match verdict {
            Verdict::Drop | Verdict::Tear => {
                self.reader.disconnect();
                self.note(|| format!("phone→card {name}\n    <lost: the card left the field>"));
                return vec![TapEvent::CardRemoved];
            }
            Verdict::Delay(d) => {
                tokio::time::sleep(d).await;
                1
            }
            Verdict::Duplicate => 2,
            Verdict::Deliver => 1,
        };
        let mut answer = Err(sim_phone::Error::NoCard);
        for _ in 0..times {
            answer = self.reader.transmit(&bytes);
        }
        let Ok(answer) = answer else {
            self.note(|| format!("phone→card {name}\n    <no answer: the card left the field>"));
            return vec![TapEvent::CardRemoved];
        };
        let mut msg = Message::FromCard(answer);
        let verdict = self.filter.filter(&mut msg);
        let Message::FromCard(answer) = msg else {
            return vec![TapEvent::CardRemoved];
        };
        let sw = answer
            .get(answer.len().saturating_sub(2)..)
            .map(hex::encode_upper)
            .unwrap_or_default();
        self.note(|| format!("phone→card {name}\n    card→phone {sw}"));
        match verdict {
            Verdict::Drop | Verdict::Tear => {
                self.reader.disconnect();
                vec![TapEvent::CardRemoved]
            }
            Verdict::Delay(d) => {
                tokio::time::sleep(d).await;
                vec![TapEvent::Response(answer)]
            }
            Verdict::Duplicate => vec![
                TapEvent::Response(answer.clone()),
                TapEvent::Response(answer),
            ],
            Verdict::Deliver => vec![TapEvent::Response(answer)],
        }
    }

    /// One issuer call through the filter. A lost request or answer is retried with the
    /// same idempotency key, as the phone's client does, up to [`MAX_LOST`] times.
    async fn issuer_exchange(
        &mut self,
        idempotency_key: String,
        request: IssuerRequest,
    ) -> Vec<IssueEvent> {
        self.end.issuer_calls += 1;
        let endpoint = request.endpoint();
        for _ in 0..=MAX_LOST {
            let mut msg = Message::ToIssuer {
                idempotency_key: idempotency_key.clone(),
                request: request.clone(),
            };
            let verdict = self.filter.filter(&mut msg);
            let Message::ToIssuer {
                idempotency_key: key,
                request: req,
            } = msg
            else {
                continue;
            };
            let times = match verdict {
                Verdict::Drop | Verdict::Tear => {
                    self.note(|| format!("phone→issuer {endpoint}\n    <lost>"));
                    continue;
                }
                Verdict::Delay(d) => {
                    tokio::time::sleep(d).await;
                    1
                }
                Verdict::Duplicate => 2,
                Verdict::Deliver => 1,
            };
            let mut answer = None;
            for _ in 0..times {
                answer = Some(self.transport.call(&key, &req).await);
            }
            let Some(answer) = answer else { continue };
            if answer.refusal.is_some() {
                self.end.refusal.clone_from(&answer.refusal);
            }
            let mut msg = Message::FromIssuer(answer.reply);
            let verdict = self.filter.filter(&mut msg);
            let Message::FromIssuer(reply) = msg else {
                continue;
            };
            self.note(|| format!("phone→issuer {endpoint}\n    issuer→phone {}", reply.name()));
            match verdict {
                Verdict::Drop | Verdict::Tear => continue,
                Verdict::Delay(d) => {
                    tokio::time::sleep(d).await;
                    return vec![IssueEvent::Issuer(reply)];
                }
                Verdict::Duplicate => {
                    return vec![IssueEvent::Issuer(reply.clone()), IssueEvent::Issuer(reply)]
                }
                Verdict::Deliver => return vec![IssueEvent::Issuer(reply)],
            }
        }
        vec![IssueEvent::Issuer(IssuerReply::Unreachable(format!(
            "no answer to {endpoint}: {} messages lost",
            MAX_LOST + 1
        )))]
    }

    /// What the holder does when the app shows `e`.
    fn holder_answers(&mut self, e: &UiEvent) -> Vec<IssueEvent> {
        match e {
            UiEvent::WrongPassword { .. } => {
                self.end.wrong_passwords += 1;
                vec![IssueEvent::Tap(TapEvent::Password(
                    self.holder.password.clone(),
                ))]
            }
            UiEvent::PasswordCheckInterrupted { .. } => vec![IssueEvent::Tap(TapEvent::Password(
                self.holder.password.clone(),
            ))],
            UiEvent::EnterCan => vec![IssueEvent::Tap(TapEvent::Can(self.holder.can.clone()))],
            UiEvent::ScanQr => {
                let scanned = self.qr.map(|img| {
                    // The camera photographs the desk's screen: the buffer as it is shown.
                    let started = std::time::Instant::now();
                    let text = self
                        .phone
                        .camera
                        .scan(&DynamicImage::ImageLuma8(img.clone()));
                    CAMERA.with(|c| {
                        let (n, ns) = c.get();
                        c.set((n + 1, ns + started.elapsed().as_nanos() as u64));
                    });
                    text
                });
                match scanned {
                    Some(Ok(text)) => vec![IssueEvent::Scanned(text)],
                    _ => vec![IssueEvent::ScanFailed],
                }
            }
            UiEvent::EnterTxCode { .. } if !self.tx_code_typed => {
                self.tx_code_typed = true;
                self.holder
                    .tx_code
                    .clone()
                    .map(IssueEvent::TxCode)
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The holder's first input: the password (a typo first, if any) for the IC route.
    fn start_events(&mut self) -> Vec<IssueEvent> {
        let mut events = vec![IssueEvent::Start];
        if self.qr.is_none() {
            // A typo is typed once, first; then the right password.
            let first = self
                .holder
                .typo
                .take()
                .unwrap_or_else(|| self.holder.password.clone());
            events.push(IssueEvent::Tap(TapEvent::Password(first)));
        }
        events
    }

    /// Run the flow to its end: the app's outputs are transferred until it has none left
    /// and the holder has nothing more to do (tap again, up to [`MAX_TAPS`] taps).
    pub async fn run_flow(mut self) -> FlowEnd {
        let mut events = self.start_events();
        loop {
            for e in std::mem::take(&mut events) {
                self.feed(e);
            }
            if let Some(out) = self.app.poll() {
                events = self.transfer(out).await;
                continue;
            }
            let state = self.app.state();
            if state == IssueState::Card && !self.reader.is_connected() && self.end.taps < MAX_TAPS
            {
                tokio::time::sleep(Duration::from_secs(self.holder.tap_seconds)).await;
                if self.reader.connect().is_ok() {
                    self.end.taps += 1;
                    self.note(|| "holder taps the card".into());
                    events.push(IssueEvent::Tap(TapEvent::CardTapped));
                    continue;
                }
            }
            break;
        }
        self.reader.disconnect();
        self.end.state = self.app.state();
        self.end
    }

    /// [`Pair::run_flow`] with `filter` on every message (a convenience for one call).
    pub async fn run_altered(
        phone: &'a mut Phone,
        app: IssueFlow,
        reader: R,
        qr: Option<&'a GrayImage>,
        holder: Holder,
        transport: &'a T,
        filter: F,
    ) -> FlowEnd {
        Pair::new(phone, app, reader, qr, holder, transport, filter)
            .run_flow()
            .await
    }
}

thread_local! {
    /// Scans and nanoseconds the camera took on this thread: a benchmark's meter. Never
    /// part of a report (wall time is not deterministic).
    static CAMERA: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Scans the phone's camera made on this thread and the wall time they took, since the last
/// call (which resets the meter). `midsim bench` reports the camera's cost per flow with it.
pub fn take_camera_meter() -> (u64, Duration) {
    let (n, ns) = CAMERA.with(|c| c.replace((0, 0)));
    (n, Duration::from_nanos(ns))
}

/// Issuer messages lost in a row before the phone's client gives up on a call.
pub const MAX_LOST: u32 = 2;

/// Tap and read a card with the phone's [`TapRead`] alone (no issuer), keeping a transcript:
/// `midsim tap`. Returns what the app produced and the transcript.
pub fn tap_read(
    reader: &mut impl NfcReader,
    app: &mut TapRead,
    password: &str,
    now: u64,
    rng: &mut ChaCha20Rng,
) -> (Option<Box<sim_phone::CardEvidence>>, Vec<UiEvent>, String) {
    let mut transcript = String::new();
    let mut shown = Vec::new();
    let mut done = None;
    let mut events = vec![TapEvent::Password(password.to_owned())];
    let mut taps = 0;
    loop {
        for e in std::mem::take(&mut events) {
            app.handle(e, now, rng);
        }
        match app.poll() {
            Some(TapOutput::Transmit(b)) => {
                let name = apdu_name(&b);
                match reader.transmit(&b) {
                    Ok(answer) => {
                        let sw = answer
                            .get(answer.len().saturating_sub(2)..)
                            .map(hex::encode_upper)
                            .unwrap_or_default();
                        let _ = writeln!(
                            transcript,
                            "phone→card {name}\n    card→phone {sw} ({} bytes)",
                            answer.len().saturating_sub(2)
                        );
                        events.push(TapEvent::Response(answer));
                    }
                    Err(_) => {
                        let _ = writeln!(transcript, "phone→card {name}\n    <no answer>");
                        events.push(TapEvent::CardRemoved);
                    }
                }
            }
            Some(TapOutput::Disconnect) => reader.disconnect(),
            Some(TapOutput::Show(e)) => {
                let _ = writeln!(transcript, "screen: {e}");
                shown.push(e);
            }
            Some(TapOutput::Done(ev)) => done = Some(ev),
            Some(_) => {}
            None if app.state() == TapState::WaitingForTap && taps < MAX_TAPS => {
                taps += 1;
                if reader.connect().is_err() {
                    break;
                }
                let _ = writeln!(transcript, "holder taps the card");
                events.push(TapEvent::CardTapped);
            }
            None => break,
        }
    }
    reader.disconnect();
    (done, shown, transcript)
}

/// A short name for a command APDU, plain or protected: [`protocol::apdu::command_name`].
pub use protocol::apdu::command_name as apdu_name;

/// Unused-card placeholder for QR flows: a reader with nothing on it.
pub fn no_card() -> sim_phone::InProcessReader<NoCard> {
    sim_phone::InProcessReader::empty()
}

/// The type of the card that is never there (see [`no_card`]).
#[derive(Debug)]
pub enum NoCard {}

impl SmartCard for NoCard {
    fn power_on(&mut self) -> Vec<u8> {
        match *self {}
    }
    fn power_off(&mut self) {
        match *self {}
    }
    fn atr(&self) -> Vec<u8> {
        match *self {}
    }
    fn transmit(&mut self, _: &[u8]) -> Vec<u8> {
        match *self {}
    }
}
