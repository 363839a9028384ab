//! The cryptographic provider seam, in the style of rustls's `CryptoProvider`: every P-256
//! operation (ECDSA key generation, signing and verification, ECDH key generation and key
//! agreement) and every SHA-256 in the workspace's protocol code goes through the functions
//! of this module, which hand it to the provider in force and count it.
//!
//! - [`CryptoProvider`] is a table of `&'static dyn` algorithm implementations, like rustls's.
//!   [`RUSTCRYPTO`] (the `p256` and `sha2` crates) is the default. With the cargo feature
//!   `aws-lc`, `AWS_LC` (aws-lc-rs) serves ECDSA verification, ECDH key generation and
//!   agreement, and SHA-256; it keeps `p256`'s RFC 6979 signing (aws-lc signs with a random
//!   nonce, which would break the simulation's byte-for-byte determinism) and derives key
//!   scalars from the caller's RNG exactly as `p256` does, so a run gives the same bytes
//!   under either provider.
//! - [`CryptoProvider::install_default`] picks the provider for the process (once), and
//!   [`with_provider`] overrides it on the current thread for the length of a closure (the
//!   benchmark compares providers in one run that way).
//! - [`counts`] reads the current thread's operation counters; [`measure`] counts the
//!   operations of one closure. A simulation shard is one thread, so these are exact per
//!   flow step and per shard.
//!
//! What stays outside the provider: the point arithmetic of PACE's Generic Mapping
//! (Ĝ = s·G + SK·PK and key pairs on Ĝ, ICAO 9303-11 §4.4.3.3.1), which no general-purpose
//! library offers; it uses `p256` and is counted as [`OpCounts::point_mul`] and
//! [`OpCounts::point_mul_base`]. AES and CMAC of secure messaging are symmetric and not
//! counted.

use std::cell::Cell;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Sub};
use std::sync::OnceLock;

use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::{NonZeroScalar, PublicKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[cfg(feature = "aws-lc")]
mod aws_lc;
mod rustcrypto;

#[cfg(feature = "aws-lc")]
pub use aws_lc::AWS_LC;
pub use rustcrypto::RUSTCRYPTO;

/// ECDSA over P-256 with SHA-256 (FIPS 186-5; the `ES256` of RFC 7518 and the
/// `ecdsa-with-SHA256` of RFC 5758).
pub trait EcdsaP256: Send + Sync + Debug {
    /// A new signing key whose scalar is drawn from `rng`.
    fn generate(&self, rng: &mut dyn CryptoRngCore) -> SigningKey;
    /// Signs SHA-256(`msg`).
    fn sign(&self, key: &SigningKey, msg: &[u8]) -> Signature;
    /// Checks `sig` over SHA-256(`msg`) under `key`.
    fn verify(
        &self,
        key: &VerifyingKey,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), signature::Error>;
}

/// Elliptic-curve Diffie-Hellman on P-256 (BSI TR-03111 §4.3.1 ECKA-DH).
pub trait EcdhP256: Send + Sync + Debug {
    /// A key pair on the standard generator; the scalar is drawn from `rng`.
    fn generate(&self, rng: &mut dyn CryptoRngCore) -> (NonZeroScalar, PublicKey);
    /// The x-coordinate of `secret`·`peer`. `peer` is any valid curve point (PACE agrees
    /// on points of a mapped generator).
    fn agree(
        &self,
        secret: &NonZeroScalar,
        peer: &PublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, signature::Error>;
}

/// SHA-256 (FIPS 180-4).
pub trait Sha256Hash: Send + Sync + Debug {
    /// The digest of the concatenation of `parts`.
    fn digest(&self, parts: &[&[u8]]) -> [u8; 32];
}

/// A table of algorithm implementations (rustls's `CryptoProvider` shape).
#[derive(Clone, Copy, Debug)]
pub struct CryptoProvider {
    /// A short name for reports (`rustcrypto`, `aws-lc`).
    pub name: &'static str,
    /// ECDSA P-256.
    pub ecdsa: &'static dyn EcdsaP256,
    /// ECDH P-256.
    pub ecdh: &'static dyn EcdhP256,
    /// SHA-256.
    pub sha256: &'static dyn Sha256Hash,
}

static DEFAULT: OnceLock<&'static CryptoProvider> = OnceLock::new();

thread_local! {
    static OVERRIDE: Cell<Option<&'static CryptoProvider>> = const { Cell::new(None) };
    static COUNTS: Cell<OpCounts> = const { Cell::new(OpCounts::ZERO) };
}

impl CryptoProvider {
    /// Makes `self` the process-wide provider. Only the first call wins; a later one
    /// returns the provider already installed.
    pub fn install_default(&'static self) -> Result<(), &'static CryptoProvider> {
        let mut installed = true;
        let got = DEFAULT.get_or_init(|| {
            installed = false;
            self
        });
        if installed && !std::ptr::eq(*got, self) {
            Err(got)
        } else {
            Ok(())
        }
    }

    /// The process-wide provider: the installed one, or [`RUSTCRYPTO`].
    pub fn get_default() -> &'static CryptoProvider {
        DEFAULT.get().copied().unwrap_or(&RUSTCRYPTO)
    }

    /// Every provider this build has, by name.
    pub fn available() -> &'static [&'static CryptoProvider] {
        static ALL: &[&CryptoProvider] = &[
            &RUSTCRYPTO,
            #[cfg(feature = "aws-lc")]
            &AWS_LC,
        ];
        ALL
    }

    /// The provider called `name` in this build, if any.
    pub fn by_name(name: &str) -> Option<&'static CryptoProvider> {
        Self::available().iter().copied().find(|p| p.name == name)
    }
}

