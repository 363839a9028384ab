//! The card: a sans-IO ICAO 9303 eMRTD-profile chip.
//!
//! The chip holds two kinds of state, as a real one does:
//! - persistent (EEPROM): the files, the Active Authentication key, the CAN and card password,
//!   and the password retry counter;
//! - volatile (RAM): the current DF and EF, a PACE run in progress, the secure channel, a
//!   partial command chain, a response waiting for GET RESPONSE, the last challenge.
//!
//! Powering off drops the volatile state only. The retry counter is written before the
//! password is checked and restored after a success, so tearing the card out of the field at
//! any point never gives back a try (ICAO 9303-11 §4.4 leaves this to the chip; this is what
//! deployed chips do).

use std::time::Duration;

use protocol::apdu::{
    ins, ChainBuffer, Chained, CommandApdu, ResponseApdu, ResponseQueue, StatusWord,
};
use protocol::pace::{ChipPace, ChipStep, PasswordRef, SetAt};
use protocol::sm::SecureChannel;
use protocol::tlv::{self, Tag};
use rand_chacha::ChaCha20Rng;

use crate::faults::{Faults, TearPoint};
use crate::SmartCard;

/// Password retry counter start value (and value restored after a success).
pub const PIN_TRIES: u8 = 3;

/// The ATR of the virtual card: T=1, historical bytes "MIDSIM-KR" (ISO 7816-3 §8).
pub const ATR: [u8; 20] = [
    0x3B, 0x8C, 0x80, 0x01, b'M', b'I', b'D', b'S', b'I', b'M', b'-', b'K', b'R', 0x00, 0x00, 0x00,
    0x90, 0x00, 0x00, 0x00,
];

fn atr_with_checksum() -> Vec<u8> {
    // TCK makes the XOR of T0..TCK zero (ISO 7816-3 §8.2.5).
    let mut atr = ATR[..ATR.len() - 1].to_vec();
    let tck = atr[1..].iter().fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// The most plain bytes a READ BINARY answers inside secure messaging when the protected
/// command is a short APDU: the largest length whose protected response fits the 256 bytes a
/// short Le '00' can take (ISO 7816-4 §5.1; ICAO 9303-11 §9.8 has the terminal send Le' = '00'
/// outside and the real Le in DO'97'). Without the cap a 256-byte read protects to 291 bytes
/// and the chip would have to answer '61xx'; OpenSC's SM layer does not follow '61xx' there,
/// so it could not unwrap the answer. Deployed chips answer fewer bytes with '9000' instead,
/// and the reader reads on from the next offset. With AES, 223 bytes pad to 224, so DO'87' is
/// '87 81 E1' '01' + 224 (228 bytes), plus DO'99' (4) and DO'8E' (10): 242 bytes; 224 bytes
/// would pad to 240 and give 258.
const SM_SHORT_READ_MAX: usize = max_plain_in_protected(256);

/// The data field of a protected response carrying `plain` bytes (ICAO 9303-11 §9.8.4-§9.8.6):
/// DO'87' = '87' L '01' || E(KSenc, pad(data)) when there is data, DO'99' = '99 02' SW1 SW2,
/// DO'8E' = '8E 08' MAC. Padding is ISO/IEC 9797-1 method 2 to the 16-byte AES block, so it
/// always adds 1 to 16 bytes; L takes 1, 2 ('81' xx) or 3 ('82' xx xx) bytes (ISO 7816-4 §5.2).
/// An odd INS uses DO'85' without the '01' byte: one byte shorter, so the cap holds for both.
const fn protected_response_len(plain: usize) -> usize {
    const BLOCK: usize = 16;
    const DO99: usize = 4;
    const DO8E: usize = 10;
    if plain == 0 {
        return DO99 + DO8E;
    }
    let value = 1 + (plain / BLOCK + 1) * BLOCK;
    let len_of_len = if value < 0x80 {
        1
    } else if value <= 0xFF {
        2
    } else {
        3
    };
    1 + len_of_len + value + DO99 + DO8E
}

/// The largest plain length whose protected response data field is at most `budget` bytes.
const fn max_plain_in_protected(budget: usize) -> usize {
    let mut n = budget;
    while n > 0 && protected_response_len(n) > budget {
        n -= 1;
    }
    n
}

/// Which dedicated file a file lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Df {
    /// The master file (3F00).
    Master,
    /// The eMRTD LDS1 application ([`protocol::EMRTD_AID`]).
    Emrtd,
}

