//! ISO/IEC 7816-4 command and response APDUs.
//!
//! - All four cases, short and extended length (ISO 7816-4 §5.1, table 1). The form an APDU
//!   arrived in is kept ([`CommandApdu::extended`]) so that decode then encode gives back the
//!   same bytes.
//! - Command chaining (CLA bit b5, 0x10; §5.1.1.1): [`CommandApdu::chain`] splits, the card
//!   reassembles with [`ChainBuffer`].
//! - GET RESPONSE (§7.6.1, SW 61xx): the card splits a long answer with [`ResponseQueue`], the
//!   terminal asks for the rest with [`CommandApdu::get_response`].
//! - Status words as [`StatusWord`], which names the ones this workspace uses and keeps every
//!   other value as [`StatusWord::Other`].
//!
//! Decoding is bounds-checked: any byte string gives either an APDU or a typed [`Error`].

use core::fmt;

use crate::reader::Reader;
use crate::{DecodeErrorKind, Error};

/// CLA bit b5: command chaining, more commands of this chain follow (ISO 7816-4 §5.4.1).
pub const CLA_CHAINING: u8 = 0x10;
/// CLA bits b4-b3 = 11: secure messaging with an authenticated command header (§5.4.1).
pub const CLA_SM: u8 = 0x0C;

/// Instruction bytes used in this workspace (ISO 7816-4 §5.4.2 table 4, ICAO 9303-11).
pub mod ins {
    /// SELECT (§11.2.2).
    pub const SELECT: u8 = 0xA4;
    /// READ BINARY with an offset in P1-P2 or a short EF identifier (§11.3.3).
    pub const READ_BINARY: u8 = 0xB0;
    /// READ BINARY with an offset data object (odd INS, §11.3.3).
    pub const READ_BINARY_ODD: u8 = 0xB1;
    /// GET CHALLENGE (§11.5.3).
    pub const GET_CHALLENGE: u8 = 0x84;
    /// MANAGE SECURITY ENVIRONMENT (§11.5.11).
    pub const MSE: u8 = 0x22;
    /// GENERAL AUTHENTICATE (§11.5.5; ICAO 9303-11 §4.4).
    pub const GENERAL_AUTHENTICATE: u8 = 0x86;
    /// INTERNAL AUTHENTICATE (§11.5.4; ICAO 9303-11 §6.1 Active Authentication).
    pub const INTERNAL_AUTHENTICATE: u8 = 0x88;
    /// GET RESPONSE (§11.6.1? §7.6.1).
    pub const GET_RESPONSE: u8 = 0xC0;
}

/// A status word SW1-SW2 (ISO 7816-4 §5.6). Unknown values are kept in [`StatusWord::Other`]
/// and survive a round trip; [`StatusWord::from_u16`] always picks the named variant when
/// there is one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// 9000: normal processing.
    Ok,
    /// 61xx: xx more bytes available with GET RESPONSE (00 means 256 or more).
    BytesAvailable(u8),
    /// 6282: end of file reached before reading Ne bytes.
    EndOfFile,
    /// 63Cx: verification failed, x tries left.
    TriesLeft(u8),
    /// 6581: memory failure.
    MemoryFailure,
    /// 6700: wrong length (Lc or Le).
    WrongLength,
    /// 6882: secure messaging not supported.
    SmNotSupported,
    /// 6883: last command of the chain expected.
    LastCommandExpected,
    /// 6884: command chaining not supported.
    ChainingNotSupported,
    /// 6982: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// 6983: authentication method blocked.
    AuthenticationBlocked,
    /// 6984: reference data not usable (e.g. a suspended password).
    ReferenceDataNotUsable,
    /// 6985: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// 6986: command not allowed (no current EF).
    NoCurrentEf,
    /// 6987: expected secure messaging data objects missing.
    SmObjectsMissing,
    /// 6988: incorrect secure messaging data objects.
    SmObjectsIncorrect,
    /// 6A80: incorrect parameters in the command data field.
    WrongData,
    /// 6A81: function not supported.
    FunctionNotSupported,
    /// 6A82: file or application not found.
    FileNotFound,
    /// 6A86: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// 6A88: referenced data or reference data not found.
    ReferenceNotFound,
    /// 6B00: wrong parameters P1-P2 (offset outside the EF).
    WrongP1P2,
    /// 6Cxx: wrong Le field; xx is the exact length.
    WrongLe(u8),
    /// 6D00: instruction not supported.
    InsNotSupported,
    /// 6E00: class not supported.
    ClaNotSupported,
    /// 6F00: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other status word, kept as is.
    Other(u16),
}

