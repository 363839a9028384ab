//! The wallet: the holder's mobile ID, its status, expiry and reissue date.
//!
//! One mobile ID per person on one phone (DOMAIN.md): storing a new one replaces the old and
//! deletes its device key. The status the issuer reports (`GET /status/{document_number}`)
//! is applied with [`Wallet::apply_status`]; a revocation deletes the device key at once, so
//! the revoked copy can never be presented again.

use serde::Deserialize;

use crate::{Keystore, MobileId, UiEvent};

/// Days before expiry from which the wallet tells the holder to reissue.
pub const REISSUE_NOTICE_DAYS: i64 = 30;

/// A credential's status as the issuer's status endpoint answers it (JSON
/// `{"status": "valid", "valid_until": …}`, `{"status": "expired", …}`,
/// `{"status": "revoked", "reason": "superseded", "at": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusReport {
    /// Valid.
    Valid {
        /// Valid until (unix seconds).
        valid_until: i64,
    },
    /// Past its validity.
    Expired {
        /// When it expired.
        valid_until: i64,
    },
    /// Revoked.
    Revoked {
        /// Why (`superseded`, `card_reported_lost`, `phone_reported_lost`).
        reason: String,
        /// When.
        at: i64,
    },
}

impl StatusReport {
    /// Parse the status endpoint's JSON body.
    pub fn from_json(body: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(body).map_err(|e| crate::Error::Issuer(format!("status body: {e}")))
    }
}

/// What the wallet shows for its mobile ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalletStatus {
    /// Usable.
    Valid,
    /// Usable, but within [`REISSUE_NOTICE_DAYS`] of expiry: reissue soon.
    ReissueSoon,
    /// Past its validity: reissue.
    Expired,
    /// Revoked (a newer copy elsewhere, the card or the phone reported lost).
    Revoked,
}

/// The holder's wallet on one phone.
#[derive(Debug, Default)]
pub struct Wallet {
    current: Option<MobileId>,
    revoked: bool,
}

fn reason_text(reason: &str) -> String {
    match reason {
        "superseded" => "a mobile ID was issued to another phone".into(),
        "card_reported_lost" => "the resident card was reported lost".into(),
        "phone_reported_lost" => "this phone was reported lost".into(),
        other => other.replace('_', " "),
    }
}

impl Wallet {
    /// An empty wallet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store a freshly issued mobile ID, replacing (and deleting the key of) any older one.
    pub fn store(&mut self, id: MobileId, keystore: &mut Keystore) {
        if let Some(old) = self.current.take() {
            if old.key != id.key {
                keystore.delete(old.key);
            }
        }
        self.current = Some(id);
        self.revoked = false;
    }

    /// The mobile ID held, if any.
    pub fn mobile_id(&self) -> Option<&MobileId> {
        self.current.as_ref()
    }

    /// The status at `now` (unix seconds), if a mobile ID is held.
    pub fn status(&self, now: i64) -> Option<WalletStatus> {
        let id = self.current.as_ref()?;
        Some(if self.revoked {
            WalletStatus::Revoked
        } else if now > id.valid_until() {
            WalletStatus::Expired
        } else if now > self.reissue_from()? {
            WalletStatus::ReissueSoon
        } else {
            WalletStatus::Valid
        })
    }

    /// From when the holder is asked to reissue (unix seconds).
    pub fn reissue_from(&self) -> Option<i64> {
        let id = self.current.as_ref()?;
        Some(
            id.valid_until()
                .saturating_sub(REISSUE_NOTICE_DAYS * 86_400),
        )
    }

    /// Apply what the issuer's status endpoint said about `document_number`. A revocation
    /// deletes the device key and gives the message to show.
    pub fn apply_status(
        &mut self,
        document_number: &str,
        report: &StatusReport,
        keystore: &mut Keystore,
    ) -> Option<UiEvent> {
        let id = self.current.as_ref()?;
        if id.document_number != document_number {
            return None;
        }
        match report {
            StatusReport::Revoked { reason, .. } if !self.revoked => {
                self.revoked = true;
                keystore.delete(id.key);
                Some(UiEvent::Revoked {
                    reason: reason_text(reason),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_of_the_issuer_parse_and_garbage_is_a_typed_error() {
        assert_eq!(
            StatusReport::from_json(r#"{"status":"valid","valid_until":5}"#).unwrap(),
            StatusReport::Valid { valid_until: 5 }
        );
        assert_eq!(
            StatusReport::from_json(r#"{"status":"revoked","reason":"superseded","at":9}"#)
                .unwrap(),
            StatusReport::Revoked {
                reason: "superseded".into(),
                at: 9
            }
        );
        assert!(StatusReport::from_json("{").is_err());
        assert!(StatusReport::from_json(r#"{"status":"odd"}"#).is_err());
    }
}
