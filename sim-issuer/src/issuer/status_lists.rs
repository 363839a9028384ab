//! Token Status Lists (draft-ietf-oauth-status-list-20; [`protocol::status_list`]): how
//! relying parties learn that a mobile ID was revoked.
//!
//! - Allocation: the `n`th credential issued (0-based, the one numbered `M` and `n + 1`) has
//!   entry `n % 2^20` of list `n / 2^20 + 1`, served at `{base_url}/status-lists/{id}` and
//!   written into its MSO as `status` ([`Issuer::status_ref`]). Deterministic and never
//!   reused (no double allocation, §13.3); a reissued mobile ID is a new credential with a
//!   fresh entry (§13.2). A list is made whole, [`STATUS_LIST_CAPACITY`] entries all VALID,
//!   when its first entry is given out, so an issuance changes no bit (§13.3) and the size
//!   of a list says nothing about how many mobile IDs it holds. The entries are given out in
//!   issuance order, so an index tells a relying party roughly when a document was issued;
//!   the document number already tells as much.
//! - Bits: one per entry ([`STATUS_LIST_BITS`]), VALID or INVALID: every revocation
//!   (superseded by a newer copy, card reported lost, phone reported lost) is final, and
//!   the issuer never suspends. Expiry is not a status: the MSO's validUntil says it (§7.1).
//! - Durability: allocation and revocation happen inside the journaled calls (credential,
//!   lost card, lost phone), so replaying the journal into a fresh core rebuilds the same
//!   lists bit for bit; they need no journal entries of their own.
//! - Tokens ([`Issuer::status_list_token`]): signed with the mdoc signer current at `iat` (its certificate
//!   in x5chain, so the IACA root verifies it), `iat` = the time of signing, `exp` = `iat +`
//!   [`STATUS_LIST_LIFETIME`] (24 h) and `ttl` = [`STATUS_LIST_TTL`] (1 h): a relying party
//!   checks again hourly (§13.7), and a copy never outlives a day. The signed token is kept
//!   and served again until its list changes or it is [`STATUS_LIST_RESIGN_AFTER`] (12 h)
//!   old, so serving costs a signature per change, not per request, and every token served
//!   has at least 12 h before its `exp`, well beyond its `ttl`. The kept token is not state:
//!   a restarted issuer signs afresh on the first request.

use protocol::status_list::{self, StatusList, StatusRef, TokenClaims, INVALID};

use super::*;

/// Entries in one status list: 2^20, the size of the draft's test vectors (Appendix C),
/// 128 KiB uncompressed at one bit per entry.
pub const STATUS_LIST_CAPACITY: u64 = 1 << 20;
/// Bits per entry: 1 (VALID or INVALID).
pub const STATUS_LIST_BITS: u8 = 1;
/// `ttl` of a Status List Token, seconds: relying parties refresh hourly.
pub const STATUS_LIST_TTL: u64 = 3_600;
/// `exp - iat` of a Status List Token, seconds: no copy is relied upon for more than a day.
pub const STATUS_LIST_LIFETIME: i64 = 86_400;
/// Age, seconds, at which an unchanged list's token is signed anew (half its lifetime).
pub const STATUS_LIST_RESIGN_AFTER: i64 = STATUS_LIST_LIFETIME / 2;
/// The path of status list `id` under the issuer's base URL.
pub const STATUS_LIST_PATH: &str = "/status-lists";

/// The issuer's status lists, list `id` at `lists[id - 1]`.
#[derive(Debug, Clone, Default)]
pub(super) struct StatusLists {
    lists: Vec<ListState>,
}

#[derive(Debug, Clone)]
struct ListState {
    list: StatusList,
    /// Bumped at every bit change, so a kept token knows it is stale.
    version: u64,
    token: Option<SignedToken>,
}

#[derive(Debug, Clone)]
struct SignedToken {
    version: u64,
    iat: UnixTime,
    bytes: Vec<u8>,
}

impl StatusLists {
    /// (list id, index) of the `ordinal`th credential.
    pub(super) fn position(ordinal: usize) -> (u64, u64) {
        let o = ordinal as u64;
        (o / STATUS_LIST_CAPACITY + 1, o % STATUS_LIST_CAPACITY)
    }

