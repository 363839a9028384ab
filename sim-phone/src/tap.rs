//! Reading and authenticating the IC card on a tap, as a sans-IO state machine.
//!
//! [`TapRead`] takes [`TapEvent`]s (the card was tapped, an APDU answer arrived, the card left
//! the field, the holder typed the password or the CAN, a timer fired) with `now` and a
//! seeded RNG, and queues [`TapOutput`]s (APDU bytes to transmit, a [`UiEvent`] to show, the
//! [`CardEvidence`] when done). It never touches a reader itself.
//!
//! On a tap it runs: SELECT the eMRTD application; read EF.CardAccess; PACE with the card
//! password (or the CAN; with a suspended password, the CAN first and then the password inside
//! the CAN channel, ICAO 9303-11 §4.4 / BSI TR-03110 §3.2); read DG1, DG2, DG14, DG15 and
//! EF.SOD under secure messaging; Passive Authentication against the configured trust
//! anchors; Active Authentication over the challenge it was given (the caller derives it from
//! an issuer nonce fetched before the tap, so the card never waits on the network).
//!
//! # Torn taps and the password counter
//! The card decrements its password counter when the terminal's authentication token (the
//! fourth GENERAL AUTHENTICATE) arrives, and restores it on success. So:
//! - a tap torn before that command spent nothing: the next tap silently starts over with
//!   the same password;
//! - a tap torn after the token was sent leaves the app not knowing whether the password was
//!   right. On the next tap, MSE:Set AT reports the counter. Restored to full means the
//!   password was right: the app goes on with it. Lower than before means the try was spent
//!   and the outcome is unknown: the app does not spend another try on its own; it asks the
//!   holder to enter the password again ([`UiEvent::PasswordCheckInterrupted`]). A tear is
//!   never shown as a wrong password;
//! - a password the card refused (63Cx) is never sent again automatically, and the app
//!   refuses it if typed again ([`UiEvent::PasswordAlreadyRefused`]).
//!
//! Files read before a tear are dropped and read again on the next tap: a different card may
//! be tapped, and mixing files of two cards is not a state to resume from.

use std::collections::{BTreeMap, VecDeque};

use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
use protocol::lds::{HolderData, LdsFile};
use protocol::pace::{self, PasswordRef, TerminalPace, TerminalStep};
use protocol::sm::SecureChannel;
use protocol::sod::PassiveAuthReport;
use rand_core::CryptoRngCore;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::UiEvent;

/// Seconds the app waits for a card's answer before it treats it as lost.
pub const CARD_TIMEOUT_SECS: u64 = 5;

/// Bytes asked for per READ BINARY: the protected answer (padding, DO'87', DO'99', DO'8E')
/// still fits a short response APDU.
const CHUNK: u32 = 200;

/// The files read on every tap, in order, after PACE (EF.CardAccess comes before PACE).
const FILES: [LdsFile; 5] = [
    LdsFile::Dg1,
    LdsFile::Dg2,
    LdsFile::Dg14,
    LdsFile::Dg15,
    LdsFile::Sod,
];

/// What happens to the app during a tap.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TapEvent {
    /// A card entered the field and the reader connected to it.
    CardTapped,
    /// The answer to the last transmitted APDU (data and SW1 SW2).
    Response(Vec<u8>),
    /// The card left the field (a transmit failed with no answer, or the reader lost it).
    CardRemoved,
    /// The holder entered the 4-digit card password.
    Password(String),
    /// The holder entered the 6-digit CAN printed on the card.
    Can(String),
    /// A timer the app asked for ([`TapRead::poll_timeout`]) has passed.
    Timeout,
}

impl std::fmt::Debug for TapEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CardTapped => f.write_str("CardTapped"),
            Self::Response(r) => write!(f, "Response({})", hex::encode_upper(r)),
            Self::CardRemoved => f.write_str("CardRemoved"),
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::Can(_) => f.write_str("Can(<redacted>)"),
            Self::Timeout => f.write_str("Timeout"),
        }
    }
}

