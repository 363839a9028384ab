//! Persistence in a data directory: an SQLite (rusqlite, bundled) journal of every call that
//! changes the issuer, replayed on open.
//!
//! The issuer core is deterministic: the same seed and the same calls with the same `now`
//! give the same state, keys and answers. So the store keeps, in `issuer.sqlite`,
//! - `meta`: the seed, the creation time, the configuration and the rollout policy text;
//! - `journal`: one row per state-changing call (resident registration, nonce, desk offer,
//!   IC card application, token, credential, lost card, lost phone), in order, as JSON.
//!
//! A call's row is committed before the call changes memory, in one transaction of its
//! own, so everything a call changes (offer spent, token made, old credential revoked, new
//! one recorded, idempotency answer kept) is kept or lost together, and a crash between the
//! commit and the answer is healed by the replay (a retry with the same idempotency key
//! then gets the answer). Opening a directory replays the journal, so a restarted issuer
//! has every resident, offer, credential and revocation it had. The price is a start-up
//! time that grows with the history.

use std::path::Path;

use protocol::oid4vci::{CredentialRequest, TokenRequest};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::issuer::{InPersonCheck, IssuerConfig};
use crate::registry::{Resident, ResidentId};
use crate::{Error, UnixTime};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "issuer.sqlite";

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

fn storage(e: impl core::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

/// The open database.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    /// Open (or create) the database in `dir`; gives the stored meta and journal, if any.
    pub(crate) fn open(dir: &Path) -> Result<(Self, Option<Meta>, Vec<Command>), Error> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let conn = Connection::open(dir.join(DB_FILE)).map_err(storage)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);",
        )
        .map_err(storage)?;
        let meta: Option<String> = conn
            .query_row("SELECT json FROM meta WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(storage)?;
        let meta = meta
            .map(|m| serde_json::from_str(&m).map_err(storage))
            .transpose()?;
        let mut commands = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT json FROM journal ORDER BY seq")
                .map_err(storage)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(storage)?;
            for row in rows {
                let json = row.map_err(storage)?;
                commands.push(serde_json::from_str(&json).map_err(storage)?);
            }
        }
        Ok((Self { conn }, meta, commands))
    }

    /// Record what a new issuer was created with.
    pub(crate) fn write_meta(&mut self, meta: &Meta) -> Result<(), Error> {
        let json = serde_json::to_string(meta).map_err(storage)?;
        self.conn
            .execute("INSERT INTO meta (id, json) VALUES (1, ?1)", params![json])
            .map_err(storage)?;
        Ok(())
    }

    /// Append one call to the journal, committed before it returns.
    pub(crate) fn append(&mut self, cmd: &Command) -> Result<(), Error> {
        let json = serde_json::to_string(cmd).map_err(storage)?;
        self.conn
            .execute("INSERT INTO journal (json) VALUES (?1)", params![json])
            .map_err(storage)?;
        Ok(())
    }
}
