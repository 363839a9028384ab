//! The presentation pair: the phone's [`PresentFlow`], the counter's QR screen, the holder
//! and a relying party behind a [`VerifierTransport`], with every phone↔verifier message
//! through the same [`Filter`] the issuance pair uses ([`Message::ToVerifier`],
//! [`Message::FromVerifier`]).

use std::cell::RefCell;
use std::fmt::Write as _;

use image::{DynamicImage, GrayImage};
use protocol::mip;
use rand_chacha::ChaCha20Rng;
use sim_phone::{PresentEvent, PresentFlow, PresentOutput, PresentState, UiEvent};
use sim_verifier::{Endpoint, Event, Handled, Verifier};

use super::{Filter, Message, Phone, Verdict, MAX_LOST};

/// What the verifier side of a transport answered, with what it amounted to for the
/// verifier (the report counts it; the phone sees only the body).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierAnswer {
    /// The answer body, or why there was none.
    pub body: Result<Vec<u8>, String>,
    /// The verifier's event, when the transport can see it (in process).
    pub event: Option<Event>,
}

/// How a phone reaches a relying party, in virtual time.
#[allow(async_fn_in_trait)]
pub trait VerifierTransport {
    /// POST `body` to `url` and wait for the answer.
    async fn post(&self, url: &str, body: &[u8]) -> VerifierAnswer;
    /// Virtual Unix time now.
    fn now(&self) -> i64;
}

/// Where an in-process verifier gets a status list: the issuer's token for a URI.
pub type StatusSource<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// A relying party in process: its core, its randomness, the issuer's status lists, and a
/// clock. The URL's path picks the handler; the host is not checked (a phone may be pointed
/// at any host, and here there is one verifier).
pub struct InProcessVerifier<'a> {
    /// The verifier core.
    pub verifier: &'a RefCell<Verifier>,
    /// Its randomness.
    pub rng: &'a RefCell<ChaCha20Rng>,
    /// Where it fetches status lists.
    pub status: &'a StatusSource<'a>,
    /// Virtual time.
    pub clock: &'a dyn Fn() -> i64,
}

impl InProcessVerifier<'_> {
    /// Open a transaction: the M200 and the QR screen the counter shows.
    pub fn open(&self) -> (mip::M200, GrayImage) {
        let m200 = self
            .verifier
            .borrow_mut()
            .open(&mut *self.rng.borrow_mut(), (self.clock)());
        let screen = protocol::qr::screen(&m200.to_qr_text()).unwrap_or_default();
        (m200, screen)
    }
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

impl VerifierTransport for InProcessVerifier<'_> {
    async fn post(&self, url: &str, body: &[u8]) -> VerifierAnswer {
        let Some(endpoint) = Endpoint::from_path(path_of(url)) else {
            return VerifierAnswer {
                body: Err(format!("404 {url}")),
                event: None,
            };
        };
        for _ in 0..3 {
            let now = (self.clock)();
            let handled =
                self.verifier
                    .borrow_mut()
                    .handle(endpoint, body, &mut *self.rng.borrow_mut(), now);
            match handled {
                Handled::Reply { reply, event } => {
                    return VerifierAnswer {
                        body: Ok(reply.to_body()),
                        event: Some(event),
                    }
                }
                Handled::NeedStatusList { uri } => {
                    let mut v = self.verifier.borrow_mut();
                    let added = (self.status)(&uri)
                        .and_then(|t| v.add_status_list(&uri, &t, now).map_err(|e| e.to_string()));
                    if let Err(e) = added {
                        v.status_failed(&uri, &e, now);
                    }
                }
            }
        }
        VerifierAnswer {
            body: Err("the verifier kept asking for a status list".into()),
            event: None,
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}

/// How a presentation ended.
#[derive(Debug, Default)]
pub struct PresentEnd {
    /// The app's final state.
    pub state: Option<PresentState>,
    /// Everything the app showed.
    pub shown: Vec<UiEvent>,
    /// The elements the verifier accepted, if it did.
    pub presented: Option<Vec<String>>,
    /// What the verifier made of each request it saw (in process).
    pub verifier_events: Vec<Event>,
    /// The M900 errcode the phone received last, if any.
    pub errcode: Option<u32>,
    /// Requests the phone sent.
    pub verifier_calls: u32,
    /// The transcript, if [`PresentPair::with_transcript`] asked for one.
    pub transcript: Option<String>,
}

impl PresentEnd {
    /// The key a report counts the outcome under: `accepted`, a refusal key, `m900_<code>`,
    /// or what stopped the phone.
    pub fn outcome(&self) -> String {
        if self.presented.is_some() {
            return crate::report::PRESENTATION_ACCEPTED.into();
        }
        for e in self.verifier_events.iter().rev() {
            match e {
                Event::Refused { refusal, .. } => return refusal.key().into(),
                Event::Rejected(m) => return format!("m900_{}", m.errcode),
                _ => {}
            }
        }
        match self.shown.last() {
            Some(UiEvent::NoMobileId) => "no_mobile_id".into(),
            Some(UiEvent::QrUnreadable) => "qr_unreadable".into(),
            Some(UiEvent::VerifierUntrusted { .. }) => "verifier_untrusted".into(),
            Some(UiEvent::VerifierUnreachable { .. }) => "verifier_unreachable".into(),
            Some(UiEvent::PresentationRefused { code, .. }) => format!("m900_{code}"),
            _ => "not_presented".into(),
        }
    }
}

/// One presentation's world.
pub struct PresentPair<'a, V: VerifierTransport, F: Filter> {
    phone: &'a mut Phone,
    app: PresentFlow,
    qr: &'a GrayImage,
    consent: bool,
    transport: &'a V,
    filter: F,
    transcript: Option<String>,
    end: PresentEnd,
}

