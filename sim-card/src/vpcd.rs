//! The vsmartcard vpcd socket transport: plugs a [`SmartCard`] into pcscd's virtual reader.
//!
//! pcscd's vpcd driver listens on TCP (127.0.0.1:35963 for slot 0, 35964 for slot 1) and the
//! card connects to it as a client, as vsmartcard's vicc and vpicc-rs do. While the
//! connection is open the reader shows a card.
//!
//! Wire format (vsmartcard `vpcd.h`): every message in both directions is a 2-byte big-endian
//! length followed by that many bytes of payload.
//! - A 1-byte payload from the reader is a control message: `00` power off, `01` power on,
//!   `02` reset, `04` get ATR. Only `04` is answered, with the ATR as one frame.
//! - A longer payload is a command APDU; the answer is the response APDU as one frame.
//!
//! Debian's vpcd writes the length and the payload in two `send`s. With delayed ACKs and
//! Nagle on both sides that costs ~40 ms per APDU, so the client sets `TCP_NODELAY` once and
//! `TCP_QUICKACK` (Linux) before every read: the kernel clears QUICKACK after a while.
//!
//! What is here:
//! - [`Message`]: decoding one payload, sans-IO; [`encode_frame`] for the other direction.
//! - [`VpcdConnection`]: one connection; [`VpcdConnection::serve`] answers until the reader
//!   closes or a stop flag is set.
//! - [`serve`]: the long-running loop with [`VpcdOptions`]: connect, serve, and reconnect
//!   with back-off when pcscd restarts, until the stop flag is set or the retries run out.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, SmartCard};

/// Default address of pcscd's vpcd reader, slot 0 ("Virtual PCD 00 00").
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// The largest payload one frame can carry.
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// Control byte: power off (vsmartcard `vpcd.h` `VPCD_CTRL_OFF`).
const CTRL_OFF: u8 = 0x00;
/// Control byte: power on (`VPCD_CTRL_ON`).
const CTRL_ON: u8 = 0x01;
/// Control byte: reset (`VPCD_CTRL_RESET`).
const CTRL_RESET: u8 = 0x02;
/// Control byte: get ATR (`VPCD_CTRL_ATR`).
const CTRL_ATR: u8 = 0x04;

/// Status word sent when the card's response cannot be framed (ISO 7816-4 §5.6: 6F00, no
/// precise diagnosis).
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// One message from the reader, decoded from a frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// `00`: the card leaves the field.
    PowerOff,
    /// `01`: cold reset.
    PowerOn,
    /// `02`: warm reset.
    Reset,
    /// `04`: send the ATR.
    GetAtr,
    /// Two or more bytes: a command APDU.
    Apdu(&'a [u8]),
}

impl<'a> Message<'a> {
    /// Decode a payload. `position` is the stream offset of the frame, for the error.
    pub fn decode(payload: &'a [u8], position: u64) -> Result<Self, Error> {
        match payload {
            [] => Err(Error::EmptyFrame { position }),
            [CTRL_OFF] => Ok(Self::PowerOff),
            [CTRL_ON] => Ok(Self::PowerOn),
            [CTRL_RESET] => Ok(Self::Reset),
            [CTRL_ATR] => Ok(Self::GetAtr),
            [byte] => Err(Error::UnknownControl { byte: *byte }),
            apdu => Ok(Self::Apdu(apdu)),
        }
    }
}

/// Frame a payload: 2-byte big-endian length, then the bytes.
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, Error> {
    let len =
        u16::try_from(payload.len()).map_err(|_| Error::FrameTooLong { len: payload.len() })?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// How a served connection ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnect {
    /// The reader closed the connection between two frames (pcscd stopped or restarted).
    Closed,
    /// The stop flag was set.
    Stopped,
    /// The card answered an APDU with nothing: it left the field (a torn tap). The client
    /// hangs up so the reader shows no card; [`serve`] reconnects after a back-off, which
    /// is the card coming back.
    CardLeft,
}

/// What a stream needs before each read. For TCP this sets `TCP_QUICKACK`.
trait BeforeRead {
    fn before_read(&self) -> io::Result<()>;
}

