//! The tap demo: a terminal taps a demo card, authenticates it and reads it, and the
//! transcript shows every APDU (`midsim tap`).

use protocol::apdu::CommandApdu;
use protocol::lds::{HolderData, LdsFile};
use protocol::pace::PasswordRef;
use rand_core::RngCore;
use sim_card::{Card, TestPki};

use crate::terminal::{Failure, Terminal};

/// 2025-03-28T00:00:00+09:00, the day the mobile ID opened nationwide: the demo's `now`.
pub const NATIONWIDE_OPENING: u64 = 1_743_087_600;

/// What one demo tap found.
#[derive(Debug)]
pub struct TapReport {
    /// The readable transcript, nonces and signatures redacted.
    pub transcript: String,
    /// DG1 as read from the chip.
    pub holder: HolderData,
    /// Passive Authentication: EF.SOD signature, Document Signer chain, data group hashes.
    pub passive: Result<(), protocol::Error>,
    /// Active Authentication: the chip signed the terminal's challenge with DG15's key.
    pub active: Result<(), protocol::Error>,
}

/// Tap the demo card for `seed` with its card password and read it whole.
pub fn tap(seed: u64) -> Result<TapReport, Failure> {
    let mut card = Card::demo(seed);
    let pki = TestPki::new(seed);
    let (_, pin) = sim_card::demo_secrets(seed);
    let mut t = Terminal::new(&mut card, seed ^ 0x7A9);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))?;
    t.read_file(LdsFile::CardAccess.sfi())?;
    t.pace(PasswordRef::Pin, &pin)?;
    let mut dgs = Vec::new();
    t.read_file(LdsFile::Com.sfi())?;
    for f in [LdsFile::Dg1, LdsFile::Dg2, LdsFile::Dg14, LdsFile::Dg15] {
        if let Some(n) = f.dg_number() {
            dgs.push((n, t.read_file(f.sfi())?));
        }
    }
    let sod = t.read_file(LdsFile::Sod.sfi())?;
    let mut challenge = [0u8; 8];
    t.rng.fill_bytes(&mut challenge);
    let signature = t.expect_ok(&CommandApdu::internal_authenticate(&challenge))?;

    let find = |n: u8| {
        dgs.iter()
            .find(|(m, _)| *m == n)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default()
    };
    let holder = HolderData::decode(find(1))?;
    let refs: Vec<(u8, &[u8])> = dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let passive = protocol::sod::passive_authentication(
        &sod,
        &refs,
        &[pki.root.cert().clone()],
        NATIONWIDE_OPENING,
    )
    .map(|_| ());
    let active = protocol::aa::verify(find(15), &challenge, &signature);
    Ok(TapReport {
        transcript: t.transcript,
        holder,
        passive,
        active,
    })
}