impl<'a, V: VerifierTransport, F: Filter> PresentPair<'a, V, F> {
    /// A presentation ready to start: `app` on `phone`, `qr` the counter's screen, `consent`
    /// what the holder answers when asked.
    pub fn new(
        phone: &'a mut Phone,
        app: PresentFlow,
        qr: &'a GrayImage,
        consent: bool,
        transport: &'a V,
        filter: F,
    ) -> Self {
        Self {
            phone,
            app,
            qr,
            consent,
            transport,
            filter,
            transcript: None,
            end: PresentEnd::default(),
        }
    }

    /// Keep a readable transcript (nonces, keys and the sealed VP redacted).
    pub fn with_transcript(mut self) -> Self {
        self.transcript = Some(String::new());
        self
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.transcript.as_mut() {
            let _ = writeln!(t, "{}", line());
        }
    }

    fn feed(&mut self, e: PresentEvent) {
        let now = self.transport.now();
        let Phone {
            keystore,
            wallet,
            rng,
            ..
        } = &mut *self.phone;
        self.app.handle(e, now, rng, wallet, keystore);
    }

    /// Move one output of the app and return the events it gets in answer.
    pub async fn transfer(&mut self, out: PresentOutput) -> Vec<PresentEvent> {
        match out {
            PresentOutput::Show(e) => {
                self.note(|| format!("screen: {e}"));
                let answer = match &e {
                    UiEvent::ScanVerifierQr => {
                        let img = DynamicImage::ImageLuma8(self.qr.clone());
                        match self.phone.camera.scan(&img) {
                            Ok(text) => vec![PresentEvent::Scanned(text)],
                            Err(_) => vec![PresentEvent::ScanFailed],
                        }
                    }
                    UiEvent::ConsentRequested { .. } => vec![PresentEvent::Consent(self.consent)],
                    _ => vec![],
                };
                self.end.shown.push(e);
                answer
            }
            PresentOutput::Post { url, body } => self.exchange(url, body).await,
            PresentOutput::Presented { elements, .. } => {
                self.note(|| format!("phone: presented {}", elements.join(", ")));
                self.end.presented = Some(elements);
                vec![]
            }
        }
    }

