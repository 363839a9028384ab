//! ICAO Doc 9303 part 11 PACE v2: ECDH Generic Mapping on NIST P-256 with AES-128 session
//! keys, `id-PACE-ECDH-GM-AES-CBC-CMAC-128` (0.4.0.127.0.7.2.2.4.2.2), standardized domain
//! parameters 12 (9303-11 §9.5.1, table of standardized domain parameters).
//!
//! Both sides, sans-IO:
//! - [`ChipPace`] takes the data field of each GENERAL AUTHENTICATE command and returns the
//!   data field of the response;
//! - [`TerminalPace`] does the mirror image for the phone.
//!
//! The protocol (9303-11 §4.4.1, §4.4.3):
//! 1. chip: random nonce s, sends z = E(Kπ, s) (§4.4.3.1);
//! 2. both: ephemeral mapping keys, H = SK_map·PK_map(other), Ĝ = s·G + H (Generic Mapping,
//!    §4.4.3.3.1);
//! 3. both: ephemeral keys on Ĝ, K = x(SK·PK(other)), KSenc = KDF(K, 1), KSmac = KDF(K, 2)
//!    (§4.4.3.2 step 4, §9.7.1);
//! 4. both: authentication tokens T = MAC(KSmac, PK(other) data object) (§4.4.3.4).
//!
//! Every malformed or hostile input is a typed [`Error`]; after any error the state machine
//! is dead and answers [`Error::State`]. What the card should answer on the wire:
//! [`Error::PaceAuthFailed`] (wrong password, count a try, 63Cx), [`Error::BadPoint`] and
//! [`Error::Decode`] (6A80), [`Error::State`] (6985).
//!
//! Clause numbers refer to ICAO Doc 9303 part 11, eighth edition (2021).

use core::fmt;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use aes::Aes128;
use cmac::{Cmac, Mac};
use const_oid::ObjectIdentifier;
use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::elliptic_curve::PrimeField;
use p256::{
    AffinePoint, EncodedPoint, FieldBytes, NonZeroScalar, ProjectivePoint, PublicKey, Scalar,
};

use crate::crypto;
use rand_core::CryptoRngCore;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::apdu::{ins, CommandApdu, CLA_CHAINING};
use crate::tlv::{self, Tag};
use crate::{DecodeErrorKind, Error};

