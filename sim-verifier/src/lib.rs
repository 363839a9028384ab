//! Relying parties (office, bank, hospital).
//!
//! Not built yet. This crate will hold presentation requests in the published "mip" message
//! protocol (M200/M310/M400/M900) and verification of ISO 18013-5 DeviceResponses.
