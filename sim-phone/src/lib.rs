//! The virtual phone and its Mobile ID app.
//!
//! Not built yet. This crate will hold the holder's side: an NFC reader trait (in-process card,
//! fault-injecting wrapper, PC/SC), a camera that decodes QR images, a keystore of
//! non-exportable device keys, an issuer client, and the app's tap-to-issue and QR-download
//! flows as sans-IO state machines. It talks to any card through APDU bytes and to any issuer
//! through the wire types in `protocol`.