impl StatusWord {
    /// Classify a 16-bit status word.
    pub fn from_u16(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Ok,
            (0x61, n) => Self::BytesAvailable(n),
            (0x62, 0x82) => Self::EndOfFile,
            (0x63, n) if n & 0xF0 == 0xC0 => Self::TriesLeft(n & 0x0F),
            (0x65, 0x81) => Self::MemoryFailure,
            (0x67, 0x00) => Self::WrongLength,
            (0x68, 0x82) => Self::SmNotSupported,
            (0x68, 0x83) => Self::LastCommandExpected,
            (0x68, 0x84) => Self::ChainingNotSupported,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::AuthenticationBlocked,
            (0x69, 0x84) => Self::ReferenceDataNotUsable,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x69, 0x86) => Self::NoCurrentEf,
            (0x69, 0x87) => Self::SmObjectsMissing,
            (0x69, 0x88) => Self::SmObjectsIncorrect,
            (0x6A, 0x80) => Self::WrongData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::FileNotFound,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x88) => Self::ReferenceNotFound,
            (0x6B, 0x00) => Self::WrongP1P2,
            (0x6C, n) => Self::WrongLe(n),
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            (0x6F, 0x00) => Self::NoPreciseDiagnosis,
            _ => Self::Other(sw),
        }
    }

    /// The 16-bit value.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Ok => 0x9000,
            Self::BytesAvailable(n) => 0x6100 | u16::from(n),
            Self::EndOfFile => 0x6282,
            Self::TriesLeft(n) => 0x63C0 | u16::from(n & 0x0F),
            Self::MemoryFailure => 0x6581,
            Self::WrongLength => 0x6700,
            Self::SmNotSupported => 0x6882,
            Self::LastCommandExpected => 0x6883,
            Self::ChainingNotSupported => 0x6884,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationBlocked => 0x6983,
            Self::ReferenceDataNotUsable => 0x6984,
            Self::ConditionsNotSatisfied => 0x6985,
            Self::NoCurrentEf => 0x6986,
            Self::SmObjectsMissing => 0x6987,
            Self::SmObjectsIncorrect => 0x6988,
            Self::WrongData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::FileNotFound => 0x6A82,
            Self::IncorrectP1P2 => 0x6A86,
            Self::ReferenceNotFound => 0x6A88,
            Self::WrongP1P2 => 0x6B00,
            Self::WrongLe(n) => 0x6C00 | u16::from(n),
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
            Self::Other(sw) => sw,
        }
    }

    /// SW1 and SW2 as bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// True for 9000 and for 61xx (processing completed, more data waiting).
    pub fn is_success(self) -> bool {
        matches!(self, Self::Ok | Self::BytesAvailable(_))
    }

    /// A short human description, as a UI or transcript would show it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BytesAvailable(_) => "more bytes available",
            Self::EndOfFile => "end of file reached",
            Self::TriesLeft(_) => "verification failed",
            Self::MemoryFailure => "memory failure",
            Self::WrongLength => "wrong length",
            Self::SmNotSupported => "secure messaging not supported",
            Self::LastCommandExpected => "last command of chain expected",
            Self::ChainingNotSupported => "chaining not supported",
            Self::SecurityStatusNotSatisfied => "security status not satisfied",
            Self::AuthenticationBlocked => "authentication method blocked",
            Self::ReferenceDataNotUsable => "reference data not usable",
            Self::ConditionsNotSatisfied => "conditions of use not satisfied",
            Self::NoCurrentEf => "no current EF",
            Self::SmObjectsMissing => "secure messaging data objects missing",
            Self::SmObjectsIncorrect => "secure messaging data objects incorrect",
            Self::WrongData => "incorrect data field",
            Self::FunctionNotSupported => "function not supported",
            Self::FileNotFound => "file not found",
            Self::IncorrectP1P2 => "incorrect P1-P2",
            Self::ReferenceNotFound => "referenced data not found",
            Self::WrongP1P2 => "wrong P1-P2",
            Self::WrongLe(_) => "wrong Le",
            Self::InsNotSupported => "instruction not supported",
            Self::ClaNotSupported => "class not supported",
            Self::NoPreciseDiagnosis => "no precise diagnosis",
            Self::Other(_) => "unknown status",
        }
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.to_u16())
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.to_u16(), self.describe())
    }
}

