//! Resident registration numbers: the workspace's one RRN type lives in `protocol::rrn`;
//! this module names it where the issuer's API always had it.

pub use protocol::rrn::{check_digit, gender_digit, Rrn, RrnKind, Sex};
