//! The community-center desk: the clerk's in-person check and one-time credential offers
//! (by value and by reference, OID4VCI §4.1.3), and IC cards issued at the desk.

use super::*;

impl Issuer {
    /// Community-center desk, QR route: the clerk checks the plastic card in person, the
    /// policy is applied for this desk, and a one-time offer is made.
    pub fn desk_offer(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        desk_district: &str,
        check: &InPersonCheck,
        now: UnixTime,
    ) -> Result<DeskOffer, Error> {
        self.log(|| Command::DeskOffer {
            key: idempotency_key.to_owned(),
            resident,
            desk_district: desk_district.to_owned(),
            check: check.clone(),
            now,
        })?;
        let fp = fingerprint("desk_offer", &(resident, desk_district, check));
        self.idempotent(now, idempotency_key, fp, |me| {
            me.desk_offer_inner(resident, desk_district, check, now)
        })
    }

    pub(super) fn desk_offer_inner(
        &mut self,
        resident: ResidentId,
        desk_district: &str,
        check: &InPersonCheck,
        now: UnixTime,
    ) -> Result<DeskOffer, Error> {
        let r = self.registry.get(resident)?;
        if check.presented_rrn != r.rrn {
            return Err(Error::InPersonCheckFailed(
                "card does not belong to the resident",
            ));
        }
        if !check.face_matches {
            return Err(Error::InPersonCheckFailed(
                "photo does not match the person",
            ));
        }
        let channel = Channel::Desk {
            district: desk_district.to_owned(),
        };
        self.check_policy(r, Route::Qr, &channel, now)?;
        let code = self.random_token(32);
        let digits = usize::from(self.config.tx_code_len.clamp(4, 12));
        let tx_code: String = (0..digits)
            .map(|_| char::from(b'0' + (self.rng.next_u32() % 10) as u8))
            .collect();
        let expires_at = now.saturating_add(self.config.offer_ttl);
        self.expiries.push_back((
            expires_at.saturating_add(self.config.retention),
            Expiring::Offer(code.clone()),
        ));
        self.offers.insert(
            code.clone(),
            Offer {
                resident,
                tx_code: tx_code.clone(),
                expires_at,
                attempts: 0,
                used: false,
                burned: false,
            },
        );
        let offer = CredentialOffer {
            credential_issuer: self.config.base_url.clone(),
            credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
            grants: OfferGrants {
                pre_authorized_code: PreAuthorizedGrant {
                    pre_authorized_code: code,
                    tx_code: Some(TxCodeSpec {
                        input_mode: "numeric".into(),
                        length: digits as u8,
                        description: "Told to you by the clerk".into(),
                    }),
                },
            },
        };
        let id = offer_ref(&offer.grants.pre_authorized_code.pre_authorized_code);
        self.offer_refs.insert(
            id.clone(),
            offer.grants.pre_authorized_code.pre_authorized_code.clone(),
        );
        Ok(DeskOffer {
            uri: offer.to_uri(),
            reference_uri: CredentialOffer::reference_uri(&self.offer_url(&id)),
            offer,
            tx_code,
            expires_at,
        })
    }

    /// Where an offer by reference is fetched from: `{base_url}/credential-offer/{id}`.
    pub(super) fn offer_url(&self, id: &str) -> String {
        format!("{}/credential-offer/{id}", self.config.base_url)
    }

    /// `GET /credential-offer/{id}` (OID4VCI §4.1.3): the desk's offer by reference, while
    /// it can still be redeemed. `url` is the whole `credential_offer_uri`.
    pub fn offer_by_reference(&self, url: &str, now: UnixTime) -> Result<CredentialOffer, Error> {
        let id = url
            .strip_prefix(&self.offer_url(""))
            .ok_or(Error::UnknownOffer)?;
        let code = self.offer_refs.get(id).ok_or(Error::UnknownOffer)?;
        let o = self.offers.get(code).ok_or(Error::UnknownOffer)?;
        if o.used {
            return Err(Error::OfferUsed);
        }
        if o.burned {
            return Err(Error::OfferBurned);
        }
        if now > o.expires_at {
            return Err(Error::OfferExpired);
        }
        Ok(CredentialOffer {
            credential_issuer: self.config.base_url.clone(),
            credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
            grants: OfferGrants {
                pre_authorized_code: PreAuthorizedGrant {
                    pre_authorized_code: code.clone(),
                    tx_code: Some(TxCodeSpec {
                        input_mode: "numeric".into(),
                        length: o.tx_code.len() as u8,
                        description: "Told to you by the clerk".into(),
                    }),
                },
            },
        })
    }

    /// Community-center desk, IC card application: a new IC card for the resident (10,000
    /// won by default, free for a first card). The old card, if any, stops being current,
    /// and so does any mobile ID issued from it.
    pub fn desk_ic_card(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        now: UnixTime,
    ) -> Result<IcCardReceipt, Error> {
        self.log(|| Command::IcCard {
            key: idempotency_key.to_owned(),
            resident,
            now,
        })?;
        let fp = fingerprint("desk_ic_card", &resident);
        self.idempotent(now, idempotency_key, fp, |me| {
            let today = local_date(now, me.policy.utc_offset)
                .ok_or(Error::Refused(crate::policy::Refusal::ClockOutOfRange))?;
            let r = me.registry.get(resident)?.clone();
            let had_card = r.card != CardState::None;
            let fee_won = me.policy.ic_card_fee(had_card);
            let card_number = crate::registry::card_number(&mut me.rng);
            let mut seed = [0u8; 32];
            me.rng.fill_bytes(&mut seed);
            let card = me.personalise_card(&r, &card_number, &seed, today)?;
            let rm = me.registry.get_mut(resident)?;
            rm.card = CardState::Ic {
                card_number: card_number.clone(),
                issued: today,
                chip: crate::registry::ChipKeys { aa_key_seed: seed },
                reported_lost: false,
            };
            Ok(IcCardReceipt {
                fee_won,
                card_number,
                card,
            })
        })
    }
}