/// What the app asks its shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TapOutput {
    /// Send these APDU bytes to the card and feed the answer back as [`TapEvent::Response`]
    /// (or [`TapEvent::CardRemoved`]).
    Transmit(Vec<u8>),
    /// Drop the connection to the card (power it down); the next read needs a new tap.
    Disconnect,
    /// Show this to the holder.
    Show(UiEvent),
    /// The card was read and authenticated.
    Done(Box<CardEvidence>),
}

/// Everything read from an authenticated card.
#[derive(Clone, PartialEq, Eq)]
pub struct CardEvidence {
    /// EF.CardAccess.
    pub card_access: Vec<u8>,
    /// DG1 (holder data), as read.
    pub dg1: Vec<u8>,
    /// DG2 (portrait), as read.
    pub dg2: Vec<u8>,
    /// DG14, as read.
    pub dg14: Vec<u8>,
    /// DG15 (the Active Authentication public key), as read.
    pub dg15: Vec<u8>,
    /// EF.SOD, as read.
    pub sod: Vec<u8>,
    /// The challenge the card signed.
    pub aa_challenge: Vec<u8>,
    /// The card's Active Authentication signature over it.
    pub aa_signature: Vec<u8>,
    /// DG1 decoded.
    pub holder: HolderData,
    /// What Passive Authentication established.
    pub passive: PassiveAuthReport,
}

impl std::fmt::Debug for CardEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardEvidence")
            .field("holder", &self.holder)
            .field("dg2", &format_args!("<{} bytes>", self.dg2.len()))
            .field("sod", &format_args!("<{} bytes>", self.sod.len()))
            .field("aa_signature", &"<redacted>")
            .field("passive", &self.passive)
            .finish()
    }
}

/// Where a [`TapRead`] is, for a screen or a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TapState {
    /// Waiting for the holder to type the card password (or the CAN).
    NeedPassword,
    /// Waiting for the holder to type the CAN.
    NeedCan,
    /// Waiting for a tap.
    WaitingForTap,
    /// Talking to the card.
    Reading,
    /// Finished: the evidence was handed out.
    Done,
    /// Stopped for good (blocked password, a card that is not genuine or not a resident card).
    Failed,
}

/// A secret the holder typed.
#[derive(Clone, PartialEq, Eq)]
struct Secret(Zeroizing<String>);

impl Secret {
    fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }
}

/// A password try whose result the card did not tell us (the token went out, no answer).
#[derive(Clone)]
struct Unanswered {
    password: Secret,
    tries_before: u8,
}

/// What the outstanding command was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Select,
    ReadHeader(LdsFile),
    ReadChunk(LdsFile),
    Mse(PasswordRef),
    Ga(PasswordRef, u8),
    Aa,
}

struct Outstanding {
    step: Step,
    /// Sent protected under the channel in `sm`.
    protected: bool,
    /// Answer parts collected through GET RESPONSE.
    collected: Option<ResponseApdu>,
    sent_at: u64,
}

/// Reading and authenticating the card on a tap; see the module documentation.
pub struct TapRead {
    anchors: Vec<Certificate>,
    challenge: Vec<u8>,
    password: Option<Secret>,
    can: Option<Secret>,
    refused: Option<Secret>,
    unanswered: Option<Unanswered>,
    /// The counter as MSE:Set AT reported it in this tap.
    tries_seen: Option<u8>,
    /// The card's password was seen suspended: start with the CAN.
    suspended: bool,
    connected: bool,
    state: TapState,
    sm: Option<SecureChannel>,
    pace: Option<(PasswordRef, TerminalPace)>,
    /// The password channel is wanted after the CAN one.
    can_open: bool,
    out: Option<Outstanding>,
    file: Vec<u8>,
    file_total: usize,
    files: BTreeMap<LdsFile, Vec<u8>>,
    passive: Option<PassiveAuthReport>,
    card_errors: u8,
    queue: VecDeque<TapOutput>,
}