impl BeforeRead for TcpStream {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn before_read(&self) -> io::Result<()> {
        socket2::SockRef::from(self).set_quickack(true)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn before_read(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Result of filling a buffer from the stream.
enum Fill {
    Done,
    Closed,
    Stopped,
}

/// The framing state of one connection, generic over the stream so tests can feed bytes.
struct Framed<S> {
    stream: S,
    /// Bytes read so far, for error positions.
    position: u64,
    payload: Vec<u8>,
}

impl<S: Read + Write + BeforeRead> Framed<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            position: 0,
            payload: Vec::new(),
        }
    }

    /// Fill `buf` completely. A read timeout counts as a poll tick: the stop flag is checked
    /// and reading goes on where it was. `boundary`: an EOF before the first byte is a clean
    /// close, not a truncation.
    fn fill(&mut self, buf: &mut [u8], stop: &AtomicBool, boundary: bool) -> Result<Fill, Error> {
        let mut got = 0;
        while got < buf.len() {
            if stop.load(Ordering::Relaxed) {
                return Ok(Fill::Stopped);
            }
            self.stream.before_read().map_err(|source| Error::Io {
                op: "set TCP_QUICKACK",
                source,
            })?;
            let Some(rest) = buf.get_mut(got..) else {
                break;
            };
            match self.stream.read(rest) {
                Ok(0) if boundary && got == 0 => return Ok(Fill::Closed),
                Ok(0) => {
                    return Err(Error::TruncatedFrame {
                        position: self.position - got as u64,
                        expected: buf.len(),
                        got,
                    })
                }
                Ok(n) => {
                    got += n;
                    self.position += n as u64;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) if boundary && got == 0 && is_disconnect(&e) => return Ok(Fill::Closed),
                Err(source) => {
                    return Err(Error::Io {
                        op: "read frame",
                        source,
                    })
                }
            }
        }
        Ok(Fill::Done)
    }

    /// Read one frame into `self.payload`. `Ok(None)` is a clean end.
    fn read_frame(&mut self, stop: &AtomicBool) -> Result<Result<u64, Disconnect>, Error> {
        let start = self.position;
        let mut header = [0u8; 2];
        match self.fill(&mut header, stop, true)? {
            Fill::Done => {}
            Fill::Closed => return Ok(Err(Disconnect::Closed)),
            Fill::Stopped => return Ok(Err(Disconnect::Stopped)),
        }
        let len = usize::from(u16::from_be_bytes(header));
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        payload.resize(len, 0);
        let filled = self.fill(&mut payload, stop, false);
        self.payload = payload;
        match filled? {
            Fill::Done => Ok(Ok(start)),
            Fill::Closed => Ok(Err(Disconnect::Closed)),
            Fill::Stopped => Ok(Err(Disconnect::Stopped)),
        }
    }

    fn write_frame(&mut self, payload: &[u8]) -> Result<(), Error> {
        let frame = encode_frame(payload)?;
        self.stream.write_all(&frame).map_err(|source| Error::Io {
            op: "write frame",
            source,
        })?;
        self.stream.flush().map_err(|source| Error::Io {
            op: "flush frame",
            source,
        })
    }

    /// Answer messages until the peer closes or `stop` is set.
    fn serve<C: SmartCard + ?Sized>(
        &mut self,
        card: &mut C,
        stop: &AtomicBool,
    ) -> Result<Disconnect, Error> {
        loop {
            let position = match self.read_frame(stop)? {
                Ok(position) => position,
                Err(end) => return Ok(end),
            };
            let payload = std::mem::take(&mut self.payload);
            let answered = self.answer(card, &payload, position);
            self.payload = payload;
            if let Some(end) = answered? {
                return Ok(end);
            }
        }
    }

