//! Test support: an inspection terminal. It drives any [`SmartCard`] through SELECT, PACE,
//! secure messaging, file reads and Active Authentication, and keeps a readable transcript
//! with nonces, keys and signatures redacted (`#03 phone→card [SM] READ BINARY SFI 01 …`).
//!
//! The card's behaviour tests read the card through it. It was the harness's terminal in
//! `scenarios`; the phone's own reader is built separately in `sim-phone`.

use std::fmt::Write as _;

use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
use protocol::pace::{self, PasswordRef, TerminalPace, TerminalStep};
use protocol::sm::SecureChannel;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_card::SmartCard;

/// Why a terminal operation stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The card answered nothing: it left the field (a torn tap).
    #[error("the card left the field")]
    Torn,
    /// The card answered with this status word.
    #[error("the card answered {0}")]
    Status(StatusWord),
    /// A protocol error on the terminal side (a bad MAC in a response, a malformed answer).
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
}

/// A terminal holding a card in its field.
pub struct Terminal<'c, C: SmartCard> {
    /// The card in the field.
    pub card: &'c mut C,
    /// The secure channel, once PACE succeeded.
    pub sm: Option<SecureChannel>,
    /// The terminal's random source (PACE ephemeral keys).
    pub rng: ChaCha20Rng,
    /// The readable transcript so far.
    pub transcript: String,
    n: usize,
}