impl std::fmt::Debug for TapRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapRead")
            .field("state", &self.state)
            .field("connected", &self.connected)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("can", &self.can.as_ref().map(|_| "<redacted>"))
            .field("suspended", &self.suspended)
            .field("token_unanswered", &self.unanswered.is_some())
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn secret_text(s: &Option<Secret>) -> &str {
    s.as_ref().map(|s| s.0.as_str()).unwrap_or_default()
}

impl TapRead {
    /// A tap flow that checks EF.SOD against `trust_anchors` (the country's CSCA roots) and
    /// has the card sign `aa_challenge` (ICAO 9303-11 §6.1: 8 bytes).
    ///
    /// It starts by asking for the card password.
    pub fn new(trust_anchors: Vec<Certificate>, aa_challenge: Vec<u8>) -> Self {
        let mut t = Self {
            anchors: trust_anchors,
            challenge: aa_challenge,
            password: None,
            can: None,
            refused: None,
            unanswered: None,
            tries_seen: None,
            suspended: false,
            connected: false,
            state: TapState::NeedPassword,
            sm: None,
            pace: None,
            can_open: false,
            out: None,
            file: Vec::new(),
            file_total: 0,
            files: BTreeMap::new(),
            passive: None,
            card_errors: 0,
            queue: VecDeque::new(),
        };
        t.show(UiEvent::EnterPassword);
        t
    }

    /// Where the flow is.
    pub fn state(&self) -> TapState {
        self.state
    }

    /// The next thing to do, if any. Call after every [`TapRead::handle`] until `None`.
    #[must_use]
    pub fn poll(&mut self) -> Option<TapOutput> {
        self.queue.pop_front()
    }

