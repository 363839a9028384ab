//! The HTTP shell: the same API as [`Issuer`], as JSON over axum.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /.well-known/openid-credential-issuer` | | [`IssuerMetadata`](protocol::oid4vci::IssuerMetadata) |
//! | `GET /credential-offer/{id}` | | a desk's [`CredentialOffer`](protocol::oid4vci::CredentialOffer) by reference |
//! | `POST /nonce` | | [`NonceResponse`](protocol::oid4vci::NonceResponse) |
//! | `POST /token` | [`TokenRequest`] | [`TokenResponse`](protocol::oid4vci::TokenResponse) |
//! | `POST /credential` (`Authorization: Bearer`) | [`CredentialRequest`] | [`CredentialResponse`](protocol::oid4vci::CredentialResponse) |
//! | `GET /status`, `GET /status/{document_number}` | | [`StatusEntry`] list, [`CredentialStatus`] |
//! | `GET /status-lists/{id}` | | the Status List Token of list `id`, CWT bytes, `Content-Type: application/statuslist+cwt` ([`Issuer::status_list_token`]) |
//! | `GET /crl/iaca.crl` | | the IACA's CRL, DER, `Content-Type: application/pkix-crl` ([`IssuerPki::crl`](crate::pki::IssuerPki::crl)): the URL the IACA and mdoc signer certificates name in cRLDistributionPoints |
//! | `POST /desk/offer` | [`DeskOfferBody`] | [`DeskOfferAnswer`] with the QR as base64 PNG |
//! | `POST /desk/ic-card` | [`ResidentBody`] | [`IcCardAnswer`] |
//! | `POST /report/card-lost` | [`ResidentBody`] | 204 |
//! | `POST /report/phone-lost` | [`DocumentBody`] | 204 |
//!
//! Every `POST` that changes state needs an `Idempotency-Key` header. Every error is a JSON
//! [`ErrorResponse`] with a 4xx status: 400 malformed or refused grant, 401 bad token, 403
//! refused by a rollout rule, 404 unknown, 409 idempotency key reused, 415/422 never (a body
//! that is not the expected JSON is a 400 `invalid_request`). The two answers that are not
//! JSON are a Status List Token (draft-ietf-oauth-status-list §8.2: the raw CWT) and the
//! CRL (RFC 5280 §4.2.1.13: DER).
//!
//! The shell reads the time from the [`Clock`] in its state, so tests pin it. It holds the
//! core inside its persistence shell ([`DurableIssuer`]); a state-changing call runs on a
//! blocking thread (`spawn_blocking`), so the journal's commit never stalls an async worker,
//! and its answer is sent only once the commit is done.

use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::oid4vci::{self, CredentialRequest, ErrorCode, ErrorResponse, TokenRequest};
use serde::{Deserialize, Serialize};

use crate::durable::DurableIssuer;
use crate::issuer::{CredentialStatus, InPersonCheck, Issuer, StatusEntry};
use crate::pki;
use crate::registry::ResidentId;
use crate::{Error, UnixTime};

/// Where the shell gets `now` from.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// State of the HTTP shell.
#[derive(Clone)]
pub struct AppState {
    /// The issuer in its persistence shell, one call at a time.
    pub issuer: Arc<Mutex<DurableIssuer>>,
    /// The clock.
    pub clock: Clock,
}

impl AppState {
    /// Wrap an in-memory issuer.
    pub fn new(issuer: Issuer, clock: Clock) -> Self {
        Self::durable(DurableIssuer::in_memory(issuer), clock)
    }

    /// Wrap an issuer with its journal.
    pub fn durable(issuer: DurableIssuer, clock: Clock) -> Self {
        Self {
            issuer: Arc::new(Mutex::new(issuer)),
            clock,
        }
    }
}

/// Body of `POST /desk/offer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskOfferBody {
    /// Resident id.
    pub resident: u64,
    /// District code of the desk.
    pub desk_district: String,
    /// RRN printed on the card the clerk holds.
    pub presented_rrn: String,
    /// The photo matches the person.
    pub face_matches: bool,
}

/// Answer of `POST /desk/offer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeskOfferAnswer {
    /// The offer URI by value.
    pub uri: String,
    /// The offer URI by reference, which the QR code shows.
    #[serde(default)]
    pub reference_uri: String,
    /// The tx_code (the desk tells it to the holder; it is not in the QR code).
    pub tx_code: String,
    /// When the offer expires.
    pub expires_at: UnixTime,
    /// The QR code as PNG, base64url.
    pub qr_png: String,
}

