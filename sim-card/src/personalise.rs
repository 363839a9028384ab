//! Personalisation: from a resident record to a card, byte for byte the same for the same
//! seed.
//!
//! The card's Active Authentication key and its own random source are drawn from the seed;
//! the data groups come from the holder record; EF.SOD is signed by the Document Signer the
//! caller hands in (the issuer's in a rollout, a [`TestPki`] in tests and demos).

use protocol::lds::{self, Com, Dg2, HolderData, LdsFile, SecurityInfos};
use protocol::pki::{self, CertUsage, CertifiedKey};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::card::{Card, Df, ElementaryFile, Persistent, PIN_TRIES};
use crate::faults::Faults;
use crate::Error;

/// Faults written onto the card at personalisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFaults {
    /// A cloned chip: it answers Active Authentication with a key that does not match DG15.
    pub clone: bool,
    /// Change one byte of this data group after EF.SOD was signed, so its hash no longer
    /// matches.
    pub tamper_dg: Option<u8>,
    /// Personalise with the card password already blocked.
    pub blocked_password: bool,
}

/// Everything a card is personalised from.
#[derive(Debug, Clone)]
pub struct Personalisation<'a> {
    /// The holder record for DG1.
    pub holder: HolderData,
    /// Portrait bytes for DG2 (a JPEG in real life; any bytes here).
    pub portrait: Vec<u8>,
    /// The 6-digit card access number printed on the card.
    pub can: String,
    /// The 4-digit card password the holder chose.
    pub pin: String,
    /// The Document Signer that signs EF.SOD.
    pub document_signer: &'a CertifiedKey,
    /// Seed for the chip's keys and its random source.
    pub seed: u64,
    /// Faults written onto the card.
    pub faults: CardFaults,
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Card {
    /// Personalise a card. The same inputs give the same card, byte for byte.
    pub fn personalise(p: &Personalisation<'_>) -> Result<Card, Error> {
        if !is_digits(&p.can, 6) {
            return Err(Error::Personalisation("the CAN must be 6 digits"));
        }
        if !is_digits(&p.pin, 4) {
            return Err(Error::Personalisation("the card password must be 4 digits"));
        }
        let mut rng = ChaCha20Rng::seed_from_u64(p.seed);
        let aa_key = protocol::crypto::generate_signing_key(&mut rng);
        let clone_key = p
            .faults
            .clone
            .then(|| protocol::crypto::generate_signing_key(&mut rng));

        let mut dgs: Vec<(LdsFile, Vec<u8>)> = vec![
            (LdsFile::Dg1, p.holder.encode()?),
            (
                LdsFile::Dg2,
                Dg2 {
                    portrait: p.portrait.clone(),
                }
                .encode(),
            ),
            (LdsFile::Dg14, SecurityInfos::dg14().encode_dg14()?),
            (LdsFile::Dg15, lds::encode_dg15(aa_key.verifying_key())?),
        ];
        let hashed: Vec<(u8, &[u8])> = dgs
            .iter()
            .filter_map(|(f, c)| f.dg_number().map(|n| (n, c.as_slice())))
            .collect();
        let sod = protocol::sod::create_sod(&hashed, p.document_signer)?;
        if let Some(n) = p.faults.tamper_dg {
            let Some((_, content)) = dgs.iter_mut().find(|(f, _)| f.dg_number() == Some(n)) else {
                return Err(Error::Personalisation(
                    "tamper_dg names a data group not on the card",
                ));
            };
            if let Some(last) = content.last_mut() {
                *last ^= 0x01;
            }
        }
        let com = Com::new(&dgs.iter().map(|(f, _)| *f).collect::<Vec<_>>()).encode()?;

        let ef = |file: LdsFile, df: Df, needs_pace: bool, content: Vec<u8>| ElementaryFile {
            fid: file.fid(),
            sfi: file.sfi(),
            df,
            needs_pace,
            content,
        };
        let mut files = vec![
            ef(
                LdsFile::CardAccess,
                Df::Master,
                false,
                SecurityInfos::card_access().encode()?,
            ),
            ef(LdsFile::Com, Df::Emrtd, true, com),
        ];
        for (file, content) in dgs {
            files.push(ef(file, Df::Emrtd, true, content));
        }
        files.push(ef(LdsFile::Sod, Df::Emrtd, true, sod));

        let persistent = Persistent {
            files,
            aa_key,
            can: p.can.clone(),
            pin: p.pin.clone(),
            pin_tries: if p.faults.blocked_password {
                0
            } else {
                PIN_TRIES
            },
        };
        let faults = Faults {
            clone_key,
            ..Faults::default()
        };
        // The chip's own random source: a separate stream of the same seed.
        let mut chip_rng = ChaCha20Rng::seed_from_u64(p.seed);
        chip_rng.set_stream(1);
        Ok(Card::from_parts(persistent, chip_rng, faults))
    }

    /// A demo card for a synthetic holder, signed by a [`TestPki`] of the same seed: what
    /// `sim-card serve` runs and what the interop tests read. CAN and card password are in
    /// [`demo_secrets`].
    pub fn demo(seed: u64) -> Card {
        let pki = TestPki::new(seed);
        let (can, pin) = demo_secrets(seed);
        let p = Personalisation {
            holder: demo_holder(seed),
            portrait: demo_portrait(seed),
            can,
            pin,
            document_signer: &pki.document_signer,
            seed,
            faults: CardFaults::default(),
        };
        match Card::personalise(&p) {
            Ok(card) => card,
            // The demo inputs are built above to be valid; failing here is a bug.
            Err(e) => unreachable!("demo personalisation failed: {e}"),
        }
    }
}