    fn answer<C: SmartCard + ?Sized>(
        &mut self,
        card: &mut C,
        payload: &[u8],
        position: u64,
    ) -> Result<Option<Disconnect>, Error> {
        match Message::decode(payload, position)? {
            Message::PowerOff => {
                tracing::debug!("vpcd: power off");
                card.power_off();
            }
            Message::PowerOn => {
                tracing::debug!("vpcd: power on");
                card.power_on();
            }
            Message::Reset => {
                tracing::debug!("vpcd: reset");
                card.reset();
            }
            Message::GetAtr => {
                let atr = card.atr();
                tracing::debug!(atr = %hex::encode_upper(&atr), "vpcd: get ATR");
                self.write_frame(&atr)?;
            }
            Message::Apdu(command) => {
                let response = card.transmit(command);
                // A fault knob: the card says how long it took; the transport models it.
                let took = card.processing_time();
                if !took.is_zero() {
                    std::thread::sleep(took);
                }
                if response.is_empty() {
                    tracing::info!(
                        command = %hex::encode_upper(command),
                        "vpcd: the card left the field (torn tap)"
                    );
                    return Ok(Some(Disconnect::CardLeft));
                }
                tracing::trace!(
                    command = %hex::encode_upper(command),
                    response = %hex::encode_upper(&response),
                    "vpcd: APDU"
                );
                match self.write_frame(&response) {
                    Err(Error::FrameTooLong { len }) => {
                        tracing::warn!(len, "vpcd: response too long for a frame; sent 6F00");
                        self.write_frame(&SW_NO_PRECISE_DIAGNOSIS)?;
                    }
                    other => other?,
                }
            }
        }
        Ok(None)
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// One TCP connection to a vpcd reader.
#[derive(Debug)]
pub struct VpcdConnection {
    framed: Framed<TcpStream>,
    peer: SocketAddr,
}

impl std::fmt::Debug for Framed<TcpStream> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framed")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl VpcdConnection {
    /// Connect once to `addr` (no retry), waiting at most `timeout` per resolved address. Any
    /// failure, including setting the socket options, is an [`Error::Connect`].
    pub fn connect(addr: &str, timeout: Duration) -> Result<Self, Error> {
        let addrs = addr.to_socket_addrs().map_err(|source| Error::Connect {
            addr: addr.to_owned(),
            attempts: 1,
            source,
        })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout).and_then(|stream| {
                Self::from_stream(stream).map_err(|e| match e {
                    Error::Io { source, .. } => source,
                    other => io::Error::other(other),
                })
            }) {
                Ok(conn) => return Ok(conn),
                Err(e) => last = e,
            }
        }
        Err(Error::Connect {
            addr: addr.to_owned(),
            attempts: 1,
            source: last,
        })
    }

    /// Wrap a connected stream: sets `TCP_NODELAY` and a 100 ms read timeout (how often a
    /// stop flag is looked at).
    pub fn from_stream(stream: TcpStream) -> Result<Self, Error> {
        let peer = stream.peer_addr().map_err(|source| Error::Io {
            op: "peer address",
            source,
        })?;
        stream.set_nodelay(true).map_err(|source| Error::Io {
            op: "set TCP_NODELAY",
            source,
        })?;
        let mut conn = Self {
            framed: Framed::new(stream),
            peer,
        };
        conn.set_poll_interval(Duration::from_millis(100))?;
        Ok(conn)
    }

    /// How long a read blocks before the stop flag is looked at again.
    pub fn set_poll_interval(&mut self, interval: Duration) -> Result<(), Error> {
        let interval = interval.max(Duration::from_millis(1));
        self.framed
            .stream
            .set_read_timeout(Some(interval))
            .map_err(|source| Error::Io {
                op: "set read timeout",
                source,
            })
    }

    /// The reader's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Answer the reader until it closes the connection ([`Disconnect::Closed`]), `stop` is
    /// set ([`Disconnect::Stopped`]) or the card tears ([`Disconnect::CardLeft`]). A malformed frame or a socket error ends the connection
    /// with an error; the card is left as it was (call [`SmartCard::power_off`] if the card
    /// should count as removed).
    pub fn serve<C: SmartCard + ?Sized>(
        &mut self,
        card: &mut C,
        stop: &AtomicBool,
    ) -> Result<Disconnect, Error> {
        self.framed.serve(card, stop)
    }
}

/// Where and how [`serve`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VpcdOptions {
    /// The reader's address, `host:port`.
    pub addr: String,
    /// Give up after this many failed connection attempts in a row; `None` retries forever.
    pub max_retries: Option<u32>,
    /// First back-off after a failed attempt or a closed connection; doubles up to
    /// `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
    /// How often a blocked read or a back-off looks at the stop flag.
    pub poll_interval: Duration,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
}