/// The largest Ne a command can ask for: extended Le 0000 (ISO 7816-4 §5.1).
pub const MAX_NE: u32 = 65_536;
/// The largest Nc an extended command can carry.
pub const MAX_NC: usize = 65_535;

/// A command APDU (ISO 7816-4 §5.1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CommandApdu {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Nc = `data.len()`, at most 65535).
    pub data: Vec<u8>,
    /// Ne, the maximum number of response bytes expected: `None` for no Le field, else
    /// 1..=65536 (short Le 00 means 256, extended Le 0000 means 65536).
    pub ne: Option<u32>,
    /// Encode with extended length fields even where short ones would do.
    pub extended: bool,
}

impl CommandApdu {
    /// A command with no data and no Le (case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
            extended: false,
        }
    }

    /// Set the command data.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Set Ne (clamped to 1..=65536).
    #[must_use]
    pub fn with_ne(mut self, ne: u32) -> Self {
        self.ne = Some(ne.clamp(1, MAX_NE));
        self
    }

    /// SELECT by DF name (application identifier), first or only occurrence, no response data
    /// requested (ISO 7816-4 §11.2.2, P1=04, P2=0C).
    pub fn select_aid(aid: &[u8]) -> Self {
        Self::new(0x00, ins::SELECT, 0x04, 0x0C).with_data(aid)
    }

    /// SELECT an EF under the current DF by file identifier (P1=02, P2=0C).
    pub fn select_ef(fid: u16) -> Self {
        Self::new(0x00, ins::SELECT, 0x02, 0x0C).with_data(fid.to_be_bytes())
    }

    /// SELECT the master file (P1=00, P2=0C, FID 3F00).
    pub fn select_mf() -> Self {
        Self::new(0x00, ins::SELECT, 0x00, 0x0C).with_data([0x3F, 0x00])
    }

    /// READ BINARY of the current EF at `offset` (0..=0x7FFF), `ne` bytes.
    pub fn read_binary(offset: u16, ne: u32) -> Self {
        let [p1, p2] = (offset & 0x7FFF).to_be_bytes();
        Self::new(0x00, ins::READ_BINARY, p1, p2).with_ne(ne)
    }

    /// READ BINARY selecting the EF by short file identifier (1..=30) at an offset of at most
    /// 255 bytes (ISO 7816-4 §11.3.3: P1 = 100xxxxx).
    pub fn read_binary_sfi(sfi: u8, offset: u8, ne: u32) -> Self {
        Self::new(0x00, ins::READ_BINARY, 0x80 | (sfi & 0x1F), offset).with_ne(ne)
    }

    /// GET CHALLENGE for `len` bytes (§11.5.3).
    pub fn get_challenge(len: u8) -> Self {
        Self::new(0x00, ins::GET_CHALLENGE, 0x00, 0x00).with_ne(u32::from(len.max(1)))
    }

    /// GET RESPONSE for the bytes announced by a 61xx status (§7.6.1).
    pub fn get_response(available: u8) -> Self {
        Self::new(0x00, ins::GET_RESPONSE, 0x00, 0x00).with_ne(if available == 0 {
            256
        } else {
            u32::from(available)
        })
    }

    /// INTERNAL AUTHENTICATE with a challenge, for Active Authentication (ICAO 9303-11 §6.1).
    pub fn internal_authenticate(challenge: &[u8]) -> Self {
        Self::new(0x00, ins::INTERNAL_AUTHENTICATE, 0x00, 0x00)
            .with_data(challenge)
            .with_ne(256)
    }

    /// True if CLA announces that more commands of a chain follow.
    pub fn is_chained(&self) -> bool {
        self.cla & 0x80 == 0 && self.cla & CLA_CHAINING != 0
    }

    /// True if CLA indicates secure messaging (bits b4-b3 set).
    pub fn is_secure_messaging(&self) -> bool {
        self.cla & 0x80 == 0 && self.cla & CLA_SM == CLA_SM
    }

    /// The 4-byte header.
    pub fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// True if this command needs extended length fields.
    pub fn needs_extended(&self) -> bool {
        self.data.len() > 255 || self.ne.is_some_and(|ne| ne > 256)
    }

    /// Encode into bytes, short form unless extended is needed or asked for.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        const WHAT: &str = "command APDU";
        if self.data.len() > MAX_NC {
            return Err(Error::Encode {
                what: WHAT,
                reason: "more than 65535 data bytes",
            });
        }
        if let Some(ne) = self.ne {
            if !(1..=MAX_NE).contains(&ne) {
                return Err(Error::Encode {
                    what: WHAT,
                    reason: "Ne outside 1..=65536",
                });
            }
        }
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 2);
        out.extend_from_slice(&self.header());
        let ext = self.extended || self.needs_extended();
        let nc = self.data.len();
        if ext {
            if nc > 0 {
                out.push(0);
                out.extend_from_slice(&(nc as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                if nc == 0 {
                    out.push(0);
                }
                out.extend_from_slice(&((ne % MAX_NE) as u16).to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                out.push((ne % 256) as u8);
            }
        }
        Ok(out)
    }

    /// Decode the bytes of one command APDU (ISO 7816-4 §5.1 table 1, all cases).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "command APDU");
        let header = r.take(4)?;
        let mut apdu = Self::new(header[0], header[1], header[2], header[3]);
        let body = r.rest();
        let bad_len = || Error::decode("command APDU", DecodeErrorKind::BadLength, 4);
        match body.len() {
            0 => {}
            // Case 2S.
            1 => {
                apdu.ne = Some(if body[0] == 0 {
                    256
                } else {
                    u32::from(body[0])
                })
            }
            _ if body[0] != 0 => {
                // Case 3S or 4S.
                let nc = usize::from(body[0]);
                match body.len() - 1 {
                    n if n == nc => apdu.data = body[1..].to_vec(),
                    n if n == nc + 1 => {
                        apdu.data = body[1..=nc].to_vec();
                        let le = body[nc + 1];
                        apdu.ne = Some(if le == 0 { 256 } else { u32::from(le) });
                    }
                    _ => return Err(bad_len()),
                }
            }
            // body[0] == 0 from here: extended forms.
            3 => {
                // Case 2E.
                apdu.extended = true;
                let le = u16::from_be_bytes([body[1], body[2]]);
                apdu.ne = Some(if le == 0 { MAX_NE } else { u32::from(le) });
            }
            n if n > 3 => {
                apdu.extended = true;
                let nc = usize::from(u16::from_be_bytes([body[1], body[2]]));
                if nc == 0 {
                    return Err(bad_len());
                }
                match n - 3 {
                    m if m == nc => apdu.data = body[3..].to_vec(),
                    m if m == nc + 2 => {
                        apdu.data = body[3..3 + nc].to_vec();
                        let le = u16::from_be_bytes([body[3 + nc], body[4 + nc]]);
                        apdu.ne = Some(if le == 0 { MAX_NE } else { u32::from(le) });
                    }
                    _ => return Err(bad_len()),
                }
            }
            _ => return Err(bad_len()),
        }
        Ok(apdu)
    }

    /// Split into a chain of commands of at most `max_data` data bytes each (ISO 7816-4
    /// §5.1.1.1): every command but the last has the chaining bit set in CLA, and only the
    /// last carries Le. A command that fits is returned alone, unchanged.
    pub fn chain(&self, max_data: usize) -> Vec<CommandApdu> {
        let max_data = max_data.max(1);
        if self.data.len() <= max_data {
            return vec![self.clone()];
        }
        let chunks: Vec<&[u8]> = self.data.chunks(max_data).collect();
        let last = chunks.len() - 1;
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| CommandApdu {
                cla: if i == last {
                    self.cla & !CLA_CHAINING
                } else {
                    self.cla | CLA_CHAINING
                },
                data: chunk.to_vec(),
                ne: if i == last { self.ne } else { None },
                ..self.clone()
            })
            .collect()
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "C-APDU {:02X} {:02X} {:02X} {:02X}",
            self.cla, self.ins, self.p1, self.p2
        )?;
        if !self.data.is_empty() {
            write!(
                f,
                " Lc={} {}",
                self.data.len(),
                hex::encode_upper(&self.data)
            )?;
        }
        if let Some(ne) = self.ne {
            write!(f, " Ne={ne}")?;
        }
        if self.extended {
            f.write_str(" (extended)")?;
        }
        Ok(())
    }
}

