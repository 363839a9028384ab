//! The relying-party interface of the Korean mobile ID: the "mip" messages of the published
//! message specification v1.8.0 (2022-05-25), QR-MPM direct mode.
//!
//! 1. The verifier opens a transaction and shows [`M200`] (`mode: "direct"`, `host`, no
//!    profile: a QR-MPM M200 must not carry the profile, which would make the QR too dense to
//!    read) as a QR image holding the base64url of the message ([`M200::to_qr_text`]).
//! 2. The phone POSTs [`M310`] (`request: "profile"`) to `{host}/mip/profile`
//!    ([`PATH_PROFILE`]).
//! 3. The verifier answers [`ProfileReply`]: the trxcode and the base64url of a signed
//!    [`Profile`] (the verifier's request: nonce, encryption key, the elements it asks for).
//! 4. The phone POSTs [`M400`] (`request: "presentation"`, a [`Vp`] whose `data` is the hex of
//!    the sealed DeviceResponse) to the profile's `callBackUrl`, or `{host}/mip/vp`.
//! 5. The verifier answers `{"result": true}`, or `{"result": false, "data": base64url(M900)}`
//!    ([`M900`], [`ErrorCode`]) on any error, always with HTTP 200.
//!
//! Every HTTP request body is [`Envelope`] `{"data": base64url(message)}`; every answer is
//! [`HttpReply`]. base64url is without padding (RFC 4648 §5); a decoder also accepts padding.
//!
//! Decoding is total: [`decode_request`] turns any bytes into a typed message or a
//! [`MipError`] carrying the spec's error code ([`decode_message`] gives the order of the
//! checks).
//!
//! ## Decisions where the specification is silent or not public
//! - `presentType` 0 is used and its `data` is an ISO/IEC 18013-5 DeviceResponse
//!   (`crate::mdoc::device`), sealed to the profile's key with keyType 1 (secp256r1) and
//!   encryptType 2 (AES-256: ECDH P-256, HKDF-SHA256, AES-256-GCM, `crate::seal`), with the
//!   trxcode as additional authenticated data.
//! - `publicKey` is the base64url of the SEC1 compressed point of the verifier's per-transaction
//!   encryption key.
//! - The profile's `proof` is an ES256 signature (`signatureValue`: base64url of r‖s, RFC 7518
//!   §3.4) by the verifier's registered key (its `did:kr:mobileid:` DID key, here
//!   [`Profile::verify`] takes the key the phone's verifier registry resolves) over the
//!   canonical JSON ([`canonical_json`]: keys sorted, no whitespace, as RFC 8785 does for our
//!   value set) of the whole profile document with `proof.signatureValue` removed.
//! - `authType` in the profile lists the holder authentications the verifier accepts
//!   (`"pin"`, `"bio"`); in the VP it names the one used.
//! - A VP whose verification fails is answered with 10100 (invalid data) and an `errmsg`
//!   starting with the refusal's key (`"revoked: ..."`), so both a person and a program can
//!   read it.

use core::fmt;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `type` of every message.
pub const TYPE: &str = "mip";
/// The message version this implementation speaks.
pub const VERSION: &str = "1.0.0";
/// Handler path of M310.
pub const PATH_PROFILE: &str = "/mip/profile";
/// Handler path of M400 when the profile names no callBackUrl.
pub const PATH_VP: &str = "/mip/vp";
/// Handler path of an M900 the phone reports.
pub const PATH_ERROR: &str = "/mip/error";
/// `profile.type` and `vp.type` of a verification.
pub const VERIFY: &str = "VERIFY";
/// `keyType` secp256r1.
pub const KEY_TYPE_P256: u8 = 1;
/// `encryptType` AES-256.
pub const ENCRYPT_AES256: u8 = 2;
/// The `presentType` this implementation uses (a sealed DeviceResponse).
pub const PRESENT_TYPE_MDOC: u8 = 0;
/// The proof type of the profile signature.
pub const PROOF_TYPE: &str = "EcdsaSecp256r1Signature2019";

