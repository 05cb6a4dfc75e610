//! Frame to model input: a SIMD stretch-resize to the model's input size, then channel
//! order and normalisation into one planar `[3, H, W]` slot of a reusable batch tensor.
//! Nothing is allocated per frame once the buffers have their size.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use serde::{Deserialize, Serialize};

use crate::error::VisionError;
use crate::image::RgbImage;

/// The order of the colour planes the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// How pixel values become model inputs: `(value - mean[c]) / std[c]`, with `mean` and
/// `std` given in the model's channel order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalisation {
    pub channels: ChannelOrder,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalisation {
    /// Per-plane `(scale, offset)` such that `input = value * scale + offset`.
    fn affine(&self) -> Result<[(f32, f32); 3], VisionError> {
        let mut out = [(0.0, 0.0); 3];
        for c in 0..3 {
            let std = self.std[c];
            if !(std.is_finite() && std != 0.0 && self.mean[c].is_finite()) {
                return Err(VisionError::Config(format!(
                    "normalisation std {:?} / mean {:?} must be finite and std non-zero",
                    self.std, self.mean
                )));
            }
            out[c] = (1.0 / std, -self.mean[c] / std);
        }
        Ok(out)
    }
}

/// Writes frames into model input slots.
pub struct Preprocessor {
    width: u32,
    height: u32,
    /// (scale, offset) per output plane.
    affine: [(f32, f32); 3],
    /// Which RGB channel feeds each output plane.
    source_channel: [usize; 3],
    resizer: Resizer,
    options: ResizeOptions,
    resized: Image<'static>,
}

impl Preprocessor {
    pub fn new(width: u32, height: u32, norm: &Normalisation) -> Result<Self, VisionError> {
        if width == 0 || height == 0 {
            return Err(VisionError::Config(format!("model input {width}x{height}")));
        }
        Ok(Preprocessor {
            width,
            height,
            affine: norm.affine()?,
            source_channel: match norm.channels {
                ChannelOrder::Rgb => [0, 1, 2],
                ChannelOrder::Bgr => [2, 1, 0],
            },
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
            resized: Image::new(width, height, PixelType::U8x3),
        })
    }

    /// Floats in one input slot: 3 x height x width.
    pub fn slot_len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    /// Resizes `frame` to the model input (stretching) and writes it, normalised and
    /// planar, into `slot` (exactly [`Self::slot_len`] floats).
    pub fn write(&mut self, frame: &RgbImage, slot: &mut [f32]) -> Result<(), VisionError> {
        if slot.len() != self.slot_len() {
            return Err(VisionError::Config(format!(
                "input slot of {} floats, model needs {}",
                slot.len(),
                self.slot_len()
            )));
        }
        let pixels: &[u8] = if frame.width == self.width && frame.height == self.height {
            &frame.data
        } else {
            let src = ImageRef::new(frame.width, frame.height, &frame.data, PixelType::U8x3)
                .map_err(|e| VisionError::Decode(format!("frame {}x{}: {e}", frame.width, frame.height)))?;
            self.resizer
                .resize(&src, &mut self.resized, &self.options)
                .map_err(|e| VisionError::Decode(format!("resize: {e}")))?;
            self.resized.buffer()
        };
        write_planar(pixels, slot, self.source_channel, self.affine);
        Ok(())
    }
}

/// Packed RGB bytes to normalised planes. Written as three passes over contiguous
/// output so the compiler vectorises each.
fn write_planar(pixels: &[u8], slot: &mut [f32], source: [usize; 3], affine: [(f32, f32); 3]) {
    let plane = slot.len() / 3;
    for (c, out) in slot.chunks_exact_mut(plane).enumerate() {
        let (scale, offset) = affine[c];
        let src = source[c];
        for (o, px) in out.iter_mut().zip(pixels.chunks_exact(3)) {
            *o = px[src] as f32 * scale + offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanodet() -> Normalisation {
        Normalisation {
            channels: ChannelOrder::Bgr,
            mean: [103.53, 116.28, 123.675],
            std: [57.375, 57.12, 58.395],
        }
    }

    #[test]
    fn planar_bgr_normalised() {
        // One red, one green pixel, model input equal to the frame (no resize).
        let frame = RgbImage {
            width: 2,
            height: 1,
            data: vec![255, 0, 0, 0, 255, 0],
        };
        let mut p = Preprocessor::new(2, 1, &nanodet()).unwrap();
        let mut slot = vec![0.0; p.slot_len()];
        p.write(&frame, &mut slot).unwrap();
        let cases = [
            // plane B: pixel 0 blue=0, pixel 1 blue=0
            (0, (0.0 - 103.53) / 57.375),
            (1, (0.0 - 103.53) / 57.375),
            // plane G: pixel 0 green 0, pixel 1 green 255
            (2, (0.0 - 116.28) / 57.12),
            (3, (255.0 - 116.28) / 57.12),
            // plane R: pixel 0 red 255, pixel 1 red 0
            (4, (255.0 - 123.675) / 58.395),
            (5, (0.0 - 123.675) / 58.395),
        ];
        for (i, want) in cases {
            assert!((slot[i] - want).abs() < 1e-5, "slot[{i}] = {} != {want}", slot[i]);
        }
    }

    #[test]
    fn stretch_resize_keeps_uniform_colour() {
        let mut frame = RgbImage::new(64, 36);
        for px in frame.data.chunks_exact_mut(3) {
            px.copy_from_slice(&[10, 20, 30]);
        }
        let norm = Normalisation {
            channels: ChannelOrder::Rgb,
            mean: [0.0; 3],
            std: [1.0; 3],
        };
        let mut p = Preprocessor::new(16, 16, &norm).unwrap();
        let mut slot = vec![0.0; p.slot_len()];
        p.write(&frame, &mut slot).unwrap();
        assert!(slot[..256].iter().all(|&v| v == 10.0));
        assert!(slot[256..512].iter().all(|&v| v == 20.0));
        assert!(slot[512..].iter().all(|&v| v == 30.0));
        assert!(p.write(&frame, &mut slot[1..]).is_err());
    }

    #[test]
    fn zero_std_refused() {
        let mut n = nanodet();
        n.std[1] = 0.0;
        assert!(Preprocessor::new(4, 4, &n).is_err());
        assert!(Preprocessor::new(0, 4, &nanodet()).is_err());
    }
}
