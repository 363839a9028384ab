//! BER-TLV (ISO/IEC 7816-4 §5.2, ISO/IEC 8825-1 / X.690 §8.1) with multi-byte tags and
//! lengths.
//!
//! - Tags of up to four bytes are held as the big-endian value of their bytes in a [`Tag`]
//!   (`0x7F49`, `0x5F1F`), so they read the way the specifications print them.
//! - Lengths use the short form below 128 and the long form `81`..`84` above; the indefinite
//!   form `80` is refused (ISO 7816-4 §5.2.2.2 does not allow it in interindustry data).
//! - [`Tlv`] is an owned tree: constructed tags (bit b6 of the first tag byte) are parsed into
//!   children. [`TlvIter`] walks a flat sequence without copying.

use core::fmt;

use crate::reader::Reader;
use crate::{DecodeErrorKind, Error};

/// A BER tag held as the big-endian value of its 1 to 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

impl Tag {
    /// The tag's bytes, without leading zero bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        let b = self.0.to_be_bytes();
        let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
        b[skip..].to_vec()
    }

    /// True if the tag announces a constructed encoding (first byte bit b6 = 0x20).
    pub fn is_constructed(self) -> bool {
        self.to_bytes()[0] & 0x20 != 0
    }

    /// True if the bytes form one complete, well-formed tag (used to validate hand-built
    /// tags before encoding).
    pub fn is_well_formed(self) -> bool {
        let bytes = self.to_bytes();
        matches!(read_tag(&mut Reader::new(&bytes, "tag")), Ok(t) if t == self)
            && bytes.len() == encoded_tag_len(&bytes)
    }
}

