use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{NonZeroScalar, PublicKey, SecretKey};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::Sha256;

use super::*;

fn recipient(seed: u64) -> SecretKey {
    SecretKey::random(&mut ChaCha20Rng::seed_from_u64(seed))
}

const AAD: &[u8] = b"TRX-20250401-000001";
const VP: &[u8] = b"\xa3gversionc1.0idocuments\x80fstatus\x00 a DeviceResponse stands here";

#[test]
fn seal_then_open_gives_back_the_plaintext_with_one_agreement_on_each_side() {
    let r = recipient(2);
    let (sealed, c) = crate::crypto::measure(|| {
        seal(&mut ChaCha20Rng::seed_from_u64(1), &r.public_key(), AAD, VP).unwrap()
    });
    assert_eq!(sealed.len(), EPHEMERAL_LEN + VP.len() + TAG_LEN);
    assert_eq!(sealed[0], 0x04);
    assert_eq!((c.ecdh_keygen, c.ecdh), (1, 1));
    let (opened, c) = crate::crypto::measure(|| open(&r.to_nonzero_scalar(), AAD, &sealed));
    assert_eq!(opened.unwrap(), VP);
    assert_eq!((c.ecdh_keygen, c.ecdh), (0, 1));
    // An empty plaintext is only the ephemeral key and the tag.
    let empty = seal(
        &mut ChaCha20Rng::seed_from_u64(1),
        &r.public_key(),
        AAD,
        b"",
    )
    .unwrap();
    assert_eq!(empty.len(), EPHEMERAL_LEN + TAG_LEN);
    assert_eq!(open(&r.to_nonzero_scalar(), AAD, &empty).unwrap(), b"");
    // A fresh ephemeral key every time: two seals of the same message differ.
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let a = seal(&mut rng, &r.public_key(), AAD, VP).unwrap();
    let b = seal(&mut rng, &r.public_key(), AAD, VP).unwrap();
    assert_ne!(a[..EPHEMERAL_LEN], b[..EPHEMERAL_LEN]);
    assert_ne!(a[EPHEMERAL_LEN..], b[EPHEMERAL_LEN..]);
}

/// The whole composition recomputed with the crates called directly: the ephemeral scalar
/// drawn from the same seed (both providers draw it as `p256::NonZeroScalar::random`), ECDH
/// with `p256::ecdh`, HKDF with `None` as salt (RFC 5869's HashLen zeros, which must equal the
/// empty salt `seal` documents), AES-256-GCM with `aes-gcm`.
#[test]
fn known_answer_the_sealed_bytes_equal_an_independent_computation() {
    let r = recipient(2);
    let sealed = seal(&mut ChaCha20Rng::seed_from_u64(1), &r.public_key(), AAD, VP).unwrap();

    let e = NonZeroScalar::random(&mut ChaCha20Rng::seed_from_u64(1));
    let e_pub = PublicKey::from_secret_scalar(&e);
    let e_sec1 = e_pub.to_encoded_point(false);
    let r_sec1 = r.public_key().to_encoded_point(false);
    let z = p256::ecdh::diffie_hellman(e, r.public_key().as_affine());
    let mut info = INFO_LABEL.to_vec();
    info.extend_from_slice(e_sec1.as_bytes());
    info.extend_from_slice(r_sec1.as_bytes());
    assert_eq!(info.len(), 16 + 65 + 65);
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::new(None, z.raw_secret_bytes())
        .expand(&info, &mut okm)
        .unwrap();
    let ct = Aes256Gcm::new_from_slice(&okm[..32])
        .unwrap()
        .encrypt(okm[32..].into(), Payload { msg: VP, aad: AAD })
        .unwrap();
    let mut expected = e_sec1.as_bytes().to_vec();
    expected.extend_from_slice(&ct);
    assert_eq!(sealed, expected);
}

/// RFC 5869 appendix A.1 (test case 1) and A.3 (test case 3: empty salt and info, as
/// [`seal`] extracts), through the same wrapper and with `info` split in parts as `derive`
/// passes it.
#[test]
fn hkdf_matches_rfc5869_test_cases_1_and_3() {
    let ikm = [0x0b; 22];
    let mut okm = [0u8; 42];
    hkdf_sha256(
        &hex::decode("000102030405060708090a0b0c").unwrap(),
        &ikm,
        &[
            &[0xf0, 0xf1, 0xf2],
            &[0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9],
        ],
        &mut okm,
    );
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
    hkdf_sha256(&[], &ikm, &[], &mut okm);
    assert_eq!(
        hex::encode(okm),
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    );
}

