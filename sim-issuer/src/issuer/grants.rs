//! The nonce endpoint (OID4VCI §7) and the token endpoint (§6) with its two grants: the
//! pre-authorized code of a desk offer with its tx_code, and the card-evidence grant of the
//! IC route (Passive and Active Authentication of the card's data).

use super::*;

impl Issuer {
    /// Nonce endpoint (OID4VCI §7): a fresh single-use nonce for a proof JWT or for the
    /// card's Active Authentication. Expired nonces are dropped here.
    pub fn nonce(&mut self, now: UnixTime) -> Result<NonceResponse, Error> {
        self.log(|| Command::Nonce { now })?;
        self.nonces.retain(|_, n| n.expires_at >= now);
        let c_nonce = self.random_token(16);
        self.nonces.insert(
            c_nonce.clone(),
            NonceState {
                expires_at: now.saturating_add(self.config.nonce_ttl),
                used: false,
            },
        );
        Ok(NonceResponse { c_nonce })
    }

    pub(super) fn consume_nonce(&mut self, nonce: &str, now: UnixTime) -> Result<(), Error> {
        let n = self.nonces.get_mut(nonce).ok_or(Error::UnknownNonce)?;
        if n.used {
            return Err(Error::NonceUsed);
        }
        if now > n.expires_at {
            return Err(Error::NonceExpired);
        }
        n.used = true;
        Ok(())
    }

    /// Token endpoint (OID4VCI §6) for both grants.
    pub fn token(
        &mut self,
        idempotency_key: &str,
        req: &TokenRequest,
        now: UnixTime,
    ) -> Result<TokenResponse, Error> {
        self.log(|| Command::Token {
            key: idempotency_key.to_owned(),
            req: req.clone(),
            now,
        })?;
        let fp = fingerprint("token", req);
        self.idempotent(now, idempotency_key, fp, |me| me.token_inner(req, now))
    }

    pub(super) fn token_inner(
        &mut self,
        req: &TokenRequest,
        now: UnixTime,
    ) -> Result<TokenResponse, Error> {
        let (resident, phone_id) = match req {
            TokenRequest::PreAuthorized {
                pre_authorized_code,
                tx_code,
                phone_id,
            } => {
                let max = self.config.tx_code_max_attempts;
                let offer = self
                    .offers
                    .get_mut(pre_authorized_code)
                    .ok_or(Error::UnknownOffer)?;
                if offer.burned {
                    return Err(Error::OfferBurned);
                }
                if offer.used {
                    return Err(Error::OfferUsed);
                }
                if now > offer.expires_at {
                    return Err(Error::OfferExpired);
                }
                let Some(tx) = tx_code else {
                    return Err(Error::TxCodeRequired);
                };
                if *tx != offer.tx_code {
                    offer.attempts = offer.attempts.saturating_add(1);
                    if offer.attempts >= max {
                        offer.burned = true;
                        return Err(Error::OfferBurned);
                    }
                    return Err(Error::WrongTxCode {
                        attempts_left: max - offer.attempts,
                    });
                }
                let resident = offer.resident;
                let r = self.registry.get(resident)?;
                Self::check_phone(r, phone_id)?;
                if r.card.reported_lost() {
                    return Err(Error::Refused(crate::policy::Refusal::CardReportedLost));
                }
                if let Some(o) = self.offers.get_mut(pre_authorized_code) {
                    o.used = true;
                }
                (resident, phone_id.clone())
            }
            TokenRequest::CardEvidence {
                dg1,
                dg15,
                sod,
                nonce,
                aa_signature,
                phone_id,
            } => {
                let dg1 = oid4vci::from_b64url(dg1, "dg1")?;
                let dg15 = oid4vci::from_b64url(dg15, "dg15")?;
                let sod = oid4vci::from_b64url(sod, "sod")?;
                let sig = oid4vci::from_b64url(aa_signature, "aa_signature")?;
                // The nonce is spent whatever happens next: evidence is never checked
                // twice against one nonce.
                self.consume_nonce(nonce, now)?;
                let now_u = u64::try_from(now).unwrap_or(0);
                // ICAO 9303-11 §5.1 Passive Authentication: the data is the issuer's.
                sod::passive_authentication(
                    &sod,
                    &[(1, &dg1), (15, &dg15)],
                    &self.pki.country_roots(),
                    now_u,
                )?;
                // §6.1 Active Authentication: the chip holds DG15's key (not a clone).
                aa::verify(&dg15, &oid4vci::aa_challenge(nonce), &sig)?;
                let holder = HolderData::decode(&dg1)?;
                let rrn: Rrn = holder
                    .rrn
                    .parse()
                    .map_err(|_| Error::InvalidRrn("DG1 RRN"))?;
                let r = self.registry.by_rrn(&rrn).ok_or(Error::UnknownResident)?;
                match &r.card {
                    CardState::Ic { card_number, .. } if *card_number == holder.card_number => {}
                    _ => return Err(Error::CardNotCurrent),
                }
                self.check_policy(r, Route::IcTap, &Channel::App, now)?;
                Self::check_phone(r, phone_id)?;
                (r.id, phone_id.clone())
            }
        };
        let access_token = self.random_token(32);
        self.expiries.push_back((
            now.saturating_add(self.config.token_ttl + self.config.retention),
            Expiring::Token(access_token.clone()),
        ));
        self.tokens.insert(
            access_token.clone(),
            AccessGrant {
                resident,
                phone_id,
                expires_at: now.saturating_add(self.config.token_ttl),
                used: false,
            },
        );
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: u64::try_from(self.config.token_ttl).unwrap_or(0),
        })
    }
}