fn encoded_tag_len(bytes: &[u8]) -> usize {
    if bytes[0] & 0x1F != 0x1F {
        return 1;
    }
    1 + bytes[1..]
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |p| p + 1)
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode_upper(self.to_bytes()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

fn read_tag(r: &mut Reader<'_>) -> Result<Tag, Error> {
    let first = r.u8()?;
    let mut value = u32::from(first);
    if first & 0x1F == 0x1F {
        // X.690 §8.1.2.4: subsequent bytes, b8 set on all but the last.
        let mut n = 0;
        loop {
            let b = r.u8()?;
            n += 1;
            if n > 3 {
                return Err(r.err(DecodeErrorKind::BadTag));
            }
            value = (value << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    Ok(Tag(value))
}

fn read_len(r: &mut Reader<'_>) -> Result<usize, Error> {
    let first = r.u8()?;
    match first {
        0..=0x7F => Ok(usize::from(first)),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let bytes = r.take(n)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            Ok(len)
        }
        _ => Err(r.err(DecodeErrorKind::BadLength)),
    }
}

/// Append the minimal BER encoding of a length.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Append one TLV: tag, minimal length, value.
pub fn encode_into(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&tag.to_bytes());
    encode_len(value.len(), out);
    out.extend_from_slice(value);
}

/// One TLV as bytes.
pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    encode_into(tag, value, &mut out);
    out
}

/// Read one TLV from the front of `bytes`: its tag, its value, and how many bytes it used.
pub fn read_one(bytes: &[u8]) -> Result<(Tag, &[u8], usize), Error> {
    let mut r = Reader::new(bytes, "BER-TLV");
    let tag = read_tag(&mut r)?;
    let len = read_len(&mut r)?;
    let value = r.take(len)?;
    Ok((tag, value, r.position()))
}

/// Find the value of the first TLV with `tag` in a flat sequence.
pub fn find(bytes: &[u8], tag: Tag) -> Result<Option<&[u8]>, Error> {
    for item in TlvIter::new(bytes) {
        let (t, v) = item?;
        if t == tag {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Iterates over a flat sequence of TLVs without copying. After the first error it stops.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Walk `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<(Tag, &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match read_one(self.rest) {
            Ok((tag, value, used)) => {
                self.rest = &self.rest[used..];
                self.offset += used;
                Some(Ok((tag, value)))
            }
            Err(Error::Decode {
                what,
                kind,
                position,
            }) => {
                self.failed = true;
                Some(Err(Error::Decode {
                    what,
                    kind,
                    position: position + self.offset,
                }))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// An owned BER-TLV tree.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    /// The tag.
    pub tag: Tag,
    /// The content.
    pub value: Value,
}

/// The content of a [`Tlv`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Primitive value bytes.
    Primitive(Vec<u8>),
    /// Children of a constructed TLV.
    Constructed(Vec<Tlv>),
}

/// The deepest nesting [`Tlv::decode`] follows before refusing: deep enough for every
/// structure in this workspace, shallow enough that hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 16;

impl Tlv {
    /// A primitive TLV.
    pub fn primitive(tag: impl Into<Tag>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            tag: tag.into(),
            value: Value::Primitive(value.into()),
        }
    }

    /// A constructed TLV.
    pub fn constructed(tag: impl Into<Tag>, children: Vec<Tlv>) -> Self {
        Self {
            tag: tag.into(),
            value: Value::Constructed(children),
        }
    }

    /// Encode the tree.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Append the encoded tree to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match &self.value {
            Value::Primitive(v) => encode_into(self.tag, v, out),
            Value::Constructed(children) => {
                let mut inner = Vec::new();
                for c in children {
                    c.encode_into(&mut inner);
                }
                encode_into(self.tag, &inner, out);
            }
        }
    }

    /// Decode exactly one TLV tree; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let (tlv, used) = Self::decode_prefix(bytes, 0, 0)?;
        if used != bytes.len() {
            return Err(Error::decode(
                "BER-TLV",
                DecodeErrorKind::TrailingData,
                used,
            ));
        }
        Ok(tlv)
    }

    /// Decode a flat sequence of TLV trees filling all of `bytes`.
    pub fn decode_all(bytes: &[u8]) -> Result<Vec<Self>, Error> {
        Self::decode_seq(bytes, 0, 0)
    }

    fn decode_seq(bytes: &[u8], base: usize, depth: usize) -> Result<Vec<Self>, Error> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let (tlv, used) = Self::decode_prefix(&bytes[pos..], base + pos, depth)?;
            out.push(tlv);
            pos += used;
        }
        Ok(out)
    }

    fn decode_prefix(bytes: &[u8], base: usize, depth: usize) -> Result<(Self, usize), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::decode("BER-TLV", DecodeErrorKind::BadValue, base));
        }
        let (tag, value, used) = read_one(bytes).map_err(|e| match e {
            Error::Decode {
                what,
                kind,
                position,
            } => Error::Decode {
                what,
                kind,
                position: position + base,
            },
            e => e,
        })?;
        let header = used - value.len();
        let value = if tag.is_constructed() {
            Value::Constructed(Self::decode_seq(value, base + header, depth + 1)?)
        } else {
            Value::Primitive(value.to_vec())
        };
        Ok((Self { tag, value }, used))
    }

    /// The value bytes if primitive.
    pub fn as_primitive(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Primitive(v) => Some(v),
            Value::Constructed(_) => None,
        }
    }

    /// The first direct child with `tag`.
    pub fn child(&self, tag: impl Into<Tag>) -> Option<&Tlv> {
        let tag = tag.into();
        match &self.value {
            Value::Constructed(c) => c.iter().find(|t| t.tag == tag),
            Value::Primitive(_) => None,
        }
    }
}

impl From<u32> for Tag {
    fn from(v: u32) -> Self {
        Tag(v)
    }
}

impl fmt::Debug for Tlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Value::Primitive(v) => write!(f, "{:?}[{}]", self.tag, hex::encode_upper(v)),
            Value::Constructed(c) => f.debug_tuple(&format!("{:?}", self.tag)).field(c).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_tags_and_long_lengths_round_trip() {
        let t = Tlv::constructed(
            0x7F49,
            vec![
                Tlv::primitive(0x06, vec![1, 2, 3]),
                Tlv::primitive(0x86, vec![0xAB; 65]),
                Tlv::primitive(0x5F1F, vec![0; 300]),
            ],
        );
        let bytes = t.encode();
        assert_eq!(&bytes[..2], &[0x7F, 0x49]);
        assert_eq!(&bytes[2..5], &[0x82, 0x01, 0x79]);
        assert_eq!(Tlv::decode(&bytes).unwrap(), t);
    }

    #[test]
    fn length_forms_follow_x690() {
        let mut out = Vec::new();
        encode_len(127, &mut out);
        encode_len(128, &mut out);
        encode_len(256, &mut out);
        assert_eq!(out, [0x7F, 0x81, 0x80, 0x82, 0x01, 0x00]);
        assert!(
            read_one(&[0x04, 0x80, 0x00, 0x00]).is_err(),
            "indefinite length refused"
        );
        assert!(read_one(&[0x04, 0x85, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn errors_carry_the_absolute_position() {
        let bytes = [0x30, 0x05, 0x04, 0x01, 0xAA, 0x04, 0x09];
        match Tlv::decode(&bytes) {
            Err(Error::Decode { kind, position, .. }) => {
                assert_eq!(kind, DecodeErrorKind::Truncated);
                assert_eq!(position, 7);
            }
            other => panic!("expected decode error, got {other:?}"),
        }
    }

    #[test]
    fn unterminated_multi_byte_tag_is_bad_tag_not_panic() {
        assert!(read_one(&[0x5F, 0x81, 0x81, 0x81, 0x01, 0x00]).is_err());
        assert!(read_one(&[0x5F]).is_err());
    }
}