/// A response APDU: data and a status word (ISO 7816-4 §5.1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResponseApdu {
    /// Response data.
    pub data: Vec<u8>,
    /// Trailer SW1-SW2.
    pub sw: StatusWord,
}

impl ResponseApdu {
    /// A response with data and a status.
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    /// A status word alone.
    pub fn status(sw: StatusWord) -> Self {
        Self::new(Vec::new(), sw)
    }

    /// Data with 9000.
    pub fn ok(data: impl Into<Vec<u8>>) -> Self {
        Self::new(data, StatusWord::Ok)
    }

    /// Encode as data followed by SW1 SW2.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// Decode response bytes: at least the two status bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < 2 {
            return Err(Error::decode(
                "response APDU",
                DecodeErrorKind::Truncated,
                bytes.len(),
            ));
        }
        let (data, sw) = bytes.split_at(bytes.len() - 2);
        Ok(Self::new(
            data,
            StatusWord::from_u16(u16::from_be_bytes([sw[0], sw[1]])),
        ))
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R-APDU")?;
        if !self.data.is_empty() {
            write!(f, " {}", hex::encode_upper(&self.data))?;
        }
        write!(f, " SW={:?}", self.sw)
    }
}

/// The card's side of command chaining: collects the data of chained commands until the last
/// one arrives (ISO 7816-4 §5.1.1.1).
#[derive(Debug, Clone, Default)]
pub struct ChainBuffer {
    pending: Option<CommandApdu>,
    limit: usize,
}