    /// When to deliver [`TapEvent::Timeout`]: the deadline (unix seconds) for the card's
    /// answer to the outstanding command, if one is outstanding.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.out
            .as_ref()
            .map(|o| o.sent_at.saturating_add(CARD_TIMEOUT_SECS))
    }

    /// Feed one event.
    pub fn handle(&mut self, event: TapEvent, now: u64, rng: &mut impl CryptoRngCore) {
        if matches!(self.state, TapState::Done | TapState::Failed) {
            if event == TapEvent::CardRemoved {
                self.connected = false;
            }
            return;
        }
        match event {
            TapEvent::Password(p) => self.on_password(Secret::new(p), now),
            TapEvent::Can(c) => self.on_can(Secret::new(c), now),
            TapEvent::CardTapped => {
                self.connected = true;
                self.reset_session();
                self.begin(now);
            }
            TapEvent::CardRemoved => {
                self.connected = false;
                self.lost_answer(UiEvent::CardRemovedEarly, false);
            }
            TapEvent::Timeout => {
                if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
                    self.lost_answer(UiEvent::CardReadError, true);
                }
            }
            TapEvent::Response(bytes) => self.on_response(&bytes, now, rng),
        }
    }

    fn show(&mut self, e: UiEvent) {
        self.queue.push_back(TapOutput::Show(e));
    }

    fn fail(&mut self, e: UiEvent) {
        self.out = None;
        self.sm = None;
        self.pace = None;
        self.state = TapState::Failed;
        self.show(e);
        if self.connected {
            self.connected = false;
            self.queue.push_back(TapOutput::Disconnect);
        }
    }

    fn reset_session(&mut self) {
        self.sm = None;
        self.pace = None;
        self.can_open = false;
        self.out = None;
        self.tries_seen = None;
        self.file.clear();
        self.file_total = 0;
        self.files.clear();
    }

    /// Start (or continue) on the card in the field, if we have something to open PACE with.
    fn begin(&mut self, now: u64) {
        if self.password.is_none() && self.can.is_none() {
            self.state = TapState::NeedPassword;
            self.show(UiEvent::EnterPassword);
            return;
        }
        if self.suspended && self.can.is_none() {
            self.state = TapState::NeedCan;
            self.show(UiEvent::EnterCan);
            return;
        }
        self.state = TapState::Reading;
        self.show(UiEvent::Reading);
        if self.files.contains_key(&LdsFile::CardAccess) {
            self.start_pace(now);
        } else {
            self.send(
                CommandApdu::select_aid(&protocol::EMRTD_AID),
                Step::Select,
                now,
            );
        }
    }

    fn wait_for_tap(&mut self) {
        self.state = TapState::WaitingForTap;
        self.show(UiEvent::TapCard);
    }

    fn on_password(&mut self, p: Secret, now: u64) {
        if self.refused.as_ref() == Some(&p) {
            self.show(UiEvent::PasswordAlreadyRefused);
            return;
        }
        self.password = Some(p);
        // The holder answered for the interrupted try: this entry may be sent.
        self.unanswered = None;
        self.after_secret(now);
    }

    fn on_can(&mut self, c: Secret, now: u64) {
        self.can = Some(c);
        self.after_secret(now);
    }

    fn after_secret(&mut self, now: u64) {
        match self.state {
            TapState::NeedPassword | TapState::NeedCan => {
                if self.suspended && self.can.is_none() {
                    self.state = TapState::NeedCan;
                    self.show(UiEvent::EnterCan);
                } else if self.connected && self.sm.is_none() {
                    // The card is still in the field and no channel is open: go on with this
                    // tap, plain, from PACE.
                    self.reset_session_keep_card_access();
                    self.begin(now);
                } else {
                    if self.connected {
                        // A channel is open on the card: start over on a fresh tap.
                        self.reset_session();
                        self.connected = false;
                        self.queue.push_back(TapOutput::Disconnect);
                    }
                    self.wait_for_tap();
                }
            }
            // Typed ahead while reading or waiting: used on the next attempt.
            _ => {}
        }
    }

    fn reset_session_keep_card_access(&mut self) {
        let card_access = self.files.remove(&LdsFile::CardAccess);
        self.reset_session();
        if let Some(ca) = card_access {
            self.files.insert(LdsFile::CardAccess, ca);
        }
    }

    /// The answer to the outstanding command will not come (card removed, garbled, timeout).
    fn lost_answer(&mut self, show: UiEvent, disconnect: bool) {
        let out = self.out.take();
        if out.is_none() && self.state != TapState::Reading {
            // Nothing in flight: the card was lifted between steps; nothing to recover.
            return;
        }
        if let Some(Step::Ga(PasswordRef::Pin, 4)) = out.map(|o| o.step) {
            if let (Some(pw), Some(tries)) = (self.password.clone(), self.tries_seen) {
                self.unanswered = Some(Unanswered {
                    password: pw,
                    tries_before: tries,
                });
            }
        }
        self.reset_session();
        if disconnect && self.connected {
            self.connected = false;
            self.queue.push_back(TapOutput::Disconnect);
        }
        self.show(show);
        self.wait_for_tap();
    }

    fn send(&mut self, cmd: CommandApdu, step: Step, now: u64) {
        let (wire, protected) = match self.sm.as_mut() {
            Some(ch) => match ch.protect_command(&cmd) {
                Ok(w) => (w, true),
                Err(e) => {
                    self.fail(UiEvent::CardError {
                        detail: e.to_string(),
                    });
                    return;
                }
            },
            None => (cmd, false),
        };
        match wire.encode() {
            Ok(bytes) => {
                self.out = Some(Outstanding {
                    step,
                    protected,
                    collected: None,
                    sent_at: now,
                });
                self.queue.push_back(TapOutput::Transmit(bytes));
            }
            Err(e) => self.fail(UiEvent::CardError {
                detail: e.to_string(),
            }),
        }
    }

    fn on_response(&mut self, bytes: &[u8], now: u64, rng: &mut impl CryptoRngCore) {
        let Some(mut out) = self.out.take() else {
            // Nothing outstanding: a stray answer; ignore it.
            return;
        };
        let part = match ResponseApdu::decode(bytes) {
            Ok(r) => r,
            Err(_) => {
                self.out = Some(out);
                self.lost_answer(UiEvent::CardReadError, true);
                return;
            }
        };
        let mut resp = match out.collected.take() {
            Some(mut acc) => {
                acc.data.extend_from_slice(&part.data);
                acc.sw = part.sw;
                acc
            }
            None => part,
        };
        // More to come: GET RESPONSE, never itself protected (ISO 7816-4 §7.6.1).
        if let StatusWord::BytesAvailable(n) = resp.sw {
            if resp.data.len() > 65_536 {
                self.out = Some(out);
                self.lost_answer(UiEvent::CardReadError, true);
                return;
            }
            match CommandApdu::get_response(n).encode() {
                Ok(b) => {
                    resp.sw = StatusWord::Ok;
                    out.collected = Some(resp);
                    out.sent_at = now;
                    self.out = Some(out);
                    self.queue.push_back(TapOutput::Transmit(b));
                }
                Err(_) => self.lost_answer(UiEvent::CardReadError, true),
            }
            return;
        }
        if out.protected {
            if resp.data.is_empty() {
                // A bare status word: the card found an SM error or refused, and closed the
                // channel (ICAO 9303-11 §9.8.6).
                self.sm = None;
            } else if let Some(ch) = self.sm.as_mut() {
                match ch.unprotect_response(&resp) {
                    Ok(plain) => resp = plain,
                    Err(_) => {
                        self.out = Some(out);
                        self.lost_answer(UiEvent::CardReadError, true);
                        return;
                    }
                }
            }
        }
        let step = out.step;
        self.out = Some(out);
        self.dispatch(step, resp, now, rng);
    }

    fn dispatch(&mut self, step: Step, resp: ResponseApdu, now: u64, rng: &mut impl CryptoRngCore) {
        match step {
            Step::Select => {
                self.out = None;
                match resp.sw {
                    StatusWord::Ok => self.read(LdsFile::CardAccess, now),
                    StatusWord::FileNotFound => self.fail(UiEvent::NotAResidentCard),
                    sw => self.card_error(sw),
                }
            }
            Step::ReadHeader(f) => self.on_header(f, resp, now),
            Step::ReadChunk(f) => self.on_chunk(f, resp, now),
            Step::Mse(which) => self.on_mse(which, resp.sw, now),
            Step::Ga(which, n) => self.on_ga(which, n, resp, now, rng),
            Step::Aa => self.on_aa(resp),
        }
    }

    /// An answer the flow does not expect: most often a garbled frame or a card that was
    /// half out of the field, so the holder taps again; after [`MAX_CARD_ERRORS`] of them the
    /// flow stops rather than loop.
    fn card_error(&mut self, sw: StatusWord) {
        self.transient(format!("{sw:?}"));
    }

    fn transient(&mut self, detail: String) {
        self.card_errors = self.card_errors.saturating_add(1);
        if self.card_errors >= MAX_CARD_ERRORS {
            return self.fail(UiEvent::CardError { detail });
        }
        self.lost_answer(UiEvent::CardError { detail }, true);
    }

    // ---- files -------------------------------------------------------------------------------

    fn read(&mut self, f: LdsFile, now: u64) {
        self.file.clear();
        self.file_total = 0;
        // The first 4 bytes hold the TLV header (tag up to 2 bytes, length up to 3 bytes
        // after 82: enough for files under 64 KiB, ICAO 9303-10 §3.10).
        self.send(
            CommandApdu::read_binary_sfi(f.sfi(), 0, 4),
            Step::ReadHeader(f),
            now,
        );
    }

    fn on_header(&mut self, f: LdsFile, resp: ResponseApdu, now: u64) {
        match resp.sw {
            StatusWord::Ok | StatusWord::EndOfFile => {}
            // DG2 and DG14 are optional in the profile; the others are required.
            StatusWord::FileNotFound if matches!(f, LdsFile::Dg2 | LdsFile::Dg14) => {
                self.out = None;
                self.files.insert(f, Vec::new());
                return self.next_file(now);
            }
            sw => return self.card_error(sw),
        }
        let Some(total) = header_total(&resp.data) else {
            return self.transient(format!("{f:?} has no TLV header"));
        };
        self.file = resp.data;
        self.file.truncate(total);
        self.file_total = total;
        self.continue_file(f, now);
    }

    fn on_chunk(&mut self, f: LdsFile, resp: ResponseApdu, now: u64) {
        match resp.sw {
            StatusWord::Ok | StatusWord::EndOfFile if !resp.data.is_empty() => {
                self.file.extend_from_slice(&resp.data);
                self.file.truncate(self.file_total);
                self.continue_file(f, now);
            }
            StatusWord::Ok | StatusWord::EndOfFile => {
                self.transient(format!("{f:?} is shorter than its header says"))
            }
            sw => self.card_error(sw),
        }
    }

    fn continue_file(&mut self, f: LdsFile, now: u64) {
        let have = self.file.len();
        if have >= self.file_total {
            self.out = None;
            self.files.insert(f, std::mem::take(&mut self.file));
            return self.next_file(now);
        }
        let Ok(offset) = u16::try_from(have) else {
            return self.fail(UiEvent::CardError {
                detail: format!("{f:?} is too large"),
            });
        };
        let n = (self.file_total - have).min(CHUNK as usize) as u32;
        self.send(CommandApdu::read_binary(offset, n), Step::ReadChunk(f), now);
    }

    fn next_file(&mut self, now: u64) {
        if !self.files.contains_key(&LdsFile::CardAccess) {
            return self.read(LdsFile::CardAccess, now);
        }
        if self.sm.is_none() {
            return self.start_pace(now);
        }
        match FILES.into_iter().find(|f| !self.files.contains_key(f)) {
            Some(f) => self.read(f, now),
            None => self.authenticate(now),
        }
    }

    // ---- PACE --------------------------------------------------------------------------------

    fn start_pace(&mut self, now: u64) {
        let which = if self.password.is_some() && (!self.suspended || self.can_open) {
            PasswordRef::Pin
        } else {
            PasswordRef::Can
        };
        if which == PasswordRef::Can && self.can.is_none() {
            self.out = None;
            self.state = TapState::NeedCan;
            return self.show(UiEvent::EnterCan);
        }
        self.send(pace::mse_set_at(which), Step::Mse(which), now);
    }

    fn on_mse(&mut self, which: PasswordRef, sw: StatusWord, now: u64) {
        let tries = match (which, sw) {
            (PasswordRef::Pin, StatusWord::Ok) => FULL_TRIES,
            (PasswordRef::Pin, StatusWord::TriesLeft(n)) => n,
            (PasswordRef::Can, StatusWord::Ok) => 0,
            (PasswordRef::Pin, StatusWord::AuthenticationBlocked) => {
                return self.fail(UiEvent::PasswordBlocked)
            }
            (_, sw) => return self.card_error(sw),
        };
        if which == PasswordRef::Pin {
            self.tries_seen = Some(tries);
            if tries == 0 {
                return self.fail(UiEvent::PasswordBlocked);
            }
            if let Some(u) = self.unanswered.clone() {
                if Some(&u.password) == self.password.as_ref() {
                    if tries > u.tries_before.saturating_sub(1) {
                        // The counter was restored: that try succeeded before the tear.
                        self.unanswered = None;
                    } else {
                        // Spent, outcome unknown: the holder decides, not the app.
                        self.unanswered = None;
                        self.password = None;
                        self.suspended = tries == 1;
                        return self
                            .ask_password(UiEvent::PasswordCheckInterrupted { tries_left: tries });
                    }
                }
            }
            if tries == 1 && !self.can_open {
                // Suspended: the CAN first (BSI TR-03110-2 §3.2 / the card's rule).
                self.suspended = true;
                if self.can.is_none() {
                    self.out = None;
                    self.state = TapState::NeedCan;
                    return self.show(UiEvent::EnterCan);
                }
                return self.send(
                    pace::mse_set_at(PasswordRef::Can),
                    Step::Mse(PasswordRef::Can),
                    now,
                );
            }
        }
        let secret = match which {
            PasswordRef::Pin => secret_text(&self.password).to_owned(),
            _ => secret_text(&self.can).to_owned(),
        };
        let mut t = TerminalPace::new(secret.as_bytes());
        let data = t.start();
        self.pace = Some((which, t));
        self.send(
            pace::general_authenticate(data, false),
            Step::Ga(which, 1),
            now,
        );
    }

    fn ask_password(&mut self, e: UiEvent) {
        self.out = None;
        self.pace = None;
        self.state = TapState::NeedPassword;
        self.show(e);
    }

    fn on_ga(
        &mut self,
        which: PasswordRef,
        n: u8,
        resp: ResponseApdu,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        match resp.sw {
            StatusWord::Ok => {}
            StatusWord::TriesLeft(left) if which == PasswordRef::Pin && n == 4 => {
                // The card checked the token and refused the password.
                self.out = None;
                self.pace = None;
                self.refused = self.password.take();
                self.unanswered = None;
                if left == 0 {
                    return self.fail(UiEvent::PasswordBlocked);
                }
                self.suspended = left == 1;
                self.state = TapState::NeedPassword;
                return self.show(UiEvent::WrongPassword { tries_left: left });
            }
            StatusWord::Other(0x6300) if which == PasswordRef::Can && n == 4 => {
                self.out = None;
                self.pace = None;
                self.can = None;
                self.state = TapState::NeedCan;
                return self.show(UiEvent::WrongCan);
            }
            StatusWord::ReferenceDataNotUsable if which == PasswordRef::Pin => {
                // Suspended and no CAN channel: the CAN first.
                self.out = None;
                self.pace = None;
                self.suspended = true;
                self.state = TapState::NeedCan;
                return self.show(UiEvent::EnterCan);
            }
            StatusWord::AuthenticationBlocked => return self.fail(UiEvent::PasswordBlocked),
            sw => {
                if n == 4 && which == PasswordRef::Pin {
                    // Unknown outcome of a token check: as if the answer were lost.
                    return self.lost_answer(UiEvent::CardReadError, true);
                }
                return self.card_error(sw);
            }
        }
        let Some((_, mut t)) = self.pace.take() else {
            return self.card_error(resp.sw);
        };
        match t.handle(&resp.data, rng) {
            Ok(TerminalStep::Send(data)) => {
                self.pace = Some((which, t));
                let next = n.saturating_add(1);
                self.send(
                    pace::general_authenticate(data, next == 4),
                    Step::Ga(which, next),
                    now,
                );
            }
            Ok(TerminalStep::Established(keys)) => {
                self.out = None;
                self.sm = Some(SecureChannel::new(keys));
                match which {
                    PasswordRef::Pin => {
                        self.unanswered = None;
                        self.suspended = false;
                        self.next_file(now);
                    }
                    _ => {
                        self.can_open = true;
                        if self.password.is_some() {
                            // The password inside the CAN channel.
                            self.send(
                                pace::mse_set_at(PasswordRef::Pin),
                                Step::Mse(PasswordRef::Pin),
                                now,
                            );
                        } else {
                            self.next_file(now);
                        }
                    }
                }
            }
            Err(e) => {
                if n == 4 && which == PasswordRef::Pin {
                    // The chip's token did not verify, or the answer was garbled: the
                    // outcome of the check on the card is unknown to us.
                    self.lost_answer(UiEvent::CardReadError, true)
                } else {
                    self.transient(format!("PACE: {e}"))
                }
            }
        }
    }

    // ---- authentication ---------------------------------------------------------------------

    fn file(&self, f: LdsFile) -> &[u8] {
        self.files.get(&f).map(Vec::as_slice).unwrap_or_default()
    }

    fn data_groups(&self) -> Vec<(u8, &[u8])> {
        [LdsFile::Dg1, LdsFile::Dg2, LdsFile::Dg14, LdsFile::Dg15]
            .into_iter()
            .filter_map(|f| Some((f.dg_number()?, self.file(f))))
            .filter(|(_, b)| !b.is_empty())
            .collect()
    }

    fn authenticate(&mut self, now: u64) {
        let pa = protocol::sod::passive_authentication(
            self.file(LdsFile::Sod),
            &self.data_groups(),
            &self.anchors,
            now,
        );
        match pa {
            Ok(report) => {
                self.passive = Some(report);
                let cmd = CommandApdu::internal_authenticate(&self.challenge);
                self.send(cmd, Step::Aa, now);
            }
            Err(e) => self.fail(UiEvent::CardNotGenuine {
                detail: format!("Passive Authentication: {e}"),
            }),
        }
    }

    fn on_aa(&mut self, resp: ResponseApdu) {
        self.out = None;
        if resp.sw != StatusWord::Ok {
            return self.card_error(resp.sw);
        }
        if let Err(e) = protocol::aa::verify(self.file(LdsFile::Dg15), &self.challenge, &resp.data)
        {
            return self.fail(UiEvent::CardNotGenuine {
                detail: format!("Active Authentication: {e}"),
            });
        }
        let holder = match HolderData::decode(self.file(LdsFile::Dg1)) {
            Ok(h) => h,
            Err(e) => {
                return self.fail(UiEvent::CardNotGenuine {
                    detail: format!("DG1: {e}"),
                })
            }
        };
        let Some(passive) = self.passive.take() else {
            return self.card_error(resp.sw);
        };
        let take = |files: &mut BTreeMap<LdsFile, Vec<u8>>, f| files.remove(&f).unwrap_or_default();
        let evidence = CardEvidence {
            card_access: take(&mut self.files, LdsFile::CardAccess),
            dg1: take(&mut self.files, LdsFile::Dg1),
            dg2: take(&mut self.files, LdsFile::Dg2),
            dg14: take(&mut self.files, LdsFile::Dg14),
            dg15: take(&mut self.files, LdsFile::Dg15),
            sod: take(&mut self.files, LdsFile::Sod),
            aa_challenge: self.challenge.clone(),
            aa_signature: resp.data,
            holder,
            passive,
        };
        self.sm = None;
        self.state = TapState::Done;
        self.show(UiEvent::CardRead);
        self.connected = false;
        self.queue.push_back(TapOutput::Disconnect);
        self.queue.push_back(TapOutput::Done(Box::new(evidence)));
    }
}

