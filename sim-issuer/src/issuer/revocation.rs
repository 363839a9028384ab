//! Revocation (lost card, lost phone) and the status of every credential. Every revocation
//! also sets the credential's Token Status List entry to INVALID (`status_lists`).

use super::*;

impl Issuer {
    /// Report the physical card lost: the card is marked lost and the holder's mobile ID is
    /// revoked at once.
    pub fn report_card_lost(
        &mut self,
        idempotency_key: &str,
        resident: ResidentId,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.log(|| Command::CardLost {
            key: idempotency_key.to_owned(),
            resident,
            now,
        })?;
        let fp = fingerprint("report_card_lost", &resident);
        self.idempotent(now, idempotency_key, fp, |me| {
            let r = me.registry.get_mut(resident)?;
            match &mut r.card {
                CardState::None => {
                    return Err(Error::Refused(crate::policy::Refusal::NoResidentCard))
                }
                CardState::Plastic { reported_lost, .. } | CardState::Ic { reported_lost, .. } => {
                    *reported_lost = true
                }
            }
            if let Some(&i) = me.active.get(&resident) {
                me.revoke(i, RevocationReason::CardReportedLost, now);
            }
            Ok(())
        })
    }

    /// Report the phone holding `document_number` lost: only that mobile copy is revoked.
    pub fn report_phone_lost(
        &mut self,
        idempotency_key: &str,
        document_number: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.log(|| Command::PhoneLost {
            key: idempotency_key.to_owned(),
            document_number: document_number.to_owned(),
            now,
        })?;
        let fp = fingerprint("report_phone_lost", &document_number);
        self.idempotent(now, idempotency_key, fp, |me| {
            let i = me
                .credentials
                .index_of(document_number)
                .ok_or(Error::UnknownDocument)?;
            me.revoke(i, RevocationReason::PhoneReportedLost, now);
            Ok(())
        })
    }

    /// Status of one credential at `now`.
    pub fn status(&self, document_number: &str, now: UnixTime) -> Result<CredentialStatus, Error> {
        let rec = self
            .credentials
            .get(document_number)
            .ok_or(Error::UnknownDocument)?;
        Ok(Self::status_of(rec, now))
    }

    pub(super) fn status_of(rec: &CredentialRecord, now: UnixTime) -> CredentialStatus {
        match rec.revoked {
            Some((reason, at)) => CredentialStatus::Revoked { reason, at },
            None if now > rec.valid_until => CredentialStatus::Expired {
                valid_until: rec.valid_until,
            },
            None => CredentialStatus::Valid {
                valid_until: rec.valid_until,
            },
        }
    }

    /// The whole status list, in document-number order.
    pub fn status_list(&self, now: UnixTime) -> Vec<StatusEntry> {
        self.credentials
            .iter()
            .map(|(d, rec)| StatusEntry {
                document_number: d,
                status: Self::status_of(rec, now),
            })
            .collect()
    }
}