/// What the card should do with a command after [`ChainBuffer::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chained {
    /// More commands of the chain are expected; answer 9000.
    NeedMore,
    /// The chain is complete (or was never a chain): process this command.
    Complete(CommandApdu),
    /// The chain broke: a different command arrived mid-chain, or the data grew past the
    /// limit. The partial chain is dropped; answer with this status.
    Abort(StatusWord),
}

impl ChainBuffer {
    /// A buffer refusing chains longer than `limit` data bytes in total.
    pub fn new(limit: usize) -> Self {
        Self {
            pending: None,
            limit,
        }
    }

    /// Drop any partial chain (for example on power off).
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// True if part of a chain is buffered.
    pub fn in_progress(&self) -> bool {
        self.pending.is_some()
    }

    /// Feed one received command.
    pub fn push(&mut self, cmd: CommandApdu) -> Chained {
        let more = cmd.is_chained();
        let cla = cmd.cla & !CLA_CHAINING;
        match self.pending.take() {
            None if !more => Chained::Complete(cmd),
            None => {
                if cmd.data.len() > self.limit {
                    return Chained::Abort(StatusWord::WrongLength);
                }
                self.pending = Some(CommandApdu { cla, ..cmd });
                Chained::NeedMore
            }
            Some(mut acc) => {
                if acc.ins != cmd.ins || acc.p1 != cmd.p1 || acc.p2 != cmd.p2 || acc.cla != cla {
                    return Chained::Abort(StatusWord::LastCommandExpected);
                }
                if acc.data.len() + cmd.data.len() > self.limit {
                    return Chained::Abort(StatusWord::WrongLength);
                }
                acc.data.extend_from_slice(&cmd.data);
                acc.extended |= cmd.extended;
                if more {
                    self.pending = Some(acc);
                    Chained::NeedMore
                } else {
                    acc.ne = cmd.ne;
                    Chained::Complete(acc)
                }
            }
        }
    }
}

