//! Tap-to-issue over real HTTP: the phone's reqwest client against sim-issuer's axum shell
//! on a local port; retries reuse the idempotency key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use sim_issuer::http::AppState;
use sim_issuer::issuer::CredentialStatus;
use sim_phone::{HttpIssuer, IssueState, IssuerClient, IssuerReply, IssuerRequest, RetryPolicy};

use crate::issue::{config, drive, world, World};

const APRIL: i64 = 1_743_476_400;

/// Serve `router` on 127.0.0.1 from a background thread; gives its base URL.
fn serve(router: Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, router).await.unwrap();
        });
    });
    format!("http://{addr}")
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
    }
}

#[test]
fn tap_to_issue_over_http_against_the_issuers_axum_shell() {
    let World {
        issuer,
        mut card,
        pin,
        mut keystore,
        mut rng,
    } = world("11110");
    let cfg = config(&issuer, "010-1234-5678");
    let state = AppState::new(issuer, Arc::new(|| APRIL));
    let shared = state.issuer.clone();
    let base = serve(sim_issuer::http::app(state));
    let mut client = HttpIssuer::new(&base, quick()).unwrap();
    let run = drive(
        cfg,
        &mut card,
        &pin,
        &mut keystore,
        &mut rng,
        &mut client,
        APRIL,
    );
    assert_eq!(run.state, IssueState::Done, "{:?}", run.shown);
    let id = run.issued.unwrap();
    assert!(matches!(
        shared
            .lock()
            .unwrap()
            .core()
            .status(&id.document_number, APRIL),
        Ok(CredentialStatus::Valid { .. })
    ));
    // The wallet's status check goes over the same client.
    let r = client.call(
        "s",
        &IssuerRequest::Status {
            document_number: id.document_number.clone(),
        },
        APRIL,
    );
    assert!(
        matches!(r, IssuerReply::Status(CredentialStatus::Valid { .. })),
        "{r:?}"
    );
}

#[test]
fn a_503_is_retried_with_the_same_idempotency_key_and_a_4xx_is_not() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/token",
        post(move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let n = {
                    let mut s = s.lock().unwrap();
                    s.push(key);
                    s.len()
                };
                if n == 1 {
                    (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({})))
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        Json(serde_json::json!({
                            "error": "invalid_grant",
                            "error_description": "unknown pre-authorized code"
                        })),
                    )
                }
            }
        }),
    );
    let base = serve(router);
    let mut client = HttpIssuer::new(&base, quick()).unwrap().with_sleep(|_| {});
    let req = IssuerRequest::Token(protocol::oid4vci::TokenRequest::PreAuthorized {
        pre_authorized_code: "x".into(),
        tx_code: None,
        phone_id: "p".into(),
    });
    let r = client.call("key-1", &req, APRIL);
    assert!(
        matches!(&r, IssuerReply::Error(e) if e.error == protocol::oid4vci::ErrorCode::InvalidGrant),
        "{r:?}"
    );
    assert_eq!(*seen.lock().unwrap(), vec!["key-1", "key-1"]);
}

#[test]
fn a_slow_issuer_times_out_and_is_reported_unreachable_after_the_retries() {
    let calls: Arc<Mutex<u32>> = Arc::default();
    let c = calls.clone();
    let router = Router::new().route(
        "/nonce",
        post(move || {
            let c = c.clone();
            async move {
                *c.lock().unwrap() += 1;
                tokio::time::sleep(Duration::from_secs(3)).await;
                Json(serde_json::json!({"c_nonce": "late"}))
            }
        }),
    );
    let base = serve(router);
    let mut client = HttpIssuer::new(
        &base,
        RetryPolicy {
            attempts: 2,
            timeout: Duration::from_millis(200),
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        },
    )
    .unwrap()
    .with_sleep(|_| {});
    let r = client.call("k", &IssuerRequest::Nonce, APRIL);
    assert!(
        matches!(&r, IssuerReply::Unreachable(why) if why.starts_with("after 2 attempts")),
        "{r:?}"
    );
    assert_eq!(*calls.lock().unwrap(), 2);
}
