//! The `aws-lc` provider (cargo feature `aws-lc`): aws-lc-rs for what it can serve without
//! giving up determinism.
//!
//! - ECDSA verification: aws-lc (`ECDSA_P256_SHA256_FIXED` over the SEC1 point).
//! - ECDSA signing and signing-key generation: `p256`. aws-lc's ECDSA draws its nonce from
//!   the operating system, so the same seed would no longer give the same signatures,
//!   credentials and reports; RFC 6979 keeps them reproducible.
//! - ECDH: the scalar is drawn from the caller's RNG exactly as `p256` draws it, then
//!   aws-lc computes the public point and the shared secret, so runs agree byte for byte
//!   with the default provider.
//! - SHA-256: aws-lc.

use aws_lc_rs::{agreement, digest, signature as lc_sig};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{NonZeroScalar, PublicKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::rustcrypto::P256Ecdsa;
use super::{CryptoProvider, EcdhP256, EcdsaP256, Sha256Hash};

/// aws-lc-rs for verification, ECDH and SHA-256; `p256` for signing (see the module docs).
pub static AWS_LC: CryptoProvider = CryptoProvider {
    name: "aws-lc",
    ecdsa: &AwsLcEcdsa,
    ecdh: &AwsLcEcdh,
    sha256: &AwsLcSha256,
};

#[derive(Debug)]
struct AwsLcEcdsa;

impl EcdsaP256 for AwsLcEcdsa {
    fn generate(&self, rng: &mut dyn CryptoRngCore) -> SigningKey {
        P256Ecdsa.generate(rng)
    }

    fn sign(&self, key: &SigningKey, msg: &[u8]) -> Signature {
        P256Ecdsa.sign(key, msg)
    }

    fn verify(
        &self,
        key: &VerifyingKey,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), signature::Error> {
        let point = key.to_encoded_point(false);
        lc_sig::UnparsedPublicKey::new(&lc_sig::ECDSA_P256_SHA256_FIXED, point.as_bytes())
            .verify(msg, &sig.to_bytes())
            .map_err(|_| signature::Error::new())
    }
}

#[derive(Debug)]
struct AwsLcEcdh;

fn private_key(secret: &NonZeroScalar) -> Result<agreement::PrivateKey, signature::Error> {
    let bytes = Zeroizing::new(secret.to_bytes());
    agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, bytes.as_slice())
        .map_err(|_| signature::Error::new())
}

impl EcdhP256 for AwsLcEcdh {
    fn generate(&self, mut rng: &mut dyn CryptoRngCore) -> (NonZeroScalar, PublicKey) {
        let secret = NonZeroScalar::random(&mut rng);
        let public = private_key(&secret)
            .and_then(|k| k.compute_public_key().map_err(|_| signature::Error::new()))
            .and_then(|p| {
                PublicKey::from_sec1_bytes(p.as_ref()).map_err(|_| signature::Error::new())
            })
            // A valid non-zero scalar always has a public point; fall back to p256 rather
            // than fail if aws-lc ever disagrees.
            .unwrap_or_else(|_| PublicKey::from_secret_scalar(&secret));
        (secret, public)
    }

    fn agree(
        &self,
        secret: &NonZeroScalar,
        peer: &PublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, signature::Error> {
        let key = private_key(secret)?;
        let point = peer.to_encoded_point(false);
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, point.as_bytes());
        agreement::agree(&key, peer, signature::Error::new(), |x| {
            let mut out = Zeroizing::new([0u8; 32]);
            if x.len() != out.len() {
                return Err(signature::Error::new());
            }
            out.copy_from_slice(x);
            Ok(out)
        })
    }
}

#[derive(Debug)]
struct AwsLcSha256;

impl Sha256Hash for AwsLcSha256 {
    fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}