/// The provider in force on this thread: the [`with_provider`] override, or the process
/// default.
pub fn provider() -> &'static CryptoProvider {
    OVERRIDE
        .with(Cell::get)
        .unwrap_or_else(CryptoProvider::get_default)
}

/// Runs `f` with `p` as this thread's provider, then restores the previous one.
pub fn with_provider<T>(p: &'static CryptoProvider, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<&'static CryptoProvider>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(p))));
    f()
}

/// Operation counts: what a flow cost in public-key operations and hashing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    /// ECDSA P-256 signing keys generated.
    pub ecdsa_keygen: u64,
    /// ECDSA P-256 signatures made.
    pub ecdsa_sign: u64,
    /// ECDSA P-256 signatures checked.
    pub ecdsa_verify: u64,
    /// ECDH key pairs generated on the standard generator.
    pub ecdh_keygen: u64,
    /// ECDH agreements.
    pub ecdh: u64,
    /// Variable-base scalar multiplications outside the provider (PACE mapping).
    pub point_mul: u64,
    /// Fixed-base (s·G) scalar multiplications outside the provider (PACE mapping).
    pub point_mul_base: u64,
    /// SHA-256 computations.
    pub sha256: u64,
    /// SHA-256 compression-function blocks (64 bytes each, padding included).
    pub sha256_blocks: u64,
}

impl OpCounts {
    /// No operations.
    pub const ZERO: OpCounts = OpCounts {
        ecdsa_keygen: 0,
        ecdsa_sign: 0,
        ecdsa_verify: 0,
        ecdh_keygen: 0,
        ecdh: 0,
        point_mul: 0,
        point_mul_base: 0,
        sha256: 0,
        sha256_blocks: 0,
    };

