//! The issuer over HTTP: [`HttpIssuer`], a blocking reqwest client (rustls, no OpenSSL)
//! with a per-request timeout, retries that reuse the call's idempotency key, and
//! exponential backoff.
//!
//! What is retried: connection failures, timeouts, 408, 429 and 5xx, where the request may
//! or may not have been processed. The issuer answers a repeated idempotency key with its
//! first answer, so a retry never issues twice. A 4xx with an OAuth error body is an answer,
//! not a failure, and is never retried.

use std::time::Duration;

use protocol::oid4vci::ErrorResponse;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;

use crate::{Error, IssuerClient, IssuerReply, IssuerRequest};
use protocol::issuance::CredentialStatus;

/// How hard [`HttpIssuer`] tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (at least 1).
    pub attempts: u32,
    /// Timeout of each attempt (connect and answer).
    pub timeout: Duration,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n` (0-based; none before the first).
    pub fn delay(&self, n: u32) -> Duration {
        if n == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(n - 1).unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Waits between attempts; tests record instead of sleeping.
type Sleep = Box<dyn FnMut(Duration) + Send>;

/// An issuer reached over HTTP (the `sim-issuer` axum shell, or a vendor's endpoint).
pub struct HttpIssuer {
    base: String,
    client: Client,
    policy: RetryPolicy,
    sleep: Sleep,
}

impl std::fmt::Debug for HttpIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpIssuer")
            .field("base", &self.base)
            .field("policy", &self.policy)
            .finish()
    }
}

enum Attempt {
    Answer(IssuerReply),
    Retry(String),
}

impl HttpIssuer {
    /// A client for the issuer whose endpoints live under `base_url` (for example
    /// `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, policy: RetryPolicy) -> Result<Self, Error> {
        let client = Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .use_rustls_tls()
            .build()
            .map_err(|e| Error::Issuer(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            client,
            policy,
            sleep: Box::new(std::thread::sleep),
        })
    }

    /// Wait with `sleep` between attempts instead of the thread's sleep.
    pub fn with_sleep(mut self, sleep: impl FnMut(Duration) + Send + 'static) -> Self {
        self.sleep = Box::new(sleep);
        self
    }

    fn request(&self, key: &str, req: &IssuerRequest) -> Option<RequestBuilder> {
        let url = |p: &str| format!("{}{p}", self.base);
        Some(match req {
            // The offer's URL names the issuer by its identifier; the path goes to this
            // client's base (the same server in tests and on loopback).
            IssuerRequest::Offer { uri } => {
                let path = uri.splitn(4, '/').nth(3)?;
                self.client.get(url(&format!("/{path}")))
            }
            IssuerRequest::Nonce => self.client.post(url("/nonce")),
            IssuerRequest::Token(t) => self
                .client
                .post(url("/token"))
                .header("Idempotency-Key", key)
                .json(t),
            IssuerRequest::Credential {
                access_token,
                request,
            } => self
                .client
                .post(url("/credential"))
                .header("Idempotency-Key", key)
                .bearer_auth(access_token)
                .json(request),
            IssuerRequest::Status { document_number } => {
                let doc: String = document_number
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                self.client.get(url(&format!("/status/{doc}")))
            }
        })
    }

    fn attempt(&self, key: &str, req: &IssuerRequest) -> Attempt {
        let Some(builder) = self.request(key, req) else {
            return Attempt::Answer(IssuerReply::Unreachable("unsupported request".into()));
        };
        match builder.send() {
            Ok(resp) => self.answer(req, resp),
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }

    fn answer(&self, req: &IssuerRequest, resp: Response) -> Attempt {
        let status = resp.status();
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Attempt::Retry(format!("HTTP {status}"));
        }
        let body = match resp.bytes() {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(e.to_string()),
        };
        if !status.is_success() {
            return Attempt::Answer(match serde_json::from_slice::<ErrorResponse>(&body) {
                Ok(e) => IssuerReply::Error(e),
                Err(_) => IssuerReply::Unreachable(format!("HTTP {status} without an error body")),
            });
        }
        let parsed = match req {
            IssuerRequest::Offer { .. } => serde_json::from_slice(&body).map(IssuerReply::Offer),
            IssuerRequest::Nonce => serde_json::from_slice(&body).map(IssuerReply::Nonce),
            IssuerRequest::Token(_) => serde_json::from_slice(&body).map(IssuerReply::Token),
            IssuerRequest::Credential { .. } => {
                serde_json::from_slice(&body).map(IssuerReply::Credential)
            }
            IssuerRequest::Status { .. } => {
                serde_json::from_slice::<CredentialStatus>(&body).map(IssuerReply::Status)
            }
        };
        Attempt::Answer(parsed.unwrap_or_else(|e| {
            IssuerReply::Unreachable(format!("malformed answer from the issuer: {e}"))
        }))
    }
}

impl IssuerClient for HttpIssuer {
    fn call(&mut self, idempotency_key: &str, request: &IssuerRequest, _now: i64) -> IssuerReply {
        let mut last = String::from("no attempt made");
        for n in 0..self.policy.attempts.max(1) {
            let wait = self.policy.delay(n);
            if !wait.is_zero() {
                (self.sleep)(wait);
            }
            match self.attempt(idempotency_key, request) {
                Attempt::Answer(r) => return r,
                Attempt::Retry(why) => last = why,
            }
        }
        IssuerReply::Unreachable(format!(
            "after {} attempts: {last}",
            self.policy.attempts.max(1)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            attempts: 10,
            timeout: Duration::from_secs(1),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
        };
        let waits: Vec<u128> = (0..6).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(waits, vec![0, 100, 200, 400, 700, 700]);
        assert_eq!(p.delay(200), Duration::from_millis(700));
    }

    #[test]
    fn a_closed_port_is_unreachable_after_every_attempt_with_growing_waits() {
        let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let w = waits.clone();
        // Port 9 (discard) on localhost: nothing listens in the test environment.
        let mut c = HttpIssuer::new(
            "http://127.0.0.1:9",
            RetryPolicy {
                attempts: 3,
                timeout: Duration::from_millis(500),
                backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(40),
            },
        )
        .unwrap()
        .with_sleep(move |d| w.lock().unwrap().push(d));
        let r = c.call("k", &IssuerRequest::Nonce, 0);
        assert!(
            matches!(&r, IssuerReply::Unreachable(why) if why.starts_with("after 3 attempts")),
            "{r:?}"
        );
        assert_eq!(
            *waits.lock().unwrap(),
            vec![Duration::from_millis(10), Duration::from_millis(20)]
        );
    }
}
