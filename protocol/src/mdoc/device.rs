//! The presentation side of ISO/IEC 18013-5: the `DeviceResponse` a holder returns, with
//! mdoc authentication by a device signature bound to a mip (QR-MPM) session.
//!
//! # Session transcript
//!
//! 18013-5 §9.1.5.1 defines
//! `SessionTranscript = [DeviceEngagementBytes, EReaderKeyBytes, Handover]`. The Korean mip
//! QR-MPM exchange has neither a device engagement nor an ephemeral reader key (the verifier
//! shows a QR code, the phone fetches its profile over HTTPS), so, as ISO/IEC TS 18013-7
//! does for OpenID4VP (`[null, null, OID4VPHandover]`), both are `null` and the handover
//! names the session:
//!
//! ```cddl
//! SessionTranscript = [
//!   DeviceEngagementBytes: null,
//!   EReaderKeyBytes: null,
//!   Handover: MipHandover
//! ]
//! MipHandover = [
//!   "mip",              ; which handover this is, so that a signature made for a mip
//!                       ; session can never be read as one over another handover shape
//!   verifierId: tstr,   ; the verifier's identifier from its profile
//!   trxcode: tstr,      ; the mip transaction code of this presentation
//!   nonce: tstr         ; the verifier's nonce from its profile
//! ]
//! ```
//!
//! The three strings are carried as the profile gives them, not hashed (18013-7 hashes its
//! client_id and response_uri only to mix in an mdoc-generated nonce, which mip does not
//! have); a CBOR array of text strings is unambiguous already, so no two sessions share an
//! encoding.
//!
//! # Device authentication
//!
//! §9.1.3.4: `DeviceAuthentication = ["DeviceAuthentication", SessionTranscript, DocType,
//! DeviceNameSpacesBytes]` and `DeviceAuthenticationBytes = #6.24(bstr .cbor
//! DeviceAuthentication)`. §9.1.3.6: `deviceSignature` is a COSE_Sign1 (RFC 9052 §4.2) with
//! ES256 in the protected header and a detached (`nil`) payload, signed over the
//! Sig_structure `["Signature1", protected, h'', DeviceAuthenticationBytes]` (RFC 9052
//! §4.4). The mip profile asks for no device-signed elements, so `DeviceNameSpaces` is the
//! empty map, carried as `DeviceNameSpacesBytes = #6.24(bstr .cbor {})`.
//!
//! # DeviceResponse
//!
//! §8.3.2.1.2.2:
//!
//! ```cddl
//! DeviceResponse = { "version": "1.0", ? "documents": [+Document],
//!                    ? "documentErrors": [+DocumentError], "status": uint }
//! Document = { "docType": DocType, "issuerSigned": IssuerSigned,
//!              "deviceSigned": DeviceSigned, ? "errors": Errors }
//! DeviceSigned = { "nameSpaces": DeviceNameSpacesBytes, "deviceAuth": DeviceAuth }
//! DeviceAuth = { "deviceSignature": DeviceSignature // "deviceMac": DeviceMac }
//! ```
//!
//! [`DeviceResponse::decode`] is total: any bytes give a value or
//! [`MdocError::Malformed`]. It does not keep `documentErrors` or a document's `errors` (a
//! verifier only reads what was returned), and it refuses `deviceMac`, which needs the
//! session key of a device engagement that mip does not have.
//!
//! [`DeviceResponse::verify`] checks, in this order, each with its own error: (1) the issuer
//! signature and the signer certificate's chain to the trusted IACA roots
//! ([`MdocError::UntrustedSigner`], [`MdocError::BadSignature`], …), (2) the MSO digest of
//! every disclosed element ([`MdocError::DigestMismatch`]), (3) the device signature with
//! the MSO's device key over the expected transcript ([`MdocError::BadDeviceSignature`]),
//! (4) the MSO's validity at `now` ([`MdocError::NotYetValid`], [`MdocError::Expired`]).
//! Nonce freshness and revocation are the verifier's.

use ciborium::Value;
use coset::{
    iana, sig_structure_data, AsCborValue, CoseSign1, CoseSign1Builder, HeaderBuilder,
    RegisteredLabelWithPrivate, SignatureContext,
};
use p256::ecdsa::Signature;

use super::{
    as_map, as_text, as_u64, from_cbor, get, malformed, tag24, to_cbor, unwrap_tag24, IssuerSigned,
    MdocError, VerifiedMdoc,
};
use crate::pki::Certificate;
use crate::Error;

