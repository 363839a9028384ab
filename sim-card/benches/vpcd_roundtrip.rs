//! One APDU round trip through real pcscd + vpcd, next to a bare loopback socket echo with
//! the same 2-byte framing, and the ratio of the two measured in this run.
//!
//! Run (pcscd with the vsmartcard vpcd driver must be running, e.g.
//! `sudo pcscd --foreground --info &`; Debian packages pcscd vsmartcard-vpcd
//! libpcsclite-dev):
//! ```text
//! cargo bench -p sim-card --features pcsc --bench vpcd_roundtrip
//! ```
//! Target (DESIGN.md): the pcscd round trip within 2x of the bare echo. Nothing asserts it;
//! the ratio is printed.

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion};
use sim_card::vpcd::{self, VpcdOptions};
use sim_card::SmartCard;

const GET_CHALLENGE: [u8; 5] = [0x00, 0x84, 0x00, 0x00, 0x08];
const VPCD_ADDR: &str = "127.0.0.1:35963";
const READER: &str = "Virtual PCD 00 00";

fn fail(msg: &str) -> ! {
    eprintln!("vpcd_roundtrip: {msg}");
    std::process::exit(2);
}

/// Connect to our card through pcscd, waiting for the reader to show it.
fn pcsc_card() -> pcsc::Card {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap_or_else(|e| {
        fail(&format!(
            "pcscd is not reachable ({e}). Start it first: `pcscd --foreground --info &` \
             with the vsmartcard-vpcd driver installed."
        ))
    });
    let reader = CString::new(READER).unwrap_or_else(|_| fail("reader name"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match ctx.connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
            Ok(card) => return card,
            Err(pcsc::Error::UnknownReader) => fail(&format!(
                "pcscd has no reader \"{READER}\": install vsmartcard-vpcd and restart pcscd"
            )),
            Err(e) if Instant::now() > deadline => fail(&format!(
                "no card in \"{READER}\" after 15 s ({e}): is vpcd listening on {VPCD_ADDR}?"
            )),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn pcsc_roundtrip(card: &pcsc::Card, buf: &mut [u8]) -> usize {
    match card.transmit(&GET_CHALLENGE, buf) {
        Ok(r) => r.len(),
        Err(e) => fail(&format!("GET CHALLENGE through pcscd failed: {e}")),
    }
}

/// A loopback server answering every framed message with a 10-byte framed answer, as the
/// card answers GET CHALLENGE; the client side sets the same socket options as vpcd's client.
struct Echo {
    stream: TcpStream,
}

impl Echo {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail(&e.to_string()));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| fail(&e.to_string()));
        std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 2 + 256];
            loop {
                let _ = socket2::SockRef::from(&s).set_quickack(true);
                if s.read_exact(&mut buf[..2]).is_err() {
                    return;
                }
                let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                let _ = socket2::SockRef::from(&s).set_quickack(true);
                if len > 256 || s.read_exact(&mut buf[2..2 + len]).is_err() {
                    return;
                }
                let answer = [0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00];
                if s.write_all(&answer).is_err() {
                    return;
                }
            }
        });
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| fail(&e.to_string()));
        stream
            .set_nodelay(true)
            .unwrap_or_else(|e| fail(&e.to_string()));
        Self { stream }
    }

    fn roundtrip(&mut self, buf: &mut [u8; 12]) -> usize {
        let mut frame = [0u8; 7];
        frame[..2].copy_from_slice(&5u16.to_be_bytes());
        frame[2..].copy_from_slice(&GET_CHALLENGE);
        // Length and payload in two writes, as Debian's vpcd does.
        let ok = self.stream.write_all(&frame[..2]).is_ok()
            && self.stream.write_all(&frame[2..]).is_ok()
            && socket2::SockRef::from(&self.stream)
                .set_quickack(true)
                .is_ok()
            && self.stream.read_exact(buf).is_ok();
        if !ok {
            fail("loopback echo broke");
        }
        buf.len()
    }
}

/// Median time per round trip over `rounds` batches of `batch`.
fn median_per_op(rounds: usize, batch: u32, mut op: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                op();
            }
            start.elapsed() / batch
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let server = std::thread::spawn(move || {
        let mut card = sim_card::Card::demo(7);
        let options = VpcdOptions::new(VPCD_ADDR)
            .max_retries(20)
            .poll_interval(Duration::from_millis(20));
        vpcd::serve(&mut card, &options, &flag)
    });

    let card = pcsc_card();
    let mut echo = Echo::start();
    let mut pbuf = [0u8; 258];
    let mut ebuf = [0u8; 12];

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("apdu_roundtrip");
    group.bench_function("pcscd_vpcd_get_challenge", |b| {
        b.iter(|| black_box(pcsc_roundtrip(&card, &mut pbuf)))
    });
    group.bench_function("loopback_echo_same_framing", |b| {
        b.iter(|| black_box(echo.roundtrip(&mut ebuf)))
    });
    group.finish();

    // The ratio, from interleaved batches measured here and now.
    let (mut pcscd, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        pcscd.push(median_per_op(5, 200, || {
            black_box(pcsc_roundtrip(&card, &mut pbuf));
        }));
        bare.push(median_per_op(5, 200, || {
            black_box(echo.roundtrip(&mut ebuf));
        }));
    }
    pcscd.sort();
    bare.sort();
    let (p, e) = (pcscd[2], bare[2]);
    // The card's own work, in process: not transport cost, shown so it can be told apart.
    let mut alone = sim_card::Card::demo(8);
    alone.power_on();
    let c = median_per_op(5, 200, || {
        black_box(alone.transmit(&GET_CHALLENGE));
    });
    let ratio = p.as_secs_f64() / e.as_secs_f64().max(1e-12);
    let transport = p.saturating_sub(c).as_secs_f64() / e.as_secs_f64().max(1e-12);
    println!(
        "vpcd_roundtrip: pcscd+vpcd GET CHALLENGE {p:?}, bare loopback echo {e:?}, card alone {c:?}"
    );
    println!(
        "vpcd_roundtrip: ratio {ratio:.2}x (target <= 2x) {}; without the card's own work {transport:.2}x",
        if ratio <= 2.0 { "OK" } else { "ABOVE TARGET" }
    );

    drop(card);
    stop.store(true, Ordering::Relaxed);
    if let Ok(Err(e)) = server.join() {
        eprintln!("vpcd_roundtrip: the vpcd client ended with: {e}");
    }
}