/// Unexpected answers (over all taps) before the flow gives up.
pub const MAX_CARD_ERRORS: u8 = 4;

/// The card's full password retry count, as MSE:Set AT implies with 9000.
const FULL_TRIES: u8 = 3;

/// Total size of a BER-TLV from its first bytes (tag of 1 or 2 bytes, definite length of up
/// to 3 bytes; ISO 7816-4 §5.2.2.1); `None` if the header is incomplete or not TLV.
fn header_total(b: &[u8]) -> Option<usize> {
    let tag_len = if b.first()? & 0x1F == 0x1F { 2 } else { 1 };
    let l0 = *b.get(tag_len)?;
    let (len, hdr) = match l0 {
        0..=0x7F => (usize::from(l0), tag_len + 1),
        0x81 => (usize::from(*b.get(tag_len + 1)?), tag_len + 2),
        0x82 => (
            usize::from(u16::from_be_bytes([
                *b.get(tag_len + 1)?,
                *b.get(tag_len + 2)?,
            ])),
            tag_len + 3,
        ),
        _ => return None,
    };
    Some(hdr + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_total_reads_short_and_long_lengths_and_refuses_indefinite() {
        assert_eq!(header_total(&[0x61, 0x05]), Some(7));
        assert_eq!(header_total(&[0x75, 0x81, 0x80]), Some(0x83));
        assert_eq!(header_total(&[0x77, 0x82, 0x01, 0x00]), Some(0x104));
        assert_eq!(header_total(&[0x5F, 0x1F, 0x01]), Some(4));
        assert_eq!(header_total(&[0x61, 0x80]), None);
        assert_eq!(header_total(&[0x61]), None);
        assert_eq!(header_total(&[]), None);
    }
}
