//! Issuances per second: the whole QR route (desk offer, token, nonce, credential with a
//! proof JWT) in process, and the same four calls through the HTTP shell on loopback.
//!
//! `cargo bench -p sim-issuer --bench issuance`. Each iteration is one issuance; criterion
//! prints its time, and the throughput line gives issuances per second. The proof JWT is
//! signed inside the loop (the phone's share of the flow).

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::BodyExt;
use hyper::Request;
use p256::ecdsa::SigningKey;
use protocol::oid4vci::{self, CredentialOffer, CredentialRequest, Proofs, TokenRequest};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sim_issuer::http::{app, AppState};
use sim_issuer::issuer::{InPersonCheck, Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};

const NOW: i64 = 1_743_476_400;
const PHONE: &str = "010-1234-5678";

fn issuer() -> Issuer {
    let mut i = Issuer::new(
        1,
        IssuerConfig::default(),
        Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap();
    i.register(Resident {
        id: ResidentId(1),
        family_name: "김".into(),
        given_name: "민준".into(),
        rrn: "900101-1234568".parse().unwrap(),
        district: "11110".into(),
        card: CardState::Plastic {
            issued: time::macros::date!(2010 - 01 - 01),
            reported_lost: false,
        },
        phones: vec![PhoneRegistration {
            phone_id: PHONE.into(),
            in_own_name: true,
        }],
    })
    .unwrap();
    i
}

fn check() -> InPersonCheck {
    InPersonCheck {
        presented_rrn: "900101-1234568".parse().unwrap(),
        face_matches: true,
    }
}

fn in_process(c: &mut Criterion) {
    let mut i = issuer();
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(1));
    let aud = i.config().base_url.clone();
    let mut n = 0u64;
    let mut g = c.benchmark_group("issuance");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("in_process_qr_route", |b| {
        b.iter(|| {
            n += 1;
            let offer = i
                .desk_offer(&format!("o{n}"), ResidentId(1), "11110", &check(), NOW)
                .unwrap();
            let tok = i
                .token(
                    &format!("t{n}"),
                    &TokenRequest::PreAuthorized {
                        pre_authorized_code: offer
                            .offer
                            .grants
                            .pre_authorized_code
                            .pre_authorized_code,
                        tx_code: Some(offer.tx_code),
                        phone_id: PHONE.into(),
                    },
                    NOW,
                )
                .unwrap();
            let nonce = i.nonce(NOW).unwrap().c_nonce;
            let req = CredentialRequest {
                credential_configuration_id: oid4vci::MRRC_CONFIGURATION_ID.into(),
                proofs: Proofs {
                    jwt: vec![oid4vci::sign_proof_jwt(&device, &aud, &nonce, NOW)],
                },
            };
            i.credential(&format!("c{n}"), &tok.access_token, &req, NOW)
                .unwrap()
        })
    });
    g.finish();
}

type Sender = hyper::client::conn::http1::SendRequest<Body>;

async fn call(
    tx: &mut Sender,
    method: &str,
    path: &str,
    key: &str,
    auth: Option<&str>,
    body: Value,
) -> Value {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("idempotency-key", key);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let req = req
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    tx.ready().await.unwrap();
    let resp = tx.send_request(req).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn over_http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = AppState::new(issuer(), Arc::new(|| NOW));
    let (mut tx, aud) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(state)).await });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (tx, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        (tx, IssuerConfig::default().base_url)
    });
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(1));
    let n = AtomicU64::new(0);
    let mut g = c.benchmark_group("issuance");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("http_loopback_qr_route", |b| {
        b.iter(|| {
            let k = n.fetch_add(1, Ordering::Relaxed);
            rt.block_on(async {
                let offer = call(
                    &mut tx,
                    "POST",
                    "/desk/offer",
                    &format!("o{k}"),
                    None,
                    json!({
                        "resident": 1, "desk_district": "11110",
                        "presented_rrn": "900101-1234568", "face_matches": true,
                    }),
                )
                .await;
                let parsed = CredentialOffer::from_uri(offer["uri"].as_str().unwrap()).unwrap();
                let tok = call(&mut tx, "POST", "/token", &format!("t{k}"), None, json!({
                    "grant_type": oid4vci::PRE_AUTHORIZED_GRANT,
                    "pre-authorized_code": parsed.grants.pre_authorized_code.pre_authorized_code,
                    "tx_code": offer["tx_code"], "phone_id": PHONE,
                }))
                .await;
                let nonce = call(&mut tx, "POST", "/nonce", "-", None, json!({})).await;
                let jwt =
                    oid4vci::sign_proof_jwt(&device, &aud, nonce["c_nonce"].as_str().unwrap(), NOW);
                let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
                call(
                    &mut tx,
                    "POST",
                    "/credential",
                    &format!("c{k}"),
                    Some(&bearer),
                    json!({
                        "credential_configuration_id": oid4vci::MRRC_CONFIGURATION_ID,
                        "proofs": {"jwt": [jwt]},
                    }),
                )
                .await
            })
        })
    });
    g.finish();
}

/// The desk's QR PNG alone, to tell its cost apart in the HTTP figure (the in-process desk
/// call makes no image; the HTTP one renders one per offer).
fn qr_png(c: &mut Criterion) {
    let mut i = issuer();
    let uri = i
        .desk_offer("o", ResidentId(1), "11110", &check(), NOW)
        .unwrap()
        .uri;
    let mut g = c.benchmark_group("issuance");
    g.sample_size(20);
    g.bench_function("desk_qr_png", |b| {
        b.iter(|| sim_issuer::qr::offer_qr_png(&uri).unwrap())
    });
    g.finish();
}

criterion_group!(benches, in_process, over_http, qr_png);
criterion_main!(benches);