    /// One request through the filter; a lost message is sent again, up to [`MAX_LOST`]
    /// times (a replayed VP then meets the verifier's replay check).
    async fn exchange(&mut self, url: String, body: Vec<u8>) -> Vec<PresentEvent> {
        self.end.verifier_calls += 1;
        let path = path_of(&url).to_owned();
        for _ in 0..=MAX_LOST {
            let mut msg = Message::ToVerifier {
                url: url.clone(),
                body: body.clone(),
            };
            let verdict = self.filter.filter(&mut msg);
            let Message::ToVerifier {
                url: to,
                body: sent,
            } = msg
            else {
                continue;
            };
            let times = match verdict {
                Verdict::Drop | Verdict::Tear => {
                    self.note(|| format!("phone→verifier POST {path}\n    <lost>"));
                    continue;
                }
                Verdict::Delay(d) => {
                    tokio::time::sleep(d).await;
                    1
                }
                Verdict::Duplicate => 2,
                Verdict::Deliver => 1,
            };
            let mut answer = None;
            for _ in 0..times {
                let a = self.transport.post(&to, &sent).await;
                if let Some(e) = a.event.clone() {
                    self.end.verifier_events.push(e);
                }
                answer = Some(a);
            }
            let Some(answer) = answer else { continue };
            let body = match answer.body {
                Ok(b) => b,
                Err(e) => return vec![PresentEvent::Answer(Err(e))],
            };
            let mut msg = Message::FromVerifier(body);
            let verdict = self.filter.filter(&mut msg);
            let Message::FromVerifier(reply) = msg else {
                continue;
            };
            let shown = describe(&reply);
            if let Some(code) = errcode(&reply) {
                self.end.errcode = Some(code);
            }
            self.note(|| format!("phone→verifier POST {path}\n    verifier→phone {shown}"));
            match verdict {
                Verdict::Drop | Verdict::Tear => continue,
                Verdict::Delay(d) => {
                    tokio::time::sleep(d).await;
                    return vec![PresentEvent::Answer(Ok(reply))];
                }
                Verdict::Duplicate => {
                    return vec![
                        PresentEvent::Answer(Ok(reply.clone())),
                        PresentEvent::Answer(Ok(reply)),
                    ]
                }
                Verdict::Deliver => return vec![PresentEvent::Answer(Ok(reply))],
            }
        }
        vec![PresentEvent::Answer(Err(format!(
            "no answer to POST {path}: {} messages lost",
            MAX_LOST + 1
        )))]
    }

    /// Run the presentation to its end.
    pub async fn run_flow(mut self) -> PresentEnd {
        let mut events = vec![PresentEvent::Start];
        loop {
            for e in std::mem::take(&mut events) {
                self.feed(e);
            }
            match self.app.poll() {
                Some(out) => events = self.transfer(out).await,
                None => break,
            }
        }
        self.end.state = Some(self.app.state());
        self.end.transcript = self.transcript.take();
        self.end
    }
}

fn errcode(body: &[u8]) -> Option<u32> {
    let reply = mip::HttpReply::from_body(body).ok()?;
    if reply.result {
        return None;
    }
    reply.m900().ok().map(|m| m.errcode)
}

fn describe(body: &[u8]) -> String {
    match mip::HttpReply::from_body(body) {
        Ok(r) if r.result && r.data.is_some() => "result=true data=<profile>".into(),
        Ok(r) if r.result => "result=true".into(),
        Ok(r) => match r.m900() {
            Ok(m) => format!(
                "result=false M900 errcode={} errmsg={:?}",
                m.errcode, m.errmsg
            ),
            Err(e) => format!("result=false ({e})"),
        },
        Err(e) => format!("not a mip answer ({e})"),
    }
}

/// A relying party over HTTP (ours from `sim-verifier serve`, or a vendor's): the phone's
/// requests go to the URLs as the M200 and the profile name them.
#[derive(Debug, Clone, Default)]
pub struct HttpVerifier {
    client: reqwest::Client,
    pinned: Option<i64>,
}

impl HttpVerifier {
    /// A client with a 10-second timeout per request; the phone's clock is the wall clock.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            pinned: None,
        }
    }

    /// The same, with the phone's clock pinned at `now` (tests).
    pub fn at(now: i64) -> Self {
        Self {
            pinned: Some(now),
            ..Self::new()
        }
    }
}

impl VerifierTransport for HttpVerifier {
    async fn post(&self, url: &str, body: &[u8]) -> VerifierAnswer {
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let body = match sent {
            Ok(resp) if resp.status().is_success() => resp
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| format!("POST {url}: {e}")),
            Ok(resp) => Err(format!("POST {url}: HTTP {}", resp.status())),
            Err(e) => Err(format!("POST {url}: {e}")),
        };
        VerifierAnswer { body, event: None }
    }

    fn now(&self) -> i64 {
        if let Some(t) = self.pinned {
            return t;
        }
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