/// An elementary file on the card.
#[derive(Clone, PartialEq, Eq)]
pub struct ElementaryFile {
    /// File identifier.
    pub fid: u16,
    /// Short file identifier (1..=30).
    pub sfi: u8,
    /// The DF it lives in.
    pub df: Df,
    /// True if reading needs an established PACE secure channel.
    pub needs_pace: bool,
    /// Contents.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for ElementaryFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EF {:04X} (SFI {:02X}, {:?}, {} bytes{})",
            self.fid,
            self.sfi,
            self.df,
            self.content.len(),
            if self.needs_pace { ", PACE" } else { "" }
        )
    }
}

/// What the card keeps across power cycles.
#[derive(Clone)]
pub(crate) struct Persistent {
    pub(crate) files: Vec<ElementaryFile>,
    pub(crate) aa_key: p256::ecdsa::SigningKey,
    pub(crate) can: String,
    pub(crate) pin: String,
    pub(crate) pin_tries: u8,
}

#[derive(Default)]
struct Volatile {
    df: Option<Df>,
    ef: Option<usize>,
    pace: Option<PaceRun>,
    sm: Option<SecureChannel>,
    /// A channel PACE just opened: it takes over once the answer to step 4 has left (that
    /// answer is protected by the channel the command came in, if any).
    next_sm: Option<SecureChannel>,
    /// The password the current secure channel was opened with.
    authenticated: Option<PasswordRef>,
    /// A PACE with the CAN succeeded since power on (lets a suspended password be used).
    can_verified: bool,
    chain: ChainBuffer,
    queue: ResponseQueue,
    challenge: Option<Vec<u8>>,
}

struct PaceRun {
    password: PasswordRef,
    chip: ChipPace,
    started: bool,
}

/// Password state as the card reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    /// Usable, with this many tries left.
    Active(u8),
    /// One try left: PACE with the password needs a PACE with the CAN first.
    Suspended,
    /// No tries left: only the issuer can unblock it.
    Blocked,
}

/// The virtual IC resident registration card.
pub struct Card {
    pub(crate) persistent: Persistent,
    volatile: Volatile,
    rng: ChaCha20Rng,
    powered: bool,
    /// APDUs received since the last power on.
    apdus_since_power_on: u32,
    /// APDUs received over the card's life (for tear faults counted across taps).
    apdus_total: u64,
    pub(crate) faults: Faults,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("files", &self.persistent.files)
            .field("aa_key", &"<redacted>")
            .field("can", &"<redacted>")
            .field("pin", &"<redacted>")
            .field("password", &self.password_state())
            .field("powered", &self.powered)
            .field("faults", &self.faults)
            .finish()
    }
}

/// The outcome of processing one APDU inside the card.
enum Outcome {
    Answer(ResponseApdu),
    /// The card lost power while processing: no answer.
    Torn,
}

impl From<ResponseApdu> for Outcome {
    fn from(r: ResponseApdu) -> Self {
        Outcome::Answer(r)
    }
}

fn sw(s: StatusWord) -> Outcome {
    Outcome::Answer(ResponseApdu::status(s))
}

impl Card {
    pub(crate) fn from_parts(persistent: Persistent, rng: ChaCha20Rng, faults: Faults) -> Self {
        Self {
            persistent,
            volatile: Volatile::default(),
            rng,
            powered: false,
            apdus_since_power_on: 0,
            apdus_total: 0,
            faults,
        }
    }

    /// The card password state (the retry counter, as the chip would report it).
    pub fn password_state(&self) -> PasswordState {
        match self.persistent.pin_tries {
            0 => PasswordState::Blocked,
            1 => PasswordState::Suspended,
            n => PasswordState::Active(n),
        }
    }