/// The first element of a [`MipHandover`](self#session-transcript).
pub const MIP_HANDOVER: &str = "mip";
/// The context string of `DeviceAuthentication` (§9.1.3.4).
const DEVICE_AUTHENTICATION: &str = "DeviceAuthentication";
/// The `DeviceResponse` version this module writes and reads.
pub const VERSION: &str = "1.0";
/// `status` 0: OK (§8.3.2.1.2.3).
pub const STATUS_OK: u64 = 0;
/// The encoding of the empty map, the `DeviceNameSpaces` of a mip presentation.
const EMPTY_MAP: [u8; 1] = [0xA0];

/// The `SessionTranscript` of a mip presentation: `[null, null, ["mip", verifierId,
/// trxcode, nonce]]` (see the [module documentation](self#session-transcript)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionTranscript {
    verifier_id: String,
    trxcode: String,
    nonce: String,
}

impl SessionTranscript {
    /// The transcript of the mip session of verifier `verifier_id`, transaction `trxcode`,
    /// with the verifier's `nonce`.
    pub fn mip(verifier_id: &str, trxcode: &str, nonce: &str) -> Self {
        Self {
            verifier_id: verifier_id.to_owned(),
            trxcode: trxcode.to_owned(),
            nonce: nonce.to_owned(),
        }
    }

    /// The verifier identifier.
    pub fn verifier_id(&self) -> &str {
        &self.verifier_id
    }

    /// The transaction code.
    pub fn trxcode(&self) -> &str {
        &self.trxcode
    }

    /// The verifier's nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// As a CBOR value.
    pub fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::Null,
            Value::Null,
            Value::Array(vec![
                Value::Text(MIP_HANDOVER.into()),
                Value::Text(self.verifier_id.clone()),
                Value::Text(self.trxcode.clone()),
                Value::Text(self.nonce.clone()),
            ]),
        ])
    }

    /// Its CBOR encoding.
    pub fn to_cbor(&self) -> Result<Vec<u8>, Error> {
        to_cbor(&self.to_value())
    }
}

/// `DeviceAuthenticationBytes` (§9.1.3.4): `#6.24(bstr .cbor ["DeviceAuthentication",
/// SessionTranscript, DocType, DeviceNameSpacesBytes])`, where `device_namespaces` is the
/// content of `DeviceNameSpacesBytes` (the CBOR of `DeviceNameSpaces`).
pub fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    device_namespaces: &[u8],
) -> Result<Vec<u8>, Error> {
    let da = Value::Array(vec![
        Value::Text(DEVICE_AUTHENTICATION.into()),
        transcript.to_value(),
        Value::Text(doc_type.into()),
        tag24(device_namespaces.to_vec()),
    ]);
    to_cbor(&tag24(to_cbor(&da)?))
}

/// The ES256 protected header of a device signature.
fn es256_protected() -> coset::ProtectedHeader {
    coset::ProtectedHeader {
        original_data: None,
        header: HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES256)
            .build(),
    }
}

/// `DeviceSigned` (§8.3.2.1.2.2) with a `deviceSignature`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSigned {
    /// The content of `DeviceNameSpacesBytes` (the CBOR of `DeviceNameSpaces`, a map), exactly
    /// as received: it is signed in this form.
    pub namespaces: Vec<u8>,
    /// `deviceAuth.deviceSignature`: a COSE_Sign1 with a detached payload.
    pub device_signature: CoseSign1,
}

/// A `Document` of a `DeviceResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// docType.
    pub doc_type: String,
    /// The disclosed issuer-signed items and the issuer's MSO signature.
    pub issuer_signed: IssuerSigned,
    /// The device's signature over the session.
    pub device_signed: DeviceSigned,
}

/// `DeviceResponse` (§8.3.2.1.2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceResponse {
    /// `version`, "1.0".
    pub version: String,
    /// `documents` (an absent array decodes as empty).
    pub documents: Vec<Document>,
    /// `status` (§8.3.2.1.2.3; 0 is OK).
    pub status: u64,
}

