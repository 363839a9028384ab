//! The NFC reader: how the app reaches a card.
//!
//! [`NfcReader`] is what the app drives: connect to the card in the field, exchange APDU bytes,
//! disconnect. Three implementations:
//! - [`InProcessReader`]: a card in the same process, any type implementing
//!   `protocol::SmartCard` (the virtual card of `sim-card` implements it; this crate does not
//!   depend on another actor);
//! - [`FaultyReader`]: wraps any reader and tears the tap after APDU k, adds latency, or
//!   corrupts a response;
//! - `PcscReader` (cargo feature `pcsc`): a real or virtual card behind pcscd.

use std::time::Duration;

use protocol::SmartCard;

use crate::Error;

/// A contactless reader with at most one card in its field.
pub trait NfcReader {
    /// Connect to the card in the field (power it up). Returns the ATR, or
    /// [`Error::NoCard`].
    fn connect(&mut self) -> Result<Vec<u8>, Error>;
    /// Exchange one APDU. [`Error::CardRemoved`] when the card left the field before it
    /// answered; the reader is then disconnected.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error>;
    /// Drop the card (power it down). Harmless when not connected.
    fn disconnect(&mut self);
    /// True while a card is connected.
    fn is_connected(&self) -> bool;
    /// True if a card is in the field now, connected or not (a reader polls for taps with
    /// this). By default: connected.
    fn card_present(&mut self) -> bool {
        self.is_connected()
    }
    /// How long the last exchange took, for callers that model time (zero when the reader
    /// does not know).
    fn last_latency(&self) -> Duration {
        Duration::ZERO
    }
}

/// A reader with an in-process card that can be placed in and taken out of its field.
#[derive(Debug)]
pub struct InProcessReader<C> {
    card: Option<C>,
    connected: bool,
}

impl<C: SmartCard> InProcessReader<C> {
    /// A reader with `card` lying on it.
    pub fn new(card: C) -> Self {
        Self {
            card: Some(card),
            connected: false,
        }
    }

    /// A reader with nothing on it.
    pub fn empty() -> Self {
        Self {
            card: None,
            connected: false,
        }
    }

    /// Put a card on the reader (replacing any card already there, which is powered off).
    pub fn place(&mut self, card: C) -> Option<C> {
        let old = self.take();
        self.card = Some(card);
        old
    }

    /// Take the card off the reader.
    pub fn take(&mut self) -> Option<C> {
        self.disconnect();
        self.card.take()
    }

    /// The card on the reader.
    pub fn card(&self) -> Option<&C> {
        self.card.as_ref()
    }

    /// The card on the reader, to change it between taps.
    pub fn card_mut(&mut self) -> Option<&mut C> {
        self.card.as_mut()
    }
}

impl<C: SmartCard> NfcReader for InProcessReader<C> {
    fn connect(&mut self) -> Result<Vec<u8>, Error> {
        let card = self.card.as_mut().ok_or(Error::NoCard)?;
        self.connected = true;
        Ok(card.power_on())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.connected {
            return Err(Error::NoCard);
        }
        let card = self.card.as_mut().ok_or(Error::NoCard)?;
        let answer = card.transmit(apdu);
        if answer.is_empty() {
            self.connected = false;
            return Err(Error::CardRemoved);
        }
        Ok(answer)
    }

    fn disconnect(&mut self) {
        if self.connected {
            if let Some(card) = self.card.as_mut() {
                card.power_off();
            }
        }
        self.connected = false;
    }

    fn is_connected(&self) -> bool {
        self.connected
    }

    fn card_present(&mut self) -> bool {
        self.card.is_some()
    }
}

/// What a [`FaultyReader`] does to the exchanges through it. APDUs are counted from 1 over
/// the reader's life (across connects), so "tear at APDU k" happens once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderFaults {
    /// The card leaves the field when the reader sends this APDU: the card processes it
    /// (a command that writes has written), the answer is lost.
    pub tear_at: Option<u64>,
    /// The card leaves the field before this APDU reaches it: nothing is processed.
    pub tear_before: Option<u64>,
    /// Added to every exchange's latency.
    pub latency: Duration,
    /// Flip every bit of the first response byte of this APDU (a corrupted frame).
    pub corrupt_at: Option<u64>,
}

/// A reader that injects faults into another one.
#[derive(Debug)]
pub struct FaultyReader<R> {
    inner: R,
    /// The faults to inject; change them between taps.
    pub faults: ReaderFaults,
    sent: u64,
    latency: Duration,
}