    /// Tries left on the card password.
    pub fn password_tries(&self) -> u8 {
        self.persistent.pin_tries
    }

    /// The fault knobs, to change between taps.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// True while the card is in the field and powered.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// True while a PACE secure channel is open.
    pub fn secure_channel_open(&self) -> bool {
        self.volatile.sm.is_some()
    }

    /// The files on the card.
    pub fn files(&self) -> &[ElementaryFile] {
        &self.persistent.files
    }

    /// Total APDUs the card has received over its life.
    pub fn apdus_total(&self) -> u64 {
        self.apdus_total
    }

    fn tear_now(&mut self, point: TearPoint) -> bool {
        let torn = self
            .faults
            .tear
            .is_some_and(|t| t.point == point && u64::from(t.after_apdu) == self.apdus_total);
        if torn {
            self.power_off();
        }
        torn
    }

    fn close_session(&mut self) {
        self.volatile.sm = None;
        self.volatile.next_sm = None;
        self.volatile.authenticated = None;
        self.volatile.pace = None;
    }

    fn process(&mut self, raw: &[u8]) -> Outcome {
        let cmd = match CommandApdu::decode(raw) {
            Ok(c) => c,
            Err(_) => return sw(StatusWord::WrongLength),
        };
        // ISO 7816-4 §5.4.1: b8 set is proprietary; 0xFF is invalid (PPS).
        if cmd.cla & 0x80 != 0 {
            return sw(StatusWord::ClaNotSupported);
        }
        // GET RESPONSE takes the rest of a queued answer and is never itself protected
        // (the queued bytes already are).
        if cmd.ins == ins::GET_RESPONSE && !cmd.is_secure_messaging() {
            return self.volatile.queue.next(cmd.ne.unwrap_or(256)).into();
        }
        self.volatile.queue.clear();
        let outer_ne = cmd.ne;
        let outcome = if self.volatile.sm.is_some() {
            self.process_protected(cmd)
        } else if cmd.is_secure_messaging() {
            // No session to verify it against (ICAO 9303-11 §9.8.? the chip answers plain).
            sw(StatusWord::SmObjectsMissing)
        } else {
            self.process_chained(cmd, None)
        };
        if let Some(next) = self.volatile.next_sm.take() {
            self.volatile.sm = Some(next);
        }
        match outcome {
            Outcome::Answer(resp) => {
                let ne = outer_ne.unwrap_or(0) as usize;
                if ne > 0 && resp.data.len() > ne {
                    Outcome::Answer(self.volatile.queue.send(resp.data, resp.sw, ne as u32))
                } else {
                    Outcome::Answer(resp)
                }
            }
            torn => torn,
        }
    }

    /// Secure messaging session open: every command must be protected. A plain command or
    /// one that fails verification closes the session (ICAO 9303-11 §9.8.? "the chip SHALL
    /// abort secure messaging"), and the answer is plain.
    fn process_protected(&mut self, cmd: CommandApdu) -> Outcome {
        if !cmd.is_secure_messaging() {
            self.close_session();
            return sw(StatusWord::SmObjectsMissing);
        }
        // The channel is out of `volatile` while the inner command runs; access checks look at
        // `authenticated`.
        let Some(mut channel) = self.volatile.sm.take() else {
            return sw(StatusWord::SmObjectsMissing);
        };
        let inner = match channel.unprotect_command(&cmd) {
            Ok(inner) => inner,
            Err(e) => {
                self.close_session();
                return sw(protocol::sm::sm_error_status(&e));
            }
        };
        // A short protected command gets an answer that fits one short response, so no
        // '61xx' inside secure messaging for a READ BINARY; an extended one has room.
        let read_cap = (!cmd.extended).then_some(SM_SHORT_READ_MAX);
        let answer = match self.process_chained(inner, read_cap) {
            Outcome::Answer(a) => a,
            Outcome::Torn => return Outcome::Torn,
        };
        match channel.protect_response(&answer) {
            Ok(protected) => {
                if self.volatile.authenticated.is_some() {
                    self.volatile.sm = Some(channel);
                }
                protected.into()
            }
            Err(_) => {
                self.close_session();
                sw(StatusWord::NoPreciseDiagnosis)
            }
        }
    }

