//! ICAO Doc 9303 part 11 secure messaging with AES-128 (§9.8), after PACE.
//!
//! One [`SecureChannel`] per session, built from the PACE [`SessionKeys`]:
//! - the terminal calls [`SecureChannel::protect_command`] then
//!   [`SecureChannel::unprotect_response`];
//! - the chip calls [`SecureChannel::unprotect_command`] then
//!   [`SecureChannel::protect_response`].
//!
//! The send sequence counter SSC is 16 bytes, 0 after PACE, and incremented before every
//! command and every response is protected or verified (9303-11 §9.8.6.3? "SSC" for AES,
//! §9.8.2). A replayed command therefore fails its MAC.
//!
//! Protected APDUs (9303-11 §9.8.4, figures "Computation of a SM command / response APDU"):
//! - command: CLA | 0C, data `[DO'87' | DO'85'] [DO'97'] DO'8E'`, Le 00 (or 0000 extended);
//!   DO'87' = 01 || E(KSenc, pad(data)) for even INS, DO'85' = E(KSenc, pad(data)) for odd
//!   INS; DO'97' = Le (1 byte short, 2 bytes extended, 0 for the maximum);
//!   DO'8E' = CMAC(KSmac, pad(SSC || pad(header) || DO'87' || DO'97'))[0..8];
//! - response: `[DO'87' | DO'85'] DO'99' DO'8E'`, DO'99' = SW, MAC over
//!   pad(SSC || DO'87' || DO'99'); the trailer of the protected response repeats the SW.
//!
//! Encryption is AES-128-CBC with IV = E(KSenc, SSC) (9303-11 §9.8.6.1), padding ISO/IEC
//! 9797-1 method 2 (§9.8.3?), MAC AES-CMAC truncated to 8 bytes (§9.8.6.2, NIST SP 800-38B).
//!
//! What happens on errors (9303-11 §9.8.? / BSI TR-03110-3 §F.?: the chip aborts secure
//! messaging on an SM error): any verification failure — a plain command, a missing or wrong
//! MAC, bad padding, malformed data objects — **closes the channel**. The failing call returns
//! the error and every later call returns [`Error::State`]. The card answers the failing
//! command in the clear with [`sm_error_status`] (6987 or 6988), forgets the session keys and
//! falls back to the unauthenticated state; the terminal has to run PACE again. Likewise the
//! terminal closes its channel when a response fails verification, or when the card answers a
//! protected command with a plain status and no data: that status is passed through (it is
//! the only explanation there is), but nothing after it can be trusted.
//!
//! Calls must alternate (command, then its response). A call out of turn is refused with
//! [`Error::State`] and does not close the channel.

use core::fmt;

use aes::cipher::{BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use aes::Aes128;
use cmac::{Cmac, Mac};
use subtle::ConstantTimeEq;

use crate::apdu::{CommandApdu, ResponseApdu, StatusWord, CLA_SM, MAX_NC, MAX_NE};
use crate::pace::SessionKeys;
use crate::reader::Reader;
use crate::tlv::{self, Tag};
use crate::{DecodeErrorKind, Error};

/// AES block size.
const BLOCK: usize = 16;
/// Length of the truncated MAC in DO'8E'.
const MAC_LEN: usize = 8;

/// DO'87': padding-content indicator and cryptogram (even INS).
const TAG_CRYPTO_EVEN: Tag = Tag(0x87);
/// DO'85': cryptogram of BER-TLV data, no padding-content indicator (odd INS).
const TAG_CRYPTO_ODD: Tag = Tag(0x85);
/// DO'97': Le.
const TAG_LE: Tag = Tag(0x97);
/// DO'99': processing status SW1-SW2.
const TAG_SW: Tag = Tag(0x99);
/// DO'8E': cryptographic checksum.
const TAG_MAC: Tag = Tag(0x8E);
/// Padding-content indicator 01: padded per ISO/IEC 9797-1 method 2 (ISO 7816-4 §10.2.3.2).
const PADDING_INDICATOR: u8 = 0x01;

/// The status word a card answers, in the clear, to a command whose secure messaging failed
/// (9303-11 §9.8; ISO 7816-4 §5.6 table 6): 6987 when expected SM data objects are missing
/// (including a plain command), 6988 for everything else (wrong MAC, bad padding, malformed
/// data objects).
pub fn sm_error_status(err: &Error) -> StatusWord {
    match err {
        Error::SmObjectsMissing => StatusWord::SmObjectsMissing,
        _ => StatusWord::SmObjectsIncorrect,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Ready for the next command.
    Ready,
    /// The terminal protected a command and waits for its response.
    TerminalAwaitResponse { odd: bool },
    /// The chip verified a command and has to protect its response.
    ChipAwaitResponse { odd: bool },
    /// A verification failed: the session is over.
    Closed,
}

/// An AES secure messaging session (9303-11 §9.8): the session keys and the send sequence
/// counter. `Debug` does not show the keys.
pub struct SecureChannel {
    keys: SessionKeys,
    ssc: u128,
    state: State,
}

impl fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureChannel")
            .field("keys", &"<redacted>")
            .field("ssc", &format_args!("{:032X}", self.ssc))
            .field("state", &self.state)
            .finish()
    }
}

