//! The camera: reads a QR code out of a captured image.
//!
//! The desk shows the credential offer as a QR image; the phone photographs it. Captures are
//! scaled, rotated and noisy, so [`Camera::scan`] tries the image as captured and then a few
//! cleaned-up versions of it (a median filter against salt-and-pepper noise, a downscale of
//! very large captures) before it gives up. quircs (a port of quirc) does the detection and Reed-Solomon decoding.

use image::{imageops, DynamicImage, GrayImage};

use crate::Error;

/// Decodes QR codes from images.
#[derive(Debug, Clone, Default)]
pub struct Camera {
    _private: (),
}

impl Camera {
    /// A camera.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode encoded image bytes (PNG) and scan them.
    pub fn scan_bytes(&self, bytes: &[u8]) -> Result<String, Error> {
        let img = image::load_from_memory(bytes).map_err(|e| Error::Image(e.to_string()))?;
        self.scan(&img)
    }

    /// The text of the QR code in `img`: [`Error::QrNotFound`] if no code is found,
    /// [`Error::QrUnreadable`] if one is found but does not decode.
    pub fn scan(&self, img: &DynamicImage) -> Result<String, Error> {
        let gray = img.to_luma8();
        if gray.width() < 21 || gray.height() < 21 {
            return Err(Error::QrNotFound);
        }
        let mut last = Error::QrNotFound;
        for attempt in candidates(gray) {
            match decode(attempt) {
                Ok(text) => return Ok(text),
                Err(Error::QrNotFound) => {}
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// The capture and its cleaned-up versions, cheapest first. Each version is made only when
/// the ones before it did not decode: a clean capture costs one decode and nothing else.
fn candidates(gray: GrayImage) -> impl Iterator<Item = GrayImage> {
    let largest = gray.width().max(gray.height());
    let mut original = Some(gray);
    let mut kept: Option<GrayImage> = None;
    let mut median: Option<GrayImage> = None;
    let mut upscaled: Option<GrayImage> = None;
    let mut step = 0u8;
    std::iter::from_fn(move || loop {
        step += 1;
        match step {
            1 => {
                let g = original.take()?;
                kept = Some(g.clone());
                return Some(g);
            }
            2 if largest > 1200 => {
                let g = kept.as_ref()?;
                let f = 1200.0 / largest as f32;
                return Some(imageops::resize(
                    g,
                    ((g.width() as f32 * f) as u32).max(1),
                    ((g.height() as f32 * f) as u32).max(1),
                    imageops::FilterType::Triangle,
                ));
            }
            3 => {
                let m = median3(kept.as_ref()?);
                median = Some(m.clone());
                return Some(m);
            }
            4 => return Some(imageops::blur(median.as_ref()?, 1.0)),
            // Small or fractionally scaled captures: enlarge so every module spans whole
            // pixels, then binarise at the mean (a resampled code has grey module edges).
            5 if largest <= 600 => {
                let g = kept.as_ref()?;
                let u = imageops::resize(
                    g,
                    g.width() * 2,
                    g.height() * 2,
                    imageops::FilterType::Triangle,
                );
                upscaled = Some(u.clone());
                return Some(u);
            }
            6 => return upscaled.as_ref().map(binarise),
            2 | 5 => {}
            _ => return None,
        }
    })
}

/// Black and white at the mean brightness.
fn binarise(img: &GrayImage) -> GrayImage {
    let n = u64::from(img.width()) * u64::from(img.height());
    let sum: u64 = img.pixels().map(|p| u64::from(p.0[0])).sum();
    let mean = (sum / n.max(1)) as u8;
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        image::Luma([if img.get_pixel(x, y).0[0] < mean {
            0
        } else {
            255
        }])
    })
}

fn decode(gray: GrayImage) -> Result<String, Error> {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let mut quirc = quircs::Quirc::default();
    let mut last = Error::QrNotFound;
    for code in quirc.identify(w, h, gray.as_raw()) {
        let decoded = code
            .map_err(|e| e.to_string())
            .and_then(|c| c.decode().map_err(|e| e.to_string()));
        match decoded {
            Ok(data) => {
                return String::from_utf8(data.payload)
                    .map_err(|_| Error::QrUnreadable("not UTF-8 text".into()))
            }
            Err(e) => last = Error::QrUnreadable(e),
        }
    }
    Err(last)
}

/// 3x3 median filter: removes salt-and-pepper noise and keeps module edges.
fn median3(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let mut v = [0u8; 9];
        let mut i = 0;
        for dy in [-1i64, 0, 1] {
            for dx in [-1i64, 0, 1] {
                let xx = (i64::from(x) + dx).clamp(0, i64::from(w) - 1) as u32;
                let yy = (i64::from(y) + dy).clamp(0, i64::from(h) - 1) as u32;
                v[i] = img.get_pixel(xx, yy).0[0];
                i += 1;
            }
        }
        v.sort_unstable();
        image::Luma([v[4]])
    })
}