    /// Command chaining (ISO 7816-4 §5.1.1.1) for every command but GENERAL AUTHENTICATE,
    /// whose chaining bit is PACE's own step marker (ICAO 9303-11 §4.4.4.2). `read_cap` is the
    /// most plain bytes a READ BINARY may answer ([`SM_SHORT_READ_MAX`] inside secure
    /// messaging), `None` for no cap beyond Ne.
    fn process_chained(&mut self, cmd: CommandApdu, read_cap: Option<usize>) -> Outcome {
        if cmd.ins == ins::GENERAL_AUTHENTICATE {
            self.volatile.chain.reset();
            return self.execute(cmd, read_cap);
        }
        match self.volatile.chain.push(cmd) {
            Chained::NeedMore => sw(StatusWord::Ok),
            Chained::Abort(s) => sw(s),
            Chained::Complete(cmd) => self.execute(cmd, read_cap),
        }
    }

    fn execute(&mut self, cmd: CommandApdu, read_cap: Option<usize>) -> Outcome {
        match cmd.ins {
            ins::SELECT => self.select(&cmd).into(),
            ins::READ_BINARY => self.read_binary(&cmd, read_cap).into(),
            ins::READ_BINARY_ODD => self.read_binary_odd(&cmd, read_cap).into(),
            ins::GET_CHALLENGE => self.get_challenge(&cmd).into(),
            ins::MSE => self.mse(&cmd).into(),
            ins::GENERAL_AUTHENTICATE => self.general_authenticate(&cmd),
            ins::INTERNAL_AUTHENTICATE => self.internal_authenticate(&cmd).into(),
            _ => sw(StatusWord::InsNotSupported),
        }
    }

    /// SELECT (ISO 7816-4 §11.2.2).
    fn select(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        let fci = match cmd.p2 & 0x0C {
            0x0C => false,
            0x00 => true,
            _ => return ResponseApdu::status(StatusWord::IncorrectP1P2),
        };
        match cmd.p1 {
            // By DF name.
            0x04 => {
                if cmd.data != protocol::EMRTD_AID {
                    return ResponseApdu::status(StatusWord::FileNotFound);
                }
                self.volatile.df = Some(Df::Emrtd);
                self.volatile.ef = None;
                if fci {
                    ResponseApdu::ok(tlv::encode(
                        Tag(0x6F),
                        &tlv::encode(Tag(0x84), &protocol::EMRTD_AID),
                    ))
                } else {
                    ResponseApdu::status(StatusWord::Ok)
                }
            }
            // MF, or by file identifier (P1=00 with 3F00 or empty: the MF).
            0x00 if cmd.data.is_empty() || cmd.data == [0x3F, 0x00] => {
                self.volatile.df = Some(Df::Master);
                self.volatile.ef = None;
                ResponseApdu::status(StatusWord::Ok)
            }
            0x00 | 0x02 => {
                let [hi, lo] = match <[u8; 2]>::try_from(cmd.data.as_slice()) {
                    Ok(b) => b,
                    Err(_) => return ResponseApdu::status(StatusWord::WrongData),
                };
                let fid = u16::from_be_bytes([hi, lo]);
                let df = self.volatile.df.unwrap_or(Df::Master);
                match self.find(|f| f.fid == fid && f.df == df) {
                    Some(i) => {
                        self.volatile.ef = Some(i);
                        if fci {
                            let f = &self.persistent.files[i];
                            let mut inner =
                                tlv::encode(Tag(0x80), &(f.content.len() as u16).to_be_bytes());
                            inner.extend(tlv::encode(Tag(0x83), &fid.to_be_bytes()));
                            ResponseApdu::ok(tlv::encode(Tag(0x62), &inner))
                        } else {
                            ResponseApdu::status(StatusWord::Ok)
                        }
                    }
                    None => ResponseApdu::status(StatusWord::FileNotFound),
                }
            }
            _ => ResponseApdu::status(StatusWord::IncorrectP1P2),
        }
    }

    fn find(&self, pred: impl Fn(&ElementaryFile) -> bool) -> Option<usize> {
        self.persistent.files.iter().position(pred)
    }