impl Document {
    /// Sign `disclosed` (an [`IssuerSigned`], usually [`IssuerSigned::disclose`]d down to
    /// the requested elements) for the session `transcript`. `sign` receives the exact bytes
    /// to sign, the COSE Sig_structure over `DeviceAuthenticationBytes`, and returns an
    /// ECDSA P-256 / SHA-256 signature with the device key whose public half is in the MSO.
    /// Errors of `sign` pass through unchanged; encoding errors become `E` through `From`.
    pub fn sign<E: From<Error>>(
        doc_type: &str,
        disclosed: &IssuerSigned,
        transcript: &SessionTranscript,
        sign: impl FnOnce(&[u8]) -> Result<Signature, E>,
    ) -> Result<Self, E> {
        let namespaces = EMPTY_MAP.to_vec();
        let payload = device_authentication_bytes(transcript, doc_type, &namespaces)?;
        let protected = es256_protected();
        let tbs = sig_structure_data(
            SignatureContext::CoseSign1,
            protected.clone(),
            None,
            &[],
            &payload,
        );
        let sig = sign(&tbs)?;
        let device_signature = CoseSign1Builder::new()
            .protected(protected.header)
            .signature(sig.to_bytes().to_vec())
            .build();
        Ok(Self {
            doc_type: doc_type.to_owned(),
            issuer_signed: disclosed.clone(),
            device_signed: DeviceSigned {
                namespaces,
                device_signature,
            },
        })
    }

    /// Verify this document for `transcript` against the trusted IACA `roots` at `now`:
    /// issuer signature and chain, digests, device signature, validity, in that order.
    pub fn verify(
        &self,
        roots: &[Certificate],
        transcript: &SessionTranscript,
        now: i64,
    ) -> Result<VerifiedMdoc, Error> {
        // (1) and (2): issuer signature, chain, docType of the MSO, digests.
        let v = self
            .issuer_signed
            .verify_issuer_data(roots, &self.doc_type, now)?;
        // (3): the device signature (§9.1.3.6) with the MSO's device key.
        let ds = &self.device_signed;
        if ds.namespaces != EMPTY_MAP {
            let ns = from_cbor(&ds.namespaces, "DeviceNameSpaces")?;
            if !as_map(&ns, "DeviceNameSpaces")?.is_empty() {
                // §8.3.2.1.2.2 lets a device return self-asserted elements; the mip profile
                // requests none, and a verifier must not accept what it did not ask for.
                return Err(malformed(
                    "deviceNameSpaces (the mip profile requests none)",
                ));
            }
        }
        let sign1 = &ds.device_signature;
        if sign1.protected.header.alg
            != Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256))
        {
            return Err(MdocError::UnsupportedAlgorithm.into());
        }
        if sign1.payload.is_some() {
            return Err(malformed("deviceSignature payload (must be detached)"));
        }
        let payload = device_authentication_bytes(transcript, &self.doc_type, &ds.namespaces)?;
        let tbs = sig_structure_data(
            SignatureContext::CoseSign1,
            sign1.protected.clone(),
            None,
            &[],
            &payload,
        );
        let sig =
            Signature::from_slice(&sign1.signature).map_err(|_| MdocError::BadDeviceSignature)?;
        crate::crypto::verify(&v.device_key, &tbs, &sig)
            .map_err(|_| MdocError::BadDeviceSignature)?;
        // (4): the MSO's validity.
        v.check_validity(now)?;
        Ok(v)
    }

    fn to_value(&self) -> Result<Value, Error> {
        let sig = self
            .device_signed
            .device_signature
            .clone()
            .to_cbor_value()
            .map_err(|_| MdocError::Encode("COSE_Sign1"))?;
        Ok(Value::Map(vec![
            (
                Value::Text("docType".into()),
                Value::Text(self.doc_type.clone()),
            ),
            (
                Value::Text("issuerSigned".into()),
                self.issuer_signed.to_value()?,
            ),
            (
                Value::Text("deviceSigned".into()),
                Value::Map(vec![
                    (
                        Value::Text("nameSpaces".into()),
                        tag24(self.device_signed.namespaces.clone()),
                    ),
                    (
                        Value::Text("deviceAuth".into()),
                        Value::Map(vec![(Value::Text("deviceSignature".into()), sig)]),
                    ),
                ]),
            ),
        ]))
    }

    fn from_value(v: &Value) -> Result<Self, Error> {
        let m = as_map(v, "Document")?;
        let doc_type = as_text(get(m, "docType")?, "docType")?.to_owned();
        let issuer_signed = IssuerSigned::from_value(get(m, "issuerSigned")?)?;
        let ds = as_map(get(m, "deviceSigned")?, "deviceSigned")?;
        let namespaces = unwrap_tag24(get(ds, "nameSpaces")?)?;
        // DeviceNameSpaces = { * NameSpace => DeviceSignedItems }, DeviceSignedItems =
        // { + DataElementIdentifier => DataElementValue }.
        for (k, items) in as_map(
            &from_cbor(&namespaces, "DeviceNameSpaces")?,
            "DeviceNameSpaces",
        )? {
            as_text(k, "DeviceNameSpaces namespace")?;
            for (k, _) in as_map(items, "DeviceSignedItems")? {
                as_text(k, "DeviceSignedItems element identifier")?;
            }
        }
        let auth = as_map(get(ds, "deviceAuth")?, "deviceAuth")?;
        let Ok(sig) = get(auth, "deviceSignature") else {
            return Err(malformed(
                "deviceAuth (only deviceSignature: deviceMac needs a session key mip has not)",
            ));
        };
        let device_signature = CoseSign1::from_cbor_value(sig.clone())
            .map_err(|_| malformed("deviceSignature COSE_Sign1"))?;
        Ok(Self {
            doc_type,
            issuer_signed,
            device_signed: DeviceSigned {
                namespaces,
                device_signature,
            },
        })
    }
}