    /// The counts as (name, value) pairs, in a fixed order.
    pub fn fields(&self) -> [(&'static str, u64); 9] {
        [
            ("ecdsa_keygen", self.ecdsa_keygen),
            ("ecdsa_sign", self.ecdsa_sign),
            ("ecdsa_verify", self.ecdsa_verify),
            ("ecdh_keygen", self.ecdh_keygen),
            ("ecdh", self.ecdh),
            ("point_mul", self.point_mul),
            ("point_mul_base", self.point_mul_base),
            ("sha256", self.sha256),
            ("sha256_blocks", self.sha256_blocks),
        ]
    }

    /// Every count passed through `f` (e.g. divided by a number of flows).
    pub fn map(self, f: impl Fn(u64) -> u64) -> OpCounts {
        self.zip(OpCounts::ZERO, |a, _| f(a))
    }

    fn zip(self, o: OpCounts, f: impl Fn(u64, u64) -> u64) -> OpCounts {
        OpCounts {
            ecdsa_keygen: f(self.ecdsa_keygen, o.ecdsa_keygen),
            ecdsa_sign: f(self.ecdsa_sign, o.ecdsa_sign),
            ecdsa_verify: f(self.ecdsa_verify, o.ecdsa_verify),
            ecdh_keygen: f(self.ecdh_keygen, o.ecdh_keygen),
            ecdh: f(self.ecdh, o.ecdh),
            point_mul: f(self.point_mul, o.point_mul),
            point_mul_base: f(self.point_mul_base, o.point_mul_base),
            sha256: f(self.sha256, o.sha256),
            sha256_blocks: f(self.sha256_blocks, o.sha256_blocks),
        }
    }
}

impl Add for OpCounts {
    type Output = OpCounts;
    fn add(self, o: OpCounts) -> OpCounts {
        self.zip(o, u64::saturating_add)
    }
}

impl AddAssign for OpCounts {
    fn add_assign(&mut self, o: OpCounts) {
        *self = *self + o;
    }
}

impl Sub for OpCounts {
    type Output = OpCounts;
    fn sub(self, o: OpCounts) -> OpCounts {
        self.zip(o, u64::saturating_sub)
    }
}

/// This thread's running operation counts.
pub fn counts() -> OpCounts {
    COUNTS.with(Cell::get)
}

/// Runs `f` and returns what it did on this thread in operations.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, OpCounts) {
    let before = counts();
    let out = f();
    (out, counts() - before)
}

fn count(f: impl FnOnce(&mut OpCounts)) {
    COUNTS.with(|c| {
        let mut v = c.get();
        f(&mut v);
        c.set(v);
    });
}

/// Blocks SHA-256 compresses for a message of `len` bytes (FIPS 180-4 §5.1.1 padding: one
/// 0x80 byte and a 64-bit length).
pub fn sha256_block_count(len: usize) -> u64 {
    (len as u64 + 9).div_ceil(64)
}

// ---- the counted operations -------------------------------------------------------------------

/// A new ECDSA P-256 signing key drawn from `rng`.
pub fn generate_signing_key(rng: &mut impl CryptoRngCore) -> SigningKey {
    count(|c| c.ecdsa_keygen += 1);
    provider().ecdsa.generate(rng)
}

/// An ECDSA P-256 / SHA-256 signature over `msg`.
pub fn sign(key: &SigningKey, msg: &[u8]) -> Signature {
    count(|c| c.ecdsa_sign += 1);
    provider().ecdsa.sign(key, msg)
}

/// Checks an ECDSA P-256 / SHA-256 signature over `msg`.
pub fn verify(key: &VerifyingKey, msg: &[u8], sig: &Signature) -> Result<(), signature::Error> {
    count(|c| c.ecdsa_verify += 1);
    provider().ecdsa.verify(key, msg, sig)
}

/// An ECDH key pair on the standard generator, drawn from `rng`.
pub fn generate_ecdh(rng: &mut impl CryptoRngCore) -> (NonZeroScalar, PublicKey) {
    count(|c| c.ecdh_keygen += 1);
    provider().ecdh.generate(rng)
}

/// The x-coordinate of `secret`·`peer`.
pub fn ecdh(
    secret: &NonZeroScalar,
    peer: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>, signature::Error> {
    count(|c| c.ecdh += 1);
    provider().ecdh.agree(secret, peer)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_parts(&[data])
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    count(|c| {
        c.sha256 += 1;
        c.sha256_blocks += sha256_block_count(len);
    });
    provider().sha256.digest(parts)
}

/// Counts variable-base scalar multiplications done outside the provider (PACE mapping).
pub(crate) fn count_point_mul(n: u64) {
    count(|c| c.point_mul += n);
}

/// Counts fixed-base scalar multiplications done outside the provider (PACE mapping).
pub(crate) fn count_point_mul_base(n: u64) {
    count(|c| c.point_mul_base += n);
}

#[cfg(test)]
mod tests;
