use protocol::pki::{verify_crl, verify_issued_by, KeyUsages};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

/// 2025-04-01T00:00:00Z.
const NOW: UnixTime = 1_743_465_600;

fn pki(seed: u64) -> IssuerPki {
    IssuerPki::generate(&mut ChaCha20Rng::seed_from_u64(seed), NOW).unwrap()
}

fn window(c: &CertifiedKey) -> (i64, i64) {
    let v = &c.cert().tbs_certificate.validity;
    (
        v.not_before.to_unix_duration().as_secs() as i64,
        v.not_after.to_unix_duration().as_secs() as i64,
    )
}

#[test]
fn every_mdoc_signer_is_valid_at_most_457_days_and_they_cover_the_iaca_without_gaps() {
    let p = pki(1);
    let (root_from, root_until) = window(&p.iaca);
    let signers = p.mdoc_signers();
    assert_eq!(signers.len(), 20);
    assert_eq!(window(&signers[0]).0, root_from);
    for (k, s) in signers.iter().enumerate() {
        let (from, until) = window(s);
        assert!(
            until - from <= 457 * 86_400,
            "signer {k}: {} days",
            (until - from) / 86_400
        );
        assert!(
            from >= root_from && until <= root_until,
            "signer {k} outside the IACA"
        );
        assert_eq!(from, root_from + k as i64 * MDOC_SIGNER_ROTATION);
        verify_issued_by(s.cert(), p.iaca.cert(), from as u64).unwrap();
        if let Some(next) = signers.get(k + 1) {
            // The next takes over while this one is still valid.
            assert!(window(next).0 < until, "gap after signer {k}");
        }
    }
    assert_eq!(window(&signers[19]).1, root_until);
    // Twenty different keys.
    let keys: std::collections::BTreeSet<_> = signers
        .iter()
        .map(|s| s.verifying_key().to_sec1_bytes().to_vec())
        .collect();
    assert_eq!(keys.len(), 20);
}

#[test]
fn the_signer_at_a_time_is_valid_then_and_rotates_yearly() {
    let p = pki(1);
    assert_eq!(p.mdoc_signer_at(NOW).cert_der(), p.mdoc_signer.cert_der());
    let (root_from, root_until) = window(&p.iaca);
    let mut t = root_from;
    while t <= root_until {
        let (from, until) = window(p.mdoc_signer_at(t));
        assert!(
            from <= t && t <= until,
            "signer at {t} valid {from}..{until}"
        );
        t += 30 * 86_400;
    }
    assert_ne!(
        p.mdoc_signer_at(NOW).cert_der(),
        p.mdoc_signer_at(NOW + YEAR).cert_der()
    );
    assert_eq!(
        p.mdoc_signer_at(NOW).cert_der(),
        p.mdoc_signer_at(NOW + YEAR - 1).cert_der()
    );
    // Outside the IACA's life: the nearest signer, never a panic.
    assert_eq!(
        p.mdoc_signer_at(i64::MIN).cert_der(),
        p.mdoc_signers()[0].cert_der()
    );
    assert_eq!(
        p.mdoc_signer_at(i64::MAX).cert_der(),
        p.mdoc_signers()[19].cert_der()
    );
}

#[test]
fn generation_is_deterministic_from_the_seed() {
    let (a, b, c) = (pki(1), pki(1), pki(2));
    let ders = |p: &IssuerPki| -> Vec<Vec<u8>> {
        p.mdoc_signers()
            .iter()
            .map(CertifiedKey::cert_der)
            .collect()
    };
    assert_eq!(ders(&a), ders(&b));
    assert_eq!(a.iaca.cert_der(), b.iaca.cert_der());
    assert_ne!(ders(&a)[0], ders(&c)[0]);
    assert_ne!(ders(&a)[5], ders(&c)[5]);
}

#[test]
fn a_time_before_1971_is_refused_not_a_panic() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert!(matches!(
        IssuerPki::generate(&mut rng, 100),
        Err(Error::Policy(_))
    ));
    assert!(matches!(
        IssuerPki::generate(&mut rng, i64::MIN),
        Err(Error::Policy(_))
    ));
}

#[test]
fn the_crl_is_signed_by_the_iaca_daily_from_midnight_utc() {
    let p = pki(1);
    let t = NOW + 13 * 3600;
    let der = p.crl(t).unwrap();
    let crl = verify_crl(&der, p.iaca.cert(), t as u64).unwrap();
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.this_update.to_unix_duration().as_secs() as i64, NOW);
    assert_eq!(
        tbs.next_update.unwrap().to_unix_duration().as_secs() as i64,
        NOW + CRL_PERIOD
    );
    assert!(tbs.revoked_certificates.is_none());
    assert!(protocol::pki::has_key_usage(
        p.iaca.cert(),
        KeyUsages::CRLSign
    ));
    // The same day gives the same bytes; the next day a new CRL, the old one stale.
    assert_eq!(p.crl(NOW).unwrap(), der);
    let tomorrow = p.crl(NOW + CRL_PERIOD).unwrap();
    assert_ne!(tomorrow, der);
    assert!(verify_crl(&der, p.iaca.cert(), (NOW + CRL_PERIOD + 1) as u64).is_err());
    verify_crl(&tomorrow, p.iaca.cert(), (NOW + CRL_PERIOD + 1) as u64).unwrap();
    assert!(matches!(p.crl(-1), Err(Error::Policy(_))));
}

#[test]
fn the_crl_url_is_the_served_path_and_every_certificate_names_it() {
    assert!(CRL_URL.ends_with(CRL_PATH));
    let p = pki(1);
    let der_url = CRL_URL.as_bytes();
    for c in std::iter::once(&p.iaca).chain(p.mdoc_signers()) {
        let der = c.cert_der();
        assert!(
            der.windows(der_url.len()).any(|w| w == der_url),
            "{c:?} does not name {CRL_URL}"
        );
    }
}