    /// Resolve a short file identifier. Files of the current DF come first; EF.CardAccess
    /// and the other MF files are reachable from the application as well, as on deployed
    /// eMRTD chips, so a terminal can read EF.CardAccess whatever it selected.
    fn find_sfi(&self, sfi: u8) -> Option<usize> {
        let df = self.volatile.df.unwrap_or(Df::Master);
        self.find(|f| f.sfi == sfi && f.df == df)
            .or_else(|| self.find(|f| f.sfi == sfi && f.df == Df::Master))
    }

    fn may_read(&self, i: usize) -> bool {
        !self.persistent.files[i].needs_pace || self.volatile.authenticated.is_some()
    }

    /// READ BINARY, even INS (ISO 7816-4 §11.3.3): P1 b8 set means P1 b5-b1 is an SFI and
    /// P2 the offset; otherwise P1-P2 is a 15-bit offset into the current EF. At most
    /// `read_cap` bytes come back (see [`SM_SHORT_READ_MAX`]).
    fn read_binary(&mut self, cmd: &CommandApdu, read_cap: Option<usize>) -> ResponseApdu {
        let (file, offset) = if cmd.p1 & 0x80 != 0 {
            if cmd.p1 & 0x60 != 0 {
                return ResponseApdu::status(StatusWord::IncorrectP1P2);
            }
            match self.find_sfi(cmd.p1 & 0x1F) {
                Some(i) => (i, usize::from(cmd.p2)),
                None => return ResponseApdu::status(StatusWord::FileNotFound),
            }
        } else {
            match self.volatile.ef {
                Some(i) => (i, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]))),
                None => return ResponseApdu::status(StatusWord::NoCurrentEf),
            }
        };
        if !cmd.data.is_empty() {
            return ResponseApdu::status(StatusWord::WrongLength);
        }
        let Some(ne) = cmd.ne else {
            return ResponseApdu::status(StatusWord::WrongLength);
        };
        self.read_at(file, offset, ne, read_cap, read_to_end(cmd))
    }

    fn read_at(
        &mut self,
        file: usize,
        offset: usize,
        ne: u32,
        read_cap: Option<usize>,
        to_end: bool,
    ) -> ResponseApdu {
        if !self.may_read(file) {
            return ResponseApdu::status(StatusWord::SecurityStatusNotSatisfied);
        }
        self.volatile.ef = Some(file);
        let content = &self.persistent.files[file].content;
        if offset > content.len() {
            return ResponseApdu::status(StatusWord::WrongP1P2);
        }
        let ne = ne as usize;
        let end = content.len().min(offset + ne.min(read_cap.unwrap_or(ne)));
        let data = content[offset..end].to_vec();
        // Le of all zeros asks for everything up to the end of the file; a specific Ne that
        // runs past the end gets what there is and the 6282 warning (ISO 7816-4 §11.3.3). A
        // read cut short by the cap, not by the end of the file, is a plain 9000.
        if data.len() < ne && end == content.len() && !to_end {
            ResponseApdu::new(data, StatusWord::EndOfFile)
        } else {
            ResponseApdu::ok(data)
        }
    }

    /// READ BINARY, odd INS (ISO 7816-4 §11.3.3): P1-P2 is a file identifier (0000: current
    /// EF), the data field an offset data object '54', the answer wrapped in '53'. The '53'
    /// object as a whole stays within `read_cap`.
    fn read_binary_odd(&mut self, cmd: &CommandApdu, read_cap: Option<usize>) -> ResponseApdu {
        let fid = u16::from_be_bytes([cmd.p1, cmd.p2]);
        let file = if fid == 0 {
            self.volatile.ef
        } else {
            let df = self.volatile.df.unwrap_or(Df::Master);
            self.find(|f| f.fid == fid && f.df == df)
        };
        let Some(file) = file else {
            return ResponseApdu::status(StatusWord::FileNotFound);
        };
        let offset = match tlv::find(&cmd.data, Tag(0x54)) {
            Ok(Some(v)) if !v.is_empty() && v.len() <= 3 => {
                v.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
            }
            _ => return ResponseApdu::status(StatusWord::WrongData),
        };
        let Some(ne) = cmd.ne else {
            return ResponseApdu::status(StatusWord::WrongLength);
        };
        // Room for the '53' header (tag and up to 4 length bytes).
        let ne = read_cap.map_or(ne, |cap| ne.min(cap as u32));
        let room = ne.saturating_sub(5).max(1);
        let inner = self.read_at(file, offset, room, None, true);
        if !inner.sw.is_success() && inner.sw != StatusWord::EndOfFile {
            return inner;
        }
        ResponseApdu::new(tlv::encode(Tag(0x53), &inner.data), inner.sw)
    }

    /// GET CHALLENGE (ISO 7816-4 §11.5.3).
    fn get_challenge(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return ResponseApdu::status(StatusWord::IncorrectP1P2);
        }
        match cmd.ne {
            Some(ne @ 1..=256) if cmd.data.is_empty() => {
                let mut challenge = vec![0u8; ne as usize];
                rand_core::RngCore::fill_bytes(&mut self.rng, &mut challenge);
                self.volatile.challenge = Some(challenge.clone());
                ResponseApdu::ok(challenge)
            }
            _ => ResponseApdu::status(StatusWord::WrongLength),
        }
    }

    /// MSE:Set AT for PACE (ICAO 9303-11 §4.4.4.1, ISO 7816-4 §11.5.11): '80' protocol OID,
    /// '83' password reference, optional '84' domain parameter id.
    fn mse(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        if (cmd.p1, cmd.p2) != (0xC1, 0xA4) {
            return ResponseApdu::status(StatusWord::IncorrectP1P2);
        }
        let set_at = match SetAt::decode(&cmd.data) {
            Ok(s) => s,
            Err(_) => return ResponseApdu::status(StatusWord::WrongData),
        };
        if set_at.protocol != protocol::pace::ID_PACE_ECDH_GM_AES_CBC_CMAC_128
            || set_at
                .parameter_id
                .is_some_and(|p| p != protocol::pace::PARAM_ID_P256)
        {
            return ResponseApdu::status(StatusWord::ReferenceNotFound);
        }
        let password = match set_at.password {
            p @ (PasswordRef::Can | PasswordRef::Pin) => p,
            _ => return ResponseApdu::status(StatusWord::ReferenceNotFound),
        };
        let secret = match password {
            PasswordRef::Pin => {
                if self.persistent.pin_tries == 0 {
                    self.volatile.pace = None;
                    return ResponseApdu::status(StatusWord::AuthenticationBlocked);
                }
                self.persistent.pin.clone()
            }
            _ => self.persistent.can.clone(),
        };
        self.volatile.pace = Some(PaceRun {
            password,
            chip: ChipPace::new(secret.as_bytes()),
            started: false,
        });
        // A password below its full count is announced with 63Cx, which terminals read as a
        // warning (BSI TR-03110-3 §B.11.1 does the same for the eID PIN).
        match (password, self.persistent.pin_tries) {
            (PasswordRef::Pin, n) if n < PIN_TRIES => {
                ResponseApdu::status(StatusWord::TriesLeft(n))
            }
            _ => ResponseApdu::status(StatusWord::Ok),
        }
    }

    /// GENERAL AUTHENTICATE: the four PACE steps (ICAO 9303-11 §4.4.4.2).
    fn general_authenticate(&mut self, cmd: &CommandApdu) -> Outcome {
        if (cmd.p1, cmd.p2) != (0, 0) {
            return sw(StatusWord::IncorrectP1P2);
        }
        let can_verified = self.volatile.can_verified;
        let Some(run) = self.volatile.pace.as_mut() else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        let password = run.password;
        if !run.started {
            // A suspended password is usable only after a PACE with the CAN in this session.
            if password == PasswordRef::Pin && self.persistent.pin_tries == 1 && !can_verified {
                self.volatile.pace = None;
                return sw(StatusWord::ReferenceDataNotUsable);
            }
            // A PACE run inside a channel (the password after the CAN) keeps that channel
            // until the new one is established.
            run.started = true;
        }
        let Some(run) = self.volatile.pace.as_mut() else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        let checks_token = run.chip.awaiting_token() && carries_token(&cmd.data);
        if checks_token && password == PasswordRef::Pin {
            // Decrement before checking, so no tear can undo a failed try.
            self.persistent.pin_tries = self.persistent.pin_tries.saturating_sub(1);
            if self.tear_now(TearPoint::MidCommand) {
                return Outcome::Torn;
            }
        }
        let Some(run) = self.volatile.pace.as_mut() else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        match run.chip.handle(&cmd.data, &mut self.rng) {
            Ok(ChipStep::Continue(data)) => ResponseApdu::ok(data).into(),
            Ok(ChipStep::Established {
                response_data,
                keys,
            }) => {
                if password == PasswordRef::Pin {
                    self.persistent.pin_tries = PIN_TRIES;
                } else {
                    self.volatile.can_verified = true;
                }
                self.volatile.pace = None;
                self.volatile.next_sm = Some(SecureChannel::new(keys));
                self.volatile.authenticated = Some(password);
                ResponseApdu::ok(response_data).into()
            }
            Err(e) => {
                self.volatile.pace = None;
                if checks_token && is_auth_failure(&e) {
                    match password {
                        PasswordRef::Pin => sw(StatusWord::TriesLeft(self.persistent.pin_tries)),
                        _ => sw(StatusWord::Other(0x6300)),
                    }
                } else {
                    if checks_token && password == PasswordRef::Pin {
                        // Malformed, not a wrong password: give the try back.
                        self.persistent.pin_tries = (self.persistent.pin_tries + 1).min(PIN_TRIES);
                    }
                    sw(StatusWord::WrongData)
                }
            }
        }
    }

    /// INTERNAL AUTHENTICATE: Active Authentication (ICAO 9303-11 §6.1), inside the PACE
    /// channel. The answer is a plain ECDSA signature over the terminal's challenge.
    fn internal_authenticate(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        if self.volatile.authenticated.is_none() {
            return ResponseApdu::status(StatusWord::SecurityStatusNotSatisfied);
        }
        if (cmd.p1, cmd.p2) != (0, 0) {
            return ResponseApdu::status(StatusWord::IncorrectP1P2);
        }
        if cmd.data.is_empty() || cmd.data.len() > 64 {
            return ResponseApdu::status(StatusWord::WrongLength);
        }
        let key = self
            .faults
            .clone_key
            .as_ref()
            .unwrap_or(&self.persistent.aa_key);
        ResponseApdu::ok(protocol::aa::sign_challenge(key, &cmd.data))
    }
}

