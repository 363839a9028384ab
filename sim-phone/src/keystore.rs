//! The keystore: one non-exportable P-256 device key per credential, used only with the
//! holder's PIN.
//!
//! Key material never leaves this module: callers hold a [`KeyHandle`], get the public key,
//! and ask the keystore to sign. `Debug` prints `<redacted>` for keys. The PIN is kept as a
//! salted SHA-256 and compared in constant time; after [`PIN_TRIES`] wrong PINs in a row the
//! key is locked for good (as a secure element would).

use std::collections::BTreeMap;

use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;

use crate::Error;

/// Wrong PINs in a row before a key locks.
pub const PIN_TRIES: u8 = 5;

/// Names one key in a [`Keystore`]. Not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHandle(u32);

struct Entry {
    key: SigningKey,
    salt: [u8; 16],
    pin_hash: [u8; 32],
    tries_left: u8,
}

/// The phone's keystore.
#[derive(Default)]
pub struct Keystore {
    keys: BTreeMap<KeyHandle, Entry>,
    next: u32,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (h, e) in &self.keys {
            m.entry(
                h,
                &format_args!("<redacted> ({} PIN tries left)", e.tries_left),
            );
        }
        m.finish()
    }
}

fn pin_hash(salt: &[u8; 16], pin: &str) -> [u8; 32] {
    protocol::crypto::sha256_parts(&[salt, pin.as_bytes()])
}

impl Keystore {
    /// An empty keystore.
    pub fn new() -> Self {
        Self::default()
    }

    /// Generate a fresh device key gated by `pin`.
    pub fn generate(&mut self, pin: &str, rng: &mut impl CryptoRngCore) -> KeyHandle {
        let key = protocol::crypto::generate_signing_key(rng);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let handle = KeyHandle(self.next);
        self.next = self.next.wrapping_add(1);
        self.keys.insert(
            handle,
            Entry {
                pin_hash: pin_hash(&salt, pin),
                key,
                salt,
                tries_left: PIN_TRIES,
            },
        );
        handle
    }

    /// The public key of a device key.
    pub fn public_key(&self, handle: KeyHandle) -> Result<VerifyingKey, Error> {
        Ok(*self
            .keys
            .get(&handle)
            .ok_or(Error::KeyNotFound)?
            .key
            .verifying_key())
    }

    /// Delete a key (its credential was replaced or revoked).
    pub fn delete(&mut self, handle: KeyHandle) -> bool {
        self.keys.remove(&handle).is_some()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn unlock(&mut self, handle: KeyHandle, pin: &str) -> Result<&SigningKey, Error> {
        let e = self.keys.get_mut(&handle).ok_or(Error::KeyNotFound)?;
        if e.tries_left == 0 {
            return Err(Error::KeyLocked);
        }
        if bool::from(pin_hash(&e.salt, pin).ct_eq(&e.pin_hash)) {
            e.tries_left = PIN_TRIES;
            Ok(&e.key)
        } else {
            e.tries_left -= 1;
            if e.tries_left == 0 {
                Err(Error::KeyLocked)
            } else {
                Err(Error::WrongPin {
                    tries_left: e.tries_left,
                })
            }
        }
    }

    /// Sign `msg` (ECDSA P-256 over SHA-256) if `pin` is right.
    pub fn sign(&mut self, handle: KeyHandle, pin: &str, msg: &[u8]) -> Result<Signature, Error> {
        Ok(protocol::crypto::sign(self.unlock(handle, pin)?, msg))
    }

    /// An OpenID4VCI proof-of-possession JWT signed with the device key, if `pin` is right.
    pub fn proof_jwt(
        &mut self,
        handle: KeyHandle,
        pin: &str,
        aud: &str,
        nonce: &str,
        iat: i64,
    ) -> Result<String, Error> {
        let key = self.unlock(handle, pin)?;
        Ok(protocol::oid4vci::sign_proof_jwt(key, aud, nonce, iat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn signs_with_the_right_pin_and_the_signature_verifies() {
        let mut ks = Keystore::new();
        let h = ks.generate("123456", &mut rng());
        let sig = ks.sign(h, "123456", b"hello").unwrap();
        ks.public_key(h).unwrap().verify(b"hello", &sig).unwrap();
    }

    #[test]
    fn wrong_pins_count_down_then_lock_and_a_right_pin_resets_the_count() {
        let mut ks = Keystore::new();
        let h = ks.generate("123456", &mut rng());
        assert!(matches!(
            ks.sign(h, "000000", b"m"),
            Err(Error::WrongPin { tries_left: 4 })
        ));
        ks.sign(h, "123456", b"m").unwrap();
        for left in (1..PIN_TRIES).rev() {
            assert!(
                matches!(ks.sign(h, "0", b"m"), Err(Error::WrongPin { tries_left }) if tries_left == left)
            );
        }
        assert!(matches!(ks.sign(h, "0", b"m"), Err(Error::KeyLocked)));
        assert!(matches!(ks.sign(h, "123456", b"m"), Err(Error::KeyLocked)));
    }

    #[test]
    fn debug_redacts_keys_and_each_credential_gets_its_own_key() {
        let mut ks = Keystore::new();
        let mut r = rng();
        let a = ks.generate("1", &mut r);
        let b = ks.generate("1", &mut r);
        assert_ne!(ks.public_key(a).unwrap(), ks.public_key(b).unwrap());
        let shown = format!("{ks:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.to_lowercase().contains("signingkey"), "{shown}");
        assert!(ks.delete(a));
        assert!(matches!(ks.public_key(a), Err(Error::KeyNotFound)));
    }

    #[test]
    fn proof_jwt_verifies_for_the_issuer() {
        let mut ks = Keystore::new();
        let h = ks.generate("9", &mut rng());
        let jwt = ks.proof_jwt(h, "9", "https://iss", "n-1", 1000).unwrap();
        let key =
            protocol::oid4vci::verify_proof_jwt(&jwt, "https://iss", "n-1", 1000, 60).unwrap();
        assert_eq!(key, ks.public_key(h).unwrap());
    }
}
