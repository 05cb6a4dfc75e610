//! Decoded frames: an 8-bit RGB image in a reusable buffer, PNG loading for files, and
//! drawing boxes onto evidence frames.

use std::io::Cursor;

use crate::error::VisionError;
use crate::geometry::BBox;

/// Packed RGB, row-major, no padding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbImage {
    pub fn new(width: u32, height: u32) -> Self {
        RgbImage {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Resizes the buffer for a frame of `width` x `height`, keeping its allocation.
    pub fn reshape(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.data.resize(width as usize * height as usize * 3, 0);
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Draws a rectangle outline `thickness` pixels wide, clipped to the image.
    pub fn draw_box(&mut self, bbox: &BBox, colour: [u8; 3], thickness: u32) {
        if self.width == 0 || self.height == 0 || !bbox.is_finite() {
            return;
        }
        let b = bbox.clamp(self.width as f32 - 1.0, self.height as f32 - 1.0);
        let (x1, y1, x2, y2) = (b.x1 as u32, b.y1 as u32, b.x2 as u32, b.y2 as u32);
        let t = thickness.max(1);
        for k in 0..t {
            let (top, bottom) = (y1.saturating_add(k).min(y2), y2.saturating_sub(k).max(y1));
            let (left, right) = (x1.saturating_add(k).min(x2), x2.saturating_sub(k).max(x1));
            for x in x1..=x2 {
                self.put(x, top, colour);
                self.put(x, bottom, colour);
            }
            for y in y1..=y2 {
                self.put(left, y, colour);
                self.put(right, y, colour);
            }
        }
    }

    fn put(&mut self, x: u32, y: u32, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.data[i..i + 3].copy_from_slice(&c);
        }
    }
}

/// A stretched copy of `src` at `width` x `height` (SIMD bilinear with antialiasing).
pub fn resize(src: &RgbImage, width: u32, height: u32) -> Result<RgbImage, VisionError> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let bad = |e: String| VisionError::Decode(format!("resize: {e}"));
    let from = ImageRef::new(src.width, src.height, &src.data, PixelType::U8x3).map_err(|e| bad(e.to_string()))?;
    let mut to = Image::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(
            &from,
            &mut to,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|e| bad(e.to_string()))?;
    Ok(RgbImage {
        width,
        height,
        data: to.into_vec(),
    })
}

/// Decodes a PNG (8- or 16-bit, grey, RGB, with or without alpha) into RGB.
pub fn decode_png(bytes: &[u8]) -> Result<RgbImage, VisionError> {
    let bad = |e: String| VisionError::Decode(format!("PNG: {e}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(e.to_string()))?;
    let (w, h) = (info.width, info.height);
    let px = w as usize * h as usize;
    let data = match info.color_type {
        png::ColorType::Rgb => {
            buf.truncate(px * 3);
            buf
        }
        png::ColorType::Rgba => buf[..px * 4]
            .chunks_exact(4)
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect(),
        png::ColorType::Grayscale => buf[..px].iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => buf[..px * 2]
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        png::ColorType::Indexed => return Err(bad("palette not expanded".into())),
    };
    Ok(RgbImage {
        width: w,
        height: h,
        data,
    })
}

/// Is this a PNG file (by its signature)?
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_box_outlines_and_clips() {
        let mut img = RgbImage::new(20, 10);
        img.draw_box(&BBox::new(2.0, 2.0, 30.0, 7.0), [255, 0, 0], 1);
        assert_eq!(img.pixel(2, 2), [255, 0, 0]);
        assert_eq!(img.pixel(19, 5), [255, 0, 0]); // clipped right edge
        assert_eq!(img.pixel(5, 5), [0, 0, 0]); // inside untouched
        img.draw_box(&BBox::new(f32::NAN, 0.0, 1.0, 1.0), [1, 1, 1], 1);
    }

    #[test]
    fn garbage_is_not_a_png() {
        assert!(decode_png(b"\x89PNG\r\n\x1a\nnot really").is_err());
        assert!(!is_png(b"\xff\xd8\xff"));
    }
}