impl SecureChannel {
    /// A channel right after PACE: SSC = 0 (9303-11 §9.8.6.3?: for AES after PACE the SSC
    /// starts at zero).
    pub fn new(keys: SessionKeys) -> Self {
        Self {
            keys,
            ssc: 0,
            state: State::Ready,
        }
    }

    /// The current send sequence counter, as the 16 bytes that enter IV and MAC.
    pub fn ssc(&self) -> [u8; 16] {
        self.ssc.to_be_bytes()
    }

    /// False once a verification failed: the session is over and PACE must run again.
    pub fn is_open(&self) -> bool {
        self.state != State::Closed
    }

    // ---- terminal ----------------------------------------------------------------------------

    /// Protect a command (terminal side). The command must be an interindustry command
    /// without secure messaging bits (CLA b8 = 0, b4-b3 = 00); chaining and logical channel
    /// bits are kept.
    pub fn protect_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, Error> {
        const WHAT: &str = "protected command APDU";
        if self.state != State::Ready {
            return Err(self.state_error());
        }
        if cmd.cla & 0x80 != 0 || cmd.cla & CLA_SM != 0 {
            return Err(Error::Encode {
                what: WHAT,
                reason: "CLA is proprietary or already has secure messaging bits",
            });
        }
        if cmd.data.len() > MAX_NC - 64 {
            return Err(Error::Encode {
                what: WHAT,
                reason: "data too long to protect in one APDU",
            });
        }
        // 9303-11 §9.8.4: SSC first, then CLA with SM bits set.
        let ssc = self.ssc.wrapping_add(1);
        let cla = cmd.cla | CLA_SM;
        let odd = cmd.ins & 1 == 1;
        let mut dos = Vec::with_capacity(cmd.data.len() + 48);
        if !cmd.data.is_empty() {
            // DO'87' = 01 || E(KSenc, pad(data)) (even INS) or DO'85' (odd INS).
            let cryptogram = self.encrypt(ssc, &cmd.data);
            if odd {
                tlv::encode_into(TAG_CRYPTO_ODD, &cryptogram, &mut dos);
            } else {
                let mut v = Vec::with_capacity(cryptogram.len() + 1);
                v.push(PADDING_INDICATOR);
                v.extend_from_slice(&cryptogram);
                tlv::encode_into(TAG_CRYPTO_EVEN, &v, &mut dos);
            }
        }
        if let Some(ne) = cmd.ne {
            if !(1..=MAX_NE).contains(&ne) {
                return Err(Error::Encode {
                    what: WHAT,
                    reason: "Ne outside 1..=65536",
                });
            }
            // DO'97' = Le as the unprotected command would encode it (ISO 7816-4 §5.1).
            if cmd.extended || cmd.needs_extended() {
                tlv::encode_into(TAG_LE, &((ne % MAX_NE) as u16).to_be_bytes(), &mut dos);
            } else {
                tlv::encode_into(TAG_LE, &[(ne % 256) as u8], &mut dos);
            }
        }
        // DO'8E' over SSC || pad(header) || DO'87' || DO'97' (9303-11 §9.8.4, §9.8.6.2).
        let mac = self.command_mac(ssc, [cla, cmd.ins, cmd.p1, cmd.p2], &dos);
        tlv::encode_into(TAG_MAC, &mac, &mut dos);
        let extended = cmd.extended || cmd.needs_extended() || dos.len() > 255;
        self.ssc = ssc;
        self.state = State::TerminalAwaitResponse { odd };
        Ok(CommandApdu {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: dos,
            // Le' = 00 (or 0000 extended): the maximum (9303-11 §9.8.4).
            ne: Some(if extended { MAX_NE } else { 256 }),
            extended,
        })
    }