impl DeviceResponse {
    /// The CBOR of a `DeviceResponse` (version "1.0", status 0) with one [`Document`]
    /// signed by [`Document::sign`]: what the phone seals to the verifier.
    pub fn build<E: From<Error>>(
        doc_type: &str,
        disclosed: &IssuerSigned,
        transcript: &SessionTranscript,
        sign: impl FnOnce(&[u8]) -> Result<Signature, E>,
    ) -> Result<Vec<u8>, E> {
        let doc = Document::sign(doc_type, disclosed, transcript, sign)?;
        Ok(Self {
            version: VERSION.into(),
            documents: vec![doc],
            status: STATUS_OK,
        }
        .to_cbor()?)
    }

    /// Decode from CBOR bytes; total.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let v = from_cbor(bytes, "DeviceResponse")?;
        let m = as_map(&v, "DeviceResponse")?;
        let version = as_text(get(m, "version")?, "DeviceResponse version")?.to_owned();
        let status = as_u64(get(m, "status")?, "DeviceResponse status")?;
        let documents = match get(m, "documents") {
            Err(_) => Vec::new(),
            Ok(Value::Array(docs)) => docs
                .iter()
                .map(Document::from_value)
                .collect::<Result<_, _>>()?,
            Ok(_) => return Err(malformed("documents")),
        };
        Ok(Self {
            version,
            documents,
            status,
        })
    }

    /// As a CBOR value.
    pub fn to_value(&self) -> Result<Value, Error> {
        let docs = self
            .documents
            .iter()
            .map(Document::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::Map(vec![
            (
                Value::Text("version".into()),
                Value::Text(self.version.clone()),
            ),
            (Value::Text("documents".into()), Value::Array(docs)),
            (
                Value::Text("status".into()),
                Value::Integer(self.status.into()),
            ),
        ]))
    }

    /// Its CBOR encoding.
    pub fn to_cbor(&self) -> Result<Vec<u8>, Error> {
        to_cbor(&self.to_value()?)
    }

    /// Verify a response that must carry exactly one document of `doc_type`, for the
    /// session `transcript`, against the trusted IACA `roots` at `now` (unix seconds). The
    /// response itself must be version "1.0" with status 0; then [`Document::verify`] runs
    /// the four steps. The answer holds the disclosed elements, the MSO's device key and
    /// validity, and the signer certificate.
    pub fn verify(
        &self,
        roots: &[Certificate],
        doc_type: &str,
        transcript: &SessionTranscript,
        now: i64,
    ) -> Result<VerifiedMdoc, Error> {
        if self.version != VERSION {
            return Err(malformed("DeviceResponse version"));
        }
        if self.status != STATUS_OK {
            return Err(MdocError::ResponseStatus(self.status).into());
        }
        let [doc] = self.documents.as_slice() else {
            return Err(MdocError::DocumentCount(self.documents.len()).into());
        };
        if doc.doc_type != doc_type {
            return Err(MdocError::DocTypeMismatch {
                found: doc.doc_type.clone(),
            }
            .into());
        }
        doc.verify(roots, transcript, now)
    }
}

#[cfg(test)]
mod tests;