/// The card's side of GET RESPONSE: holds the rest of an answer that did not fit in Ne.
#[derive(Debug, Clone, Default)]
pub struct ResponseQueue {
    rest: Vec<u8>,
    final_sw: Option<StatusWord>,
}

impl ResponseQueue {
    /// Drop any pending bytes.
    pub fn clear(&mut self) {
        self.rest.clear();
        self.final_sw = None;
    }

    /// True if bytes are waiting for GET RESPONSE.
    pub fn is_pending(&self) -> bool {
        self.final_sw.is_some()
    }

    /// Give out at most `ne` bytes of `data` now and queue the rest behind a 61xx status.
    pub fn send(&mut self, data: Vec<u8>, sw: StatusWord, ne: u32) -> ResponseApdu {
        self.rest = data;
        self.final_sw = Some(sw);
        self.next(ne)
    }

    /// Answer a GET RESPONSE for `ne` bytes.
    pub fn next(&mut self, ne: u32) -> ResponseApdu {
        let Some(sw) = self.final_sw else {
            return ResponseApdu::status(StatusWord::ConditionsNotSatisfied);
        };
        let n = (ne as usize).min(self.rest.len());
        let chunk: Vec<u8> = self.rest.drain(..n).collect();
        if self.rest.is_empty() {
            self.final_sw = None;
            ResponseApdu::new(chunk, sw)
        } else {
            let left = self.rest.len().min(256);
            ResponseApdu::new(chunk, StatusWord::BytesAvailable((left % 256) as u8))
        }
    }
}