    /// Make sure the list of the `ordinal`th credential exists (all VALID).
    pub(super) fn allocate(&mut self, ordinal: usize) -> Result<(), Error> {
        let (id, _) = Self::position(ordinal);
        while (self.lists.len() as u64) < id {
            self.lists.push(ListState {
                list: StatusList::new(STATUS_LIST_BITS, STATUS_LIST_CAPACITY)?,
                version: 0,
                token: None,
            });
        }
        Ok(())
    }

    /// Mark the `ordinal`th credential INVALID.
    fn invalidate(&mut self, ordinal: usize) {
        let (id, idx) = Self::position(ordinal);
        let Some(state) = self.lists.get_mut((id - 1) as usize) else {
            return;
        };
        if state.list.get(idx) != Some(INVALID) && state.list.set(idx, INVALID).is_ok() {
            state.version += 1;
        }
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut ListState> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.lists.get_mut(i)
    }
}

impl Issuer {
    /// The URI of status list `id` (its Status List Token's `sub`).
    pub fn status_list_uri(&self, id: u64) -> String {
        format!("{}{STATUS_LIST_PATH}/{id}", self.config.base_url)
    }

    /// The status list entry of the `ordinal`th credential.
    pub(super) fn status_ref_of(&self, ordinal: usize) -> StatusRef {
        let (id, idx) = StatusLists::position(ordinal);
        StatusRef {
            idx,
            uri: self.status_list_uri(id),
        }
    }

    /// The status list entry of `document_number` (as its MSO states it).
    pub fn status_ref(&self, document_number: &str) -> Option<StatusRef> {
        self.credentials
            .index_of(document_number)
            .map(|i| self.status_ref_of(i))
    }

    /// Status lists made so far (ids `1..=n`).
    pub fn status_list_count(&self) -> u64 {
        self.status_lists.lists.len() as u64
    }

    /// Give the `ordinal`th credential its entry (called once it is issued).
    pub(super) fn allocate_status(&mut self, ordinal: usize) -> Result<(), Error> {
        self.status_lists.allocate(ordinal)
    }

    /// Revoke the `ordinal`th credential for `reason` at `now`, unless it already is: the
    /// record says why and when, its status list entry becomes INVALID.
    pub(super) fn revoke(&mut self, ordinal: usize, reason: RevocationReason, now: UnixTime) {
        if let Some(rec) = self.credentials.records.get_mut(ordinal) {
            if rec.revoked.is_none() {
                rec.revoked = Some((reason, now));
                self.status_lists.invalidate(ordinal);
            }
        }
    }

    /// [`Issuer::status_list_token`] for the list at `uri`, as the MSO's `status` names it: a
    /// relying party in the same process fetches it this way instead of over HTTP. A URI that
    /// is not one of this issuer's lists is [`Error::UnknownStatusList`].
    pub fn status_list_token_by_uri(&mut self, uri: &str, now: UnixTime) -> Result<Vec<u8>, Error> {
        let prefix = format!("{}{STATUS_LIST_PATH}/", self.config.base_url);
        let id = uri
            .strip_prefix(&prefix)
            .and_then(|tail| tail.parse::<u64>().ok())
            .ok_or(Error::UnknownStatusList)?;
        self.status_list_token(id, now)
    }

    /// The Status List Token (CWT, §5.2) of list `id` at `now`: the bytes `GET
    /// /status-lists/{id}` answers with `Content-Type: application/statuslist+cwt`. Signed
    /// afresh only if the list changed since the kept token was signed, or that token is
    /// [`STATUS_LIST_RESIGN_AFTER`] old (or from after `now`); else the kept bytes.
    pub fn status_list_token(&mut self, id: u64, now: UnixTime) -> Result<Vec<u8>, Error> {
        let uri = self.status_list_uri(id);
        let state = self
            .status_lists
            .get_mut(id)
            .ok_or(Error::UnknownStatusList)?;
        if let Some(t) = &state.token {
            if t.version == state.version
                && t.iat <= now
                && now < t.iat.saturating_add(STATUS_LIST_RESIGN_AFTER)
            {
                return Ok(t.bytes.clone());
            }
        }
        let claims = TokenClaims {
            uri,
            iat: now,
            exp: Some(now.saturating_add(STATUS_LIST_LIFETIME)),
            ttl: Some(STATUS_LIST_TTL),
        };
        let bytes = status_list::sign(self.pki.mdoc_signer_at(now), &claims, &state.list)?;
        state.token = Some(SignedToken {
            version: state.version,
            iat: now,
            bytes: bytes.clone(),
        });
        Ok(bytes)
    }
}
