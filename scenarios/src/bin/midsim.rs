//! `midsim`: the mobile ID simulation and test harness.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "midsim",
    version,
    about = "Mobile ID rollout simulation and test harness"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Tap a virtual IC card: PACE, read every data group, Passive and Active
    /// Authentication; print the APDU transcript and write it to the report folder.
    Tap {
        /// Seed of the demo card (the same seed gives the same card, byte for byte).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder the transcript is written to.
        #[arg(long, default_value = "midsim-report")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Tap {
        seed: 7,
        out: PathBuf::from("midsim-report"),
    });
    match command {
        Command::Tap { seed, out } => tap(seed, &out),
    }
}

fn tap(seed: u64, out: &std::path::Path) -> anyhow::Result<()> {
    let report = scenarios::demo::tap(seed)
        .map_err(|e| anyhow::anyhow!("tap failed: {e}\nreplay with: midsim tap --seed {seed}"))?;
    let verdict = |r: &Result<(), protocol::Error>| match r {
        Ok(()) => "pass".to_string(),
        Err(e) => format!("FAIL ({e})"),
    };
    let summary = format!(
        "{}\nholder: {:?}\npassive authentication: {}\nactive authentication: {}\n",
        report.transcript,
        report.holder,
        verdict(&report.passive),
        verdict(&report.active)
    );
    print!("{summary}");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("tap-transcript.txt");
    std::fs::write(&path, &summary).with_context(|| format!("writing {}", path.display()))?;
    println!("transcript written to {}", path.display());
    if report.passive.is_err() || report.active.is_err() {
        anyhow::bail!("the card did not authenticate; replay with: midsim tap --seed {seed}");
    }
    Ok(())
}
