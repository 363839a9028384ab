//! The vsmartcard vpcd socket transport (being written).
