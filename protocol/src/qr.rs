//! QR codes as a screen shows them (ISO/IEC 18004, through the `qrcode` crate): the
//! community-center desk's credential offer and a relying party's M200 are both text rendered
//! as a real image, which the phone's camera decodes.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use qrcode::{EcLevel, QrCode};

/// The text does not fit in any QR code (version 40 at the chosen level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the text does not fit in a QR code")]
pub struct TooLong;

/// Pixels per QR module on a screen as the simulation renders it: the smallest the phone's
/// camera still reads, so the in-process path costs little (no PNG, no scaling).
pub const SCREEN_MODULE_PX: u32 = 2;

/// Render `text` as a printable QR code: error correction level M, a quiet zone, at least
/// 256 px.
pub fn image(text: &str) -> Result<GrayImage, TooLong> {
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| TooLong)?;
    Ok(code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

/// Render `text` as a screen shows it to the phone in process: a grayscale buffer at
/// [`SCREEN_MODULE_PX`] pixels per module with the quiet zone, error correction level L (a
/// screen capture in process has no smudges to recover from; L keeps the code a version
/// smaller, and every module fewer is work saved for the encoder and the camera).
pub fn screen(text: &str) -> Result<GrayImage, TooLong> {
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).map_err(|_| TooLong)?;
    Ok(code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(SCREEN_MODULE_PX, SCREEN_MODULE_PX)
        .build())
}

/// [`image`] as PNG bytes (fast compression: a two-tone image compresses well anyway).
pub fn png(text: &str) -> Result<Vec<u8>, TooLong> {
    let img = image(text)?;
    let mut out = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        )
        // Encoding an in-memory L8 buffer of the right size cannot fail; if the encoder ever
        // did, report it as the one failure this module has rather than panic.
        .map_err(|_| TooLong)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fissuer.midsim.invalid%22%7D";

    fn decode(img: GrayImage) -> String {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_qr_image_decodes_back_to_the_text() {
        let img = image(URI).unwrap();
        assert!(img.width() >= 256);
        assert_eq!(decode(img), URI);
    }

    #[test]
    fn the_screen_buffer_is_small_and_still_decodes() {
        let img = screen(URI).unwrap();
        assert!(img.width() < 256, "{}", img.width());
        assert_eq!(decode(img), URI);
    }

    #[test]
    fn png_bytes_are_a_png_of_the_same_image() {
        let bytes = png(URI).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let back = ::image::load_from_memory(&bytes).unwrap().to_luma8();
        assert_eq!(back, image(URI).unwrap());
    }

    #[test]
    fn a_text_too_long_for_any_qr_code_is_refused() {
        assert_eq!(png(&"x".repeat(8000)), Err(TooLong));
    }
}