/// Body naming a resident.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentBody {
    /// Resident id.
    pub resident: u64,
}

/// Body naming a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentBody {
    /// Document number.
    pub document_number: String,
}

/// Answer of `POST /desk/ic-card`: the fee and the card's files, base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IcCardAnswer {
    /// Fee in won.
    pub fee_won: u32,
    /// Card number.
    pub card_number: String,
    /// DG1.
    pub dg1: String,
    /// DG2.
    pub dg2: String,
    /// DG14.
    pub dg14: String,
    /// DG15.
    pub dg15: String,
    /// EF.SOD.
    pub sod: String,
    /// The chip's Active Authentication private key (to personalise a virtual card).
    pub aa_private_key: String,
}

/// The router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(metadata))
        .route("/credential-offer/{id}", get(offer_by_reference))
        .route("/nonce", post(nonce))
        .route("/token", post(token))
        .route("/credential", post(credential))
        .route("/status", get(status_list))
        .route("/status/{document_number}", get(status))
        .route("/status-lists/{id}", get(status_list_token))
        .route(pki::CRL_PATH, get(iaca_crl))
        .route("/desk/offer", post(desk_offer))
        .route("/desk/ic-card", post(desk_ic_card))
        .route("/report/card-lost", post(card_lost))
        .route("/report/phone-lost", post(phone_lost))
        .fallback(not_found)
        .with_state(state)
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::CredentialRequestDenied => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::IdempotencyKeyReused => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn error(code: ErrorCode, description: impl Into<String>) -> Response {
    (
        status_of(code),
        Json(ErrorResponse {
            error: code,
            error_description: Some(description.into()),
        }),
    )
        .into_response()
}

fn from_error(e: &Error) -> Response {
    error(e.code(), e.to_string())
}

fn bad_body(r: &JsonRejection) -> Response {
    error(
        ErrorCode::InvalidRequest,
        format!("body: {}", r.body_text()),
    )
}

fn answer<T: Serialize>(r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => from_error(&e),
    }
}

fn idempotency_key(h: &HeaderMap) -> Option<String> {
    h.get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(str::to_owned)
}

/// The common front of every mutating endpoint: the idempotency key first, then the JSON
/// body, each refused with a typed 4xx.
fn mutating<T>(
    headers: &HeaderMap,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(String, T), Box<Response>> {
    let key = idempotency_key(headers).ok_or_else(|| Box::new(missing_key()))?;
    let Json(b) = body.map_err(|r| Box::new(bad_body(&r)))?;
    Ok((key, b))
}

fn missing_key() -> Response {
    error(
        ErrorCode::InvalidRequest,
        "missing or bad Idempotency-Key header",
    )
}

fn lock(s: &Mutex<DurableIssuer>) -> std::sync::MutexGuard<'_, DurableIssuer> {
    // A panic while holding the lock cannot leave the issuer half-changed (every method
    // changes state only after all its checks), so a poisoned lock is still usable.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run a state-changing call on a blocking thread: the core answers, the shell commits the
/// journal entries, and only then is the answer returned.
async fn call<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&mut Issuer) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let shared = s.issuer.clone();
    tokio::task::spawn_blocking(move || lock(&shared).run(f))
        .await
        .map_err(|e| Error::Storage(format!("issuer worker: {e}")))?
        .and_then(|r| r)
}

async fn not_found() -> Response {
    error(ErrorCode::NotFound, "no such endpoint")
}

async fn metadata(State(s): State<AppState>) -> Response {
    Json(lock(&s.issuer).core().metadata()).into_response()
}

async fn offer_by_reference(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let now = (s.clock)();
    let issuer = lock(&s.issuer);
    let url = format!("{}/credential-offer/{id}", issuer.core().config().base_url);
    answer(issuer.core().offer_by_reference(&url, now))
}

async fn nonce(State(s): State<AppState>) -> Response {
    let now = (s.clock)();
    answer(call(&s, move |i| i.nonce(now)).await)
}

