//! Tap-to-issue with the card behind real PC/SC middleware: our virtual card served to
//! pcscd's vpcd reader (`sim_card::vpcd`), the phone reading it through `PcscReader`.
//!
//! Built with the feature `pcsc`. Needs a running `pcscd` with the vsmartcard vpcd driver
//! (Debian: `pcscd vsmartcard-vpcd`; `.ci/run` starts it). Without it this test fails and
//! says so; it never skips.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sim_card::vpcd::{self, VpcdOptions};
use sim_phone::{
    IssueEvent, IssueFlow, IssueOutput, IssueState, IssuerClient, NfcReader, PcscReader, TapEvent,
};

use crate::issue::{config, world, World};

const APRIL: i64 = 1_743_476_400;
const VPCD_ADDR: &str = "127.0.0.1:35963";
const READER: &str = "Virtual PCD 00 00";

#[test]
fn tap_to_issue_through_pcscd_and_vpcd() {
    let World {
        mut issuer,
        card,
        pin,
        mut keystore,
        mut rng,
    } = world("11110");
    let cfg = config(&issuer, "010-1234-5678");

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let server = std::thread::spawn(move || {
        let mut card = card;
        let options = VpcdOptions::new(VPCD_ADDR)
            .max_retries(100)
            .backoff(Duration::from_millis(20), Duration::from_millis(200))
            .poll_interval(Duration::from_millis(20));
        let r = vpcd::serve(&mut card, &options, &flag);
        (r, card.password_tries())
    });

    let mut reader = PcscReader::open(READER).unwrap_or_else(|e| {
        stop.store(true, Ordering::Relaxed);
        panic!(
            "no PC/SC reader {READER:?}: {e}. Start pcscd with the vsmartcard vpcd driver \
             (Debian: pcscd vsmartcard-vpcd; `pcscd --foreground --info &`); .ci/run does both"
        )
    });
    // The card shows up once the vpcd client has connected.
    let deadline = Instant::now() + Duration::from_secs(10);
    let atr = loop {
        match reader.connect() {
            Ok(atr) => break atr,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                panic!("the served card never appeared in {READER:?}: {e}");
            }
        }
    };
    assert!(!atr.is_empty());
    assert!(reader.card_present());
    reader.disconnect();

    let mut flow = IssueFlow::tap(cfg);
    let mut events = vec![
        IssueEvent::Start,
        IssueEvent::Tap(TapEvent::Password(pin.clone())),
    ];
    let mut issued = None;
    let mut shown = Vec::new();
    let mut tapped = false;
    let mut apdus = 0u32;
    let started = Instant::now();
    loop {
        for e in std::mem::take(&mut events) {
            flow.handle(e, APRIL as u64, &mut rng, &mut keystore);
        }
        let Some(out) = flow.poll() else {
            if flow.state() == IssueState::Card && !tapped {
                tapped = true;
                reader.connect().unwrap();
                events.push(IssueEvent::Tap(TapEvent::CardTapped));
                continue;
            }
            break;
        };
        match out {
            IssueOutput::Transmit(b) => {
                apdus += 1;
                events.push(IssueEvent::Tap(match reader.transmit(&b) {
                    Ok(a) => TapEvent::Response(a),
                    Err(_) => TapEvent::CardRemoved,
                }));
            }
            IssueOutput::Disconnect => reader.disconnect(),
            IssueOutput::Show(e) => shown.push(e),
            IssueOutput::Call {
                idempotency_key,
                request,
            } => {
                let mut log = String::new();
                let mut client = crate::issue::InProcess {
                    issuer: &mut issuer,
                    log: &mut log,
                };
                events.push(IssueEvent::Issuer(client.call(
                    &idempotency_key,
                    &request,
                    APRIL,
                )));
            }
            IssueOutput::Issued(m) => issued = Some(*m),
            _ => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (served, tries) = server.join().unwrap();
    served.unwrap();
    assert_eq!(flow.state(), IssueState::Done, "{shown:?}");
    let id = issued.unwrap();
    assert_eq!(id.verified.device_key, keystore.public_key(id.key).unwrap());
    assert_eq!(tries, 3);
    eprintln!(
        "{apdus} APDUs through pcscd+vpcd, whole flow {:?}",
        started.elapsed()
    );
}
