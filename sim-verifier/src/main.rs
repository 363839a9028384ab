//! `sim-verifier`: run one relying party over HTTP on a loopback port.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_verifier::http::{app, AppState, StatusFetcher};
use sim_verifier::{RpKind, TrustedIssuer, Verifier, VerifierConfig};

#[derive(Parser)]
#[command(about = "A relying party of the national mobile ID simulator (mip QR-MPM)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve one relying party's /mip/* handlers and its counter calls on 127.0.0.1.
    Serve {
        /// What it is: government, bank, hospital or age-check.
        #[arg(long, default_value = "bank")]
        kind: RpKind,
        /// TCP port (0 picks a free one).
        #[arg(long, default_value_t = 8600)]
        port: u16,
        /// The issuer's IACA root certificate (PEM), e.g. the `iaca-root.pem` that
        /// `sim-issuer sample` writes.
        #[arg(long)]
        iaca: PathBuf,
        /// The issuer's identifier on the profile's allowIssuerList.
        #[arg(long, default_value = "did:kr:mobileid:mois")]
        issuer_id: String,
        /// Seed of the verifier's signing key and its transactions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Seconds a transaction stays open.
        #[arg(long, default_value_t = sim_verifier::DEFAULT_TIMEOUT_SECS)]
        timeout: i64,
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
            kind,
            port,
            iaca,
            issuer_id,
            seed,
            timeout,
        } => {
            let pem =
                std::fs::read_to_string(&iaca).with_context(|| format!("reading {iaca:?}"))?;
            let root = protocol::pki::parse_pem(&pem)
                .map_err(|e| anyhow::anyhow!("{iaca:?} is not a PEM certificate: {e}"))?;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let key = protocol::crypto::generate_signing_key(&mut rng);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                let listener = tokio::net::TcpListener::bind(addr).await?;
                let host = format!("http://{}", listener.local_addr()?);
                let mut cfg = VerifierConfig::new(
                    kind,
                    host.clone(),
                    vec![TrustedIssuer {
                        id: issuer_id,
                        iaca: root,
                    }],
                );
                cfg.timeout_secs = timeout;
                let verifier = Verifier::new(cfg, key);
                println!(
                    "sim-verifier ({kind}) listening on {host}; id {}, profile key {}",
                    verifier.config().id,
                    protocol::mip::public_key_text(&(*verifier.verifying_key()).into()),
                );
                let state = AppState::new(
                    verifier,
                    seed,
                    Arc::new(unix_now),
                    StatusFetcher::Http(reqwest::Client::new()),
                );
                axum::serve(listener, app(state)).await?;
                anyhow::Ok(())
            })
        }
    }
}
