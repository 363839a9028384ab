//! Interop with real PC/SC middleware: our card on pcscd's vpcd reader, driven by
//! `opensc-tool` and by pyscard.
//!
//! Needs a running `pcscd` with the vsmartcard vpcd driver (Debian: `pcscd vsmartcard-vpcd
//! opensc python3-pyscard`); `.ci/run` installs and starts them. Built only with the feature
//! `pcscd-tests`; with the feature on and pcscd missing, these tests fail and say what is
//! missing. They share one vpcd slot, so they take turns on [`VPCD`].

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use sim_card::vpcd::{self, VpcdOptions};

/// The vpcd slot the tests use and its reader name.
const VPCD_ADDR: &str = "127.0.0.1:35963";
const READER: &str = "Virtual PCD 00 00";

/// One test at a time on the vpcd slot.
static VPCD: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    VPCD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A card served on the vpcd slot from a background thread; stopped on drop.
struct ServedCard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), sim_card::Error>>>,
}

impl ServedCard {
    fn start(seed: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut card = sim_card::Card::demo(seed);
            let options = VpcdOptions::new(VPCD_ADDR)
                .max_retries(50)
                .backoff(Duration::from_millis(20), Duration::from_millis(200))
                .poll_interval(Duration::from_millis(20));
            vpcd::serve(&mut card, &options, &flag)
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the vpcd client thread panicked"))?
                .context("the vpcd client failed"),
            None => Ok(()),
        }
    }
}