impl<R: NfcReader> FaultyReader<R> {
    /// Wrap `inner`.
    pub fn new(inner: R, faults: ReaderFaults) -> Self {
        Self {
            inner,
            faults,
            sent: 0,
            latency: Duration::ZERO,
        }
    }

    /// APDUs sent through this reader so far.
    pub fn apdus_sent(&self) -> u64 {
        self.sent
    }

    /// The wrapped reader.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The wrapped reader, mutably.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwrap.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: NfcReader> NfcReader for FaultyReader<R> {
    fn connect(&mut self) -> Result<Vec<u8>, Error> {
        self.inner.connect()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        self.sent += 1;
        if self.faults.tear_before == Some(self.sent) {
            self.inner.disconnect();
            return Err(Error::CardRemoved);
        }
        let answer = self.inner.transmit(apdu);
        self.latency = self.inner.last_latency() + self.faults.latency;
        let mut answer = answer?;
        if self.faults.tear_at == Some(self.sent) {
            self.inner.disconnect();
            return Err(Error::CardRemoved);
        }
        if self.faults.corrupt_at == Some(self.sent) {
            if let Some(b) = answer.first_mut() {
                *b = !*b;
            }
        }
        Ok(answer)
    }

    fn disconnect(&mut self) {
        self.inner.disconnect();
    }

    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    fn card_present(&mut self) -> bool {
        self.inner.card_present()
    }

    fn last_latency(&self) -> Duration {
        self.latency
    }
}

#[cfg(feature = "pcsc")]
mod pcsc_reader;
#[cfg(feature = "pcsc")]
pub use pcsc_reader::PcscReader;

#[cfg(test)]
mod tests {
    use super::*;

    /// A card that echoes the command with 9000, counting power cycles.
    #[derive(Default)]
    struct Echo {
        powered: bool,
        power_ons: u32,
    }

    impl SmartCard for Echo {
        fn power_on(&mut self) -> Vec<u8> {
            self.powered = true;
            self.power_ons += 1;
            vec![0x3B, 0x00]
        }
        fn power_off(&mut self) {
            self.powered = false;
        }
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
            let mut r = command.to_vec();
            r.extend([0x90, 0x00]);
            r
        }
    }

    #[test]
    fn empty_reader_reports_no_card() {
        let mut r = InProcessReader::<Echo>::empty();
        assert!(!r.card_present());
        assert!(matches!(r.connect(), Err(Error::NoCard)));
        r.place(Echo::default());
        assert!(r.card_present() && !r.is_connected());
        assert!(matches!(r.transmit(&[0]), Err(Error::NoCard)));
    }

    #[test]
    fn transmit_before_connect_is_no_card_and_after_connect_reaches_the_card() {
        let mut r = InProcessReader::new(Echo::default());
        assert!(matches!(r.transmit(&[1]), Err(Error::NoCard)));
        assert_eq!(r.connect().unwrap(), vec![0x3B, 0x00]);
        assert_eq!(r.transmit(&[1, 2]).unwrap(), vec![1, 2, 0x90, 0x00]);
        r.disconnect();
        assert!(!r.card().unwrap().powered);
    }

    #[test]
    fn faulty_reader_tears_once_at_the_given_apdu_then_the_next_tap_works() {
        let mut r = FaultyReader::new(
            InProcessReader::new(Echo::default()),
            ReaderFaults {
                tear_at: Some(2),
                ..Default::default()
            },
        );
        r.connect().unwrap();
        r.transmit(&[1]).unwrap();
        assert!(matches!(r.transmit(&[2]), Err(Error::CardRemoved)));
        assert!(!r.is_connected());
        r.connect().unwrap();
        assert_eq!(r.transmit(&[3]).unwrap(), vec![3, 0x90, 0x00]);
        assert_eq!(r.inner().card().unwrap().power_ons, 2);
    }

    #[test]
    fn faulty_reader_corrupts_and_delays_the_chosen_response() {
        let mut r = FaultyReader::new(
            InProcessReader::new(Echo::default()),
            ReaderFaults {
                corrupt_at: Some(1),
                latency: Duration::from_millis(30),
                ..Default::default()
            },
        );
        r.connect().unwrap();
        assert_eq!(r.transmit(&[0x0F]).unwrap(), vec![0xF0, 0x90, 0x00]);
        assert_eq!(r.last_latency(), Duration::from_millis(30));
        assert_eq!(r.transmit(&[0x0F]).unwrap(), vec![0x0F, 0x90, 0x00]);
    }
}
