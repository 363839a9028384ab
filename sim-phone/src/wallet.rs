//! The wallet: the holder's mobile ID, its status, expiry and reissue date.
//!
//! One mobile ID per person on one phone (DOMAIN.md): storing a new one replaces the old and
//! deletes its device key. The status the issuer reports (`GET /status/{document_number}`)
//! is applied with [`Wallet::apply_status`]; a revocation deletes the device key at once, so
//! the revoked copy can never be presented again.

use protocol::issuance::{CredentialStatus, RevocationReason};

use crate::{Keystore, MobileId, UiEvent};

/// Days before expiry from which the wallet tells the holder to reissue.
pub const REISSUE_NOTICE_DAYS: i64 = 30;

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

fn reason_text(reason: RevocationReason) -> String {
    match reason {
        RevocationReason::Superseded => "a mobile ID was issued to another phone".into(),
        RevocationReason::CardReportedLost => "the resident card was reported lost".into(),
        RevocationReason::PhoneReportedLost => "this phone was reported lost".into(),
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
        report: &CredentialStatus,
        keystore: &mut Keystore,
    ) -> Option<UiEvent> {
        let id = self.current.as_ref()?;
        if id.document_number != document_number {
            return None;
        }
        match report {
            CredentialStatus::Revoked { reason, .. } if !self.revoked => {
                self.revoked = true;
                keystore.delete(id.key);
                Some(UiEvent::Revoked {
                    reason: reason_text(*reason),
                })
            }
            _ => None,
        }
    }
}
