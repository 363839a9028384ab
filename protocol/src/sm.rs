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

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::generic_array::GenericArray;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn h16(s: &str) -> [u8; 16] {
        h(s).try_into().unwrap()
    }

    /// The session keys of ICAO 9303-11 App. G.1 (the PACE worked example). 9303-11 has no
    /// AES secure messaging worked example, so the protected APDUs below are checked against
    /// an independent computation written from the §9.8 text, and the primitives against
    /// FIPS-197 and RFC 4493.
    fn g1_keys() -> SessionKeys {
        SessionKeys {
            ks_enc: h16("F5F0E35C0D7161EE6724EE513A0D9A7F"),
            ks_mac: h16("FE251C7858B356B24514B3BD5F4297D1"),
        }
    }

    fn pair() -> (SecureChannel, SecureChannel) {
        (SecureChannel::new(g1_keys()), SecureChannel::new(g1_keys()))
    }

    // ---- the primitives against their own standards ----------------------------------------

    #[test]
    fn aes_cmac_matches_rfc4493_examples() {
        let key = h16("2B7E151628AED2A6ABF7158809CF4F3C");
        let msg = h(
            "6BC1BEE22E409F96E93D7E117393172A AE2D8A571E03AC9C9EB76FAC45AF8E51\
                     30C81C46A35CE411E5FBC1191A0A52EF F69F2445DF4F9B17AD2B417BE66C3710",
        );
        for (len, tag) in [
            (0, "BB1D6929E95937287FA37D129B756746"),
            (16, "070A16B46B4D4144F79BDD9DD04A287C"),
            (40, "DFA66747DE9AE63030CA32611497C827"),
            (64, "51F0BEBF7E3B9D92FC49741779363CFE"),
        ] {
            let mut mac = <Cmac<Aes128> as Mac>::new(&key.into());
            mac.update(&msg[..len]);
            assert_eq!(
                mac.finalize().into_bytes().to_vec(),
                h(tag),
                "RFC 4493 len {len}"
            );
        }
    }

    #[test]
    fn iv_is_aes_of_the_ssc_per_fips197_c1() {
        // FIPS-197 App. C.1: AES-128(000102..0F, 00112233..FF) = 69C4E0D8..C55A.
        let channel = SecureChannel::new(SessionKeys {
            ks_enc: h16("000102030405060708090A0B0C0D0E0F"),
            ks_mac: [0; 16],
        });
        let ssc = u128::from_be_bytes(h16("00112233445566778899AABBCCDDEEFF"));
        assert_eq!(channel.iv(ssc), h16("69C4E0D86A7B0430D8CDB78070B4C55A"));
    }

    #[test]
    fn padding_is_iso9797_method_2() {
        assert_eq!(pad(&[]), h("80000000000000000000000000000000"));
        assert_eq!(pad(&[1; 15]).len(), 16);
        assert_eq!(pad(&[1; 16]).len(), 32);
        assert_eq!(unpad(&pad(&[1, 2, 3])), Ok(3));
        assert_eq!(unpad(&[0; 16]), Err(Error::BadPadding));
        assert_eq!(
            unpad(&h("0102030405060708090A0B0C0D0E0F01")),
            Err(Error::BadPadding)
        );
        // 80 followed by more than a block of zeros is not padding.
        let mut long = vec![0x80];
        long.extend_from_slice(&[0; 31]);
        assert_eq!(unpad(&long), Err(Error::BadPadding));
    }

    // ---- independent computations from the 9303-11 §9.8 text --------------------------------

    fn aes_block(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
        let mut b = GenericArray::from(block);
        Aes128::new(&(*key).into()).encrypt_block(&mut b);
        b.into()
    }

    fn cbc_encrypt(key: &[u8; 16], iv: [u8; 16], data: &[u8]) -> Vec<u8> {
        let mut prev = iv;
        let mut out = Vec::new();
        for chunk in data.chunks(16) {
            let mut x = [0u8; 16];
            for i in 0..16 {
                x[i] = chunk[i] ^ prev[i];
            }
            prev = aes_block(key, x);
            out.extend_from_slice(&prev);
        }
        out
    }

    fn cmac8(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut mac = <Cmac<Aes128> as Mac>::new(&(*key).into());
        mac.update(data);
        mac.finalize().into_bytes()[..8].to_vec()
    }

    #[test]
    fn protected_select_matches_an_independent_computation() {
        let keys = g1_keys();
        let (mut term, _) = pair();
        // SELECT EF.COM: 00 A4 02 0C 02 011E, the command of 9303-11 App. D.4, under AES.
        let cmd = CommandApdu::select_ef(0x011E);
        let protected = term.protect_command(&cmd).unwrap();

        let mut ssc = [0u8; 16];
        ssc[15] = 1;
        let header = h("0CA4020C 800000000000000000000000");
        let iv = aes_block(&keys.ks_enc, ssc);
        let cryptogram = cbc_encrypt(&keys.ks_enc, iv, &h("011E 80 00000000000000000000000000"));
        let mut do87 = vec![0x87, 0x11, 0x01];
        do87.extend_from_slice(&cryptogram);
        let mut n = ssc.to_vec();
        n.extend_from_slice(&header);
        n.extend_from_slice(&do87);
        n.extend_from_slice(&h("80 000000000000000000000000"));
        assert_eq!(n.len(), 64);
        let mut expected = h("0CA4020C 1D");
        expected.extend_from_slice(&do87);
        expected.extend_from_slice(&[0x8E, 0x08]);
        expected.extend_from_slice(&cmac8(&keys.ks_mac, &n));
        expected.push(0x00);
        assert_eq!(protected.encode().unwrap(), expected);
    }

    #[test]
    fn protected_read_binary_response_matches_an_independent_computation() {
        let keys = g1_keys();
        let (mut term, mut chip) = pair();
        let cmd = CommandApdu::read_binary(0, 4);
        let protected = term.protect_command(&cmd).unwrap();
        // READ BINARY with Le 4: DO'97' 01 04, no DO'87'.
        assert_eq!(&protected.data[..3], &[0x97, 0x01, 0x04]);
        let plain = chip.unprotect_command(&protected).unwrap();
        let resp = chip
            .protect_response(&ResponseApdu::ok(h("60145F01")))
            .unwrap();

        let mut ssc = [0u8; 16];
        ssc[15] = 2;
        let iv = aes_block(&keys.ks_enc, ssc);
        let cryptogram = cbc_encrypt(&keys.ks_enc, iv, &h("60145F01 800000000000000000000000"));
        let mut dos = vec![0x87, 0x11, 0x01];
        dos.extend_from_slice(&cryptogram);
        dos.extend_from_slice(&h("99029000"));
        let mut n = ssc.to_vec();
        n.extend_from_slice(&dos);
        n.extend_from_slice(&h("80 0000000000000000"));
        assert_eq!(n.len(), 48);
        let mut expected = dos.clone();
        expected.extend_from_slice(&[0x8E, 0x08]);
        expected.extend_from_slice(&cmac8(&keys.ks_mac, &n));
        expected.extend_from_slice(&h("9000"));
        assert_eq!(resp.encode(), expected);
        assert_eq!(plain.ne, Some(4));
        assert_eq!(
            term.unprotect_response(&resp).unwrap(),
            ResponseApdu::ok(h("60145F01"))
        );
    }

    // ---- round trips -----------------------------------------------------------------------

    fn exchange(
        term: &mut SecureChannel,
        chip: &mut SecureChannel,
        cmd: &CommandApdu,
        resp: &ResponseApdu,
    ) -> (CommandApdu, CommandApdu, ResponseApdu) {
        let protected = term.protect_command(cmd).unwrap();
        // Over the wire and back.
        let wire = CommandApdu::decode(&protected.encode().unwrap()).unwrap();
        let seen = chip.unprotect_command(&wire).unwrap();
        let presp = chip.protect_response(resp).unwrap();
        let back = term
            .unprotect_response(&ResponseApdu::decode(&presp.encode()).unwrap())
            .unwrap();
        (protected, seen, back)
    }

    fn same_command(a: &CommandApdu, b: &CommandApdu) -> bool {
        (a.cla, a.ins, a.p1, a.p2, &a.data, a.ne) == (b.cla, b.ins, b.p1, b.p2, &b.data, b.ne)
    }

    #[test]
    fn commands_and_responses_round_trip_short_and_extended() {
        let (mut term, mut chip) = pair();
        let big: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let cases = [
            // Case 1, no data, no Le.
            (CommandApdu::new(0x00, 0x44, 0, 0), ResponseApdu::ok(vec![])),
            // Case 3, SELECT.
            (
                CommandApdu::select_aid(&crate::EMRTD_AID),
                ResponseApdu::ok(vec![]),
            ),
            // Case 2 short and the maximum short Le.
            (
                CommandApdu::read_binary(0, 4),
                ResponseApdu::ok(h("60145F01")),
            ),
            (
                CommandApdu::read_binary(4, 256),
                ResponseApdu::ok(vec![0xAB; 200]),
            ),
            // Case 4 short.
            (
                CommandApdu::internal_authenticate(&[1, 2, 3, 4, 5, 6, 7, 8]),
                ResponseApdu::ok(vec![0x55; 64]),
            ),
            // Case 3 extended (300 bytes).
            (
                CommandApdu::new(0x00, 0xD6, 0, 0).with_data(big.clone()),
                ResponseApdu::ok(vec![]),
            ),
            // Case 2 extended, Le 1000 and Le 65536 (0000), long answers.
            (
                CommandApdu::read_binary(0, 1000),
                ResponseApdu::ok(big.repeat(3)),
            ),
            (
                CommandApdu::read_binary(0, 65536),
                ResponseApdu::new(big.clone(), StatusWord::EndOfFile),
            ),
            // Case 4 extended with a small Le.
            (
                CommandApdu::new(0x00, 0x2A, 0x9E, 0x9A)
                    .with_data(big.clone())
                    .with_ne(5),
                ResponseApdu::ok(vec![1, 2, 3, 4, 5]),
            ),
            // Odd INS: DO'85' both ways.
            (
                CommandApdu::new(0x00, 0xB1, 0, 0)
                    .with_data(h("54028000"))
                    .with_ne(256),
                ResponseApdu::ok(h("5310 000102030405060708090A0B0C0D0E0F")),
            ),
            // An error status, protected, without data.
            (
                CommandApdu::select_ef(0x0107),
                ResponseApdu::status(StatusWord::FileNotFound),
            ),
            // Chained command: the chaining bit is kept under SM.
            (
                CommandApdu::new(0x10, 0x86, 0, 0)
                    .with_data(h("7C00"))
                    .with_ne(256),
                ResponseApdu::ok(h("7C00")),
            ),
        ];
        for (i, (cmd, resp)) in cases.iter().enumerate() {
            let (protected, seen, back) = exchange(&mut term, &mut chip, cmd, resp);
            assert!(same_command(&seen, cmd), "case {i}: {seen:?} != {cmd:?}");
            assert_eq!(&back, resp, "case {i}");
            assert_eq!(protected.cla, cmd.cla | 0x0C, "case {i}");
            assert_eq!(term.ssc(), chip.ssc(), "case {i}");
            assert_eq!(
                u128::from_be_bytes(term.ssc()),
                2 * (i as u128 + 1),
                "case {i}"
            );
            let needs_ext = cmd.needs_extended() || protected.data.len() > 255;
            assert_eq!(protected.extended, needs_ext, "case {i}");
            assert_eq!(
                protected.ne,
                Some(if needs_ext { 65536 } else { 256 }),
                "case {i}"
            );
        }
    }

    #[test]
    fn even_ins_uses_do87_and_odd_ins_do85() {
        let (mut term, _) = pair();
        let even = term
            .protect_command(&CommandApdu::select_ef(0x011E))
            .unwrap();
        assert_eq!(even.data[0], 0x87);
        assert_eq!(even.data[2], 0x01, "padding-content indicator");
        let (mut term, _) = pair();
        let odd = term
            .protect_command(&CommandApdu::new(0, 0xB1, 0, 0).with_data(h("54028000")))
            .unwrap();
        assert_eq!(&odd.data[..2], &[0x85, 0x10]);
    }

    // ---- failures --------------------------------------------------------------------------

    #[test]
    fn a_bad_command_mac_is_rejected_and_closes_the_channel() {
        let (mut term, mut chip) = pair();
        let mut protected = term
            .protect_command(&CommandApdu::select_ef(0x011E))
            .unwrap();
        let last = protected.data.len() - 1;
        protected.data[last] ^= 1;
        let err = chip.unprotect_command(&protected).unwrap_err();
        assert_eq!(err, Error::BadMac);
        assert_eq!(sm_error_status(&err), StatusWord::SmObjectsIncorrect);
        assert!(!chip.is_open());
        assert!(matches!(
            chip.protect_response(&ResponseApdu::ok(vec![])),
            Err(Error::State(_))
        ));
        assert!(matches!(
            chip.unprotect_command(&protected),
            Err(Error::State(_))
        ));
    }

    #[test]
    fn a_tampered_header_fails_the_mac() {
        let (mut term, mut chip) = pair();
        let mut protected = term
            .protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        protected.p2 = 0x04;
        assert_eq!(chip.unprotect_command(&protected), Err(Error::BadMac));
    }

    #[test]
    fn a_replayed_command_fails_the_mac() {
        let (mut term, mut chip) = pair();
        let protected = term
            .protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        chip.unprotect_command(&protected).unwrap();
        let resp = chip
            .protect_response(&ResponseApdu::ok(h("60145F01")))
            .unwrap();
        term.unprotect_response(&resp).unwrap();
        assert_eq!(chip.unprotect_command(&protected), Err(Error::BadMac));
    }

    #[test]
    fn a_plain_command_or_one_without_do8e_is_sm_objects_missing() {
        let (_, mut chip) = pair();
        let err = chip
            .unprotect_command(&CommandApdu::read_binary(0, 4))
            .unwrap_err();
        assert_eq!(err, Error::SmObjectsMissing);
        assert_eq!(sm_error_status(&err), StatusWord::SmObjectsMissing);
        assert!(!chip.is_open());

        let (_, mut chip) = pair();
        let no_mac = CommandApdu::new(0x0C, 0xB0, 0, 0)
            .with_data(h("970104"))
            .with_ne(256);
        assert_eq!(
            chip.unprotect_command(&no_mac),
            Err(Error::SmObjectsMissing)
        );
    }

    #[test]
    fn malformed_data_objects_are_decode_errors() {
        for data in [
            "8E0401020304",                       // short MAC
            "9701048E080102030405060708 00",      // trailing after DO'8E'
            "8E0801020304050607089701 04",        // DO'8E' not last
            "99029000 8E080102030405060708",      // DO'99' in a command
            "970104 970104 8E080102030405060708", // duplicate DO'97'
            "87FF",                               // truncated
        ] {
            let (_, mut chip) = pair();
            let cmd = CommandApdu::new(0x0C, 0xB0, 0, 0)
                .with_data(h(data))
                .with_ne(256);
            assert!(
                matches!(chip.unprotect_command(&cmd), Err(Error::Decode { .. })),
                "{data}"
            );
        }
    }

    #[test]
    fn bad_padding_under_a_valid_mac_is_refused() {
        let (_, mut chip) = pair();
        // Build what a terminal with the right keys but a broken padder would send: one
        // block of zeros encrypted without padding, correctly MACed.
        let ssc = 1u128;
        let mut cryptogram = [0u8; 16];
        let mut enc = cbc::Encryptor::<Aes128>::new(&g1_keys().ks_enc.into(), &chip.iv(ssc).into());
        enc.encrypt_block_mut((&mut cryptogram).into());
        let mut dos = vec![0x87, 0x11, 0x01];
        dos.extend_from_slice(&cryptogram);
        let mac = chip.command_mac(ssc, [0x0C, 0xD6, 0, 0], &dos);
        dos.extend_from_slice(&[0x8E, 0x08]);
        dos.extend_from_slice(&mac);
        let cmd = CommandApdu::new(0x0C, 0xD6, 0, 0)
            .with_data(dos)
            .with_ne(256);
        let err = chip.unprotect_command(&cmd).unwrap_err();
        assert_eq!(err, Error::BadPadding);
        assert_eq!(sm_error_status(&err), StatusWord::SmObjectsIncorrect);
    }

    #[test]
    fn terminal_rejects_a_tampered_or_unauthenticated_response() {
        let (mut term, mut chip) = pair();
        let protected = term
            .protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        chip.unprotect_command(&protected).unwrap();
        let mut resp = chip
            .protect_response(&ResponseApdu::ok(h("60145F01")))
            .unwrap();
        resp.data[5] ^= 0x80;
        assert_eq!(term.unprotect_response(&resp), Err(Error::BadMac));
        assert!(!term.is_open());

        // 9000 with no data objects at all.
        let (mut term, _) = pair();
        term.protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        assert_eq!(
            term.unprotect_response(&ResponseApdu::ok(vec![])),
            Err(Error::SmObjectsMissing)
        );

        // The status in the trailer is not trusted: DO'99' is.
        let (mut term, mut chip) = pair();
        let protected = term
            .protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        chip.unprotect_command(&protected).unwrap();
        let mut resp = chip
            .protect_response(&ResponseApdu::status(StatusWord::EndOfFile))
            .unwrap();
        resp.sw = StatusWord::Ok;
        assert_eq!(
            term.unprotect_response(&resp).unwrap().sw,
            StatusWord::EndOfFile
        );
    }

    #[test]
    fn a_plain_error_status_passes_through_and_closes_the_terminal_channel() {
        let (mut term, _) = pair();
        term.protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        let plain = ResponseApdu::status(StatusWord::SmObjectsIncorrect);
        assert_eq!(term.unprotect_response(&plain), Ok(plain));
        assert!(!term.is_open());
        assert!(matches!(
            term.protect_command(&CommandApdu::read_binary(0, 4)),
            Err(Error::State(_))
        ));
    }

    #[test]
    fn calls_out_of_turn_are_refused_without_closing() {
        let (mut term, mut chip) = pair();
        assert!(matches!(
            term.unprotect_response(&ResponseApdu::ok(vec![])),
            Err(Error::State(_))
        ));
        assert!(matches!(
            chip.protect_response(&ResponseApdu::ok(vec![])),
            Err(Error::State(_))
        ));
        assert!(term.is_open() && chip.is_open());
        let protected = term
            .protect_command(&CommandApdu::read_binary(0, 4))
            .unwrap();
        assert!(matches!(
            term.protect_command(&CommandApdu::read_binary(0, 4)),
            Err(Error::State(_))
        ));
        chip.unprotect_command(&protected).unwrap();
        assert!(matches!(
            chip.unprotect_command(&protected),
            Err(Error::State(_))
        ));
        assert_eq!(u128::from_be_bytes(term.ssc()), 1);
    }

    #[test]
    fn commands_that_already_have_sm_bits_are_not_protected_twice() {
        let (mut term, _) = pair();
        let cmd = CommandApdu::new(0x0C, 0xB0, 0, 0).with_ne(4);
        assert!(matches!(
            term.protect_command(&cmd),
            Err(Error::Encode { .. })
        ));
        assert_eq!(term.ssc(), [0; 16], "nothing counted");
    }

    #[test]
    fn debug_redacts_the_keys() {
        let channel = SecureChannel::new(g1_keys());
        let shown = format!("{channel:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.to_uppercase().contains("F5F0E35C"));
    }

    // ---- property tests --------------------------------------------------------------------

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn unprotect_command_never_panics(
            cla in any::<u8>(),
            ins in any::<u8>(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let (_, mut chip) = pair();
            let cmd = CommandApdu::new(cla, ins, 0, 0).with_data(data).with_ne(256);
            let _ = chip.unprotect_command(&cmd);
        }

        #[test]
        fn unprotect_command_never_panics_on_sm_shaped_input(
            ins in any::<u8>(),
            crypto in proptest::collection::vec(any::<u8>(), 0..64),
            le in proptest::collection::vec(any::<u8>(), 0..3),
            mac in proptest::collection::vec(any::<u8>(), 0..10),
        ) {
            let (_, mut chip) = pair();
            let mut data = Vec::new();
            tlv::encode_into(if ins & 1 == 1 { TAG_CRYPTO_ODD } else { TAG_CRYPTO_EVEN }, &crypto, &mut data);
            tlv::encode_into(TAG_LE, &le, &mut data);
            tlv::encode_into(TAG_MAC, &mac, &mut data);
            let cmd = CommandApdu::new(0x0C, ins, 0, 0).with_data(data).with_ne(256);
            prop_assert!(chip.unprotect_command(&cmd).is_err());
        }

        #[test]
        fn any_single_byte_change_to_a_protected_command_is_rejected(
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let (mut term, mut chip) = pair();
            let cmd = CommandApdu::new(0x00, 0xD6, 0, 0).with_data(vec![0x42; 40]).with_ne(10);
            let mut bytes = term.protect_command(&cmd).unwrap().encode().unwrap();
            // Everything but the outer Le, which 9303-11 §9.8.4 leaves outside the MAC.
            let i = index.index(bytes.len() - 1);
            bytes[i] ^= flip;
            if let Ok(wire) = CommandApdu::decode(&bytes) {
                prop_assert!(chip.unprotect_command(&wire).is_err());
            }
        }

        #[test]
        fn unprotect_response_never_panics(
            odd in any::<bool>(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            sw in any::<u16>(),
        ) {
            let (mut term, _) = pair();
            let ins = if odd { 0xB1 } else { 0xB0 };
            term.protect_command(&CommandApdu::new(0, ins, 0, 0).with_ne(256)).unwrap();
            let _ = term.unprotect_response(&ResponseApdu::new(data, StatusWord::from_u16(sw)));
        }

        #[test]
        fn any_single_byte_change_to_a_protected_response_is_rejected(
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let (mut term, mut chip) = pair();
            let protected = term.protect_command(&CommandApdu::read_binary(0, 40)).unwrap();
            chip.unprotect_command(&protected).unwrap();
            let mut resp = chip.protect_response(&ResponseApdu::ok(vec![7; 40])).unwrap();
            let i = index.index(resp.data.len());
            resp.data[i] ^= flip;
            prop_assert!(term.unprotect_response(&resp).is_err());
        }

        #[test]
        fn round_trip_preserves_any_command_and_response(
            ins in any::<u8>(),
            data in proptest::collection::vec(any::<u8>(), 0..400),
            ne in proptest::option::of(1u32..=65536),
            rdata in proptest::collection::vec(any::<u8>(), 0..400),
            sw in any::<u16>(),
        ) {
            let (mut term, mut chip) = pair();
            let mut cmd = CommandApdu::new(0x00, ins, 1, 2).with_data(data);
            cmd.ne = ne;
            let resp = ResponseApdu::new(rdata, StatusWord::from_u16(sw));
            let (_, seen, back) = exchange(&mut term, &mut chip, &cmd, &resp);
            prop_assert!(same_command(&seen, &cmd));
            prop_assert_eq!(back, resp);
        }
    }
}
