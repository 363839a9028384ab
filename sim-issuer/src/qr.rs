//! The QR code a community-center desk shows: the credential offer URI rendered as a real
//! QR image (`protocol::qr`), as a grayscale image buffer or PNG bytes.

use image::GrayImage;
use protocol::qr;

pub use protocol::qr::SCREEN_MODULE_PX;

use crate::Error;

const TOO_LONG: Error = Error::Qr("the offer URI does not fit in a QR code");

/// Render `uri` as a printable QR code ([`protocol::qr::image`]).
pub fn offer_qr_image(uri: &str) -> Result<GrayImage, Error> {
    qr::image(uri).map_err(|_| TOO_LONG)
}

/// Render `uri` as the desk's screen shows it to the phone in process
/// ([`protocol::qr::screen`]).
pub fn offer_qr_screen(uri: &str) -> Result<GrayImage, Error> {
    qr::screen(uri).map_err(|_| TOO_LONG)
}

/// Render `uri` as a QR code in PNG ([`protocol::qr::png`]).
pub fn offer_qr_png(uri: &str) -> Result<Vec<u8>, Error> {
    qr::png(uri).map_err(|_| TOO_LONG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_too_long_for_any_qr_code_is_refused_by_name() {
        assert_eq!(offer_qr_png(&"x".repeat(8000)), Err(TOO_LONG));
    }
}
