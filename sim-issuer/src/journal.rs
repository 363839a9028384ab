//! The journal's entries: one per state-changing call of the issuer core, in the order the
//! calls ran. The core returns them ([`crate::issuer::Issuer::take_journal`]); a shell makes
//! them durable ([`crate::durable`]); replaying them into a fresh core from the same seed
//! rebuilds the same state, because the core is deterministic. That state includes the Token
//! Status Lists: an entry is allocated by the credential call and set INVALID by the call
//! that revokes, so they have no entry kind of their own. Reads (a status, a signed Status
//! List Token) leave no entry.

use protocol::oid4vci::{CredentialRequest, TokenRequest};
use serde::{Deserialize, Serialize};

use crate::config::{InPersonCheck, IssuerConfig};
use crate::registry::{Resident, ResidentId};
use crate::UnixTime;

/// One journal entry, opaque outside this crate; serialisable so any shell can keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JournalEntry(pub(crate) Command);

/// One state-changing call, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Command {
    Register {
        resident: Resident,
    },
    Nonce {
        now: UnixTime,
    },
    DeskOffer {
        key: String,
        resident: ResidentId,
        desk_district: String,
        check: InPersonCheck,
        now: UnixTime,
    },
    IcCard {
        key: String,
        resident: ResidentId,
        now: UnixTime,
    },
    Token {
        key: String,
        req: TokenRequest,
        now: UnixTime,
    },
    Credential {
        key: String,
        access_token: String,
        req: CredentialRequest,
        now: UnixTime,
    },
    CardLost {
        key: String,
        resident: ResidentId,
        now: UnixTime,
    },
    PhoneLost {
        key: String,
        document_number: String,
        now: UnixTime,
    },
    Release {
        resident: ResidentId,
    },
}

/// What an issuer was created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) seed: u64,
    pub(crate) created_at: UnixTime,
    pub(crate) config: IssuerConfig,
    pub(crate) policy_toml: String,
}
