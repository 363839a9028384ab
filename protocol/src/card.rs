//! The shape every card has here, for readers and transports alike: sans-IO, bytes in and
//! bytes out (after vpicc-rs's `VSmartCard`). The virtual card implements it; the phone's
//! in-process reader, the vpcd transport and the test harness drive it.

/// A contactless card as seen by a reader: sans-IO, bytes in and bytes out.
pub trait SmartCard {
    /// The card enters the field: cold reset. Returns the ATR.
    fn power_on(&mut self) -> Vec<u8>;
    /// The card leaves the field. Volatile state (selected file, secure channel) is lost;
    /// persistent state (retry counters) is kept.
    fn power_off(&mut self);
    /// Warm reset. Returns the ATR.
    fn reset(&mut self) -> Vec<u8> {
        self.power_off();
        self.power_on()
    }
    /// The ATR without changing state.
    fn atr(&self) -> Vec<u8>;
    /// Process one command APDU and return the response APDU (data and SW1 SW2). Any input
    /// gets a well-formed response; nothing panics. An empty answer means the card left the
    /// field while processing (a torn tap): it is powered off until the next `power_on`.
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
    /// How long the last `transmit` took the card, for transports that model time (a fault
    /// knob; zero by default). A sans-IO card never sleeps itself.
    fn processing_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// A borrowed card is a card: a reader can hold `&mut card` while its owner keeps it.
impl<C: SmartCard + ?Sized> SmartCard for &mut C {
    fn power_on(&mut self) -> Vec<u8> {
        (**self).power_on()
    }
    fn power_off(&mut self) {
        (**self).power_off()
    }
    fn reset(&mut self) -> Vec<u8> {
        (**self).reset()
    }
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        (**self).transmit(command)
    }
    fn processing_time(&self) -> std::time::Duration {
        (**self).processing_time()
    }
}