/// NIST CAVP `gcmEncryptExtIV256.rsp` (Keylen 256, IVlen 96, PTlen 128, AADlen 128, Taglen
/// 128), through the same wrapper `seal` encrypts with.
#[test]
fn aes256gcm_matches_a_nist_cavp_vector() {
    let h = |s: &str| hex::decode(s).unwrap();
    let key: [u8; 32] = h("7da3bccaffb3464178ca7c722379836db50ce0bfb47640b9572163865332e486")
        .try_into()
        .unwrap();
    let iv: [u8; 12] = h("c04fd2e701c3dc62b68738b3").try_into().unwrap();
    let out = aes256gcm_seal(
        &key,
        &iv,
        &h("fec0311013202e4ffdc4204926ae0ddf"),
        &h("fd671cab1ee21f0df6bb610bf94f0e69"),
    )
    .unwrap();
    assert_eq!(
        hex::encode(out),
        "6be61b17b7f7d494a7cdf270562f37ba5e702a38323fe1160b780d17adad3e96"
    );
}

#[test]
fn wrong_key_other_aad_truncation_bad_point_and_tampering_are_typed_errors() {
    let r = recipient(2);
    let sk = r.to_nonzero_scalar();
    let sealed = seal(&mut ChaCha20Rng::seed_from_u64(1), &r.public_key(), AAD, VP).unwrap();
    assert_eq!(
        open(&recipient(3).to_nonzero_scalar(), AAD, &sealed),
        Err(Error::BadMac)
    );
    assert_eq!(open(&sk, b"TRX-other", &sealed), Err(Error::BadMac));
    assert_eq!(
        open(&sk, AAD, &sealed[..EPHEMERAL_LEN + TAG_LEN - 1]),
        Err(Error::Decode {
            what: "sealed VP",
            kind: DecodeErrorKind::Truncated,
            position: EPHEMERAL_LEN + TAG_LEN - 1,
        })
    );
    assert!(matches!(open(&sk, AAD, &[]), Err(Error::Decode { .. })));
    // A compressed-point prefix, and an x-coordinate moved off the curve.
    let mut p = sealed.clone();
    p[0] = 0x02;
    assert!(matches!(open(&sk, AAD, &p), Err(Error::BadPoint(_))));
    let mut p = sealed.clone();
    p[64] ^= 1; // the last byte of y: (x, y^1) is not on the curve
    assert!(matches!(open(&sk, AAD, &p), Err(Error::BadPoint(_))));
    // Ciphertext and tag.
    for i in [EPHEMERAL_LEN, sealed.len() - TAG_LEN - 1, sealed.len() - 1] {
        let mut t = sealed.clone();
        t[i] ^= 0x80;
        assert_eq!(open(&sk, AAD, &t), Err(Error::BadMac), "byte {i}");
    }
    // An appended byte shifts the tag.
    let mut t = sealed.clone();
    t.push(0);
    assert_eq!(open(&sk, AAD, &t), Err(Error::BadMac));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let r = recipient(2);
        prop_assert!(open(&r.to_nonzero_scalar(), AAD, &bytes).is_err());
    }

    #[test]
    fn every_single_byte_change_is_rejected(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let r = recipient(2);
        let mut sealed =
            seal(&mut ChaCha20Rng::seed_from_u64(1), &r.public_key(), AAD, VP).unwrap();
        let i = pos.index(sealed.len());
        sealed[i] ^= xor;
        let got = open(&r.to_nonzero_scalar(), AAD, &sealed);
        prop_assert!(
            matches!(got, Err(Error::BadMac) | Err(Error::BadPoint(_))),
            "{:?}", got
        );
    }

    #[test]
    fn any_plaintext_and_aad_round_trip(
        pt in proptest::collection::vec(any::<u8>(), 0..300),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        seed in any::<u64>(),
    ) {
        let r = recipient(seed);
        let sealed =
            seal(&mut ChaCha20Rng::seed_from_u64(seed ^ 1), &r.public_key(), &aad, &pt).unwrap();
        prop_assert_eq!(open(&r.to_nonzero_scalar(), &aad, &sealed).unwrap(), pt);
    }
}
