//! Sealing a verifiable presentation to the verifier's P-256 key: ECIES-style
//! ECDH + HKDF-SHA256 + AES-256-GCM, for the mip profile's `keyType` 1 (secp256r1) and
//! `encryptType` 2 (AES-256).
//!
//! The construction follows the shape of DHKEM(P-256, HKDF-SHA256) with AES-256-GCM of
//! RFC 9180 (HPKE) §4.1 and §5, without HPKE's labels:
//!
//! 1. The sender draws an ephemeral key pair (e, E = e·G) on P-256 through
//!    [`crate::crypto::generate_ecdh`] and computes the ECDH shared secret Z, the
//!    x-coordinate of e·R for the recipient's public key R (BSI TR-03111 §4.3.1 ECKA-DH,
//!    [`crate::crypto::ecdh`]).
//! 2. HKDF-SHA256 (RFC 5869) with
//!    - `salt` = the empty string (so HMAC keys with 32 zero bytes, RFC 5869 §2.2): the IKM is
//!      already fresh for every message because e is, and HPKE's DHKEM extracts with an
//!      empty salt too;
//!    - `IKM` = Z;
//!    - `info` = [`INFO_LABEL`] ‖ E ‖ R, both points SEC1 uncompressed (65 bytes each), so
//!      the key is bound to this exchange and to this recipient (HPKE's `kem_context` =
//!      enc ‖ pkRm does the same);
//!    - `L` = 44: the first 32 bytes are the AES-256 key, the last 12 the GCM IV. A key is
//!      used for exactly one message, so a derived IV never repeats under a key.
//! 3. AES-256-GCM (NIST SP 800-38D) over the plaintext with the caller's AAD (the mip
//!    presentation passes its `trxcode`), 128-bit tag.
//!
//! Wire format: `E (65 bytes, 0x04 ‖ x ‖ y) ‖ ciphertext ‖ tag (16 bytes)`; the ciphertext
//! has the plaintext's length.
//!
//! [`open`] is total: a short input is [`Error::Decode`] (`Truncated`), an ephemeral key
//! that is not an uncompressed P-256 point (or is the identity) is [`Error::BadPoint`], and a
//! wrong recipient key, a different AAD or any altered byte fail the GCM tag as
//! [`Error::BadMac`].
//!
//! Counting: the ECDH key generation and agreement go through [`crate::crypto`] and are
//! counted; HKDF's HMAC-SHA256 and AES-GCM are symmetric primitives from the RustCrypto
//! `hkdf` and `aes-gcm` crates and, like secure messaging's AES and CMAC, are not.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use p256::{NonZeroScalar, PublicKey};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{DecodeErrorKind, Error};

/// The label that starts HKDF's `info`.
pub const INFO_LABEL: &[u8] = b"mip-vp-aes256gcm";
/// Length of the ephemeral public key on the wire (SEC1 uncompressed P-256 point).
pub const EPHEMERAL_LEN: usize = 65;
/// Length of the GCM tag on the wire.
pub const TAG_LEN: usize = 16;
/// AES-256 key length.
const KEY_LEN: usize = 32;
/// GCM IV length (96 bits, NIST SP 800-38D §5.2.1.1's recommended length).
const IV_LEN: usize = 12;

/// Seal `plaintext` to `recipient` with `aad` authenticated alongside it.
///
/// Fails only if the crypto provider refuses the ECDH agreement ([`Error::BadPoint`]) or the
/// plaintext exceeds GCM's 2^39 − 256 bit limit ([`Error::Encode`]).
pub fn seal(
    rng: &mut impl CryptoRngCore,
    recipient: &PublicKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let (e, e_pub) = crate::crypto::generate_ecdh(rng);
    let eph = sec1(&e_pub);
    let z = crate::crypto::ecdh(&e, recipient).map_err(|_| Error::BadPoint("ECDH"))?;
    let (key, iv) = derive(&z, &eph, &sec1(recipient));
    let ct = aes256gcm_seal(&key, &iv, aad, plaintext)?;
    let mut out = Vec::with_capacity(EPHEMERAL_LEN + ct.len());
    out.extend_from_slice(&eph);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Open what [`seal`] made for the public key of `recipient_secret`, with the same `aad`.
pub fn open(recipient_secret: &NonZeroScalar, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
    if sealed.len() < EPHEMERAL_LEN + TAG_LEN {
        return Err(Error::decode(
            "sealed VP",
            DecodeErrorKind::Truncated,
            sealed.len(),
        ));
    }
    let (eph, ct) = sealed.split_at(EPHEMERAL_LEN);
    if eph[0] != 0x04 {
        return Err(Error::BadPoint(
            "sealed VP ephemeral key is not uncompressed",
        ));
    }
    let e_pub =
        PublicKey::from_sec1_bytes(eph).map_err(|_| Error::BadPoint("sealed VP ephemeral key"))?;
    let z = crate::crypto::ecdh(recipient_secret, &e_pub)
        .map_err(|_| Error::BadPoint("sealed VP ECDH"))?;
    let r_pub = PublicKey::from_secret_scalar(recipient_secret);
    let (key, iv) = derive(&z, eph, &sec1(&r_pub));
    Aes256Gcm::new((&*key).into())
        .decrypt((&*iv).into(), Payload { msg: ct, aad })
        .map_err(|_| Error::BadMac)
}

fn sec1(p: &PublicKey) -> [u8; EPHEMERAL_LEN] {
    let mut out = [0u8; EPHEMERAL_LEN];
    out.copy_from_slice(
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(p, false).as_bytes(),
    );
    out
}

/// The AES key and GCM IV from the shared secret and both public keys (step 2 above).
fn derive(
    z: &[u8; 32],
    eph: &[u8],
    recipient: &[u8],
) -> (Zeroizing<[u8; KEY_LEN]>, Zeroizing<[u8; IV_LEN]>) {
    let mut okm = Zeroizing::new([0u8; KEY_LEN + IV_LEN]);
    hkdf_sha256(&[], z, &[INFO_LABEL, eph, recipient], &mut *okm);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let mut iv = Zeroizing::new([0u8; IV_LEN]);
    key.copy_from_slice(&okm[..KEY_LEN]);
    iv.copy_from_slice(&okm[KEY_LEN..]);
    (key, iv)
}

/// HKDF-SHA256 (RFC 5869 §2): Extract with `salt`, then Expand with the concatenation of
/// `info` into `out`. `out` is at most 255·32 bytes (here 44).
fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    // The only error is an output longer than 255·HashLen, which no caller asks for.
    let _ = hk.expand_multi_info(info, out);
}

/// AES-256-GCM encryption, ciphertext ‖ tag.
fn aes256gcm_seal(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    Aes256Gcm::new(key.into())
        .encrypt(
            iv.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Encode {
            what: "sealed VP",
            reason: "plaintext too long for AES-GCM",
        })
}

#[cfg(test)]
mod tests;