/// The error codes of the specification (M900 `errcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 10001: the message is not JSON.
    NotJson,
    /// 10002: a mandatory item is missing.
    MissingItem,
    /// 10100: invalid data.
    InvalidData,
    /// 10101: `type` is not "mip".
    InvalidType,
    /// 10102: unsupported version.
    UnsupportedVersion,
    /// 10103: wrong cmd.
    WrongCmd,
    /// 10104: trxcode not found.
    UnknownTrxcode,
    /// 10201: message sequence error (M310 must come before M400).
    Sequence,
    /// 10202: timed out.
    TimedOut,
    /// 99999: unknown.
    Unknown,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 10] = [
        Self::NotJson,
        Self::MissingItem,
        Self::InvalidData,
        Self::InvalidType,
        Self::UnsupportedVersion,
        Self::WrongCmd,
        Self::UnknownTrxcode,
        Self::Sequence,
        Self::TimedOut,
        Self::Unknown,
    ];

    /// The numeric code.
    pub fn code(self) -> u32 {
        match self {
            Self::NotJson => 10001,
            Self::MissingItem => 10002,
            Self::InvalidData => 10100,
            Self::InvalidType => 10101,
            Self::UnsupportedVersion => 10102,
            Self::WrongCmd => 10103,
            Self::UnknownTrxcode => 10104,
            Self::Sequence => 10201,
            Self::TimedOut => 10202,
            Self::Unknown => 99999,
        }
    }

    /// The code with this number; unknown numbers are [`ErrorCode::Unknown`].
    pub fn from_code(code: u32) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .unwrap_or(Self::Unknown)
    }

    /// The specification's meaning of the code.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::NotJson => "not JSON",
            Self::MissingItem => "mandatory item missing",
            Self::InvalidData => "invalid data",
            Self::InvalidType => "type is not mip",
            Self::UnsupportedVersion => "unsupported version",
            Self::WrongCmd => "wrong cmd",
            Self::UnknownTrxcode => "trxcode not found",
            Self::Sequence => "message sequence error",
            Self::TimedOut => "timed out",
            Self::Unknown => "unknown error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}

/// A message that was refused: its code and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MipError {
    /// The specification's code.
    pub code: ErrorCode,
    /// What exactly was wrong.
    pub msg: String,
}

impl MipError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    /// The M900 that reports it for `trxcode` (empty when the trxcode could not be read).
    pub fn to_m900(&self, trxcode: &str) -> M900 {
        M900 {
            trxcode: trxcode.to_owned(),
            errcode: self.code.code(),
            errmsg: self.msg.clone(),
        }
    }
}

impl fmt::Display for MipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.msg)
    }
}

impl std::error::Error for MipError {}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url, with or without padding.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    if text.ends_with('=') {
        URL_SAFE.decode(text).ok()
    } else {
        URL_SAFE_NO_PAD.decode(text).ok()
    }
}

/// An HTTP request body: `{"data": base64url(message)}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// base64url of the message's JSON.
    pub data: String,
}

impl Envelope {
    /// The envelope of a message.
    pub fn of(message: &impl Serialize) -> Self {
        Self {
            data: b64(&to_json(message)),
        }
    }

    /// The request body's bytes.
    pub fn to_body(&self) -> Vec<u8> {
        to_json(self)
    }
}

