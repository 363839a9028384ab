//! The QR offer parser: generated and mutated inputs never panic, and good offers round-trip.

use proptest::prelude::*;
use protocol::oid4vci::{
    CredentialOffer, OfferGrants, PreAuthorizedGrant, TxCodeSpec, MRRC_CONFIGURATION_ID,
};
use sim_phone::{parse_offer, Error};

const ISSUER: &str = "https://issuer.midsim.invalid";

fn offer(code: String, len: Option<u8>) -> CredentialOffer {
    CredentialOffer {
        credential_issuer: ISSUER.into(),
        credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
        grants: OfferGrants {
            pre_authorized_code: PreAuthorizedGrant {
                pre_authorized_code: code,
                tx_code: len.map(|length| TxCodeSpec {
                    input_mode: "numeric".into(),
                    length,
                    description: "told by the clerk".into(),
                }),
            },
        },
    }
}

proptest! {
    #[test]
    fn any_text_is_parsed_or_refused_without_panicking(text in ".{0,300}") {
        let _ = parse_offer(&text, ISSUER);
    }

    #[test]
    fn a_good_offer_parses_to_its_code_and_tx_length(code in "[A-Za-z0-9_-]{1,64}", len in proptest::option::of(1u8..=12)) {
        let uri = offer(code.clone(), len).to_uri();
        let parsed = parse_offer(&uri, ISSUER).unwrap();
        prop_assert_eq!(parsed.pre_authorized_code, code);
        prop_assert_eq!(parsed.tx_code_length, len);
    }

    #[test]
    fn mutated_offers_never_panic(code in "[A-Za-z0-9]{1,16}", at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut uri = offer(code, Some(6)).to_uri().into_bytes();
        let i = at.index(uri.len());
        uri[i] = byte;
        let text = String::from_utf8_lossy(&uri);
        let _ = parse_offer(&text, ISSUER);
    }
}

#[test]
fn an_offer_from_another_issuer_or_for_another_credential_is_refused() {
    let mut o = offer("abc".into(), Some(6));
    o.credential_issuer = "https://evil.example".into();
    assert!(matches!(
        parse_offer(&o.to_uri(), ISSUER),
        Err(Error::Offer(_))
    ));
    let mut o = offer("abc".into(), Some(6));
    o.credential_configuration_ids = vec!["something.else".into()];
    assert!(matches!(
        parse_offer(&o.to_uri(), ISSUER),
        Err(Error::Offer(_))
    ));
    assert!(matches!(
        parse_offer(&offer(String::new(), None).to_uri(), ISSUER),
        Err(Error::Offer(_))
    ));
    assert!(matches!(
        parse_offer(&offer("a".into(), Some(0)).to_uri(), ISSUER),
        Err(Error::Offer(_))
    ));
    assert!(parse_offer("openid-credential-offer://?x=1", ISSUER).is_err());
}