/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128` (9303-11 §9.2.? PACEInfo object identifiers:
/// id-PACE 0.4.0.127.0.7.2.2.4, ECDH-GM 2, AES-CBC-CMAC-128 2).
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");

/// Standardized domain parameter identifier of NIST P-256 (secp256r1) (9303-11 §9.5.1).
pub const PARAM_ID_P256: u8 = 12;

/// KDF counter for the session encryption key KSenc (9303-11 §9.7.1).
pub const KDF_ENC: u32 = 1;
/// KDF counter for the session MAC key KSmac (9303-11 §9.7.1).
pub const KDF_MAC: u32 = 2;
/// KDF counter for the password key Kπ (9303-11 §9.7.1, §9.7.3).
pub const KDF_PI: u32 = 3;

/// Length of an uncompressed P-256 point 04 || X || Y (BSI TR-03111 §3.2.1, used by
/// 9303-11 for every ECDH public key).
pub const POINT_LEN: usize = 65;
/// Length of an authentication token: the CMAC truncated to 8 bytes (9303-11 §9.4.?/§4.4.3.4).
pub const TOKEN_LEN: usize = 8;

/// Tag of the Dynamic Authentication Data template (9303-11 §4.4.4.2).
const TAG_DAD: Tag = Tag(0x7C);
/// Terminal → chip: mapping data, ephemeral public key, token (9303-11 §4.4.4.2 table).
const TAG_PCD_MAPPING: Tag = Tag(0x81);
const TAG_PCD_EPHEMERAL: Tag = Tag(0x83);
const TAG_PCD_TOKEN: Tag = Tag(0x85);
/// Chip → terminal: encrypted nonce, mapping data, ephemeral public key, token.
const TAG_PICC_NONCE: Tag = Tag(0x80);
const TAG_PICC_MAPPING: Tag = Tag(0x82);
const TAG_PICC_EPHEMERAL: Tag = Tag(0x84);
const TAG_PICC_TOKEN: Tag = Tag(0x86);

const DAD: &str = "dynamic authentication data";

/// The password PACE runs with, as referenced in MSE:Set AT tag 0x83 (9303-11 §4.4.4.1:
/// 1 = MRZ, 2 = CAN; 3 = PIN and 4 = PUK are the values BSI TR-03110-3 §B.11.1 adds for
/// national eID cards, which this card uses for its card password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PasswordRef {
    /// Machine readable zone (the key seed from document number, birth and expiry dates).
    Mrz = 1,
    /// Card access number.
    Can = 2,
    /// Personal identification number (the card password).
    Pin = 3,
    /// PIN unblocking key.
    Puk = 4,
}

impl PasswordRef {
    /// The reference for a byte value, `None` if unknown.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Mrz),
            2 => Some(Self::Can),
            3 => Some(Self::Pin),
            4 => Some(Self::Puk),
            _ => None,
        }
    }

    /// The byte value.
    pub fn to_u8(self) -> u8 {
        self as u8
    }
}

/// The key derivation function KDF(K, c) = SHA-1(K || c)[0..16] for AES-128, with c a 32-bit
/// big-endian counter (9303-11 §9.7.1).
pub fn kdf(shared_secret: &[u8], counter: u32) -> [u8; 16] {
    let mut h = Sha1::new();
    h.update(shared_secret);
    h.update(counter.to_be_bytes());
    let mut digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    digest.as_mut_slice().zeroize();
    out
}

/// The password key Kπ = KDF(f(π), 3) (9303-11 §9.7.3). `password` is f(π): for CAN and PIN
/// the ASCII digits, for the MRZ the SHA-1 of the MRZ information.
pub fn password_key(password: &[u8]) -> [u8; 16] {
    kdf(password, KDF_PI)
}

/// The session keys PACE establishes.
///
/// `Debug` prints `<redacted>`; the keys are zeroized on drop; equality is constant time.
#[derive(Clone)]
pub struct SessionKeys {
    /// KSenc, the AES-128 encryption key of secure messaging.
    pub ks_enc: [u8; 16],
    /// KSmac, the AES-128 CMAC key of secure messaging.
    pub ks_mac: [u8; 16],
}

impl SessionKeys {
    /// Derive KSenc = KDF(K, 1) and KSmac = KDF(K, 2) from the shared secret K (9303-11
    /// §9.7.1, §9.7.4).
    pub fn derive(shared_secret: &[u8]) -> Self {
        Self {
            ks_enc: kdf(shared_secret, KDF_ENC),
            ks_mac: kdf(shared_secret, KDF_MAC),
        }
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

impl PartialEq for SessionKeys {
    fn eq(&self, other: &Self) -> bool {
        (self.ks_enc.ct_eq(&other.ks_enc) & self.ks_mac.ct_eq(&other.ks_mac)).into()
    }
}

impl Eq for SessionKeys {}

impl Zeroize for SessionKeys {
    fn zeroize(&mut self) {
        self.ks_enc.zeroize();
        self.ks_mac.zeroize();
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.zeroize();
    }
}

/// Encrypt the nonce: z = E(Kπ, s), AES-128 in CBC mode with a zero IV over one block
/// (9303-11 §4.4.3.1, §9.8.6? "encryption of the nonce" with IV 0).
pub fn encrypt_nonce(k_pi: &[u8; 16], nonce: &[u8; 16]) -> [u8; 16] {
    let mut block = (*nonce).into();
    cbc::Encryptor::<Aes128>::new(k_pi.into(), &[0u8; 16].into()).encrypt_block_mut(&mut block);
    block.into()
}

/// Decrypt the nonce: s = D(Kπ, z) (9303-11 §4.4.3.1).
pub fn decrypt_nonce(k_pi: &[u8; 16], encrypted: &[u8; 16]) -> [u8; 16] {
    let mut block = (*encrypted).into();
    cbc::Decryptor::<Aes128>::new(k_pi.into(), &[0u8; 16].into()).decrypt_block_mut(&mut block);
    block.into()
}

/// The public key data object an authentication token is computed over, for ECDH:
/// `7F49 { 06 <protocol OID>, 86 <uncompressed point> }` (9303-11 §4.4.3.4 and the Public
/// Key Data Objects clause, §9.4.? "Elliptic Curve Public Keys": only the OID and the public
/// point, no domain parameters).
pub fn public_key_data_object(public_key: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(public_key.len() + 16);
    tlv::encode_into(
        Tag(0x06),
        ID_PACE_ECDH_GM_AES_CBC_CMAC_128.as_bytes(),
        &mut inner,
    );
    tlv::encode_into(Tag(0x86), public_key, &mut inner);
    tlv::encode(Tag(0x7F49), &inner)
}

/// The authentication token T = CMAC(KSmac, public key data object), truncated to 8 bytes
/// (9303-11 §4.4.3.4; AES CMAC per §9.8.6.2? / NIST SP 800-38B).
pub fn auth_token(ks_mac: &[u8; 16], public_key: &[u8]) -> [u8; TOKEN_LEN] {
    let mut mac = <Cmac<Aes128> as Mac>::new(ks_mac.into());
    mac.update(&public_key_data_object(public_key));
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TOKEN_LEN];
    out.copy_from_slice(&full[..TOKEN_LEN]);
    out
}

fn verify_token(ks_mac: &[u8; 16], public_key: &[u8], token: &[u8]) -> Result<(), Error> {
    let expected = auth_token(ks_mac, public_key);
    if bool::from(expected.as_slice().ct_eq(token)) {
        Ok(())
    } else {
        Err(Error::PaceAuthFailed)
    }
}

/// MSE:Set AT for PACE: `00 22 C1 A4 { 80 <OID>, 83 <password reference> }` (9303-11
/// §4.4.4.1). The domain parameter reference (tag 84) is left out: the card offers only one
/// parameter set.
pub fn mse_set_at(password: PasswordRef) -> CommandApdu {
    let mut data = Vec::with_capacity(16);
    tlv::encode_into(
        Tag(0x80),
        ID_PACE_ECDH_GM_AES_CBC_CMAC_128.as_bytes(),
        &mut data,
    );
    tlv::encode_into(Tag(0x83), &[password.to_u8()], &mut data);
    CommandApdu::new(0x00, ins::MSE, 0xC1, 0xA4).with_data(data)
}

/// The data of an MSE:Set AT command for PACE, as the card reads it (9303-11 §4.4.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAt {
    /// The cryptographic mechanism reference, tag 80.
    pub protocol: ObjectIdentifier,
    /// The password reference, tag 83.
    pub password: PasswordRef,
    /// The domain parameter reference, tag 84, if present.
    pub parameter_id: Option<u8>,
}

impl SetAt {
    /// Parse the MSE:Set AT data field. Tags 80 and 83 are required, 84 is optional, any other
    /// tag (for example a TR-03110 CHAT, 7F4C) is ignored.
    pub fn decode(data: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "MSE:Set AT";
        let missing = || Error::decode(WHAT, DecodeErrorKind::Missing, data.len());
        let bad = || Error::decode(WHAT, DecodeErrorKind::BadValue, 0);
        let oid = tlv::find(data, Tag(0x80))?.ok_or_else(missing)?;
        let protocol = ObjectIdentifier::from_bytes(oid).map_err(|_| bad())?;
        let password = match tlv::find(data, Tag(0x83))?.ok_or_else(missing)? {
            [v] => PasswordRef::from_u8(*v).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        let parameter_id = match tlv::find(data, Tag(0x84))? {
            None => None,
            Some([v]) => Some(*v),
            Some(_) => return Err(bad()),
        };
        Ok(Self {
            protocol,
            password,
            parameter_id,
        })
    }
}

/// A GENERAL AUTHENTICATE command carrying Dynamic Authentication Data: the first three of
/// PACE are sent as a command chain (CLA 10), the last one with CLA 00 (9303-11 §4.4.4.2).
/// Le is 00 (short, 256).
pub fn general_authenticate(data: Vec<u8>, last: bool) -> CommandApdu {
    let cla = if last { 0x00 } else { CLA_CHAINING };
    CommandApdu::new(cla, ins::GENERAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(data)
        .with_ne(256)
}

// ---- points ----------------------------------------------------------------------------------

/// Decode and validate a received public key: uncompressed, on the curve, not the identity
/// (9303-11 §4.4.3.3.1 / BSI TR-03111 §3.2.2.1 public key validation; P-256 has cofactor 1
/// so on-curve means in the prime-order group).
fn decode_point(bytes: &[u8]) -> Result<PublicKey, Error> {
    if bytes.len() != POINT_LEN || bytes.first() != Some(&0x04) {
        return Err(Error::BadPoint("not an uncompressed P-256 point"));
    }
    let encoded =
        EncodedPoint::from_bytes(bytes).map_err(|_| Error::BadPoint("bad SEC1 encoding"))?;
    let affine: Option<AffinePoint> = AffinePoint::from_encoded_point(&encoded).into();
    PublicKey::from_affine(affine.ok_or(Error::BadPoint("not on the curve"))?)
        .map_err(|_| Error::BadPoint("identity"))
}

fn encode_public(pk: &PublicKey) -> Vec<u8> {
    pk.to_encoded_point(false).as_bytes().to_vec()
}

fn encode_point(point: &ProjectivePoint) -> Vec<u8> {
    point
        .to_affine()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec()
}

/// The x-coordinate of SK·PK, the ECDH shared secret (9303-11 §4.4.3.3.1 / §4.4.3.2; BSI
/// TR-03111 §4.3.1 ECKA-DH). The identity is refused.
/// Goes through the crypto provider ([`crypto::ecdh`]).
fn shared_x(sk: &Scalar, pk: &PublicKey) -> Result<Zeroizing<Vec<u8>>, Error> {
    let sk: Option<NonZeroScalar> = NonZeroScalar::new(*sk).into();
    let sk = sk.ok_or(Error::BadPoint("secret scalar is zero"))?;
    let x = crypto::ecdh(&sk, pk).map_err(|_| Error::BadPoint("shared secret is the identity"))?;
    Ok(Zeroizing::new(x.to_vec()))
}

/// The mapped generator Ĝ = s·G + H, H = SK_map·PK_map(other) (9303-11 §4.4.3.3.1).
fn map_generator(
    nonce: &[u8; 16],
    sk_map: &Scalar,
    pk_map_other: &PublicKey,
) -> Result<ProjectivePoint, Error> {
    // Point arithmetic no provider offers: counted, done with p256.
    crypto::count_point_mul(1);
    crypto::count_point_mul_base(1);
    let h = pk_map_other.to_projective() * sk_map;
    if bool::from(h.is_identity()) {
        return Err(Error::BadPoint("mapping point H is the identity"));
    }
    // s is 128 bits, always below the group order n.
    let mut repr = FieldBytes::default();
    repr[16..].copy_from_slice(nonce);
    let s: Option<Scalar> = Scalar::from_repr(repr).into();
    let s = Zeroizing::new(s.ok_or(Error::BadPoint("nonce not a scalar"))?);
    repr.zeroize();
    let mapped = ProjectivePoint::GENERATOR * *s + h;
    if bool::from(mapped.is_identity()) {
        return Err(Error::BadPoint("mapped generator is the identity"));
    }
    Ok(mapped)
}

fn random_scalar(rng: &mut impl CryptoRngCore) -> Zeroizing<Scalar> {
    Zeroizing::new(*NonZeroScalar::random(rng))
}

// ---- Dynamic Authentication Data ----------------------------------------------------------

/// The content of the `7C` template filling all of `bytes` (9303-11 §4.4.4.2).
fn dad_content(bytes: &[u8]) -> Result<&[u8], Error> {
    let (tag, value, used) = tlv::read_one(bytes)?;
    if tag != TAG_DAD {
        return Err(Error::decode(DAD, DecodeErrorKind::BadTag, 0));
    }
    if used != bytes.len() {
        return Err(Error::decode(DAD, DecodeErrorKind::TrailingData, used));
    }
    Ok(value)
}

/// The data objects the terminal sends, in step order (9303-11 §4.4.4.2).
const PCD_TAGS: [Tag; 3] = [TAG_PCD_MAPPING, TAG_PCD_EPHEMERAL, TAG_PCD_TOKEN];
/// The data objects the chip sends, in step order.
const PICC_TAGS: [Tag; 4] = [
    TAG_PICC_NONCE,
    TAG_PICC_MAPPING,
    TAG_PICC_EPHEMERAL,
    TAG_PICC_TOKEN,
];

/// The error for a data object that is not the one this step expects: a step out of order
/// if the tag belongs to another step of the protocol, malformed input otherwise.
fn unexpected_tag(found: Tag, step_tags: &[Tag]) -> Error {
    if step_tags.contains(&found) {
        Error::State("GENERAL AUTHENTICATE step out of order")
    } else {
        Error::decode(DAD, DecodeErrorKind::BadTag, 2)
    }
}

/// Strict: the template holds exactly one data object, with `tag` (the chip's reading of the
/// terminal's commands).
fn dad_single(bytes: &[u8], tag: Tag) -> Result<&[u8], Error> {
    let content = dad_content(bytes)?;
    if content.is_empty() {
        // An empty template is the first step's command.
        return Err(Error::State("GENERAL AUTHENTICATE step out of order"));
    }
    let (t, value, used) = tlv::read_one(content)?;
    if t != tag {
        return Err(unexpected_tag(t, &PCD_TAGS));
    }
    if used != content.len() {
        return Err(Error::decode(DAD, DecodeErrorKind::TrailingData, used));
    }
    Ok(value)
}

/// Lenient: the template holds a data object with `tag`, other data objects are ignored (the
/// terminal's reading of a chip's answers: real chips add e.g. certificate references 87/88
/// to the last one, BSI TR-03110-3 §B.11.1).
fn dad_find(bytes: &[u8], tag: Tag) -> Result<&[u8], Error> {
    let content = dad_content(bytes)?;
    if let Some(value) = tlv::find(content, tag)? {
        return Ok(value);
    }
    match tlv::TlvIter::new(content).find_map(|item| item.ok()) {
        Some((other, _)) => Err(unexpected_tag(other, &PICC_TAGS)),
        None => Err(Error::decode(DAD, DecodeErrorKind::Missing, bytes.len())),
    }
}

fn dad(tag: Tag, value: &[u8]) -> Vec<u8> {
    tlv::encode(TAG_DAD, &tlv::encode(tag, value))
}

// ---- chip ------------------------------------------------------------------------------------

/// What the chip answers to one GENERAL AUTHENTICATE.
#[derive(Debug)]
#[must_use]
pub enum ChipStep {
    /// Steps 1 to 3: send this response data with 9000 and wait for the next command.
    Continue(Vec<u8>),
    /// Step 4: the terminal proved knowledge of the password. Send the response data (with
    /// T_PICC) with 9000 in the clear, then switch to secure messaging with these keys.
    Established {
        /// The response data field.
        response_data: Vec<u8>,
        /// The session keys.
        keys: SessionKeys,
    },
}

enum ChipState {
    AwaitStart,
    AwaitMapping {
        nonce: Zeroizing<[u8; 16]>,
    },
    AwaitKeyAgreement {
        generator: ProjectivePoint,
    },
    AwaitToken {
        keys: SessionKeys,
        chip_pk: Vec<u8>,
        terminal_pk: Vec<u8>,
    },
    Finished,
}

/// The chip side of PACE (9303-11 §4.4): feed it the data field of each GENERAL AUTHENTICATE.
///
/// The password was chosen by MSE:Set AT; the card passes its bytes (f(π)) here. After any
/// error the state machine is dead: every further call answers [`Error::State`].
pub struct ChipPace {
    k_pi: Zeroizing<[u8; 16]>,
    state: ChipState,
}

impl fmt::Debug for ChipPace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.state {
            ChipState::AwaitStart => "await start",
            ChipState::AwaitMapping { .. } => "await mapping",
            ChipState::AwaitKeyAgreement { .. } => "await key agreement",
            ChipState::AwaitToken { .. } => "await token",
            ChipState::Finished => "finished",
        };
        f.debug_struct("ChipPace")
            .field("k_pi", &"<redacted>")
            .field("state", &step)
            .finish()
    }
}

impl ChipPace {
    /// A chip ready for the first GENERAL AUTHENTICATE, with password f(π).
    pub fn new(password: &[u8]) -> Self {
        Self {
            k_pi: Zeroizing::new(password_key(password)),
            state: ChipState::AwaitStart,
        }
    }

    /// True once the protocol ended, successfully or not.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, ChipState::Finished)
    }

    /// True when the next command is step 4, whose token checks the password: the moment a
    /// card decrements its retry counter (before checking, so no tear can undo it).
    pub fn awaiting_token(&self) -> bool {
        matches!(self.state, ChipState::AwaitToken { .. })
    }

    /// Handle the data field of one GENERAL AUTHENTICATE command.
    pub fn handle(
        &mut self,
        command_data: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<ChipStep, Error> {
        let state = core::mem::replace(&mut self.state, ChipState::Finished);
        let (next, step) = self.step(state, command_data, rng)?;
        self.state = next;
        Ok(step)
    }

    fn step(
        &self,
        state: ChipState,
        data: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(ChipState, ChipStep), Error> {
        match state {
            ChipState::AwaitStart => {
                // Step 1 (9303-11 §4.4.3.1, §4.4.4.2): the command is an empty 7C; answer
                // with the encrypted nonce z = E(Kπ, s).
                let content = dad_content(data)?;
                if !content.is_empty() {
                    let (t, _, _) = tlv::read_one(content)?;
                    return Err(unexpected_tag(t, &PCD_TAGS));
                }
                let mut nonce = Zeroizing::new([0u8; 16]);
                rng.fill_bytes(nonce.as_mut_slice());
                let z = encrypt_nonce(&self.k_pi, &nonce);
                Ok((
                    ChipState::AwaitMapping { nonce },
                    ChipStep::Continue(dad(TAG_PICC_NONCE, &z)),
                ))
            }
            ChipState::AwaitMapping { nonce } => {
                // Step 2, Generic Mapping (9303-11 §4.4.3.3.1): receive PK_map,PCD (81),
                // answer PK_map,PICC (82); Ĝ = s·G + SK_map,PICC·PK_map,PCD.
                let pk_pcd = decode_point(dad_single(data, TAG_PCD_MAPPING)?)?;
                let (sk, pk) = crypto::generate_ecdh(rng);
                let generator = map_generator(&nonce, &sk, &pk_pcd)?;
                Ok((
                    ChipState::AwaitKeyAgreement { generator },
                    ChipStep::Continue(dad(TAG_PICC_MAPPING, &encode_public(&pk))),
                ))
            }
            ChipState::AwaitKeyAgreement { generator } => {
                // Step 3, key agreement on Ĝ (9303-11 §4.4.3.2 step 4): receive PK_PCD (83),
                // answer PK_PICC (84). The chip SHALL check PK_PCD ≠ PK_PICC.
                let terminal_pk = dad_single(data, TAG_PCD_EPHEMERAL)?.to_vec();
                let pk_pcd = decode_point(&terminal_pk)?;
                let sk = random_scalar(rng);
                crypto::count_point_mul(1);
                let chip_pk = encode_point(&(generator * *sk));
                if bool::from(chip_pk.as_slice().ct_eq(&terminal_pk)) {
                    return Err(Error::BadPoint("terminal public key equals the chip's"));
                }
                // K = x(SK_PICC·PK_PCD); KSenc = KDF(K,1), KSmac = KDF(K,2) (§9.7.1, §9.7.4).
                let k = shared_x(&sk, &pk_pcd)?;
                let keys = SessionKeys::derive(&k);
                let response = dad(TAG_PICC_EPHEMERAL, &chip_pk);
                Ok((
                    ChipState::AwaitToken {
                        keys,
                        chip_pk,
                        terminal_pk,
                    },
                    ChipStep::Continue(response),
                ))
            }
            ChipState::AwaitToken {
                keys,
                chip_pk,
                terminal_pk,
            } => {
                // Step 4, mutual authentication (9303-11 §4.4.3.4): T_PCD (85) must be the
                // MAC over the chip's ephemeral key; answer T_PICC (86) over the terminal's.
                let token = dad_single(data, TAG_PCD_TOKEN)?;
                if token.len() != TOKEN_LEN {
                    return Err(Error::decode(DAD, DecodeErrorKind::BadLength, 3));
                }
                verify_token(&keys.ks_mac, &chip_pk, token)?;
                let t_picc = auth_token(&keys.ks_mac, &terminal_pk);
                Ok((
                    ChipState::Finished,
                    ChipStep::Established {
                        response_data: dad(TAG_PICC_TOKEN, &t_picc),
                        keys,
                    },
                ))
            }
            ChipState::Finished => Err(Error::State("PACE already finished or failed")),
        }
    }
}

// ---- terminal --------------------------------------------------------------------------------

/// What the terminal does after one GENERAL AUTHENTICATE response.
#[derive(Debug)]
#[must_use]
pub enum TerminalStep {
    /// Send this command data in the next GENERAL AUTHENTICATE ([`general_authenticate`];
    /// the command after the third response is the last of the chain).
    Send(Vec<u8>),
    /// The chip proved knowledge of the password: switch to secure messaging with these keys.
    Established(SessionKeys),
}

enum TerminalState {
    Idle,
    AwaitNonce,
    AwaitMapping {
        nonce: Zeroizing<[u8; 16]>,
        sk_map: Zeroizing<Scalar>,
    },
    AwaitKeyAgreement {
        sk: Zeroizing<Scalar>,
        terminal_pk: Vec<u8>,
    },
    AwaitToken {
        keys: SessionKeys,
        terminal_pk: Vec<u8>,
    },
    Finished,
}

/// The terminal side of PACE (9303-11 §4.4), as the phone runs it.
///
/// Call [`TerminalPace::start`] for the first command data, then feed every response data
/// field to [`TerminalPace::handle`]. After any error the state machine is dead until
/// [`TerminalPace::start`] is called again.
pub struct TerminalPace {
    k_pi: Zeroizing<[u8; 16]>,
    state: TerminalState,
}

impl fmt::Debug for TerminalPace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.state {
            TerminalState::Idle => "idle",
            TerminalState::AwaitNonce => "await nonce",
            TerminalState::AwaitMapping { .. } => "await mapping",
            TerminalState::AwaitKeyAgreement { .. } => "await key agreement",
            TerminalState::AwaitToken { .. } => "await token",
            TerminalState::Finished => "finished",
        };
        f.debug_struct("TerminalPace")
            .field("k_pi", &"<redacted>")
            .field("state", &step)
            .finish()
    }
}

impl TerminalPace {
    /// A terminal that knows the password f(π) (ASCII digits for CAN and PIN).
    pub fn new(password: &[u8]) -> Self {
        Self {
            k_pi: Zeroizing::new(password_key(password)),
            state: TerminalState::Idle,
        }
    }

    /// Start (or restart) the protocol: the data of the first GENERAL AUTHENTICATE, an empty
    /// Dynamic Authentication Data template `7C 00` (9303-11 §4.4.4.2).
    #[must_use]
    pub fn start(&mut self) -> Vec<u8> {
        self.state = TerminalState::AwaitNonce;
        vec![0x7C, 0x00]
    }

    /// Handle the data field of one GENERAL AUTHENTICATE response (status 9000; any other
    /// status is the caller's to handle).
    pub fn handle(
        &mut self,
        response_data: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<TerminalStep, Error> {
        let state = core::mem::replace(&mut self.state, TerminalState::Finished);
        let (next, step) = self.step(state, response_data, rng)?;
        self.state = next;
        Ok(step)
    }

    fn step(
        &self,
        state: TerminalState,
        data: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(TerminalState, TerminalStep), Error> {
        match state {
            TerminalState::Idle => Err(Error::State("PACE not started")),
            TerminalState::AwaitNonce => {
                // Step 1 (9303-11 §4.4.3.1): s = D(Kπ, z); then the mapping key pair.
                let z: [u8; 16] = dad_find(data, TAG_PICC_NONCE)?
                    .try_into()
                    .map_err(|_| Error::decode(DAD, DecodeErrorKind::BadLength, 2))?;
                let nonce = Zeroizing::new(decrypt_nonce(&self.k_pi, &z));
                let (sk_map, pk_map) = crypto::generate_ecdh(rng);
                let (sk_map, pk_map) = (Zeroizing::new(*sk_map), encode_public(&pk_map));
                Ok((
                    TerminalState::AwaitMapping { nonce, sk_map },
                    TerminalStep::Send(dad(TAG_PCD_MAPPING, &pk_map)),
                ))
            }
            TerminalState::AwaitMapping { nonce, sk_map } => {
                // Step 2, Generic Mapping (9303-11 §4.4.3.3.1), then the ephemeral key pair
                // on Ĝ (§4.4.3.2 step 4).
                let pk_map_picc = decode_point(dad_find(data, TAG_PICC_MAPPING)?)?;
                let generator = map_generator(&nonce, &sk_map, &pk_map_picc)?;
                let sk = random_scalar(rng);
                crypto::count_point_mul(1);
                let terminal_pk = encode_point(&(generator * *sk));
                let command = dad(TAG_PCD_EPHEMERAL, &terminal_pk);
                Ok((
                    TerminalState::AwaitKeyAgreement { sk, terminal_pk },
                    TerminalStep::Send(command),
                ))
            }
            TerminalState::AwaitKeyAgreement { sk, terminal_pk } => {
                // Step 3 (9303-11 §4.4.3.2 step 4): K = x(SK_PCD·PK_PICC), session keys, and
                // T_PCD over the chip's key (§4.4.3.4). PK_PICC ≠ PK_PCD is checked here too.
                let chip_pk = dad_find(data, TAG_PICC_EPHEMERAL)?;
                let pk_picc = decode_point(chip_pk)?;
                if bool::from(chip_pk.ct_eq(&terminal_pk)) {
                    return Err(Error::BadPoint("chip public key equals the terminal's"));
                }
                let k = shared_x(&sk, &pk_picc)?;
                let keys = SessionKeys::derive(&k);
                let t_pcd = auth_token(&keys.ks_mac, chip_pk);
                Ok((
                    TerminalState::AwaitToken { keys, terminal_pk },
                    TerminalStep::Send(dad(TAG_PCD_TOKEN, &t_pcd)),
                ))
            }
            TerminalState::AwaitToken { keys, terminal_pk } => {
                // Step 4 (9303-11 §4.4.3.4): T_PICC must be the MAC over our ephemeral key.
                let token = dad_find(data, TAG_PICC_TOKEN)?;
                if token.len() != TOKEN_LEN {
                    return Err(Error::decode(DAD, DecodeErrorKind::BadLength, 3));
                }
                verify_token(&keys.ks_mac, &terminal_pk, token)?;
                Ok((TerminalState::Finished, TerminalStep::Established(keys)))
            }
            TerminalState::Finished => Err(Error::State("PACE already finished or failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn h16(s: &str) -> [u8; 16] {
        h(s).try_into().unwrap()
    }

    // ---- ICAO 9303-11 Appendix G.1 (PACE, ECDH generic mapping, brainpoolP256r1,
    // AES-128). The curve differs from ours; the KDF, the nonce encryption and the token
    // MAC are curve-independent, so those numbers apply as they are.

    /// App. G.1: MRZ information "T22000129364081251010318" (document number T22000129,
    /// birth 640812, expiry 101031 with check digits), K = SHA-1(MRZ information).
    const G1_MRZ_INFO: &str = "T22000129364081251010318";
    const G1_K_SEED: &str = "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD";
    const G1_K_PI: &str = "89DED1B26624EC1E634C1989302849DD";
    const G1_Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
    const G1_S: &str = "3F00C4D39D153F2B2A214A078D899B22";
    const G1_SHARED_SECRET: &str =
        "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925";
    const G1_KS_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
    const G1_KS_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
    /// App. G.1: the terminal's (IFD) and the chip's (IC) ephemeral public keys on Ĝ.
    const G1_PK_IFD: &str = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C\
                             3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
    const G1_PK_IC: &str = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
                            7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";

    #[test]
    fn password_key_from_the_mrz_matches_9303_appendix_g1() {
        let k = Sha1::digest(G1_MRZ_INFO.as_bytes());
        assert_eq!(k.as_slice(), h(G1_K_SEED));
        assert_eq!(password_key(&k), h16(G1_K_PI));
        assert_eq!(kdf(&k, KDF_PI), h16(G1_K_PI));
    }

    #[test]
    fn password_key_from_a_can_matches_an_independent_implementation() {
        // No CAN example in 9303-11; this value is the CAN "123456" test vector of the
        // independent dmrtd (Dart) implementation, f(CAN) = the ASCII digits.
        assert_eq!(
            password_key(b"123456"),
            h16("591468CDA83D65219CCCB8560233600F")
        );
    }

    #[test]
    fn session_keys_from_the_shared_secret_match_9303_appendix_g1() {
        let keys = SessionKeys::derive(&h(G1_SHARED_SECRET));
        assert_eq!(keys.ks_enc, h16(G1_KS_ENC));
        assert_eq!(keys.ks_mac, h16(G1_KS_MAC));
    }

    #[test]
    fn nonce_encryption_matches_9303_appendix_g1() {
        let k_pi = h16(G1_K_PI);
        assert_eq!(decrypt_nonce(&k_pi, &h16(G1_Z)), h16(G1_S));
        assert_eq!(encrypt_nonce(&k_pi, &h16(G1_S)), h16(G1_Z));
    }

    #[test]
    fn authentication_tokens_match_9303_appendix_g1() {
        let ks_mac = h16(G1_KS_MAC);
        let pk_ic = h(G1_PK_IC);
        // The MAC input for T_PCD as printed in App. G.1.
        assert_eq!(
            public_key_data_object(&pk_ic),
            h(&format!("7F494F060A04007F00070202040202 8641 {G1_PK_IC}"))
        );
        assert_eq!(auth_token(&ks_mac, &pk_ic).to_vec(), h("C2B0BD78D94BA866"));
        assert_eq!(
            auth_token(&ks_mac, &h(G1_PK_IFD)).to_vec(),
            h("3ABB9674BCE93C08")
        );
    }

    #[test]
    fn mse_set_at_encodes_oid_and_password_reference() {
        let cmd = mse_set_at(PasswordRef::Can);
        assert_eq!(
            cmd.encode().unwrap(),
            h("0022C1A4 0F 800A04007F00070202040202 830102")
        );
        // App. G.1's MSE:Set AT data, with the parameter reference 84 (13, brainpoolP256r1).
        let at = SetAt::decode(&h("800A04007F00070202040202 830101 84010D")).unwrap();
        assert_eq!(at.protocol, ID_PACE_ECDH_GM_AES_CBC_CMAC_128);
        assert_eq!(at.password, PasswordRef::Mrz);
        assert_eq!(at.parameter_id, Some(13));
        assert_eq!(SetAt::decode(&cmd.data).unwrap().password, PasswordRef::Can);
        assert!(SetAt::decode(&h("830101")).is_err(), "no protocol");
        assert!(SetAt::decode(&h("800A04007F00070202040202 830109")).is_err());
    }

    #[test]
    fn password_refs_round_trip() {
        for v in 1..=4 {
            assert_eq!(PasswordRef::from_u8(v).unwrap().to_u8(), v);
        }
        assert_eq!(PasswordRef::from_u8(0), None);
        assert_eq!(PasswordRef::from_u8(5), None);
    }

    #[test]
    fn general_authenticate_chains_all_but_the_last() {
        let first = general_authenticate(vec![0x7C, 0x00], false);
        assert_eq!(first.encode().unwrap(), h("10860000 02 7C00 00"));
        let last = general_authenticate(vec![0x7C, 0x00], true);
        assert_eq!(last.cla, 0x00);
    }

    #[test]
    fn session_keys_debug_is_redacted() {
        let keys = SessionKeys::derive(b"secret");
        let shown = format!("{keys:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&hex::encode(keys.ks_enc)));
        let chip = ChipPace::new(b"123456");
        assert!(format!("{chip:?}").contains("<redacted>"));
    }

    // ---- full runs -------------------------------------------------------------------------

    /// The commands the terminal sent, as (data, last) pairs, and both results.
    struct Run {
        commands: Vec<Vec<u8>>,
        chip: Result<SessionKeys, Error>,
        terminal: Option<Result<SessionKeys, Error>>,
    }

    /// Run PACE between a chip and a terminal; `tamper` may change each command data field
    /// (step index 0..4) before the chip sees it.
    fn run(chip_pw: &[u8], term_pw: &[u8], seed: u64, tamper: impl Fn(usize, &mut Vec<u8>)) -> Run {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut chip = ChipPace::new(chip_pw);
        let mut term = TerminalPace::new(term_pw);
        let mut command = term.start();
        let mut commands = Vec::new();
        for step in 0..4 {
            tamper(step, &mut command);
            commands.push(command.clone());
            let response = match chip.handle(&command, &mut rng) {
                Ok(ChipStep::Continue(r)) => r,
                Ok(ChipStep::Established {
                    response_data,
                    keys,
                }) => {
                    let terminal = term.handle(&response_data, &mut rng).map(|s| match s {
                        TerminalStep::Established(k) => k,
                        TerminalStep::Send(_) => panic!("terminal wants to send after step 4"),
                    });
                    assert!(chip.is_finished());
                    return Run {
                        commands,
                        chip: Ok(keys),
                        terminal: Some(terminal),
                    };
                }
                Err(e) => {
                    return Run {
                        commands,
                        chip: Err(e),
                        terminal: None,
                    }
                }
            };
            match term.handle(&response, &mut rng) {
                Ok(TerminalStep::Send(c)) => command = c,
                other => panic!("terminal at step {step}: {other:?}"),
            }
        }
        panic!("chip did not finish in four steps")
    }

    #[test]
    fn full_run_with_the_same_password_establishes_equal_keys() {
        for seed in 0..4 {
            let r = run(b"123456", b"123456", seed, |_, _| {});
            let chip = r.chip.unwrap();
            let term = r.terminal.unwrap().unwrap();
            assert_eq!(chip, term);
            assert_eq!(r.commands[0], [0x7C, 0x00]);
            // 7C 43 81 41 04.. / 7C 43 83 41 04.. / 7C 0A 85 08 ..
            assert_eq!(&r.commands[1][..5], &[0x7C, 0x43, 0x81, 0x41, 0x04]);
            assert_eq!(&r.commands[2][..5], &[0x7C, 0x43, 0x83, 0x41, 0x04]);
            assert_eq!(&r.commands[3][..4], &[0x7C, 0x0A, 0x85, 0x08]);
        }
    }

    #[test]
    fn full_run_is_deterministic_for_a_seed_and_differs_across_seeds() {
        let a = run(b"1234", b"1234", 7, |_, _| {});
        let b = run(b"1234", b"1234", 7, |_, _| {});
        let c = run(b"1234", b"1234", 8, |_, _| {});
        assert_eq!(a.commands, b.commands);
        assert_eq!(a.chip.unwrap(), b.chip.unwrap());
        assert_ne!(a.commands[1], c.commands[1]);
    }

    #[test]
    fn wrong_password_fails_the_chip_token_check_at_step_four() {
        let r = run(b"123456", b"654321", 1, |_, _| {});
        assert_eq!(
            r.commands.len(),
            4,
            "the failure shows only at the token step"
        );
        assert_eq!(r.chip.unwrap_err(), Error::PaceAuthFailed);
    }

    #[test]
    fn chip_is_dead_after_an_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut chip = ChipPace::new(b"123456");
        assert!(chip.handle(&h("7C00"), &mut rng).is_ok());
        assert!(matches!(
            chip.handle(&h("7C03810100"), &mut rng),
            Err(Error::BadPoint(_))
        ));
        assert!(chip.is_finished());
        assert!(matches!(
            chip.handle(&h("7C00"), &mut rng),
            Err(Error::State(_))
        ));
    }

    #[test]
    fn steps_out_of_order_are_state_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        // The token before anything else.
        let mut chip = ChipPace::new(b"123456");
        assert!(matches!(
            chip.handle(&h("7C0A85080102030405060708"), &mut rng),
            Err(Error::State(_))
        ));
        // The first step twice.
        let mut chip = ChipPace::new(b"123456");
        assert!(chip.handle(&h("7C00"), &mut rng).is_ok());
        assert!(matches!(
            chip.handle(&h("7C00"), &mut rng),
            Err(Error::State(_))
        ));
        // The terminal handed a chip token when it waits for the nonce.
        let mut term = TerminalPace::new(b"123456");
        assert!(matches!(
            term.handle(&h("7C00"), &mut rng),
            Err(Error::State(_))
        ));
        let _ = term.start();
        assert!(matches!(
            term.handle(&h("7C0A86080102030405060708"), &mut rng),
            Err(Error::State(_))
        ));
    }

    /// Replace the point in the command of `step` (1 = mapping, 2 = key agreement).
    fn with_point(step: usize, point: Vec<u8>) -> impl Fn(usize, &mut Vec<u8>) {
        move |s, cmd| {
            if s == step {
                let tag = cmd[2];
                *cmd = dad(Tag(u32::from(tag)), &point);
            }
        }
    }

    #[test]
    fn invalid_mapping_points_are_refused_with_bad_point() {
        let generator = encode_point(&ProjectivePoint::GENERATOR);
        let mut off_curve = generator.clone();
        off_curve[64] ^= 1;
        let mut short = generator.clone();
        short.pop();
        let mut compressed = generator[..33].to_vec();
        compressed[0] = 0x02;
        for (name, point) in [
            ("identity", vec![0x00]),
            ("off curve", off_curve),
            ("truncated", short),
            ("compressed", compressed),
            ("empty", vec![]),
        ] {
            for step in [1, 2] {
                let r = run(b"123456", b"123456", 5, with_point(step, point.clone()));
                assert!(
                    matches!(r.chip, Err(Error::BadPoint(_))),
                    "{name} at step {step}: {:?}",
                    r.chip
                );
            }
        }
    }

    #[test]
    fn tampered_mapping_point_is_refused() {
        let r = run(b"123456", b"123456", 6, |step, cmd| {
            if step == 1 {
                cmd[10] ^= 0x40;
            }
        });
        assert!(matches!(r.chip, Err(Error::BadPoint(_))), "{:?}", r.chip);
    }

    #[test]
    fn terminal_refuses_its_own_ephemeral_key_echoed_back() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let mut chip = ChipPace::new(b"123456");
        let mut term = TerminalPace::new(b"123456");
        let mut cmd = term.start();
        for _ in 0..2 {
            let ChipStep::Continue(resp) = chip.handle(&cmd, &mut rng).unwrap() else {
                panic!()
            };
            let TerminalStep::Send(c) = term.handle(&resp, &mut rng).unwrap() else {
                panic!()
            };
            cmd = c;
        }
        // cmd is 7C 43 83 41 <PK_PCD>; echo it as the chip's 84.
        let echoed = dad(TAG_PICC_EPHEMERAL, &cmd[4..]);
        assert!(matches!(
            term.handle(&echoed, &mut rng),
            Err(Error::BadPoint(_))
        ));
    }

    #[test]
    fn terminal_rejects_a_wrong_chip_token() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let mut chip = ChipPace::new(b"123456");
        let mut term = TerminalPace::new(b"123456");
        let mut cmd = term.start();
        loop {
            match chip.handle(&cmd, &mut rng).unwrap() {
                ChipStep::Continue(resp) => {
                    let TerminalStep::Send(c) = term.handle(&resp, &mut rng).unwrap() else {
                        panic!()
                    };
                    cmd = c;
                }
                ChipStep::Established {
                    mut response_data, ..
                } => {
                    let last = response_data.len() - 1;
                    response_data[last] ^= 1;
                    assert_eq!(
                        term.handle(&response_data, &mut rng).unwrap_err(),
                        Error::PaceAuthFailed
                    );
                    return;
                }
            }
        }
    }

    #[test]
    fn terminal_ignores_extra_data_objects_in_the_chip_answers() {
        // A real chip may add certificate authority references (87, 88) to the last answer.
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut chip = ChipPace::new(b"123456");
        let mut term = TerminalPace::new(b"123456");
        let mut cmd = term.start();
        loop {
            match chip.handle(&cmd, &mut rng).unwrap() {
                ChipStep::Continue(resp) => {
                    let TerminalStep::Send(c) = term.handle(&resp, &mut rng).unwrap() else {
                        panic!()
                    };
                    cmd = c;
                }
                ChipStep::Established {
                    response_data,
                    keys,
                } => {
                    let content = dad_content(&response_data).unwrap();
                    let mut inner = content.to_vec();
                    tlv::encode_into(Tag(0x87), b"DECVCAeID00102", &mut inner);
                    let extended = tlv::encode(TAG_DAD, &inner);
                    let TerminalStep::Established(t) = term.handle(&extended, &mut rng).unwrap()
                    else {
                        panic!()
                    };
                    assert_eq!(t, keys);
                    return;
                }
            }
        }
    }

    // ---- property tests --------------------------------------------------------------------

    /// A chip advanced by `steps` valid commands, plus the terminal and rng that drove it.
    fn chip_at(steps: usize, seed: u64) -> (ChipPace, TerminalPace, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut chip = ChipPace::new(b"123456");
        let mut term = TerminalPace::new(b"123456");
        let mut cmd = term.start();
        for _ in 0..steps {
            let ChipStep::Continue(resp) = chip.handle(&cmd, &mut rng).unwrap() else {
                panic!()
            };
            let TerminalStep::Send(c) = term.handle(&resp, &mut rng).unwrap() else {
                panic!()
            };
            cmd = c;
        }
        (chip, term, rng)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn chip_never_panics_on_arbitrary_command_data(
            steps in 0usize..4,
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let (mut chip, _, mut rng) = chip_at(steps, 1);
            let _ = chip.handle(&data, &mut rng);
        }

        #[test]
        fn chip_never_panics_on_template_wrapped_garbage(
            steps in 0usize..4,
            tag in proptest::prelude::any::<u8>(),
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
        ) {
            let (mut chip, _, mut rng) = chip_at(steps, 2);
            let _ = chip.handle(&dad(Tag(u32::from(tag)), &value), &mut rng);
        }

        #[test]
        fn terminal_never_panics_on_arbitrary_response_data(
            steps in 0usize..4,
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            wrap_tag in proptest::option::of(proptest::prelude::any::<u8>()),
        ) {
            let (_, mut term, mut rng) = chip_at(steps, 3);
            let data = match wrap_tag {
                Some(t) => dad(Tag(u32::from(t)), &data),
                None => data,
            };
            let _ = term.handle(&data, &mut rng);
        }
    }
}