async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<TokenRequest>, JsonRejection>,
) -> Response {
    let (key, req) = match mutating(&headers, body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let now = (s.clock)();
    answer(call(&s, move |i| i.token(&key, &req, now)).await)
}

async fn credential(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CredentialRequest>, JsonRejection>,
) -> Response {
    let Some(key) = idempotency_key(&headers) else {
        return missing_key();
    };
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
    else {
        return error(ErrorCode::InvalidToken, "missing Bearer access token");
    };
    let Json(req) = match body {
        Ok(b) => b,
        Err(r) => return bad_body(&r),
    };
    let now = (s.clock)();
    answer(call(&s, move |i| i.credential(&key, &token, &req, now)).await)
}

async fn status(State(s): State<AppState>, Path(doc): Path<String>) -> Response {
    let now = (s.clock)();
    answer::<CredentialStatus>(lock(&s.issuer).core().status(&doc, now))
}

async fn status_list(State(s): State<AppState>) -> Response {
    let now = (s.clock)();
    Json::<Vec<StatusEntry>>(lock(&s.issuer).core().status_list(now)).into_response()
}

/// `GET /status-lists/{id}`: on the blocking pool, as signing may happen (the core keeps the
/// signed token, so most requests only copy it); no journal entry is made.
async fn status_list_token(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return from_error(&Error::UnknownStatusList);
    };
    let now = (s.clock)();
    match call(&s, move |i| i.status_list_token(id, now)).await {
        Ok(cwt) => (
            [(header::CONTENT_TYPE, protocol::status_list::MEDIA_TYPE)],
            cwt,
        )
            .into_response(),
        Err(e) => from_error(&e),
    }
}

/// `GET /crl/iaca.crl`: the IACA's CRL of today (UTC). Signed on each request from the core's
/// PKI (one ECDSA signature, no state), so no journal entry and no blocking pool.
async fn iaca_crl(State(s): State<AppState>) -> Response {
    let now = (s.clock)();
    let crl = lock(&s.issuer).core().pki().crl(now);
    match crl {
        Ok(der) => ([(header::CONTENT_TYPE, pki::CRL_MEDIA_TYPE)], der).into_response(),
        Err(e) => from_error(&e),
    }
}

async fn desk_offer(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<DeskOfferBody>, JsonRejection>,
) -> Response {
    let (key, b) = match mutating(&headers, body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let rrn = match b.presented_rrn.parse::<crate::rrn::Rrn>() {
        Ok(r) => r,
        Err(e) => return from_error(&Error::from(e)),
    };
    let check = InPersonCheck {
        presented_rrn: rrn,
        face_matches: b.face_matches,
    };
    let now = (s.clock)();
    let offer = call(&s, move |i| {
        i.desk_offer(&key, ResidentId(b.resident), &b.desk_district, &check, now)
    })
    .await;
    answer(offer.and_then(|o| {
        Ok(DeskOfferAnswer {
            qr_png: oid4vci::b64url(&crate::qr::offer_qr_png(&o.reference_uri)?),
            uri: o.uri,
            reference_uri: o.reference_uri,
            tx_code: o.tx_code,
            expires_at: o.expires_at,
        })
    }))
}

async fn desk_ic_card(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ResidentBody>, JsonRejection>,
) -> Response {
    let (key, b) = match mutating(&headers, body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let now = (s.clock)();
    answer(
        call(&s, move |i| {
            i.desk_ic_card(&key, ResidentId(b.resident), now)
        })
        .await
        .map(|r| IcCardAnswer {
            fee_won: r.fee_won,
            card_number: r.card_number,
            dg1: oid4vci::b64url(&r.card.dg1),
            dg2: oid4vci::b64url(&r.card.dg2),
            dg14: oid4vci::b64url(&r.card.dg14),
            dg15: oid4vci::b64url(&r.card.dg15),
            sod: oid4vci::b64url(&r.card.sod),
            aa_private_key: oid4vci::b64url(&r.card.aa_private_key),
        }),
    )
}

async fn card_lost(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ResidentBody>, JsonRejection>,
) -> Response {
    let (key, b) = match mutating(&headers, body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let now = (s.clock)();
    match call(&s, move |i| {
        i.report_card_lost(&key, ResidentId(b.resident), now)
    })
    .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_error(&e),
    }
}

async fn phone_lost(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<DocumentBody>, JsonRejection>,
) -> Response {
    let (key, b) = match mutating(&headers, body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let now = (s.clock)();
    match call(&s, move |i| {
        i.report_phone_lost(&key, &b.document_number, now)
    })
    .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_error(&e),
    }
}
