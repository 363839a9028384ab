//! `sim-card`: run a virtual card on pcscd's vpcd reader.
//!
//! ```text
//! sim-card serve --vpcd 127.0.0.1:35963 --seed 7
//! ```
//! serves one personalised demo card until Ctrl-C, reconnecting when pcscd restarts. Logs go
//! to stderr; `RUST_LOG=sim_card=trace` shows every APDU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sim_card::vpcd::{self, VpcdOptions};

/// The virtual IC resident registration card.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve one personalised demo card on pcscd's vpcd reader until Ctrl-C.
    Serve {
        /// Address of the vpcd reader (slot 0 is 35963, slot 1 is 35964).
        #[arg(long, default_value = vpcd::DEFAULT_ADDR)]
        vpcd: String,
        /// Seed of the card's personalisation and randomness.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Cmd::Serve { vpcd: addr, seed } => {
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
                .context("installing the Ctrl-C handler")?;
            let mut card = sim_card::Card::demo(seed);
            let (can, _password) = sim_card::demo_secrets(seed);
            tracing::info!(vpcd = %addr, seed, can, "serving the demo card; Ctrl-C stops");
            vpcd::serve(&mut card, &VpcdOptions::new(addr), &stop)?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}
