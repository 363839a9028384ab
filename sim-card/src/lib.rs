//! The virtual IC resident registration card (being written).
