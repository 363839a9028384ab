//! The camera reads QR codes out of scaled, rotated and noisy captures.

use image::{DynamicImage, GrayImage, Luma};
use qrcode::QrCode;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sim_phone::{Camera, Error};

const OFFER: &str = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fissuer.example%22%7D";

/// The QR code of `text` with `px` pixels per module and a quiet zone.
fn render(text: &str, px: u32) -> GrayImage {
    let code = QrCode::new(text.as_bytes()).unwrap();
    code.render::<Luma<u8>>().module_dimensions(px, px).build()
}

/// Rotate by `deg` degrees about the centre (nearest neighbour), white outside.
fn rotate(img: &GrayImage, deg: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let side = ((w * w + h * h) as f32).sqrt().ceil() as u32;
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let half = side as f32 / 2.0;
    GrayImage::from_fn(side, side, |x, y| {
        let (dx, dy) = (x as f32 - half, y as f32 - half);
        let sx = c * dx + s * dy + cx;
        let sy = -s * dx + c * dy + cy;
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([255])
        }
    })
}

/// Salt-and-pepper noise on `percent` of the pixels.
fn noise(img: &GrayImage, percent: u32, seed: u64) -> GrayImage {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        if rng.next_u32() % 100 < percent {
            p.0[0] = if rng.next_u32() % 2 == 0 { 0 } else { 255 };
        }
    }
    out
}

fn scan(img: GrayImage) -> Result<String, Error> {
    Camera::new().scan(&DynamicImage::ImageLuma8(img))
}

#[test]
fn reads_a_clean_capture() {
    assert_eq!(scan(render(OFFER, 4)).unwrap(), OFFER);
}

#[test]
fn reads_captures_at_several_scales() {
    for px in [2, 3, 6, 10] {
        assert_eq!(
            scan(render(OFFER, px)).unwrap(),
            OFFER,
            "{px} px per module"
        );
    }
    let big = render(OFFER, 5);
    let small = image::imageops::resize(
        &big,
        big.width() * 3 / 5,
        big.height() * 3 / 5,
        image::imageops::FilterType::Triangle,
    );
    assert_eq!(scan(small).unwrap(), OFFER);
}

#[test]
fn reads_rotated_captures() {
    for deg in [90.0, 180.0, 15.0, 33.0, -20.0] {
        assert_eq!(
            scan(rotate(&render(OFFER, 6), deg)).unwrap(),
            OFFER,
            "{deg}°"
        );
    }
}

#[test]
fn reads_noisy_captures() {
    for (percent, seed) in [(2, 1), (5, 2), (8, 3)] {
        assert_eq!(
            scan(noise(&render(OFFER, 6), percent, seed)).unwrap(),
            OFFER,
            "{percent}% noise"
        );
    }
}

#[test]
fn reads_png_bytes() {
    let mut png = Vec::new();
    DynamicImage::ImageLuma8(render(OFFER, 4))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert_eq!(Camera::new().scan_bytes(&png).unwrap(), OFFER);
}

#[test]
fn an_image_without_a_code_is_not_found() {
    let blank = GrayImage::from_pixel(200, 200, Luma([255]));
    assert!(matches!(scan(blank), Err(Error::QrNotFound)));
    let tiny = GrayImage::from_pixel(5, 5, Luma([0]));
    assert!(matches!(scan(tiny), Err(Error::QrNotFound)));
    assert!(matches!(
        Camera::new().scan_bytes(b"not a png"),
        Err(Error::Image(_))
    ));
}

#[test]
fn a_damaged_code_is_reported_unreadable_or_not_found() {
    // Wipe the middle of the code: finder patterns survive, the data does not.
    let mut img = render(OFFER, 4);
    let (w, h) = img.dimensions();
    for y in h / 4..h * 3 / 4 {
        for x in w / 4..w * 3 / 4 {
            img.put_pixel(x, y, Luma([if (x / 4 + y / 4) % 2 == 0 { 0 } else { 255 }]));
        }
    }
    assert!(matches!(
        scan(img),
        Err(Error::QrUnreadable(_) | Error::QrNotFound)
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever the capture, the camera answers a text or a typed error; it never panics.
    #[test]
    fn any_capture_gets_an_answer_never_a_panic(
        w in 0u32..96,
        h in 0u32..96,
        seed in proptest::prelude::any::<u64>(),
        px in 1u32..4,
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let noise = GrayImage::from_fn(w, h, |_, _| Luma([(rng.next_u32() & 0xFF) as u8]));
        let _ = scan(noise);
        // A real code at one pixel per module, and cropped: the edge cases of detection.
        let code = render(OFFER, px);
        let (cw, ch) = code.dimensions();
        let cropped = image::imageops::crop_imm(&code, 0, 0, cw.min(w + 21), ch.min(h + 21)).to_image();
        let _ = scan(cropped);
    }
}
