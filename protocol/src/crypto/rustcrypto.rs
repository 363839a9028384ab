//! The default provider: RustCrypto's `p256` (RFC 6979 deterministic ECDSA) and `sha2`.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{NonZeroScalar, PublicKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CryptoProvider, EcdhP256, EcdsaP256, Sha256Hash};

/// RustCrypto: `p256` for ECDSA and ECDH, `sha2` for SHA-256.
pub static RUSTCRYPTO: CryptoProvider = CryptoProvider {
    name: "rustcrypto",
    ecdsa: &P256Ecdsa,
    ecdh: &P256Ecdh,
    sha256: &Sha2,
};

#[derive(Debug)]
pub(super) struct P256Ecdsa;

impl EcdsaP256 for P256Ecdsa {
    fn generate(&self, mut rng: &mut dyn CryptoRngCore) -> SigningKey {
        SigningKey::random(&mut rng)
    }

    fn sign(&self, key: &SigningKey, msg: &[u8]) -> Signature {
        key.sign(msg)
    }

    fn verify(
        &self,
        key: &VerifyingKey,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), signature::Error> {
        key.verify(msg, sig)
    }
}

#[derive(Debug)]
pub(super) struct P256Ecdh;

impl EcdhP256 for P256Ecdh {
    fn generate(&self, mut rng: &mut dyn CryptoRngCore) -> (NonZeroScalar, PublicKey) {
        let secret = NonZeroScalar::random(&mut rng);
        let public = PublicKey::from_secret_scalar(&secret);
        (secret, public)
    }

    fn agree(
        &self,
        secret: &NonZeroScalar,
        peer: &PublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, signature::Error> {
        // P-256 has cofactor 1 and both inputs are non-identity, so the product is never
        // the identity; the check stays for defence in depth (TR-03111 §4.3.1).
        let shared = (peer.to_projective() * **secret).to_affine();
        let encoded = shared.to_encoded_point(false);
        let x = encoded.x().ok_or_else(signature::Error::new)?;
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(x);
        Ok(out)
    }
}

#[derive(Debug)]
pub(super) struct Sha2;

impl Sha256Hash for Sha2 {
    fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }
}
