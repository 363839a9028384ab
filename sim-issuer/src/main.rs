//! `sim-issuer`: run the mock issuer over HTTP on a loopback port, or write a sample
//! credential for a person to inspect with their own tools.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sim_issuer::durable::DurableIssuer;
use sim_issuer::http::{app, AppState};
use sim_issuer::issuer::{Issuer, IssuerConfig};
use sim_issuer::policy::{Policy, DEFAULT_ROLLOUT_TOML};
use sim_issuer::sample;

#[derive(Parser)]
#[command(about = "The mock issuer of the national mobile ID simulator")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the issuer's HTTP API on 127.0.0.1.
    Serve {
        /// TCP port (0 picks a free one).
        #[arg(long, default_value_t = 8443)]
        port: u16,
        /// Seed of the issuer's keys and of the generated residents.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Residents to generate (ids 0..N).
        #[arg(long, default_value_t = 1000)]
        residents: u64,
        /// A rollout policy file to use instead of the shipped one.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Keep the issuer in this directory (SQLite): a restart restores it. Without it
        /// the issuer lives in memory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Issue a credential for a generated resident and write `mdoc.cbor` (a device-signed
    /// DeviceResponse), `session-transcript.cbor`, `issuer-signed.cbor` and `iaca-root.pem`
    /// into DIR.
    Sample {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Serve {
            port,
            seed,
            residents,
            policy,
            data_dir,
        } => {
            let policy_toml = match policy {
                Some(p) => std::fs::read_to_string(&p).with_context(|| format!("reading {p:?}"))?,
                None => DEFAULT_ROLLOUT_TOML.to_owned(),
            };
            let now = unix_now();
            let issuer = match data_dir {
                Some(dir) => {
                    let mut issuer = DurableIssuer::open(
                        &dir,
                        seed,
                        IssuerConfig::default(),
                        &policy_toml,
                        now,
                    )?;
                    if issuer.core().registry().is_empty() {
                        issuer.run(|i| sample::populate(i, seed, residents, now))??;
                    }
                    issuer
                }
                None => {
                    let policy = Policy::from_toml(&policy_toml)?;
                    let mut issuer = Issuer::new(seed, IssuerConfig::default(), policy, now)?;
                    sample::populate(&mut issuer, seed, residents, now)?;
                    DurableIssuer::in_memory(issuer)
                }
            };
            let state = AppState::durable(issuer, Arc::new(unix_now));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                let listener = tokio::net::TcpListener::bind(addr).await?;
                println!("sim-issuer listening on http://{}", listener.local_addr()?);
                axum::serve(listener, app(state)).await?;
                anyhow::Ok(())
            })
        }
        Cmd::Sample { out, seed } => {
            let files = sample::sample_credential(seed)?;
            std::fs::create_dir_all(&out)?;
            for (name, bytes) in files {
                let path = out.join(name);
                std::fs::write(&path, bytes).with_context(|| format!("writing {path:?}"))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}