fn name(cmd: &CommandApdu) -> String {
    match (cmd.ins, cmd.p1, cmd.p2) {
        (0xA4, 0x04, _) => format!("SELECT AID {}", hex::encode_upper(&cmd.data)),
        (0xA4, 0x00, _) if cmd.data == [0x3F, 0x00] => "SELECT MF".into(),
        (0xA4, _, _) => format!("SELECT EF {}", hex::encode_upper(&cmd.data)),
        (0xB0, p1, p2) if p1 & 0x80 != 0 => {
            format!(
                "READ BINARY SFI {:02X} offset {p2} Ne {}",
                p1 & 0x1F,
                cmd.ne.unwrap_or(0)
            )
        }
        (0xB0, p1, p2) => format!(
            "READ BINARY offset {} Ne {}",
            u16::from_be_bytes([p1, p2]),
            cmd.ne.unwrap_or(0)
        ),
        (0x84, _, _) => format!("GET CHALLENGE Ne {}", cmd.ne.unwrap_or(0)),
        (0x22, _, _) => format!("MSE:Set AT {}", hex::encode_upper(&cmd.data)),
        (0x86, _, _) => {
            let tags = protocol::tlv::find(&cmd.data, protocol::tlv::Tag(0x7C))
                .ok()
                .flatten()
                .map(|inner| {
                    protocol::tlv::TlvIter::new(inner)
                        .filter_map(Result::ok)
                        .map(|(t, v)| format!("{t:?}<{} bytes>", v.len()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            format!(
                "GENERAL AUTHENTICATE{} 7C{{{tags}}}",
                if cmd.is_chained() { " (chained)" } else { "" }
            )
        }
        (0x88, _, _) => format!("INTERNAL AUTHENTICATE challenge <{} bytes>", cmd.data.len()),
        (0xC0, _, _) => format!("GET RESPONSE Ne {}", cmd.ne.unwrap_or(0)),
        _ => format!("{cmd:?}"),
    }
}

impl<'c, C: SmartCard> Terminal<'c, C> {
    /// Power the card on and start a transcript; `seed` seeds the terminal's randomness.
    pub fn new(card: &'c mut C, seed: u64) -> Self {
        card.power_on();
        Self {
            card,
            sm: None,
            rng: ChaCha20Rng::seed_from_u64(seed),
            transcript: String::new(),
            n: 0,
        }
    }

    /// Send one plain or (inside a session) protected command; answer the plain response.
    pub fn send(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, Failure> {
        self.n += 1;
        let sm = self.sm.is_some();
        let wire = match self.sm.as_mut() {
            Some(ch) => ch.protect_command(cmd)?,
            None => cmd.clone(),
        };
        let _ = writeln!(
            self.transcript,
            "#{:02} phone→card {}{}",
            self.n,
            if sm { "[SM] " } else { "" },
            name(cmd)
        );
        let raw = self.card.transmit(&wire.encode()?);
        if raw.is_empty() {
            let _ = writeln!(
                self.transcript,
                "    card→phone <no answer: card left the field>"
            );
            self.sm = None;
            return Err(Failure::Torn);
        }
        let mut resp = ResponseApdu::decode(&raw)?;
        // GET RESPONSE until the whole answer is in (ISO 7816-4 §7.6.1).
        while let StatusWord::BytesAvailable(n) = resp.sw {
            let more = self.card.transmit(&CommandApdu::get_response(n).encode()?);
            let more = ResponseApdu::decode(&more)?;
            resp.data.extend_from_slice(&more.data);
            resp.sw = more.sw;
        }
        if let Some(ch) = self.sm.as_mut() {
            // A protected answer carries DO'99' and DO'8E'; a bare status word means the card
            // found an SM error and closed the channel (ICAO 9303-11 §9.8.? ).
            if !resp.data.is_empty() {
                match ch.unprotect_response(&resp) {
                    Ok(plain) => resp = plain,
                    Err(e) => {
                        self.sm = None;
                        return Err(e.into());
                    }
                }
            } else {
                // A plain error status: the card closed the channel.
                self.sm = None;
            }
        }
        let shown = match cmd.ins {
            0x86 | 0x88 | 0x84 if !resp.data.is_empty() => format!("<{} bytes>", resp.data.len()),
            _ if resp.data.is_empty() => String::new(),
            _ => format!("{} bytes", resp.data.len()),
        };
        let _ = writeln!(
            self.transcript,
            "    card→phone {}{:?}{}{}",
            if sm { "[SM] " } else { "" },
            resp.sw,
            if shown.is_empty() { "" } else { " " },
            shown
        );
        Ok(resp)
    }

    /// Send a command and expect 9000; answer the response data.
    pub fn expect_ok(&mut self, cmd: &CommandApdu) -> Result<Vec<u8>, Failure> {
        let r = self.send(cmd)?;
        if r.sw == StatusWord::Ok {
            Ok(r.data)
        } else {
            Err(Failure::Status(r.sw))
        }
    }

    /// Run PACE with a password; on success the terminal holds the new secure channel. Run
    /// inside an open channel (the password after the CAN), the commands travel protected by
    /// that channel until the new one is established.
    pub fn pace(&mut self, which: PasswordRef, password: &str) -> Result<(), Failure> {
        let r = self.send(&pace::mse_set_at(which))?;
        if !matches!(r.sw, StatusWord::Ok | StatusWord::TriesLeft(_)) {
            return Err(Failure::Status(r.sw));
        }
        let mut t = TerminalPace::new(password.as_bytes());
        let mut data = t.start();
        let mut step = 0;
        loop {
            step += 1;
            let resp = self.expect_ok(&pace::general_authenticate(data, step == 4))?;
            match t.handle(&resp, &mut self.rng)? {
                TerminalStep::Send(next) => data = next,
                TerminalStep::Established(keys) => {
                    self.sm = Some(SecureChannel::new(keys));
                    return Ok(());
                }
            }
        }
    }

    /// Read a whole EF by SFI in chunks (first chunk by SFI, then by offset), using the
    /// TLV header to learn its length.
    pub fn read_file(&mut self, sfi: u8) -> Result<Vec<u8>, Failure> {
        let mut out = self.expect_ok(&CommandApdu::read_binary_sfi(sfi, 0, 4))?;
        let total = match protocol::tlv::read_one(&out) {
            Ok((_, _, used)) => used,
            Err(protocol::Error::Decode { .. }) => {
                // Only the header is in: compute the length from it.
                header_total(&out).ok_or(Failure::Status(StatusWord::WrongData))?
            }
            Err(e) => return Err(e.into()),
        };
        while out.len() < total {
            let n = (total - out.len()).min(200) as u32;
            let chunk = self.expect_ok(&CommandApdu::read_binary(out.len() as u16, n))?;
            if chunk.is_empty() {
                break;
            }
            out.extend(chunk);
        }
        Ok(out)
    }
}

/// Total TLV size from its first (up to 4) bytes: tag of 1-2 bytes, then length.
fn header_total(b: &[u8]) -> Option<usize> {
    let tag_len = if b.first()? & 0x1F == 0x1F { 2 } else { 1 };
    let l0 = *b.get(tag_len)?;
    match l0 {
        0..=0x7F => Some(tag_len + 1 + usize::from(l0)),
        0x81 => Some(tag_len + 2 + usize::from(*b.get(tag_len + 1)?)),
        0x82 => Some(
            tag_len
                + 3
                + usize::from(u16::from_be_bytes([
                    *b.get(tag_len + 1)?,
                    *b.get(tag_len + 2)?,
                ])),
        ),
        _ => None,
    }
}
