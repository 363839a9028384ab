//! The QR code a community-center desk shows: the credential offer URI rendered as a real
//! QR image (qrcode crate), as a grayscale image buffer or PNG bytes.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use qrcode::{EcLevel, QrCode};

use crate::Error;

/// Render `uri` as a QR code (error correction level M, a quiet zone, at least 256 px).
pub fn offer_qr_image(uri: &str) -> Result<GrayImage, Error> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| Error::Qr("the offer URI does not fit in a QR code"))?;
    Ok(code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

/// Pixels per QR module on the desk's screen as the simulation renders it: the smallest the
/// phone's camera still reads, so the in-process path costs little (no PNG, no scaling).
pub const SCREEN_MODULE_PX: u32 = 2;

/// Render `uri` as the desk's screen shows it to the phone in process: a grayscale buffer at
/// [`SCREEN_MODULE_PX`] pixels per module with the quiet zone, error correction level L (a
/// screen capture in process has no smudges to recover from; L keeps the code a version
/// smaller, and every module fewer is work saved for the encoder and the camera).
pub fn offer_qr_screen(uri: &str) -> Result<GrayImage, Error> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::L)
        .map_err(|_| Error::Qr("the offer URI does not fit in a QR code"))?;
    Ok(code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(SCREEN_MODULE_PX, SCREEN_MODULE_PX)
        .build())
}

/// Render `uri` as a QR code in PNG (fast compression: a two-tone image compresses well
/// anyway, and the desk makes one per visit).
pub fn offer_qr_png(uri: &str) -> Result<Vec<u8>, Error> {
    let img = offer_qr_image(uri)?;
    let mut out = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        )
        .map_err(|_| Error::Qr("PNG encoding failed"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fissuer.midsim.invalid%22%7D";

    #[test]
    fn the_qr_image_decodes_back_to_the_offer_uri() {
        let img = offer_qr_image(URI).unwrap();
        assert!(img.width() >= 256);
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, URI);
    }

    #[test]
    fn the_screen_buffer_is_small_and_still_decodes() {
        let img = offer_qr_screen(URI).unwrap();
        assert!(img.width() < 256, "{}", img.width());
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, URI);
    }

    #[test]
    fn png_bytes_are_a_png_of_the_same_image() {
        let png = offer_qr_png(URI).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let back = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(back, offer_qr_image(URI).unwrap());
    }

    #[test]
    fn a_uri_too_long_for_any_qr_code_is_refused_by_name() {
        let long = "x".repeat(8000);
        assert_eq!(
            offer_qr_png(&long),
            Err(Error::Qr("the offer URI does not fit in a QR code"))
        );
    }
}
