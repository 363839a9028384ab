use p256::ecdsa::SigningKey;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

/// FIPS 180-4 / NIST CSHS example values.
const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const TWO_BLOCK_MSG: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const TWO_BLOCK_SHA256: &str = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

fn each_provider(mut f: impl FnMut(&'static CryptoProvider)) {
    for p in CryptoProvider::available() {
        f(p);
    }
}

#[test]
fn sha256_matches_fips_180_examples_under_every_provider() {
    each_provider(|p| {
        with_provider(p, || {
            assert_eq!(hex::encode(sha256(b"abc")), ABC_SHA256, "{}", p.name);
            assert_eq!(
                hex::encode(sha256(TWO_BLOCK_MSG)),
                TWO_BLOCK_SHA256,
                "{}",
                p.name
            );
            assert_eq!(
                hex::encode(sha256_parts(&[b"a", b"", b"bc"])),
                ABC_SHA256,
                "{}",
                p.name
            );
        })
    });
}

#[test]
fn block_count_follows_the_padding_rule() {
    assert_eq!(sha256_block_count(0), 1);
    assert_eq!(sha256_block_count(55), 1);
    assert_eq!(sha256_block_count(56), 2);
    assert_eq!(sha256_block_count(64), 2);
    assert_eq!(sha256_block_count(119), 2);
    assert_eq!(sha256_block_count(120), 3);
}

#[test]
fn operations_are_counted_on_this_thread_only() {
    let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
    let (sig, c) = measure(|| sign(&key, b"m"));
    assert_eq!(c.ecdsa_sign, 1);
    assert_eq!(c.ecdsa_verify, 0);
    let (ok, c) = measure(|| verify(key.verifying_key(), b"m", &sig));
    assert!(ok.is_ok());
    assert_eq!(
        c,
        OpCounts {
            ecdsa_verify: 1,
            ..OpCounts::ZERO
        }
    );
    let (_, c) = measure(|| sha256(&[0u8; 100]));
    assert_eq!((c.sha256, c.sha256_blocks), (1, 2));
    let other = std::thread::spawn(counts).join().unwrap();
    assert_eq!(other, OpCounts::ZERO);
}

/// Every provider must agree with every other on keys, shared secrets and signatures
/// (signing stays RFC 6979 everywhere), and accept each other's signatures.
#[test]
fn providers_agree_byte_for_byte() {
    let mut seen: Option<(Vec<u8>, [u8; 32], Vec<u8>)> = None;
    each_provider(|p| {
        with_provider(p, || {
            let mut rng = ChaCha20Rng::seed_from_u64(9);
            let (a, a_pub) = generate_ecdh(&mut rng);
            let (b, b_pub) = generate_ecdh(&mut rng);
            let ab = ecdh(&a, &b_pub).unwrap();
            let ba = ecdh(&b, &a_pub).unwrap();
            assert_eq!(*ab, *ba, "{}", p.name);
            let key = generate_signing_key(&mut rng);
            let sig = sign(&key, b"message");
            verify(key.verifying_key(), b"message", &sig).unwrap();
            assert!(
                verify(key.verifying_key(), b"massage", &sig).is_err(),
                "{}",
                p.name
            );
            let got = (a_pub.to_sec1_bytes().to_vec(), *ab, sig.to_bytes().to_vec());
            match &seen {
                None => seen = Some(got),
                Some(first) => assert_eq!(first, &got, "{} differs", p.name),
            }
        })
    });
}

/// RFC 5903 §8.1: the 256-bit random ECP group test vector (ECDH on P-256).
#[test]
fn ecdh_matches_rfc_5903_vector_under_every_provider() {
    let i =
        hex::decode("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433").unwrap();
    let gir = "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE";
    let r_pub = hex::decode(concat!(
        "04",
        "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
        "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB"
    ))
    .unwrap();
    let secret = NonZeroScalar::try_from(i.as_slice()).unwrap();
    let peer = PublicKey::from_sec1_bytes(&r_pub).unwrap();
    each_provider(|p| {
        with_provider(p, || {
            let x = ecdh(&secret, &peer).unwrap();
            assert_eq!(hex::encode_upper(*x), gir, "{}", p.name);
        })
    });
}

#[test]
fn install_default_keeps_the_first_provider() {
    // The process default is only read here, never installed, so other tests see
    // RUSTCRYPTO unless they override on their own thread.
    assert_eq!(CryptoProvider::get_default().name, "rustcrypto");
    assert!(CryptoProvider::by_name("rustcrypto").is_some());
    assert!(CryptoProvider::by_name("nope").is_none());
    let inner = with_provider(&RUSTCRYPTO, || provider().name);
    assert_eq!(inner, "rustcrypto");
}