    /// Verify and decrypt a protected response (terminal side). Returns the plain response
    /// with the status word from DO'99'.
    ///
    /// A response with no data and a status other than 9000 is the card answering in the
    /// clear (it aborted secure messaging): it is returned as is and the channel closes.
    pub fn unprotect_response(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu, Error> {
        let State::TerminalAwaitResponse { odd } = self.state else {
            return Err(self.state_error());
        };
        self.state = State::Closed;
        self.ssc = self.ssc.wrapping_add(1);
        if resp.data.is_empty() {
            if resp.sw == StatusWord::Ok {
                return Err(Error::SmObjectsMissing);
            }
            return Ok(resp.clone());
        }
        let dos = parse_dos(&resp.data, "protected response APDU", odd, TAG_SW)?;
        let sw = match dos.middle {
            Some(&[sw1, sw2]) => StatusWord::from_u16(u16::from_be_bytes([sw1, sw2])),
            Some(_) => {
                return Err(Error::decode(
                    "protected response APDU",
                    DecodeErrorKind::BadLength,
                    0,
                ))
            }
            None => return Err(Error::SmObjectsMissing),
        };
        // MAC over SSC || DO'87' || DO'99' (9303-11 §9.8.4).
        self.verify_mac(&[&self.ssc.to_be_bytes(), dos.mac_input], dos.mac)?;
        let data = match dos.crypto {
            Some(c) => self.decrypt(self.ssc, c, odd)?,
            None => Vec::new(),
        };
        self.state = State::Ready;
        Ok(ResponseApdu::new(data, sw))
    }

    // ---- chip --------------------------------------------------------------------------------

    /// Verify and decrypt a protected command (chip side). Returns the plain command: CLA
    /// without the SM bits, the decrypted data, Ne from DO'97'. `extended` is set when Le was
    /// 2 bytes or the data is longer than 255 bytes.
    ///
    /// Any failure closes the channel; answer with [`sm_error_status`] in the clear.
    pub fn unprotect_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, Error> {
        const WHAT: &str = "protected command APDU";
        if self.state != State::Ready {
            return Err(self.state_error());
        }
        self.state = State::Closed;
        // A plain command while SM is active: SM objects missing (9303-11 §9.8).
        if !cmd.is_secure_messaging() {
            return Err(Error::SmObjectsMissing);
        }
        self.ssc = self.ssc.wrapping_add(1);
        let odd = cmd.ins & 1 == 1;
        let dos = parse_dos(&cmd.data, WHAT, odd, TAG_LE)?;
        // MAC over SSC || pad(header) || DO'87' || DO'97', with the CLA as received.
        let header = pad(&[cmd.cla, cmd.ins, cmd.p1, cmd.p2]);
        self.verify_mac(&[&self.ssc.to_be_bytes(), &header, dos.mac_input], dos.mac)?;
        let ne = match dos.middle {
            None => None,
            Some(&[le]) => Some(if le == 0 { 256 } else { u32::from(le) }),
            Some(&[a, b]) => Some(match u16::from_be_bytes([a, b]) {
                0 => MAX_NE,
                le => u32::from(le),
            }),
            Some(_) => return Err(Error::decode(WHAT, DecodeErrorKind::BadLength, 0)),
        };
        let data = match dos.crypto {
            Some(c) => self.decrypt(self.ssc, c, odd)?,
            None => Vec::new(),
        };
        let extended = matches!(dos.middle, Some(le) if le.len() == 2) || data.len() > 255;
        self.state = State::ChipAwaitResponse { odd };
        Ok(CommandApdu {
            cla: cmd.cla & !CLA_SM,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            ne,
            extended,
        })
    }

    /// Protect the response to the command last verified (chip side): DO'87' (or DO'85' for
    /// an odd INS) if there is data, DO'99' with the status, DO'8E'. The protected response
    /// carries the same status word in its trailer.
    pub fn protect_response(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu, Error> {
        let State::ChipAwaitResponse { odd } = self.state else {
            return Err(self.state_error());
        };
        if resp.data.len() > MAX_NC {
            return Err(Error::Encode {
                what: "protected response APDU",
                reason: "data too long",
            });
        }
        let ssc = self.ssc.wrapping_add(1);
        let mut dos = Vec::with_capacity(resp.data.len() + 40);
        if !resp.data.is_empty() {
            let cryptogram = self.encrypt(ssc, &resp.data);
            if odd {
                tlv::encode_into(TAG_CRYPTO_ODD, &cryptogram, &mut dos);
            } else {
                let mut v = Vec::with_capacity(cryptogram.len() + 1);
                v.push(PADDING_INDICATOR);
                v.extend_from_slice(&cryptogram);
                tlv::encode_into(TAG_CRYPTO_EVEN, &v, &mut dos);
            }
        }
        tlv::encode_into(TAG_SW, &resp.sw.to_bytes(), &mut dos);
        let mac = self.mac(&[&ssc.to_be_bytes(), &dos]);
        tlv::encode_into(TAG_MAC, &mac, &mut dos);
        self.ssc = ssc;
        self.state = State::Ready;
        Ok(ResponseApdu::new(dos, resp.sw))
    }

    // ---- primitives --------------------------------------------------------------------------

    fn state_error(&self) -> Error {
        match self.state {
            State::Closed => Error::State("secure channel closed"),
            _ => Error::State("secure messaging call out of turn"),
        }
    }

    /// IV = E(KSenc, SSC) (9303-11 §9.8.6.1).
    fn iv(&self, ssc: u128) -> [u8; BLOCK] {
        let mut block = ssc.to_be_bytes().into();
        Aes128::new(&self.keys.ks_enc.into()).encrypt_block(&mut block);
        block.into()
    }

    /// E(KSenc, pad(data)) in CBC mode.
    fn encrypt(&self, ssc: u128, data: &[u8]) -> Vec<u8> {
        let mut buf = pad(data);
        let mut enc = cbc::Encryptor::<Aes128>::new(&self.keys.ks_enc.into(), &self.iv(ssc).into());
        for block in buf.chunks_exact_mut(BLOCK) {
            enc.encrypt_block_mut(block.into());
        }
        buf
    }

    /// Decrypt the value of DO'87' (with its padding-content indicator) or DO'85' and remove
    /// the padding.
    fn decrypt(&self, ssc: u128, value: &[u8], odd: bool) -> Result<Vec<u8>, Error> {
        const WHAT: &str = "secure messaging cryptogram";
        let cryptogram = if odd {
            value
        } else {
            match value.split_first() {
                Some((&PADDING_INDICATOR, rest)) => rest,
                Some(_) => return Err(Error::decode(WHAT, DecodeErrorKind::BadValue, 0)),
                None => return Err(Error::decode(WHAT, DecodeErrorKind::Truncated, 0)),
            }
        };
        if cryptogram.is_empty() || cryptogram.len() % BLOCK != 0 {
            return Err(Error::decode(WHAT, DecodeErrorKind::BadLength, 0));
        }
        let mut buf = cryptogram.to_vec();
        let mut dec = cbc::Decryptor::<Aes128>::new(&self.keys.ks_enc.into(), &self.iv(ssc).into());
        for block in buf.chunks_exact_mut(BLOCK) {
            dec.decrypt_block_mut(block.into());
        }
        let len = unpad(&buf)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// CMAC(KSmac, pad(parts...)) truncated to 8 bytes (9303-11 §9.8.6.2).
    fn mac(&self, parts: &[&[u8]]) -> [u8; MAC_LEN] {
        let mut m = <Cmac<Aes128> as Mac>::new(&self.keys.ks_mac.into());
        let mut total = 0;
        for p in parts {
            m.update(p);
            total += p.len();
        }
        // ISO/IEC 9797-1 padding method 2 over the concatenation.
        m.update(&[0x80]);
        m.update(&[0u8; BLOCK][..BLOCK - 1 - total % BLOCK]);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    fn command_mac(&self, ssc: u128, header: [u8; 4], dos: &[u8]) -> [u8; MAC_LEN] {
        self.mac(&[&ssc.to_be_bytes(), &pad(&header), dos])
    }

    fn verify_mac(&self, parts: &[&[u8]], received: &[u8]) -> Result<(), Error> {
        let expected = self.mac(parts);
        if bool::from(expected.as_slice().ct_eq(received)) {
            Ok(())
        } else {
            Err(Error::BadMac)
        }
    }
}

/// ISO/IEC 9797-1 padding method 2 to a multiple of 16: 80 then zeros (9303-11 §9.8.3?).
fn pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + BLOCK);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % BLOCK != 0 {
        out.push(0);
    }
    out
}

/// The length of the data before method-2 padding: the last non-zero byte must be 80 and
/// lie in the last block.
fn unpad(buf: &[u8]) -> Result<usize, Error> {
    let pos = buf.iter().rposition(|&b| b != 0).ok_or(Error::BadPadding)?;
    if buf.get(pos) != Some(&0x80) || buf.len() - pos > BLOCK {
        return Err(Error::BadPadding);
    }
    Ok(pos)
}

/// The data objects of a protected APDU, in their fixed order: an optional cryptogram
/// (DO'87' for even INS, DO'85' for odd), an optional middle object (DO'97' Le in a command,
/// DO'99' SW in a response), then DO'8E' last.
struct Dos<'a> {
    crypto: Option<&'a [u8]>,
    middle: Option<&'a [u8]>,
    mac: &'a [u8],
    /// All bytes before DO'8E', the MAC's input.
    mac_input: &'a [u8],
}

fn parse_dos<'a>(
    data: &'a [u8],
    what: &'static str,
    odd: bool,
    middle_tag: Tag,
) -> Result<Dos<'a>, Error> {
    let crypto_tag = if odd { TAG_CRYPTO_ODD } else { TAG_CRYPTO_EVEN };
    let mut r = Reader::new(data, what);
    let mut crypto = None;
    let mut middle = None;
    // 0: nothing yet, 1: cryptogram seen, 2: middle object seen.
    let mut rank = 0;
    while !r.is_empty() {
        let start = r.position();
        let rest = data.get(start..).unwrap_or_default();
        let (tag, value, used) = tlv::read_one(rest).map_err(|e| match e {
            Error::Decode { kind, position, .. } => Error::decode(what, kind, start + position),
            e => e,
        })?;
        r.take(used)?;
        match tag {
            t if t == crypto_tag && rank < 1 => {
                crypto = Some(value);
                rank = 1;
            }
            t if t == middle_tag && rank < 2 => {
                middle = Some(value);
                rank = 2;
            }
            TAG_MAC => {
                r.expect_end()?;
                if value.len() != MAC_LEN {
                    return Err(Error::decode(what, DecodeErrorKind::BadLength, start));
                }
                return Ok(Dos {
                    crypto,
                    middle,
                    mac: value,
                    mac_input: data.get(..start).unwrap_or_default(),
                });
            }
            _ => return Err(Error::decode(what, DecodeErrorKind::BadTag, start)),
        }
    }
    Err(Error::SmObjectsMissing)
}