impl VpcdOptions {
    /// Defaults for `addr`: retry forever, back-off 50 ms doubling to 2 s, poll every 100 ms.
    pub fn new(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            max_retries: None,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            poll_interval: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// Give up after `n` failed attempts in a row.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Set the first and the longest back-off.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Set how often the stop flag is looked at.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

impl Default for VpcdOptions {
    fn default() -> Self {
        Self::new(DEFAULT_ADDR)
    }
}

/// Serve `card` on the vpcd reader at `options.addr` until `stop` is set.
///
/// Connects, answers the reader, and when the connection closes or breaks (pcscd restarted,
/// a malformed frame) powers the card off and reconnects after a back-off. Returns `Ok(())`
/// once `stop` is set, or [`Error::Connect`] after `options.max_retries` failed attempts in a
/// row.
pub fn serve<C: SmartCard + ?Sized>(
    card: &mut C,
    options: &VpcdOptions,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut failures: u32 = 0;
    let mut backoff = options.initial_backoff;
    while !stop.load(Ordering::Relaxed) {
        match VpcdConnection::connect(&options.addr, options.connect_timeout) {
            Ok(mut conn) => {
                failures = 0;
                backoff = options.initial_backoff;
                tracing::info!(reader = %conn.peer(), "vpcd: connected; the reader shows a card");
                let ended = conn
                    .set_poll_interval(options.poll_interval)
                    .and_then(|()| conn.serve(card, stop));
                card.power_off();
                match ended {
                    Ok(Disconnect::Stopped) => break,
                    Ok(Disconnect::Closed) => {
                        tracing::info!("vpcd: reader closed the connection; reconnecting")
                    }
                    Ok(Disconnect::CardLeft) => {
                        tracing::info!("vpcd: card left the field; reinserting after a back-off")
                    }
                    Err(e) => tracing::warn!(error = %e, "vpcd: connection failed; reconnecting"),
                }
            }
            Err(Error::Connect { source, .. }) => {
                failures = failures.saturating_add(1);
                if options.max_retries.is_some_and(|max| failures > max) {
                    return Err(Error::Connect {
                        addr: options.addr.clone(),
                        attempts: failures,
                        source,
                    });
                }
                tracing::debug!(attempt = failures, error = %source, "vpcd: connect failed");
            }
            Err(e) => return Err(e),
        }
        sleep_unless_stopped(backoff, options.poll_interval, stop);
        backoff = (backoff * 2).min(options.max_backoff);
    }
    Ok(())
}

fn sleep_unless_stopped(total: Duration, tick: Duration, stop: &AtomicBool) {
    let tick = tick.max(Duration::from_millis(1));
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let step = left.min(tick);
        std::thread::sleep(step);
        left -= step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;

    use proptest::prelude::*;

    /// Answers every APDU with its own bytes plus 9000; records power events.
    #[derive(Default)]
    struct EchoCard {
        powered: bool,
        events: Vec<&'static str>,
    }

    const ATR: [u8; 4] = [0x3B, 0x80, 0x80, 0x01];

    impl SmartCard for EchoCard {
        fn power_on(&mut self) -> Vec<u8> {
            self.powered = true;
            self.events.push("on");
            ATR.to_vec()
        }
        fn power_off(&mut self) {
            self.powered = false;
            self.events.push("off");
        }
        fn atr(&self) -> Vec<u8> {
            ATR.to_vec()
        }
        fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
            if command.get(1) == Some(&0xEE) {
                return Vec::new(); // torn tap
            }
            let mut r = command.to_vec();
            r.extend_from_slice(&[0x90, 0x00]);
            r
        }
    }

    /// A fake vpcd server: the reader side.
    struct FakeReader {
        stream: TcpStream,
    }

    impl FakeReader {
        fn accept(listener: &TcpListener) -> Self {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            Self { stream }
        }
        fn send(&mut self, payload: &[u8]) {
            // Length and payload in two writes, as Debian's vpcd does.
            let len = u16::try_from(payload.len()).unwrap().to_be_bytes();
            self.stream.write_all(&len).unwrap();
            self.stream.write_all(payload).unwrap();
        }
        fn recv(&mut self) -> Vec<u8> {
            let mut len = [0u8; 2];
            self.stream.read_exact(&mut len).unwrap();
            let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
            self.stream.read_exact(&mut payload).unwrap();
            payload
        }
    }

    fn listener() -> (TcpListener, String) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        (l, addr)
    }