/// Every answer of a verifier: HTTP 200 with `{"result": true|false, "data": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpReply {
    /// Whether the request succeeded.
    pub result: bool,
    /// base64url of the answer (a [`ProfileReply`] or an [`M900`]), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl HttpReply {
    /// `{"result": true}`.
    pub fn ok() -> Self {
        Self {
            result: true,
            data: None,
        }
    }

    /// `{"result": true, "data": base64url(answer)}`.
    pub fn ok_with(answer: &impl Serialize) -> Self {
        Self {
            result: true,
            data: Some(b64(&to_json(answer))),
        }
    }

    /// `{"result": false, "data": base64url(M900)}`.
    pub fn error(m900: &M900) -> Self {
        Self {
            result: false,
            data: Some(b64(&to_json(&m900.to_message()))),
        }
    }

    /// The body's bytes.
    pub fn to_body(&self) -> Vec<u8> {
        to_json(self)
    }

    /// Decode an answer body (the phone's side).
    pub fn from_body(body: &[u8]) -> Result<Self, MipError> {
        serde_json::from_slice(body)
            .map_err(|e| MipError::new(ErrorCode::NotJson, format!("answer: {e}")))
    }

    /// The M900 of a failed answer.
    pub fn m900(&self) -> Result<M900, MipError> {
        let data = self
            .data
            .as_deref()
            .ok_or_else(|| MipError::new(ErrorCode::MissingItem, "answer data"))?;
        let json = unb64(data)
            .ok_or_else(|| MipError::new(ErrorCode::InvalidData, "answer data is not base64url"))?;
        match decode_message(&json, Cmd::M900)? {
            Message::M900(m) => Ok(m),
            _ => Err(MipError::new(ErrorCode::WrongCmd, "not an M900")),
        }
    }

    /// The [`ProfileReply`] of a successful M310 answer.
    pub fn profile_reply(&self) -> Result<ProfileReply, MipError> {
        if !self.result {
            let m = self.m900()?;
            return Err(MipError::new(ErrorCode::from_code(m.errcode), m.errmsg));
        }
        let data = self
            .data
            .as_deref()
            .ok_or_else(|| MipError::new(ErrorCode::MissingItem, "answer data"))?;
        let json = unb64(data)
            .ok_or_else(|| MipError::new(ErrorCode::InvalidData, "answer data is not base64url"))?;
        serde_json::from_slice(&json)
            .map_err(|e| MipError::new(ErrorCode::InvalidData, format!("profile reply: {e}")))
    }
}

fn to_json(v: &impl Serialize) -> Vec<u8> {
    // Our message types serialise to JSON without fail (strings, integers, maps with string
    // keys); the empty object is an impossible fallback.
    serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())
}

/// The `cmd` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    /// "200": VP request (shown as a QR code).
    M200,
    /// "310": profile request.
    M310,
    /// "400": VP submission.
    M400,
    /// "900": error.
    M900,
}

impl Cmd {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M200 => "200",
            Self::M310 => "310",
            Self::M400 => "400",
            Self::M900 => "900",
        }
    }
}

/// M200: the VP request a verifier shows as a QR code (QR-MPM, direct mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M200 {
    /// The transaction code.
    pub trxcode: String,
    /// `mode`: "direct".
    pub mode: String,
    /// The verifier's base URL, where the phone sends M310.
    pub host: String,
    /// `ci`: whether the verifier asks for the holder's connecting information (false).
    pub ci: bool,
}

impl M200 {
    /// A direct-mode M200.
    pub fn direct(trxcode: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            trxcode: trxcode.into(),
            mode: "direct".into(),
            host: host.into(),
            ci: false,
        }
    }

    fn to_message(&self) -> Value {
        let mut m = header(Cmd::M200, &self.trxcode);
        m.insert("mode".into(), Value::String(self.mode.clone()));
        m.insert("ci".into(), Value::Bool(self.ci));
        m.insert("host".into(), Value::String(self.host.clone()));
        Value::Object(m)
    }

    /// The QR code's text: base64url of the message's JSON.
    pub fn to_qr_text(&self) -> String {
        b64(&to_json(&self.to_message()))
    }

    /// Decode a scanned QR code's text.
    pub fn from_qr_text(text: &str) -> Result<Self, MipError> {
        let json = unb64(text.trim())
            .ok_or_else(|| MipError::new(ErrorCode::InvalidData, "QR text is not base64url"))?;
        match decode_message(&json, Cmd::M200)? {
            Message::M200(m) => Ok(m),
            _ => Err(MipError::new(ErrorCode::WrongCmd, "not an M200")),
        }
    }
}

/// M310: the phone's profile request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M310 {
    /// The transaction code from the M200.
    pub trxcode: String,
}

impl M310 {
    /// The message as JSON.
    pub fn to_message(&self) -> Value {
        let mut m = header(Cmd::M310, &self.trxcode);
        m.insert("request".into(), Value::String("profile".into()));
        Value::Object(m)
    }
}