fn read_to_end(cmd: &CommandApdu) -> bool {
    matches!(cmd.ne, Some(65_536)) || (cmd.ne == Some(256) && !cmd.extended)
}

/// True if a GENERAL AUTHENTICATE data field carries a terminal authentication token
/// ('7C' containing '85', ICAO 9303-11 §4.4.4.2 step 4).
fn carries_token(data: &[u8]) -> bool {
    matches!(tlv::find(data, Tag(0x7C)), Ok(Some(inner)) if matches!(tlv::find(inner, Tag(0x85)), Ok(Some(_))))
}

fn is_auth_failure(e: &protocol::Error) -> bool {
    matches!(e, protocol::Error::PaceAuthFailed)
}

impl SmartCard for Card {
    fn power_on(&mut self) -> Vec<u8> {
        self.volatile = Volatile::default();
        self.powered = true;
        self.apdus_since_power_on = 0;
        atr_with_checksum()
    }

    fn power_off(&mut self) {
        self.volatile = Volatile::default();
        self.powered = false;
    }

    fn atr(&self) -> Vec<u8> {
        atr_with_checksum()
    }

    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        if !self.powered {
            // A reader that forgot to power the card gets the card powered implicitly, as a
            // contactless field would.
            self.power_on();
        }
        self.apdus_since_power_on = self.apdus_since_power_on.saturating_add(1);
        self.apdus_total = self.apdus_total.saturating_add(1);
        match self.process(command) {
            Outcome::Torn => Vec::new(),
            Outcome::Answer(resp) => {
                // A command with no persistent write tears the same at either point.
                if self.tear_now(TearPoint::BeforeResponse) || self.tear_now(TearPoint::MidCommand)
                {
                    return Vec::new();
                }
                resp.encode()
            }
        }
    }

    fn processing_time(&self) -> Duration {
        self.faults.latency
    }
}