/// The CAN and card password of [`Card::demo`]`(seed)`.
pub fn demo_secrets(seed: u64) -> (String, String) {
    let can = format!("{:06}", (seed.wrapping_mul(7_919) + 123_456) % 1_000_000);
    let pin = format!("{:04}", (seed.wrapping_mul(31) + 1_234) % 10_000);
    (can, pin)
}

/// The synthetic holder of [`Card::demo`]`(seed)`.
pub fn demo_holder(seed: u64) -> HolderData {
    let names = ["김민준", "이서연", "박지호", "최수아", "정예준", "강하은"];
    let regions = ["11", "26", "27", "28", "29", "30", "31", "36", "41"];
    let i = seed as usize;
    let year = 1960 + (seed % 45) as u16;
    let month = 1 + (seed % 12) as u8;
    let day = 1 + (seed % 28) as u8;
    // Days 1-28 exist in every month.
    let date = |y, m, d| lds::Date {
        year: y,
        month: m,
        day: d,
    };
    let g = if year >= 2000 { 3 } else { 1 } + (seed % 2) as u8;
    HolderData {
        name: names[i % names.len()].to_string(),
        rrn: demo_rrn(year, month, day, g, seed),
        birth_date: date(year, month, day),
        region_code: regions[i % regions.len()].to_string(),
        issue_date: date(2024, 1 + (seed % 12) as u8, 1 + (seed % 28) as u8),
        card_number: format!("KR{:010}", seed % 10_000_000_000),
    }
}

/// A pre-2020 style RRN: YYMMDD, G, five serial digits, then the check digit (weights
/// 2,3,4,5,6,7,8,9,2,3,4,5; check = (11 - sum mod 11) mod 10).
fn demo_rrn(year: u16, month: u8, day: u8, g: u8, seed: u64) -> String {
    let first12 = format!(
        "{:02}{month:02}{day:02}{g}{:05}",
        year % 100,
        seed % 100_000
    );
    let weights = [2u32, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = first12
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{first12}{}", (11 - sum % 11) % 10)
}

fn demo_portrait(seed: u64) -> Vec<u8> {
    // A stand-in for a JPEG: the JFIF start-of-image marker, then seed-derived bytes.
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0];
    out.extend(
        (0..512u32).map(|i| (seed as u32).wrapping_mul(2_654_435_761).wrapping_add(i) as u8),
    );
    out
}

/// A country root and Document Signers for tests and demos, all from one seed. Fixed
/// validity windows (unix seconds) keep the output independent of the wall clock.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The country signing root.
    pub root: CertifiedKey,
    /// A Document Signer under `root`, valid 2024-01-01 to 2034-01-01.
    pub document_signer: CertifiedKey,
    /// A Document Signer under `root` that expired on 2020-01-01.
    pub expired_document_signer: CertifiedKey,
    /// A Document Signer under a different country's root.
    pub foreign_document_signer: CertifiedKey,
}

/// 2015-01-01T00:00:00Z.
pub const T2015: u64 = 1_420_070_400;
/// 2020-01-01T00:00:00Z.
pub const T2020: u64 = 1_577_836_800;
/// 2024-01-01T00:00:00Z.
pub const T2024: u64 = 1_704_067_200;
/// 2034-01-01T00:00:00Z.
pub const T2034: u64 = 2_019_686_400;
/// 2040-01-01T00:00:00Z.
pub const T2040: u64 = 2_208_988_800;

impl TestPki {
    /// Build the PKI for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x005E_ED0F_C5CA);
        let build = |rng: &mut ChaCha20Rng| -> Result<Self, protocol::Error> {
            let root = pki::self_signed_root(rng, "Test CSCA", "KR", T2015, T2040)?;
            let document_signer = pki::issue(
                &root,
                rng,
                "Test Document Signer",
                T2024,
                T2034,
                CertUsage::DocumentSigner,
            )?;
            let expired_document_signer = pki::issue(
                &root,
                rng,
                "Expired Document Signer",
                T2015,
                T2020,
                CertUsage::DocumentSigner,
            )?;
            let foreign = pki::self_signed_root(rng, "Foreign CSCA", "UT", T2015, T2040)?;
            let foreign_document_signer = pki::issue(
                &foreign,
                rng,
                "Foreign Document Signer",
                T2024,
                T2034,
                CertUsage::DocumentSigner,
            )?;
            Ok(Self {
                root,
                document_signer,
                expired_document_signer,
                foreign_document_signer,
            })
        };
        match build(&mut rng) {
            Ok(pki) => pki,
            Err(e) => unreachable!("test PKI with fixed inputs failed: {e}"),
        }
    }
}
