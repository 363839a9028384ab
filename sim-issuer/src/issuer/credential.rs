//! The credential endpoint (OID4VCI §8): the proof of possession, the eligibility check
//! at issuance, the mdoc, and superseding the holder's older copy.

use super::*;

impl Issuer {
    /// Credential endpoint (OID4VCI §8): checks the access token and the proof of
    /// possession over a fresh nonce, revokes the holder's previous mobile ID and issues the
    /// mdoc bound to the proof's device key.
    pub fn credential(
        &mut self,
        idempotency_key: &str,
        access_token: &str,
        req: &CredentialRequest,
        now: UnixTime,
    ) -> Result<CredentialResponse, Error> {
        self.log(|| Command::Credential {
            key: idempotency_key.to_owned(),
            access_token: access_token.to_owned(),
            req: req.clone(),
            now,
        })?;
        let fp = fingerprint("credential", &(access_token, req));
        self.idempotent(now, idempotency_key, fp, |me| {
            me.credential_inner(access_token, req, now)
        })
    }

    pub(super) fn credential_inner(
        &mut self,
        access_token: &str,
        req: &CredentialRequest,
        now: UnixTime,
    ) -> Result<CredentialResponse, Error> {
        let grant = self
            .tokens
            .get(access_token)
            .ok_or(Error::UnknownToken)?
            .clone();
        if grant.used {
            return Err(Error::TokenUsed);
        }
        if now > grant.expires_at {
            return Err(Error::TokenExpired);
        }
        if req.credential_configuration_id != MRRC_CONFIGURATION_ID {
            return Err(Error::UnknownConfiguration(
                req.credential_configuration_id.clone(),
            ));
        }
        let [jwt] = req.proofs.jwt.as_slice() else {
            return Err(Error::ProofRequired);
        };
        let nonce = oid4vci::proof_jwt_nonce(jwt)?;
        {
            let n = self.nonces.get(&nonce).ok_or(Error::UnknownNonce)?;
            if n.used {
                return Err(Error::NonceUsed);
            }
            if now > n.expires_at {
                return Err(Error::NonceExpired);
            }
        }
        let device_key = oid4vci::verify_proof_jwt(
            jwt,
            &self.config.base_url,
            &nonce,
            now,
            self.config.proof_max_age,
        )?;
        let r = self.registry.get(grant.resident)?.clone();
        if r.card.reported_lost() {
            return Err(Error::Refused(crate::policy::Refusal::CardReportedLost));
        }
        let today = local_date(now, self.policy.utc_offset)
            .ok_or(Error::Refused(crate::policy::Refusal::ClockOutOfRange))?;
        let years = i64::from(self.policy.mobile_id_validity_years);
        let valid_until = now.saturating_add(years * YEAR_SECONDS);
        let expiry = local_date(valid_until, self.policy.utc_offset).unwrap_or(today);
        let document_number = self.credentials.next_number();
        let ordinal = self.credentials.len();
        let age = age_on(r.rrn.birth_date(), today);
        let claims = ResidentClaims {
            family_name: r.family_name.clone(),
            given_name: r.given_name.clone(),
            birth_date: r.rrn.birth_date(),
            rrn_masked: r.rrn.masked(),
            legal_address_region: r.region().to_owned(),
            portrait: PORTRAIT.to_vec(),
            age_over_17: age >= 17,
            age_over_19: age >= 19,
            issue_date: today,
            expiry_date: expiry,
            document_number: document_number.clone(),
        };
        let params = IssueParams {
            doc_type: mdoc::DOC_TYPE,
            device_key: &device_key,
            validity: Validity {
                signed: now,
                valid_from: now,
                valid_until,
            },
            status: Some(self.status_ref_of(ordinal)),
        };
        let doc = mdoc::issue(
            &mut self.rng,
            self.pki.mdoc_signer_at(now),
            &params,
            &claims.to_elements(),
        )?;
        let cbor = doc.to_cbor()?;
        self.allocate_status(ordinal)?;
        // Everything that can fail has; now change state, all together.
        if let Some(n) = self.nonces.get_mut(&nonce) {
            n.used = true;
        }
        if let Some(t) = self.tokens.get_mut(access_token) {
            t.used = true;
        }
        if let Some(old) = self.active.insert(r.id, ordinal) {
            self.revoke(old, RevocationReason::Superseded, now);
        }
        let pushed = self.credentials.push(CredentialRecord {
            resident: r.id,
            phone_id: grant.phone_id,
            issued_at: now,
            valid_until,
            revoked: None,
        });
        debug_assert_eq!(pushed, document_number);
        Ok(CredentialResponse {
            credentials: vec![IssuedCredential {
                credential: oid4vci::b64url(&cbor),
            }],
            document_number,
        })
    }
}