/// A short name for command APDU bytes, plain or protected, for transcripts: `SELECT`,
/// `[SM] READ BINARY SFI 01`, ... (the header stays readable under secure messaging: ICAO
/// 9303-11 §9.8.4). Any bytes get a name; nothing is decoded beyond the header.
pub fn command_name(b: &[u8]) -> String {
    let sm = b.first().is_some_and(|c| c & 0x0C == 0x0C);
    let ins = b.get(1).copied().unwrap_or(0);
    let (p1, p2) = (
        b.get(2).copied().unwrap_or(0),
        b.get(3).copied().unwrap_or(0),
    );
    let name = match ins {
        0xA4 => "SELECT".to_string(),
        0xB0 if p1 & 0x80 != 0 => format!("READ BINARY SFI {:02X}", p1 & 0x1F),
        0xB0 => format!("READ BINARY offset {}", u16::from_be_bytes([p1, p2])),
        0x22 => "MSE:Set AT".to_string(),
        0x86 => "GENERAL AUTHENTICATE".to_string(),
        0x88 => "INTERNAL AUTHENTICATE".to_string(),
        0xC0 => "GET RESPONSE".to_string(),
        _ => format!("INS {ins:02X}"),
    };
    format!("{}{name}", if sm { "[SM] " } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_read_the_header_of_plain_and_protected_commands() {
        let select = CommandApdu::select_aid(&crate::EMRTD_AID).encode().unwrap();
        assert_eq!(command_name(&select), "SELECT");
        assert_eq!(
            command_name(&[0x0C, 0xB0, 0x81, 0x00, 0x00]),
            "[SM] READ BINARY SFI 01"
        );
        assert_eq!(
            command_name(&[0x00, 0xB0, 0x01, 0x04]),
            "READ BINARY offset 260"
        );
        assert_eq!(command_name(&[]), "INS 00");
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn decodes_all_four_cases_short_and_extended() {
        let c1 = CommandApdu::decode(&h("00A4040C")).unwrap();
        assert_eq!((c1.data.len(), c1.ne), (0, None));
        let c2 = CommandApdu::decode(&h("00B0000000")).unwrap();
        assert_eq!(c2.ne, Some(256));
        let c3 = CommandApdu::decode(&h("00A4040C 07 A0000002471001")).unwrap();
        assert_eq!(c3.data, crate::EMRTD_AID);
        assert_eq!(c3.ne, None);
        let c4 = CommandApdu::decode(&h("00880000 08 0102030405060708 00")).unwrap();
        assert_eq!((c4.data.len(), c4.ne), (8, Some(256)));
        let c2e = CommandApdu::decode(&h("00B00000 000000")).unwrap();
        assert_eq!((c2e.ne, c2e.extended), (Some(65536), true));
        let c3e = CommandApdu::decode(&h("00A4040C 000007 A0000002471001")).unwrap();
        assert_eq!((c3e.data.len(), c3e.ne, c3e.extended), (7, None, true));
        let c4e = CommandApdu::decode(&h("00880000 000002 0102 0100")).unwrap();
        assert_eq!((c4e.data, c4e.ne), (vec![1, 2], Some(256)));
        for bytes in [
            "00A4040C",
            "00B0000000",
            "00B00000000000",
            "00880000000002 0102 0100",
        ] {
            let b = h(bytes);
            assert_eq!(CommandApdu::decode(&b).unwrap().encode().unwrap(), b);
        }
    }

    #[test]
    fn rejects_inconsistent_lengths_without_panicking() {
        // isomdl panics on this one: Lc says 5, nothing follows.
        assert!(matches!(
            CommandApdu::decode(&h("00A4040005")),
            Ok(CommandApdu { ne: Some(5), .. })
        ));
        assert!(CommandApdu::decode(&h("00A404000501")).is_err());
        assert!(CommandApdu::decode(&h("00A4")).is_err());
        assert!(CommandApdu::decode(&h("00A404000000")).is_err());
        assert!(CommandApdu::decode(&h("00A40400 000000 01")).is_err());
    }

    #[test]
    fn chain_then_reassemble_gives_the_original() {
        let cmd = CommandApdu::new(0x00, 0x86, 0, 0)
            .with_data((0..=254u8).cycle().take(600).collect::<Vec<_>>())
            .with_ne(256);
        let parts = cmd.chain(200);
        assert_eq!(parts.len(), 3);
        assert!(parts[0].is_chained() && parts[1].is_chained() && !parts[2].is_chained());
        assert_eq!(parts[0].ne, None);
        let mut buf = ChainBuffer::new(4096);
        assert_eq!(buf.push(parts[0].clone()), Chained::NeedMore);
        assert_eq!(buf.push(parts[1].clone()), Chained::NeedMore);
        assert_eq!(buf.push(parts[2].clone()), Chained::Complete(cmd));
    }

    #[test]
    fn chain_interrupted_by_another_command_aborts() {
        let mut buf = ChainBuffer::new(4096);
        let first = CommandApdu::new(0x10, 0x86, 0, 0).with_data([1]);
        assert_eq!(buf.push(first), Chained::NeedMore);
        assert_eq!(
            buf.push(CommandApdu::new(0, 0xB0, 0, 0)),
            Chained::Abort(StatusWord::LastCommandExpected)
        );
        assert!(!buf.in_progress());
    }

    #[test]
    fn response_queue_hands_out_61xx_then_the_final_status() {
        let mut q = ResponseQueue::default();
        let r = q.send(vec![7; 300], StatusWord::Ok, 256);
        assert_eq!((r.data.len(), r.sw), (256, StatusWord::BytesAvailable(44)));
        let r = q.next(44);
        assert_eq!((r.data.len(), r.sw), (44, StatusWord::Ok));
        assert!(!q.is_pending());
        assert_eq!(q.next(10).sw, StatusWord::ConditionsNotSatisfied);
    }

    #[test]
    fn status_words_keep_unknown_values() {
        for sw in [0x9000u16, 0x6283, 0x63C2, 0x6A82, 0x1234, 0x6C10, 0x6100] {
            assert_eq!(StatusWord::from_u16(sw).to_u16(), sw);
        }
        assert_eq!(format!("{:?}", StatusWord::from_u16(0x1234)), "1234");
        assert_eq!(StatusWord::from_u16(0x63C2), StatusWord::TriesLeft(2));
    }
}