impl Drop for ServedCard {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

fn run(cmd: &mut Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.output().with_context(|| {
        format!("could not run `{program}`: is it installed? (Debian: opensc, python3-pyscard)")
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The readers as `opensc-tool -l` lists them: (number, card present, name).
fn list_readers() -> Result<Vec<(usize, bool, String)>> {
    let out = run(Command::new("opensc-tool").arg("-l"))?;
    let all = text(&out);
    let readers: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let nr = words.next()?.parse().ok()?;
            let card = words.next()? == "Yes";
            let name = line.get(line.find("Virtual")?..)?.trim().to_owned();
            Some((nr, card, name))
        })
        .collect();
    if readers.is_empty() {
        if all.contains("establish") || all.contains("No smart card readers") {
            bail!(
                "pcscd is not running or has no readers. Start it with \
                 `pcscd --foreground --info &` (package pcscd) and install the vpcd driver \
                 (package vsmartcard-vpcd); .ci/run does both.\nopensc-tool -l said:\n{all}"
            );
        }
        bail!(
            "pcscd lists no vsmartcard reader \"{READER}\": install vsmartcard-vpcd and restart \
             pcscd.\nopensc-tool -l said:\n{all}"
        );
    }
    Ok(readers)
}

/// Wait until the vpcd reader shows our card; returns its reader number for `opensc-tool -r`.
fn wait_for_card() -> Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let readers = list_readers()?;
        let Some(&(nr, present, _)) = readers.iter().find(|(_, _, name)| name == READER) else {
            bail!(
                "pcscd is running but has no reader \"{READER}\" (vsmartcard-vpcd not \
                 installed or not configured in /etc/reader.conf.d?). Readers: {readers:?}"
            );
        };
        if present {
            return Ok(nr);
        }
        if Instant::now() > deadline {
            bail!(
                "the reader \"{READER}\" shows no card 15 s after our card connected to \
                 {VPCD_ADDR}: is pcscd's vpcd listening there?"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait until the reader shows no card, so the next test starts from an empty slot.
fn wait_for_no_card() -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while list_readers()?
        .iter()
        .any(|(_, present, name)| name == READER && *present)
    {
        ensure!(
            Instant::now() < deadline,
            "the card never left \"{READER}\""
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The responses in `opensc-tool -s` output: (SW, data) per APDU sent.
fn parse_opensc_responses(output: &str) -> Result<Vec<(u16, Vec<u8>)>> {
    let mut responses: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut in_data = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("Received (SW1=0x") {
            let sw1 = u8::from_str_radix(rest.get(..2).context("SW1")?, 16)?;
            let rest = rest.get(2..).unwrap_or_default();
            let rest = rest
                .strip_prefix(", SW2=0x")
                .context("SW2 in opensc output")?;
            let sw2 = u8::from_str_radix(rest.get(..2).context("SW2")?, 16)?;
            responses.push((u16::from_be_bytes([sw1, sw2]), Vec::new()));
            in_data = true;
        } else if line.starts_with("Sending") || line.starts_with("Using") {
            in_data = false;
        } else if in_data {
            // "31 14 30 12 ... .1.0..": up to 16 hex bytes, then the ASCII column.
            let data = &mut responses.last_mut().context("data before a response")?.1;
            for word in line.split(' ').take(16) {
                if word.len() == 2 {
                    if let Ok(b) = u8::from_str_radix(word, 16) {
                        data.push(b);
                        continue;
                    }
                }
                break;
            }
        }
    }
    Ok(responses)
}

#[test]
fn opensc_tool_selects_the_emrtd_app_and_reads_ef_cardaccess() -> Result<()> {
    let _turn = take_turn();
    list_readers()?;
    let card = ServedCard::start(7);
    let nr = wait_for_card()?;
    let out = run(Command::new("opensc-tool").args([
        "-c",
        "default",
        "-r",
        &nr.to_string(),
        "-s",
        "00A4040C07A0000002471001",
        "-s",
        "00B09C0000",
    ]))?;
    let all = text(&out);
    ensure!(out.status.success(), "opensc-tool failed:\n{all}");
    let responses = parse_opensc_responses(&all)?;
    ensure!(responses.len() == 2, "expected 2 responses:\n{all}");
    ensure!(responses[0].0 == 0x9000, "SELECT eMRTD:\n{all}");
    ensure!(responses[1].0 == 0x9000, "READ BINARY SFI 1C:\n{all}");
    ensure!(
        responses[1].1.first() == Some(&0x31),
        "EF.CardAccess is not a DER SET:\n{all}"
    );
    card.stop()?;
    wait_for_no_card()
}

#[test]
fn pyscard_reads_ef_cardaccess_and_gets_fresh_challenges() -> Result<()> {
    let _turn = take_turn();
    list_readers()?;
    let card = ServedCard::start(8);
    wait_for_card()?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pcscd/pyscard_check.py");
    // Debian's pyscard is installed for the system interpreter, not a python3 on PATH.
    let out = run(Command::new("/usr/bin/python3").arg(&script).arg(READER))?;
    let all = text(&out);
    ensure!(out.status.success(), "{} failed:\n{all}", script.display());
    let field = |label: &str| -> Result<(String, String)> {
        let mut found = all
            .lines()
            .filter_map(|l| l.strip_prefix(label)?.strip_prefix(' '))
            .map(|rest| {
                let (sw, data) = rest.split_once(' ').unwrap_or((rest, ""));
                (sw.to_owned(), data.trim().to_owned())
            });
        found
            .next()
            .with_context(|| format!("no {label} line in:\n{all}"))
    };
    let (sw, _) = field("SELECT")?;
    ensure!(sw == "9000", "SELECT eMRTD: {sw}\n{all}");
    let (sw, data) = field("READ")?;
    ensure!(
        sw == "9000" && data.starts_with("31"),
        "READ BINARY: {sw} {data}\n{all}"
    );
    let (sw1, c1) = field("CHALLENGE1")?;
    let (sw2, c2) = field("CHALLENGE2")?;
    ensure!(
        sw1 == "9000" && sw2 == "9000",
        "GET CHALLENGE: {sw1} {sw2}\n{all}"
    );
    ensure!(
        c1.len() == 16 && c2.len() == 16,
        "8-byte challenges:\n{all}"
    );
    ensure!(c1 != c2, "two challenges are equal:\n{all}");
    card.stop()?;
    wait_for_no_card()
}