#[cfg(test)]
mod tests {
    use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
    use protocol::lds::LdsFile;
    use protocol::pace::SessionKeys;
    use protocol::sm::SecureChannel;

    use super::{protected_response_len, Card, SM_SHORT_READ_MAX};
    use crate::SmartCard;

    fn keys() -> SessionKeys {
        SessionKeys {
            ks_enc: [0x11; 16],
            ks_mac: [0x22; 16],
        }
    }

    /// The length the card plans with is the length secure messaging produces.
    #[test]
    fn protected_response_len_matches_the_secure_channel() {
        for odd in [false, true] {
            for n in 0..=300usize {
                let mut terminal = SecureChannel::new(keys());
                let mut chip = SecureChannel::new(keys());
                let ins = if odd { 0xB1 } else { 0xB0 };
                let cmd = CommandApdu::new(0, ins, 0, 0).with_ne(256);
                chip.unprotect_command(&terminal.protect_command(&cmd).unwrap())
                    .unwrap();
                let protected = chip
                    .protect_response(&ResponseApdu::ok(vec![0x5A; n]))
                    .unwrap();
                let expected = protected_response_len(n) - usize::from(odd && n > 0);
                assert_eq!(protected.data.len(), expected, "{n} plain bytes, odd={odd}");
            }
        }
    }

