//! The persistence shell around the sans-IO core: an [`Issuer`] and, for a data directory,
//! its SQLite journal ([`crate::store`]).
//!
//! [`DurableIssuer::run`] gives the core one call; the core answers and hands back the
//! call's journal entries ([`Issuer::take_journal`]); the shell commits them in one
//! transaction and only then lets the answer go. If the commit fails, the answer is
//! withheld and the shell refuses every later call ([`Error::Storage`]): the core's memory
//! is then ahead of the disk, and only a restart (which replays the disk) makes them agree.
//! The HTTP shell runs this on a blocking thread, off the async workers.

use std::path::Path;

use crate::config::IssuerConfig;
use crate::issuer::Issuer;
use crate::journal::Meta;
use crate::policy::Policy;
use crate::store::Store;
use crate::{Error, UnixTime};

/// The issuer core with its journal shell.
#[derive(Debug)]
pub struct DurableIssuer {
    core: Issuer,
    store: Option<Store>,
    broken: Option<String>,
}

impl DurableIssuer {
    /// An issuer kept in memory only (nothing survives the process).
    pub fn in_memory(core: Issuer) -> Self {
        Self {
            core,
            store: None,
            broken: None,
        }
    }

    /// An issuer kept in the data directory `dir`. A new directory makes a new issuer from
    /// `seed`, `config`, `policy_toml` and `now`; an existing one restores the issuer it
    /// holds (its own seed, configuration and policy; the arguments are then unused) by
    /// replaying its journal, with every resident, offer, credential and revocation.
    pub fn open(
        dir: &Path,
        seed: u64,
        config: IssuerConfig,
        policy_toml: &str,
        now: UnixTime,
    ) -> Result<Self, Error> {
        let (mut store, meta, journal) = Store::open(dir)?;
        let meta = match meta {
            Some(m) => m,
            None => {
                let m = Meta {
                    seed,
                    created_at: now,
                    config,
                    policy_toml: policy_toml.to_owned(),
                };
                // Validate before anything is written.
                Policy::from_toml(&m.policy_toml)?;
                store.write_meta(&m)?;
                m
            }
        };
        let policy = Policy::from_toml(&meta.policy_toml)?;
        let mut core = Issuer::new(meta.seed, meta.config, policy, meta.created_at)?.journaling();
        core.replay(journal.into_iter().map(crate::journal::JournalEntry));
        Ok(Self {
            core,
            store: Some(store),
            broken: None,
        })
    }

    /// The core, to read (metadata, PKI, registry, status).
    pub fn core(&self) -> &Issuer {
        &self.core
    }

    /// Run one call on the core; its answer comes back once its journal entries are durable.
    pub fn run<T>(&mut self, call: impl FnOnce(&mut Issuer) -> T) -> Result<T, Error> {
        if let Some(why) = &self.broken {
            return Err(Error::Storage(format!(
                "the journal failed earlier ({why}); restart the issuer"
            )));
        }
        let answer = call(&mut self.core);
        let entries = self.core.take_journal();
        if let Some(store) = self.store.as_mut() {
            let cmds: Vec<_> = entries.into_iter().map(|e| e.0).collect();
            if let Err(e) = store.append(&cmds) {
                self.broken = Some(e.to_string());
                return Err(e);
            }
        }
        Ok(answer)
    }

    /// Fault injection: run one call and stop before its journal entries are durable, as a
    /// crash between the core's answer and the commit would. The shell is gone; the answer
    /// is returned only so a test can show that it never left.
    pub fn crash_after_answer<T>(mut self, call: impl FnOnce(&mut Issuer) -> T) -> T {
        let answer = call(&mut self.core);
        drop(self);
        answer
    }
}