/// The `vp` object of an M400.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vp {
    /// 0, 1 or 2; this implementation sends [`PRESENT_TYPE_MDOC`].
    pub present_type: u8,
    /// 0 none, 1 AES-128, 2 AES-256.
    pub encrypt_type: u8,
    /// 0 secp256k1, 1 secp256r1, 2 RSA.
    pub key_type: u8,
    /// How the holder authenticated ("pin" or "bio").
    pub auth_type: String,
    /// The holder's DID, when the credential has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The profile's nonce.
    pub nonce: String,
    /// "VERIFY".
    #[serde(rename = "type")]
    pub kind: String,
    /// Hex of the sealed DeviceResponse.
    pub data: String,
}

/// M400: the phone's VP submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M400 {
    /// The transaction code.
    pub trxcode: String,
    /// The verifiable presentation.
    pub vp: Vp,
}

impl M400 {
    /// The message as JSON.
    pub fn to_message(&self) -> Value {
        let mut m = header(Cmd::M400, &self.trxcode);
        m.insert("request".into(), Value::String("presentation".into()));
        m.insert(
            "vp".into(),
            serde_json::to_value(&self.vp).unwrap_or(Value::Null),
        );
        Value::Object(m)
    }
}

/// M900: an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M900 {
    /// The transaction code (empty when it could not be read).
    pub trxcode: String,
    /// The numeric code ([`ErrorCode::code`]).
    pub errcode: u32,
    /// What was wrong.
    pub errmsg: String,
}

impl M900 {
    /// The message as JSON.
    pub fn to_message(&self) -> Value {
        let mut m = header(Cmd::M900, &self.trxcode);
        m.insert("errcode".into(), Value::from(self.errcode));
        m.insert("errmsg".into(), Value::String(self.errmsg.clone()));
        Value::Object(m)
    }

    /// The code as an [`ErrorCode`].
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from_code(self.errcode)
    }
}

fn header(cmd: Cmd, trxcode: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(TYPE.into()));
    m.insert("version".into(), Value::String(VERSION.into()));
    m.insert("cmd".into(), Value::String(cmd.as_str().into()));
    m.insert("trxcode".into(), Value::String(trxcode.into()));
    m
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A VP request.
    M200(M200),
    /// A profile request.
    M310(M310),
    /// A VP submission.
    M400(M400),
    /// An error.
    M900(M900),
}

impl Message {
    /// The transaction code.
    pub fn trxcode(&self) -> &str {
        match self {
            Self::M200(m) => &m.trxcode,
            Self::M310(m) => &m.trxcode,
            Self::M400(m) => &m.trxcode,
            Self::M900(m) => &m.trxcode,
        }
    }

    /// The message as JSON.
    pub fn to_message(&self) -> Value {
        match self {
            Self::M200(m) => m.to_message(),
            Self::M310(m) => m.to_message(),
            Self::M400(m) => m.to_message(),
            Self::M900(m) => m.to_message(),
        }
    }

    /// The request body carrying it.
    pub fn to_body(&self) -> Vec<u8> {
        Envelope::of(&self.to_message()).to_body()
    }
}

/// What a refused request still told us: its trxcode, if it could be read, for the M900.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub error: MipError,
    /// The trxcode, when the message got that far.
    pub trxcode: Option<String>,
}

impl Refused {
    /// The M900 that answers it.
    pub fn to_m900(&self) -> M900 {
        self.error.to_m900(self.trxcode.as_deref().unwrap_or(""))
    }
}

/// Decode an HTTP request body `{"data": base64url(message)}` expecting a message of `cmd`.
pub fn decode_request(body: &[u8], cmd: Cmd) -> Result<Message, Refused> {
    let refused = |error| Refused {
        error,
        trxcode: None,
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| refused(MipError::new(ErrorCode::NotJson, format!("body: {e}"))))?;
    let data = match v.get("data") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(refused(MipError::new(
                ErrorCode::InvalidData,
                "data is not a string",
            )))
        }
        None => return Err(refused(MipError::new(ErrorCode::MissingItem, "data"))),
    };
    let json = unb64(data).ok_or_else(|| {
        refused(MipError::new(
            ErrorCode::InvalidData,
            "data is not base64url",
        ))
    })?;
    decode_message(&json, cmd).map_err(|error| Refused {
        trxcode: serde_json::from_slice::<Value>(&json)
            .ok()
            .and_then(|v| v.get("trxcode")?.as_str().map(str::to_owned)),
        error,
    })
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, MipError> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(MipError::new(
            ErrorCode::InvalidData,
            format!("{key} is not a string"),
        )),
        None => Err(MipError::new(ErrorCode::MissingItem, key.to_owned())),
    }
}