    fn fast_options(addr: &str) -> VpcdOptions {
        VpcdOptions::new(addr)
            .max_retries(200)
            .backoff(Duration::from_millis(5), Duration::from_millis(20))
            .poll_interval(Duration::from_millis(10))
    }

    #[test]
    fn control_messages_and_apdu_get_the_right_answers() {
        let (l, addr) = listener();
        let client = thread::spawn(move || {
            let mut card = EchoCard::default();
            let mut conn = VpcdConnection::connect(&addr, Duration::from_secs(2)).unwrap();
            let end = conn.serve(&mut card, &AtomicBool::new(false)).unwrap();
            (end, card.events)
        });
        let mut reader = FakeReader::accept(&l);
        reader.send(&[CTRL_ON]);
        reader.send(&[CTRL_ATR]);
        assert_eq!(reader.recv(), ATR);
        reader.send(&[0x00, 0x84, 0x00, 0x00, 0x08]);
        assert_eq!(reader.recv(), [0x00, 0x84, 0x00, 0x00, 0x08, 0x90, 0x00]);
        reader.send(&[CTRL_RESET]);
        reader.send(&[CTRL_OFF]);
        drop(reader);
        let (end, events) = client.join().unwrap();
        assert_eq!(end, Disconnect::Closed);
        assert_eq!(events, ["on", "off", "on", "off"]);
    }

