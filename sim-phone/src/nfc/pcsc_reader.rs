//! The PC/SC reader: a real card in a USB reader, or a virtual one that pcscd reaches over
//! vpcd. Only with the cargo feature `pcsc` (it links libpcsclite).

use std::ffi::CString;

use super::NfcReader;
use crate::Error;

/// A reader behind pcscd.
pub struct PcscReader {
    ctx: pcsc::Context,
    reader: CString,
    card: Option<pcsc::Card>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscReader")
            .field("reader", &self.reader)
            .field("connected", &self.card.is_some())
            .finish()
    }
}

fn map(e: pcsc::Error) -> Error {
    match e {
        pcsc::Error::NoSmartcard | pcsc::Error::UnknownReader => Error::NoCard,
        pcsc::Error::RemovedCard | pcsc::Error::ResetCard | pcsc::Error::UnpoweredCard => {
            Error::CardRemoved
        }
        other => Error::Reader(other.to_string()),
    }
}

impl PcscReader {
    /// Use the first reader whose name contains `name_contains` (an empty string takes the
    /// first reader pcscd lists). Fails with [`Error::Reader`] if pcscd is not running or no
    /// reader matches.
    pub fn open(name_contains: &str) -> Result<Self, Error> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(map)?;
        let readers = ctx.list_readers_owned().map_err(map)?;
        let reader = readers
            .into_iter()
            .find(|r| r.to_string_lossy().contains(name_contains))
            .ok_or_else(|| Error::Reader(format!("no PC/SC reader matches {name_contains:?}")))?;
        Ok(Self {
            ctx,
            reader,
            card: None,
        })
    }

    /// The reader's name.
    pub fn name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }
}

impl NfcReader for PcscReader {
    fn connect(&mut self) -> Result<Vec<u8>, Error> {
        self.disconnect();
        let card = self
            .ctx
            .connect(&self.reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(map)?;
        let atr = card
            .status2_owned()
            .map(|s| s.atr().to_vec())
            .map_err(map)?;
        self.card = Some(card);
        Ok(atr)
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let card = self.card.as_ref().ok_or(Error::NoCard)?;
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match card.transmit(apdu, &mut buf) {
            Ok(answer) => Ok(answer.to_vec()),
            Err(e) => {
                let e = map(e);
                if matches!(e, Error::CardRemoved | Error::NoCard) {
                    self.card = None;
                }
                Err(e)
            }
        }
    }

    fn disconnect(&mut self) {
        if let Some(card) = self.card.take() {
            let _ = card.disconnect(pcsc::Disposition::ResetCard);
        }
    }

    fn is_connected(&self) -> bool {
        self.card.is_some()
    }

    fn card_present(&mut self) -> bool {
        let mut states = [pcsc::ReaderState::new(
            self.reader.clone(),
            pcsc::State::UNAWARE,
        )];
        match self
            .ctx
            .get_status_change(std::time::Duration::ZERO, &mut states)
        {
            Ok(()) => states[0].event_state().contains(pcsc::State::PRESENT),
            Err(_) => false,
        }
    }
}