/// Decode a message's JSON expecting `cmd`: not JSON (10001); a header item missing (10002);
/// type (10101), version (10102), cmd (10103); a body item missing, `vp`'s mandatory fields
/// included (10002); invalid data (10100).
pub fn decode_message(json: &[u8], cmd: Cmd) -> Result<Message, MipError> {
    let v: Value = serde_json::from_slice(json)
        .map_err(|e| MipError::new(ErrorCode::NotJson, format!("message: {e}")))?;
    let Value::Object(m) = v else {
        return Err(MipError::new(
            ErrorCode::NotJson,
            "message is not an object",
        ));
    };
    // The header first (its items, then type, version and cmd), then the body's items,
    // then the body's values.
    for key in ["type", "version", "cmd", "trxcode"] {
        text(&m, key)?;
    }
    if text(&m, "type")? != TYPE {
        return Err(MipError::new(ErrorCode::InvalidType, "type is not \"mip\""));
    }
    let version = text(&m, "version")?;
    if version != VERSION {
        return Err(MipError::new(
            ErrorCode::UnsupportedVersion,
            format!("version {version:?}"),
        ));
    }
    let found = text(&m, "cmd")?;
    if found != cmd.as_str() {
        return Err(MipError::new(
            ErrorCode::WrongCmd,
            format!("cmd {found:?}, expected {:?}", cmd.as_str()),
        ));
    }
    let mandatory: &[&str] = match cmd {
        Cmd::M200 => &["mode", "host"],
        Cmd::M310 => &["request"],
        Cmd::M400 => &["request", "vp"],
        Cmd::M900 => &["errcode", "errmsg"],
    };
    for key in mandatory {
        if !m.contains_key(*key) {
            return Err(MipError::new(ErrorCode::MissingItem, (*key).to_owned()));
        }
    }
    let vp = if cmd == Cmd::M400 {
        Some(decode_vp(&m)?)
    } else {
        None
    };
    let trxcode = text(&m, "trxcode")?.to_owned();
    // An M900 answering a request whose trxcode could not be read carries an empty one: the
    // item is mandatory, but there is nothing to echo.
    if (trxcode.is_empty() && cmd != Cmd::M900) || trxcode.len() > 128 {
        return Err(MipError::new(ErrorCode::InvalidData, "trxcode length"));
    }
    Ok(match cmd {
        Cmd::M200 => {
            let mode = text(&m, "mode")?;
            if mode != "direct" {
                return Err(MipError::new(
                    ErrorCode::InvalidData,
                    format!("mode {mode:?} (only direct is supported)"),
                ));
            }
            if m.contains_key("profile") {
                return Err(MipError::new(
                    ErrorCode::InvalidData,
                    "a QR-MPM M200 must not carry the profile",
                ));
            }
            let ci = match m.get("ci") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(MipError::new(ErrorCode::InvalidData, "ci")),
            };
            Message::M200(M200 {
                trxcode,
                mode: mode.to_owned(),
                host: text(&m, "host")?.to_owned(),
                ci,
            })
        }
        Cmd::M310 => {
            request(&m, "profile")?;
            Message::M310(M310 { trxcode })
        }
        Cmd::M400 => {
            request(&m, "presentation")?;
            Message::M400(M400 {
                trxcode,
                vp: vp.ok_or_else(|| MipError::new(ErrorCode::MissingItem, "vp"))?,
            })
        }
        Cmd::M900 => {
            let errcode = m
                .get("errcode")
                .and_then(|c| match c {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .and_then(|c| u32::try_from(c).ok())
                .ok_or_else(|| MipError::new(ErrorCode::InvalidData, "errcode"))?;
            Message::M900(M900 {
                trxcode,
                errcode,
                errmsg: text(&m, "errmsg")?.to_owned(),
            })
        }
    })
}

fn request(m: &Map<String, Value>, expected: &str) -> Result<(), MipError> {
    let r = text(m, "request")?;
    if r != expected {
        return Err(MipError::new(
            ErrorCode::InvalidData,
            format!("request {r:?}, expected {expected:?}"),
        ));
    }
    Ok(())
}

fn small(vp: &Map<String, Value>, key: &str, max: u8) -> Result<u8, MipError> {
    let v = vp
        .get(key)
        .ok_or_else(|| MipError::new(ErrorCode::MissingItem, format!("vp.{key}")))?;
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n <= u64::from(max) => Ok(n as u8),
        _ => Err(MipError::new(
            ErrorCode::InvalidData,
            format!("vp.{key} is not 0-{max}"),
        )),
    }
}

