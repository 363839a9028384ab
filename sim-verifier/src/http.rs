//! The HTTP shell: one relying party over axum ([`app`]).
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /mip/profile` | `{"data": base64url(M310)}` | `{"result": true, "data": base64url({trxcode, profile})}` |
//! | `POST /mip/vp` | `{"data": base64url(M400)}` | `{"result": true}` |
//! | `POST /mip/error` | `{"data": base64url(M900)}` | `{"result": true}` |
//! | `POST /counter/transactions` | | [`OpenedTransaction`]: the M200 and its QR image |
//! | `GET /counter/transactions/{trxcode}` | | [`TransactionView`]: what became of it |
//! | `GET /counter/identity` | | [`Identity`]: the verifier's id and profile-signing key |
//!
//! The `/mip/*` paths are the spec's: every answer is HTTP 200, and an error is
//! `{"result": false, "data": base64url(M900)}`. The `/counter/*` calls are **not** part of
//! the mip spec: they are the counter terminal's own interface to its verifier (the clerk's
//! screen opens a transaction, shows the QR code, and later reads the outcome).
//!
//! When a VP's status list is not cached, the shell fetches it with its [`StatusFetcher`]
//! (over HTTP from the issuer, or in process) and retries the same request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::mip::HttpReply;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::{Endpoint, Event, Handled, Verifier};

/// Where the shell gets `now` from (unix seconds).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Fetches the signed status list at a URI, or says why it could not.
pub type FetchFn = dyn Fn(&str) -> Result<Vec<u8>, String> + Send + Sync;

/// How the shell fetches a Token Status List by its URI.
#[derive(Clone)]
pub enum StatusFetcher {
    /// `GET uri` over HTTP.
    Http(reqwest::Client),
    /// A function (tests, or an issuer in the same process).
    InProcess(Arc<FetchFn>),
}

impl StatusFetcher {
    async fn fetch(&self, uri: &str) -> Result<Vec<u8>, String> {
        match self {
            Self::InProcess(f) => f(uri),
            Self::Http(client) => {
                let resp = client
                    .get(uri)
                    .send()
                    .await
                    .map_err(|e| format!("GET {uri}: {e}"))?;
                if !resp.status().is_success() {
                    return Err(format!("GET {uri}: HTTP {}", resp.status()));
                }
                resp.bytes()
                    .await
                    .map(|b| b.to_vec())
                    .map_err(|e| format!("GET {uri}: {e}"))
            }
        }
    }
}

/// How many finished transactions the counter can still look up.
const KEPT_OUTCOMES: usize = 10_000;

struct Inner {
    verifier: Verifier,
    rng: ChaCha20Rng,
    outcomes: HashMap<String, TransactionView>,
    order: VecDeque<String>,
}

/// State of the HTTP shell.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
    fetcher: StatusFetcher,
}

impl AppState {
    /// Serve `verifier`, drawing its randomness from `seed`.
    pub fn new(verifier: Verifier, seed: u64, clock: Clock, fetcher: StatusFetcher) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                verifier,
                rng: ChaCha20Rng::seed_from_u64(seed),
                outcomes: HashMap::new(),
                order: VecDeque::new(),
            })),
            clock,
            fetcher,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the verifier half-updated in a way
        // that matters more than refusing every later call, so keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The answer of `POST /counter/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenedTransaction {
    /// The transaction code.
    pub trxcode: String,
    /// The QR code's text (base64url of the M200).
    pub m200: String,
    /// The QR code as a PNG, base64url.
    pub qr_png: String,
}

/// The answer of `GET /counter/transactions/{trxcode}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransactionView {
    /// "open", "profile_sent", "accepted", "refused" or "phone_error".
    pub state: String,
    /// The refusal key or M900 code, when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The disclosed elements' identifiers, when accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<String>,
}

/// The answer of `GET /counter/identity`: what a phone's verifier registry needs (in the
/// real system, the verifier's registered DID document).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// The verifier's identifier (DID).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// base64url of the SEC1 compressed key its profiles are signed with.
    pub verifying_key: String,
}

/// The router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/mip/profile", post(profile))
        .route("/mip/vp", post(vp))
        .route("/mip/error", post(error))
        .route("/counter/transactions", post(open))
        .route("/counter/transactions/{trxcode}", get(view))
        .route("/counter/identity", get(identity))
        .with_state(state)
}

fn json_200(reply: &HttpReply) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_body(),
    )
        .into_response()
}

async fn handle(state: AppState, endpoint: Endpoint, body: Bytes) -> Response {
    // A VP needs at most one status list per credential; two fetches mean the list keeps
    // failing verification, which the verifier then reports as `status_unavailable`.
    for _ in 0..3 {
        let handled = {
            let mut inner = state.lock();
            let inner = &mut *inner;
            let now = (state.clock)();
            inner.verifier.handle(endpoint, &body, &mut inner.rng, now)
        };
        match handled {
            Handled::Reply { reply, event } => {
                record(&state, &event);
                return json_200(&reply);
            }
            Handled::NeedStatusList { uri } => {
                let fetched = state.fetcher.fetch(&uri).await;
                let mut inner = state.lock();
                let now = (state.clock)();
                let added = fetched.and_then(|token| {
                    inner
                        .verifier
                        .add_status_list(&uri, &token, now)
                        .map_err(|e| e.to_string())
                });
                if let Err(e) = added {
                    inner.verifier.status_failed(&uri, &e, now);
                }
            }
        }
    }
    json_200(&HttpReply::error(&protocol::mip::M900 {
        trxcode: String::new(),
        errcode: protocol::mip::ErrorCode::Unknown.code(),
        errmsg: "status list unavailable".into(),
    }))
}

fn record(state: &AppState, event: &Event) {
    let (trxcode, view) = match event {
        Event::ProfileSent { trxcode } => (
            trxcode,
            TransactionView {
                state: "profile_sent".into(),
                reason: None,
                elements: vec![],
            },
        ),
        Event::Accepted(p) => (
            &p.trxcode,
            TransactionView {
                state: "accepted".into(),
                reason: None,
                elements: p.elements.keys().cloned().collect(),
            },
        ),
        Event::Refused { trxcode, refusal } => (
            trxcode,
            TransactionView {
                state: "refused".into(),
                reason: Some(refusal.key().into()),
                elements: vec![],
            },
        ),
        Event::Rejected(m) => (
            &m.trxcode,
            TransactionView {
                state: "refused".into(),
                reason: Some(format!("m900_{}", m.errcode)),
                elements: vec![],
            },
        ),
        Event::PhoneError(m) => (
            &m.trxcode,
            TransactionView {
                state: "phone_error".into(),
                reason: Some(format!("m900_{}", m.errcode)),
                elements: vec![],
            },
        ),
    };
    let mut inner = state.lock();
    // Only transactions the counter opened are tracked (a stranger's trxcode is not).
    if let Some(slot) = inner.outcomes.get_mut(trxcode) {
        *slot = view;
    }
}

async fn profile(State(s): State<AppState>, body: Bytes) -> Response {
    handle(s, Endpoint::Profile, body).await
}

async fn vp(State(s): State<AppState>, body: Bytes) -> Response {
    handle(s, Endpoint::Vp, body).await
}

async fn error(State(s): State<AppState>, body: Bytes) -> Response {
    handle(s, Endpoint::Error, body).await
}

async fn open(State(s): State<AppState>) -> Response {
    let mut inner = s.lock();
    let inner = &mut *inner;
    let m200 = inner.verifier.open(&mut inner.rng, (s.clock)());
    let text = m200.to_qr_text();
    let png = match protocol::qr::png(&text) {
        Ok(p) => p,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    inner.outcomes.insert(
        m200.trxcode.clone(),
        TransactionView {
            state: "open".into(),
            reason: None,
            elements: vec![],
        },
    );
    inner.order.push_back(m200.trxcode.clone());
    while inner.order.len() > KEPT_OUTCOMES {
        if let Some(old) = inner.order.pop_front() {
            inner.outcomes.remove(&old);
        }
    }
    Json(OpenedTransaction {
        trxcode: m200.trxcode,
        m200: text,
        qr_png: protocol::mip::b64(&png),
    })
    .into_response()
}

async fn view(State(s): State<AppState>, Path(trxcode): Path<String>) -> Response {
    match s.lock().outcomes.get(&trxcode) {
        Some(v) => Json(v.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such transaction").into_response(),
    }
}

async fn identity(State(s): State<AppState>) -> Response {
    let inner = s.lock();
    let v = &inner.verifier;
    Json(Identity {
        id: v.config().id.clone(),
        kind: v.config().kind.key().into(),
        verifying_key: protocol::mip::public_key_text(&(*v.verifying_key()).into()),
    })
    .into_response()
}