    #[test]
    fn the_cap_is_the_largest_read_that_fits_a_short_response() {
        assert_eq!(SM_SHORT_READ_MAX, 223);
        // 223 pads to 224: '87 81 E1 01' + 224 + DO'99' + DO'8E'.
        assert_eq!(protected_response_len(223), 4 + 224 + 4 + 10);
        assert!(protected_response_len(SM_SHORT_READ_MAX) <= 256);
        // One more byte pads to 240: 258, over a short Le '00'.
        assert_eq!(protected_response_len(224), 258);
    }

    /// Outside secure messaging nothing changes: a plain-readable file over 256 bytes gives
    /// 256 bytes and 9000 to Le '00' (no cap at 223), and an answer longer than Ne still comes
    /// through '61xx' and GET RESPONSE.
    #[test]
    fn plain_reads_are_not_capped_and_long_answers_use_get_response() {
        let mut card = Card::demo(4);
        let sod = card
            .persistent
            .files
            .iter_mut()
            .find(|f| f.fid == LdsFile::Sod.fid())
            .unwrap();
        sod.needs_pace = false;
        let content = sod.content.clone();
        assert!(content.len() > 300, "EF.SOD is {} bytes", content.len());
        card.power_on();
        let sel = CommandApdu::select_aid(&protocol::EMRTD_AID);
        assert_eq!(card.transmit(&sel.encode().unwrap()), [0x90, 0x00]);
        let sfi = LdsFile::Sod.sfi();
        let r = card.transmit(&CommandApdu::read_binary_sfi(sfi, 0, 256).encode().unwrap());
        let r = ResponseApdu::decode(&r).unwrap();
        assert_eq!((r.sw, r.data.as_slice()), (StatusWord::Ok, &content[..256]));
        // Odd READ BINARY with Ne 2: the '53' object (3 bytes) does not fit, so '6101'.
        let mut odd = CommandApdu::new(0x00, 0xB1, 0x00, 0x00).with_data([0x54, 0x01, 0x00]);
        odd.ne = Some(2);
        let r = ResponseApdu::decode(&card.transmit(&odd.encode().unwrap())).unwrap();
        assert_eq!(
            (r.sw, r.data.as_slice()),
            (StatusWord::BytesAvailable(1), &[0x53, 0x01][..])
        );
        let rest = card.transmit(&CommandApdu::get_response(1).encode().unwrap());
        assert_eq!(rest, [content[0], 0x90, 0x00]);
    }
}