fn decode_vp(m: &Map<String, Value>) -> Result<Vp, MipError> {
    let Some(Value::Object(vp)) = m.get("vp") else {
        return Err(MipError::new(ErrorCode::InvalidData, "vp is not an object"));
    };
    for key in [
        "presentType",
        "encryptType",
        "keyType",
        "authType",
        "nonce",
        "type",
        "data",
    ] {
        if !vp.contains_key(key) {
            return Err(MipError::new(ErrorCode::MissingItem, format!("vp.{key}")));
        }
    }
    let vp_text = |key: &str| -> Result<String, MipError> {
        text(vp, key)
            .map(str::to_owned)
            .map_err(|e| MipError::new(e.code, format!("vp.{}", e.msg)))
    };
    let kind = vp_text("type")?;
    if kind != VERIFY {
        return Err(MipError::new(
            ErrorCode::InvalidData,
            format!("vp.type {kind:?}"),
        ));
    }
    let data = vp_text("data")?;
    if data.len() % 2 != 0 || !data.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MipError::new(ErrorCode::InvalidData, "vp.data is not hex"));
    }
    Ok(Vp {
        present_type: small(vp, "presentType", 2)?,
        encrypt_type: small(vp, "encryptType", 2)?,
        key_type: small(vp, "keyType", 2)?,
        auth_type: vp_text("authType")?,
        did: match vp.get("did") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        nonce: vp_text("nonce")?,
        kind,
        data,
    })
}

/// The answer to M310: the trxcode and the base64url of the signed [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReply {
    /// The transaction code.
    pub trxcode: String,
    /// base64url of the profile document's JSON.
    pub profile: String,
}

/// The elements a verifier asks for and the issuers it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Elements the holder must disclose (identifiers of `crate::mdoc::element`).
    pub required_assertion_list: Vec<String>,
    /// Privacy-sensitive elements the holder must disclose (RRN, portrait, address).
    pub required_privacy_list: Vec<String>,
    /// Issuers whose credentials are accepted (their DIDs).
    pub allow_issuer_list: Vec<String>,
}

impl Filter {
    /// Every element asked for: the assertions, then the private ones.
    pub fn requested(&self) -> impl Iterator<Item = &str> {
        self.required_assertion_list
            .iter()
            .chain(&self.required_privacy_list)
            .map(String::as_str)
    }
}

/// The request part of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBody {
    /// "VERIFY".
    #[serde(rename = "type")]
    pub kind: String,
    /// The relying party's name, shown to the holder.
    pub name: String,
    /// The nonce the device signature must cover.
    pub nonce: String,
    /// base64url of the SEC1 compressed encryption key.
    pub public_key: String,
    /// 1: secp256r1.
    pub key_type: u8,
    /// 2: AES-256.
    pub encrypt_type: u8,
    /// 0: a sealed DeviceResponse.
    pub present_type: u8,
    /// Holder authentications accepted.
    pub auth_type: Vec<String>,
    /// Where M400 goes; `{host}/mip/vp` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_back_url: Option<String>,
    /// Service provider code.
    pub sp_code: String,
    /// Service code.
    pub svc_code: String,
    /// What is asked for.
    pub filter: Filter,
}

