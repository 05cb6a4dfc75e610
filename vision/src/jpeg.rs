//! JPEG decode and encode through libjpeg-turbo's TurboJPEG API (SIMD), with decoding
//! at reduced scale: the DCT scaling of the decoder skips most of the work for a frame
//! much larger than the model's input, which is what makes 1080p cameras affordable.
//!
//! The FFI surface is the stable TurboJPEG 2 API (Debian's `libturbojpeg0-dev`); every
//! call's result is checked and turned into a [`VisionError`].

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uchar, c_ulong, c_void};

use crate::error::VisionError;
use crate::image::RgbImage;

#[allow(non_camel_case_types)]
type tjhandle = *mut c_void;

const TJPF_RGB: c_int = 0;
const TJSAMP_420: c_int = 2;
const TJERR_WARNING: c_int = 0;

#[link(name = "turbojpeg")]
extern "C" {
    fn tjInitDecompress() -> tjhandle;
    fn tjInitCompress() -> tjhandle;
    fn tjDestroy(handle: tjhandle) -> c_int;
    fn tjDecompressHeader3(
        handle: tjhandle,
        jpeg_buf: *const c_uchar,
        jpeg_size: c_ulong,
        width: *mut c_int,
        height: *mut c_int,
        subsamp: *mut c_int,
        colorspace: *mut c_int,
    ) -> c_int;
    fn tjDecompress2(
        handle: tjhandle,
        jpeg_buf: *const c_uchar,
        jpeg_size: c_ulong,
        dst_buf: *mut c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjCompress2(
        handle: tjhandle,
        src_buf: *const c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        jpeg_buf: *mut *mut c_uchar,
        jpeg_size: *mut c_ulong,
        subsamp: c_int,
        quality: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjFree(buffer: *mut c_uchar);
    fn tjGetErrorStr2(handle: tjhandle) -> *mut c_char;
    fn tjGetErrorCode(handle: tjhandle) -> c_int;
}

/// The decoder's DCT scaling factors, smallest first (libjpeg-turbo supports n/8).
const SCALES: [(u32, u32); 8] = [(1, 8), (1, 4), (3, 8), (1, 2), (5, 8), (3, 4), (7, 8), (1, 1)];

/// Frames larger than this are refused before any pixel is decoded.
const MAX_PIXELS: u64 = 8192 * 8192;

/// The size of a JPEG and the size it will be decoded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegSize {
    pub width: u32,
    pub height: u32,
}

/// The scaled size libjpeg-turbo produces for `dim` at `num/denom` (TJSCALED).
fn scaled(dim: u32, (num, denom): (u32, u32)) -> u32 {
    (dim * num).div_ceil(denom)
}

/// The smallest DCT scale at which a `width` x `height` frame is still at least
/// `min_width` x `min_height` (so the later resize only ever shrinks). Pure.
pub fn reduced_size(width: u32, height: u32, min_width: u32, min_height: u32) -> JpegSize {
    for scale in SCALES {
        let (w, h) = (scaled(width, scale), scaled(height, scale));
        if w >= min_width && h >= min_height {
            return JpegSize { width: w, height: h };
        }
    }
    JpegSize { width, height }
}

fn last_error(handle: tjhandle) -> String {
    // SAFETY: TurboJPEG returns a pointer to a NUL-terminated string it owns, valid
    // until the next call on this handle; it is copied at once.
    unsafe {
        let ptr = tjGetErrorStr2(handle);
        if ptr.is_null() {
            "unknown TurboJPEG error".to_owned()
        } else {
            CStr::from_ptr(ptr).to_string_lossy().into_owned()
        }
    }
}

/// A JPEG decoder, one per thread (a TurboJPEG handle is not shared between threads,
/// but may move between them).
pub struct JpegDecoder {
    handle: tjhandle,
}

// SAFETY: the handle is only used through `&mut self`, so by one thread at a time.
unsafe impl Send for JpegDecoder {}

impl JpegDecoder {
    pub fn new() -> Result<Self, VisionError> {
        // SAFETY: no arguments; a null handle is checked.
        let handle = unsafe { tjInitDecompress() };
        if handle.is_null() {
            return Err(VisionError::Decode("cannot initialise the JPEG decoder".into()));
        }
        Ok(JpegDecoder { handle })
    }

    /// Reads the frame size from the JPEG header.
    pub fn size(&mut self, jpeg: &[u8]) -> Result<JpegSize, VisionError> {
        if jpeg.len() < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8 {
            return Err(VisionError::Decode("not a JPEG (no start-of-image marker)".into()));
        }
        let (mut w, mut h, mut subsamp, mut colorspace) = (0, 0, 0, 0);
        // SAFETY: the buffer pointer and length come from a live slice; the out
        // pointers are to locals.
        let rc = unsafe {
            tjDecompressHeader3(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                &mut w,
                &mut h,
                &mut subsamp,
                &mut colorspace,
            )
        };
        if rc != 0 {
            return Err(VisionError::Decode(last_error(self.handle)));
        }
        if w <= 0 || h <= 0 || (w as u64) * (h as u64) > MAX_PIXELS {
            return Err(VisionError::Decode(format!("unsupported frame size {w}x{h}")));
        }
        Ok(JpegSize {
            width: w as u32,
            height: h as u32,
        })
    }

    /// Decodes into `out` (resized as needed), at the smallest DCT scale that keeps the
    /// frame at least `min_width` x `min_height` (a minimum above the frame's size
    /// decodes at full size).
    /// Returns the size of the original frame. A truncated or corrupt frame is an error,
    /// not a half-grey picture.
    pub fn decode_into(
        &mut self,
        jpeg: &[u8],
        min_width: u32,
        min_height: u32,
        out: &mut RgbImage,
    ) -> Result<JpegSize, VisionError> {
        let full = self.size(jpeg)?;
        let target = reduced_size(full.width, full.height, min_width, min_height);
        out.reshape(target.width, target.height);
        // SAFETY: `out.data` holds exactly width*height*3 bytes for the scaled size
        // TurboJPEG computes with the same TJSCALED formula as `reduced_size`.
        let rc = unsafe {
            tjDecompress2(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                out.data.as_mut_ptr(),
                target.width as c_int,
                (target.width * 3) as c_int,
                target.height as c_int,
                TJPF_RGB,
                0,
            )
        };
        if rc != 0 {
            let message = last_error(self.handle);
            // SAFETY: handle is live.
            let warning = unsafe { tjGetErrorCode(self.handle) } == TJERR_WARNING;
            return Err(VisionError::Decode(if warning {
                format!("corrupt or truncated JPEG: {message}")
            } else {
                message
            }));
        }
        Ok(full)
    }

    pub fn decode(&mut self, jpeg: &[u8]) -> Result<RgbImage, VisionError> {
        let mut out = RgbImage::default();
        self.decode_into(jpeg, u32::MAX, u32::MAX, &mut out)?;
        Ok(out)
    }
}

impl Drop for JpegDecoder {
    fn drop(&mut self) {
        // SAFETY: the handle was created by tjInitDecompress and is dropped once.
        unsafe {
            tjDestroy(self.handle);
        }
    }
}

/// A JPEG encoder (evidence frames, the camera simulator).
pub struct JpegEncoder {
    handle: tjhandle,
    quality: c_int,
}

// SAFETY: as for the decoder.
unsafe impl Send for JpegEncoder {}

impl JpegEncoder {
    /// `quality` 1-100.
    pub fn new(quality: u8) -> Result<Self, VisionError> {
        // SAFETY: no arguments; a null handle is checked.
        let handle = unsafe { tjInitCompress() };
        if handle.is_null() {
            return Err(VisionError::Encode("cannot initialise the JPEG encoder".into()));
        }
        Ok(JpegEncoder {
            handle,
            quality: quality.clamp(1, 100) as c_int,
        })
    }

    pub fn encode(&mut self, image: &RgbImage) -> Result<Vec<u8>, VisionError> {
        let expected = image.width as usize * image.height as usize * 3;
        if image.width == 0 || image.height == 0 || image.data.len() != expected {
            return Err(VisionError::Encode(format!(
                "image {}x{} with {} bytes",
                image.width,
                image.height,
                image.data.len()
            )));
        }
        let mut buf: *mut c_uchar = std::ptr::null_mut();
        let mut size: c_ulong = 0;
        // SAFETY: the source holds width*height*3 bytes (checked above); TurboJPEG
        // allocates `buf`, which is copied and freed with tjFree below.
        let rc = unsafe {
            tjCompress2(
                self.handle,
                image.data.as_ptr(),
                image.width as c_int,
                (image.width * 3) as c_int,
                image.height as c_int,
                TJPF_RGB,
                &mut buf,
                &mut size,
                TJSAMP_420,
                self.quality,
                0,
            )
        };
        let result = if rc != 0 || buf.is_null() {
            Err(VisionError::Encode(last_error(self.handle)))
        } else {
            // SAFETY: TurboJPEG wrote `size` bytes at `buf`.
            Ok(unsafe { std::slice::from_raw_parts(buf, size as usize) }.to_vec())
        };
        if !buf.is_null() {
            // SAFETY: allocated by TurboJPEG.
            unsafe { tjFree(buf) };
        }
        result
    }
}

impl Drop for JpegEncoder {
    fn drop(&mut self) {
        // SAFETY: created by tjInitCompress, dropped once.
        unsafe {
            tjDestroy(self.handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 3) as usize;
                img.data[i] = (x * 255 / w) as u8;
                img.data[i + 1] = (y * 255 / h) as u8;
                img.data[i + 2] = 128;
            }
        }
        img
    }

    #[test]
    fn reduced_size_table() {
        assert_eq!(reduced_size(1920, 1080, 416, 416), JpegSize { width: 960, height: 540 });
        assert_eq!(reduced_size(640, 360, 416, 416), JpegSize { width: 640, height: 360 });
        assert_eq!(reduced_size(1920, 1080, 0, 0), JpegSize { width: 240, height: 135 });
        assert_eq!(reduced_size(3840, 2160, 416, 416), JpegSize { width: 960, height: 540 });
        assert_eq!(reduced_size(1280, 720, 416, 234), JpegSize { width: 480, height: 270 });
    }

    #[test]
    fn round_trip_and_scaled_decode() {
        let img = gradient(640, 480);
        let jpeg = JpegEncoder::new(90).unwrap().encode(&img).unwrap();
        let mut dec = JpegDecoder::new().unwrap();
        let back = dec.decode(&jpeg).unwrap();
        assert_eq!((back.width, back.height), (640, 480));
        let p = back.pixel(320, 240);
        assert!((p[0] as i32 - 127).abs() < 6 && (p[1] as i32 - 127).abs() < 6, "{p:?}");

        let mut small = RgbImage::default();
        let full = dec.decode_into(&jpeg, 160, 120, &mut small).unwrap();
        assert_eq!((full.width, full.height), (640, 480));
        assert_eq!((small.width, small.height), (160, 120));
        let q = small.pixel(80, 60);
        assert!((q[0] as i32 - 127).abs() < 8, "{q:?}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let img = gradient(64, 64);
        let jpeg = JpegEncoder::new(80).unwrap().encode(&img).unwrap();
        let mut dec = JpegDecoder::new().unwrap();
        let cases: [(&str, &[u8]); 5] = [
            ("empty", b""),
            ("html", b"<html><body>401 Unauthorized</body></html>"),
            ("soi only", &[0xff, 0xd8, 0xff]),
            ("truncated", &jpeg[..jpeg.len() / 2]),
            ("header only", &jpeg[..200.min(jpeg.len())]),
        ];
        for (name, bytes) in cases {
            assert!(dec.decode(bytes).is_err(), "{name} decoded");
        }
        // The decoder still works after errors.
        assert_eq!(dec.decode(&jpeg).unwrap().width, 64);
        assert!(JpegEncoder::new(80).unwrap().encode(&RgbImage::default()).is_err());
    }
}