    #[test]
    fn empty_answer_hangs_up_as_a_torn_tap() {
        let (l, addr) = listener();
        let client = thread::spawn(move || {
            let mut conn = VpcdConnection::connect(&addr, Duration::from_secs(2)).unwrap();
            conn.serve(&mut EchoCard::default(), &AtomicBool::new(false))
        });
        let mut reader = FakeReader::accept(&l);
        reader.send(&[CTRL_ON]);
        reader.send(&[0x00, 0xEE, 0x00, 0x00]);
        assert_eq!(client.join().unwrap().unwrap(), Disconnect::CardLeft);
        let mut rest = Vec::new();
        reader.stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "no answer frame after a tear: {rest:02X?}");
    }

    #[test]
    fn stop_flag_ends_a_served_connection() {
        let (l, addr) = listener();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let client = thread::spawn(move || {
            let mut card = EchoCard::default();
            let mut conn = VpcdConnection::connect(&addr, Duration::from_secs(2)).unwrap();
            conn.set_poll_interval(Duration::from_millis(10)).unwrap();
            conn.serve(&mut card, &stop2)
        });
        let mut reader = FakeReader::accept(&l);
        reader.send(&[CTRL_ATR]);
        assert_eq!(reader.recv(), ATR);
        stop.store(true, Ordering::Relaxed);
        assert_eq!(client.join().unwrap().unwrap(), Disconnect::Stopped);
    }

    #[test]
    fn serve_reconnects_after_the_reader_restarts() {
        let (l, addr) = listener();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let options = fast_options(&addr);
        let client = thread::spawn(move || {
            let mut card = EchoCard::default();
            let r = serve(&mut card, &options, &stop2);
            (r, card.events)
        });
        // First pcscd life.
        let mut reader = FakeReader::accept(&l);
        reader.send(&[CTRL_ON]);
        reader.send(&[CTRL_ATR]);
        assert_eq!(reader.recv(), ATR);
        drop(reader);
        drop(l);
        // pcscd is down for a while: the client gets refused and backs off.
        thread::sleep(Duration::from_millis(100));
        // Second life on the same port.
        let l = TcpListener::bind(&addr).unwrap();
        let mut reader = FakeReader::accept(&l);
        reader.send(&[CTRL_ON]);
        reader.send(&[0x00, 0xA4, 0x04, 0x0C]);
        assert_eq!(reader.recv(), [0x00, 0xA4, 0x04, 0x0C, 0x90, 0x00]);
        stop.store(true, Ordering::Relaxed);
        let (r, events) = client.join().unwrap();
        r.unwrap();
        assert_eq!(events, ["on", "off", "on", "off"]);
    }

    #[test]
    fn serve_gives_up_after_max_retries_when_nothing_listens() {
        let (l, addr) = listener();
        drop(l);
        let options = fast_options(&addr).max_retries(3);
        let mut card = EchoCard::default();
        let err = serve(&mut card, &options, &AtomicBool::new(false)).unwrap_err();
        assert!(matches!(err, Error::Connect { attempts: 4, .. }), "{err:?}");
    }

    #[test]
    fn truncated_frame_is_a_typed_error() {
        let (l, addr) = listener();
        let client = thread::spawn(move || {
            let mut conn = VpcdConnection::connect(&addr, Duration::from_secs(2)).unwrap();
            conn.serve(&mut EchoCard::default(), &AtomicBool::new(false))
        });
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&[0x00, 0x05, 0x00, 0x84]).unwrap();
        drop(s);
        let err = client.join().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                Error::TruncatedFrame {
                    position: 2,
                    expected: 5,
                    got: 2
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn empty_frame_and_unknown_control_are_typed_errors() {
        assert!(matches!(
            Message::decode(&[], 7),
            Err(Error::EmptyFrame { position: 7 })
        ));
        assert!(matches!(
            Message::decode(&[0x03], 0),
            Err(Error::UnknownControl { byte: 0x03 })
        ));
        assert_eq!(
            Message::decode(&[0x00, 0x00], 0).unwrap(),
            Message::Apdu(&[0, 0])
        );
    }

    #[test]
    fn oversized_payload_cannot_be_framed() {
        assert!(matches!(
            encode_frame(&vec![0; MAX_PAYLOAD + 1]),
            Err(Error::FrameTooLong { len: 65536 })
        ));
        assert_eq!(encode_frame(&[1, 2, 3]).unwrap(), [0, 3, 1, 2, 3]);
    }

    /// An in-memory stream: reads come from `input`, writes go to `output`.
    struct Script {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl BeforeRead for Script {
        fn before_read(&self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Frames of well-formed messages, so some inputs go deep.
    fn frames() -> impl Strategy<Value = Vec<u8>> {
        let msg = prop_oneof![
            Just(vec![CTRL_ON]),
            Just(vec![CTRL_OFF]),
            Just(vec![CTRL_ATR]),
            proptest::collection::vec(any::<u8>(), 0..40),
        ];
        proptest::collection::vec(msg, 0..8)
            .prop_map(|msgs| msgs.iter().flat_map(|m| encode_frame(m).unwrap()).collect())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_from_the_reader_never_panic(
            bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), frames()]
        ) {
            let mut framed = Framed::new(Script {
                input: io::Cursor::new(bytes),
                output: Vec::new(),
            });
            let mut card = EchoCard::default();
            // Ends: a clean close, or a typed error; never a panic or a hang.
            match framed.serve(&mut card, &AtomicBool::new(false)) {
                Ok(end) => prop_assert!(
                    matches!(end, Disconnect::Closed | Disconnect::CardLeft), "{:?}", end
                ),
                Err(Error::EmptyFrame { .. }
                    | Error::TruncatedFrame { .. }
                    | Error::UnknownControl { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_over_a_real_socket_never_panic() {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(16));
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..200), |bytes| {
                let (l, addr) = listener();
                let client = thread::spawn(move || {
                    let mut conn = VpcdConnection::connect(&addr, Duration::from_secs(2)).unwrap();
                    conn.serve(&mut EchoCard::default(), &AtomicBool::new(false))
                        .map(|_| ())
                });
                let (mut s, _) = l.accept().unwrap();
                // The client may hang up first on a bad frame.
                let _ = s.write_all(&bytes);
                drop(s);
                // Err or Ok, but the thread did not panic.
                let _ = client.join().expect("the transport panicked");
                Ok(())
            })
            .unwrap();
    }
}
