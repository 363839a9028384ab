//! The mock issuer (the Ministry's side).
//!
//! Not built yet. This crate will hold the resident registry, the rollout policy read from a
//! data file, the PKI (country root, Document Signer, mdoc issuer), the community-center desk,
//! the OpenID4VCI-shaped issuance service minting ISO 18013-5 mdocs, revocation and status, and
//! an axum HTTP shell around the same core.
