//! Persistence in a data directory: an SQLite (rusqlite, bundled) journal of every call that
//! changes the issuer, replayed on open.
//!
//! The issuer core is deterministic: the same seed and the same calls with the same `now`
//! give the same state, keys and answers. So the store keeps, in `issuer.sqlite`,
//! - `meta`: the seed, the creation time, the configuration and the rollout policy text;
//! - `journal`: one row per state-changing call (resident registration, nonce, desk offer,
//!   IC card application, token, credential, lost card, lost phone), in order, as JSON.
//!
//! The store is the durable half of [`crate::durable::DurableIssuer`]: the core answers a
//! call and hands back its journal entries; the shell commits them here, in one transaction
//! per call, before the answer leaves. So everything a call changes (offer spent, token
//! made, old credential revoked, new one recorded, idempotency answer kept) is kept or lost
//! together; a crash before the commit loses the call and its answer (the phone's retry with
//! the same idempotency key then runs it afresh), a crash after it is healed by the replay
//! (the retry gets the first answer). Opening a directory replays the journal, so a
//! restarted issuer has every resident, offer, credential and revocation it had, and so the
//! same Token Status Lists (their entries are given out and set inside the credential and
//! loss-report calls, so they need no rows of their own). The price is a start-up time that
//! grows with the history.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::journal::{Command, Meta};
use crate::Error;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "issuer.sqlite";

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

    /// Append the entries of one call to the journal in one transaction, committed (with
    /// `synchronous = FULL`, on disk) before it returns.
    pub(crate) fn append(&mut self, cmds: &[Command]) -> Result<(), Error> {
        if cmds.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(storage)?;
        for cmd in cmds {
            let json = serde_json::to_string(cmd).map_err(storage)?;
            tx.execute("INSERT INTO journal (json) VALUES (?1)", params![json])
                .map_err(storage)?;
        }
        tx.commit().map_err(storage)
    }
}