/// The profile's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
    /// [`PROOF_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was signed (RFC 3339).
    pub created: String,
    /// The signing key's identifier (`{verifier DID}#key1`).
    pub creator: String,
    /// A nonce of the proof.
    pub nonce: String,
    /// base64url of the ES256 signature (r‖s); absent while signing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature_value: String,
}

/// The profile document a verifier signs and the phone checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The verifier's identifier (its DID).
    pub id: String,
    /// "UTF-8".
    pub encoding: String,
    /// "ko".
    pub language: String,
    /// "Asia/Seoul".
    pub timezone: String,
    /// The profile's version.
    pub version: String,
    /// The request.
    pub profile: ProfileBody,
    /// The signature.
    pub proof: Proof,
}

/// Why a profile was not accepted by the phone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not base64url JSON of a profile document; says what.
    #[error("malformed profile: {0}")]
    Malformed(String),
    /// The proof does not verify under the verifier's registered key.
    #[error("the profile's signature does not verify")]
    BadSignature,
    /// A key, encryption or presentation type this phone does not support.
    #[error("unsupported profile: {0}")]
    Unsupported(&'static str),
}

/// JSON with object keys sorted and no whitespace: the canonical form the profile proof
/// covers. For strings, booleans, null and integers this is RFC 8785 (JCS); the profile has
/// no other values.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            out.push(b'{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(to_json(k));
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => out.extend(to_json(other)),
    }
}

impl Profile {
    /// The bytes the proof signs: the canonical JSON without `proof.signatureValue`.
    fn signing_input(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.proof.signature_value.clear();
        canonical_json(&serde_json::to_value(&unsigned).unwrap_or(Value::Null))
    }

    /// Sign the profile (ES256, through `crate::crypto`), filling `proof.signatureValue`.
    pub fn sign(mut self, key: &SigningKey) -> Self {
        let sig = crate::crypto::sign(key, &self.signing_input());
        self.proof.signature_value = b64(&sig.to_bytes());
        self
    }

    /// Check the proof under the verifier's registered key, and that the profile asks for
    /// what this implementation can answer.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), ProfileError> {
        let sig = unb64(&self.proof.signature_value)
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(ProfileError::BadSignature)?;
        crate::crypto::verify(key, &self.signing_input(), &sig)
            .map_err(|_| ProfileError::BadSignature)?;
        let p = &self.profile;
        if p.kind != VERIFY {
            return Err(ProfileError::Unsupported("profile type is not VERIFY"));
        }
        if p.key_type != KEY_TYPE_P256 {
            return Err(ProfileError::Unsupported("keyType"));
        }
        if p.encrypt_type != ENCRYPT_AES256 {
            return Err(ProfileError::Unsupported("encryptType"));
        }
        if p.present_type != PRESENT_TYPE_MDOC {
            return Err(ProfileError::Unsupported("presentType"));
        }
        Ok(())
    }

    /// The verifier's encryption key.
    pub fn encryption_key(&self) -> Result<PublicKey, ProfileError> {
        unb64(&self.profile.public_key)
            .and_then(|b| PublicKey::from_sec1_bytes(&b).ok())
            .ok_or_else(|| ProfileError::Malformed("publicKey".into()))
    }

    /// base64url of the document's JSON, as carried in [`ProfileReply::profile`].
    pub fn to_b64(&self) -> String {
        b64(&to_json(self))
    }

    /// Decode [`ProfileReply::profile`].
    pub fn from_b64(text: &str) -> Result<Self, ProfileError> {
        let json = unb64(text).ok_or_else(|| ProfileError::Malformed("not base64url".into()))?;
        serde_json::from_slice(&json).map_err(|e| ProfileError::Malformed(e.to_string()))
    }
}

/// The base64url SEC1 compressed form of a public key, as `publicKey` carries it.
pub fn public_key_text(key: &PublicKey) -> String {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    b64(key.to_encoded_point(true).as_bytes())
}

#[cfg(test)]
mod tests;
