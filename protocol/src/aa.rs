//! Active Authentication with ECDSA (ICAO Doc 9303-11 §6.1): the chip proves it holds the
//! private key whose public key is in DG15 by signing the terminal's challenge (RND.IFD, 8
//! bytes, sent in INTERNAL AUTHENTICATE). A cloned chip copies DG15 but not the key.
//!
//! The signature is ECDSA P-256 over SHA-256(challenge) in the plain `r || s` format of BSI
//! TR-03111 §5.2.1 (64 bytes), as DG14's ActiveAuthenticationInfo announces with
//! `ecdsa-plain-SHA256`. Signing is RFC 6979 deterministic: no randomness needed.

use p256::ecdsa::{Signature, SigningKey};

use crate::crypto;

use crate::lds::decode_dg15;
use crate::Error;

/// The length of a plain P-256 signature, `r || s`.
pub const SIGNATURE_LEN: usize = 64;

/// The chip side: sign `challenge` (9303-11 §6.1.2, the data field of INTERNAL
/// AUTHENTICATE). Returns `r || s`, 64 bytes.
pub fn sign_challenge(key: &SigningKey, challenge: &[u8]) -> Vec<u8> {
    let sig = crypto::sign(key, challenge);
    sig.to_bytes().to_vec()
}

/// The terminal side: check that `signature` (plain `r || s`) is the DG15 key's signature
/// over `challenge`. `dg15` is the whole DG15 file (`6F { SubjectPublicKeyInfo }`).
pub fn verify(dg15: &[u8], challenge: &[u8], signature: &[u8]) -> Result<(), Error> {
    let key = decode_dg15(dg15)?;
    if signature.len() != SIGNATURE_LEN {
        return Err(Error::BadSignature(
            "Active Authentication signature is not 64 bytes",
        ));
    }
    let sig = Signature::from_slice(signature)
        .map_err(|_| Error::BadSignature("Active Authentication signature r or s out of range"))?;
    crypto::verify(&key, challenge, &sig).map_err(|_| Error::BadSignature("Active Authentication"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::encode_dg15;
    use proptest::prelude::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_slice(&[b; 32]).unwrap()
    }

    const CHALLENGE: [u8; 8] = [0x4F, 0x10, 0x2C, 0x9A, 0x00, 0x01, 0xFE, 0x77];

    #[test]
    fn genuine_chip_signature_verifies_and_is_deterministic() {
        let k = key(1);
        let dg15 = encode_dg15(k.verifying_key()).unwrap();
        let sig = sign_challenge(&k, &CHALLENGE);
        assert_eq!(sig.len(), 64);
        assert_eq!(sig, sign_challenge(&k, &CHALLENGE), "RFC 6979");
        verify(&dg15, &CHALLENGE, &sig).unwrap();
    }

    #[test]
    fn clone_with_copied_dg15_but_other_key_fails() {
        let genuine = key(1);
        let clone = key(2);
        let dg15 = encode_dg15(genuine.verifying_key()).unwrap();
        let sig = sign_challenge(&clone, &CHALLENGE);
        assert_eq!(
            verify(&dg15, &CHALLENGE, &sig),
            Err(Error::BadSignature("Active Authentication"))
        );
    }

    #[test]
    fn signature_over_another_challenge_fails() {
        let k = key(1);
        let dg15 = encode_dg15(k.verifying_key()).unwrap();
        let sig = sign_challenge(&k, &CHALLENGE);
        let mut other = CHALLENGE;
        other[0] ^= 1;
        assert!(matches!(
            verify(&dg15, &other, &sig),
            Err(Error::BadSignature(_))
        ));
        assert!(matches!(
            verify(&dg15, &CHALLENGE, &sig[..63]),
            Err(Error::BadSignature(_))
        ));
        assert!(matches!(
            verify(&dg15, &CHALLENGE, &[0u8; 64]),
            Err(Error::BadSignature(_))
        ));
    }

    proptest! {
        #[test]
        fn verify_never_panics(
            dg15 in proptest::collection::vec(any::<u8>(), 0..120),
            challenge in proptest::collection::vec(any::<u8>(), 0..16),
            sig in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let _ = verify(&dg15, &challenge, &sig);
            let good = encode_dg15(key(3).verifying_key()).unwrap();
            prop_assert!(verify(&good, &challenge, &sig).is_err());
        }
    }
}
