//! Frames: the cached street, the scene's sprites blended on it, per-frame sensor noise,
//! then JPEG. Frames without sprites are the same few noisy streets for every camera
//! that shows them, so they are encoded once and shared: a thousand quiet cameras cost
//! next to nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use veghe_vision::jpeg::JpegEncoder;
use veghe_vision::RgbImage;

use crate::background::{background, Noise, VARIANTS};
use crate::error::SimError;
use crate::scene::Placement;

/// Distinct noise patterns an empty street cycles through.
pub const EMPTY_RING: u64 = 8;

/// What a frame looks like apart from its content: size, street and quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Look {
    pub width: u32,
    pub height: u32,
    pub variant: u32,
    pub quality: u8,
}

/// Draws a frame into `out`: street, sprites (in order), noise pattern `noise`.
pub fn render_into(look: Look, objects: &[Placement], noise: u64, out: &mut RgbImage) -> Result<(), SimError> {
    let bg = background(look.width, look.height, look.variant);
    out.reshape(look.width, look.height);
    out.data.copy_from_slice(&bg.data);
    for o in objects {
        blend(out, o)?;
    }
    Noise::for_size(look.width, look.height).apply(&mut out.data, noise);
    Ok(())
}

pub fn render(look: Look, objects: &[Placement], noise: u64) -> Result<RgbImage, SimError> {
    let mut out = RgbImage::default();
    render_into(look, objects, noise, &mut out)?;
    Ok(out)
}

/// Draws a sprite with its alpha, clipped to the frame.
fn blend(img: &mut RgbImage, o: &Placement) -> Result<(), SimError> {
    let b = o.bbox(img.width, img.height);
    let h = b.height() as u32;
    if h == 0 {
        return Ok(());
    }
    let cut = o.sprite.cut(h)?;
    let (x0, y0) = (b.x1 as i64, b.y1 as i64);
    let (iw, ih) = (img.width as i64, img.height as i64);
    for sy in 0..cut.height as i64 {
        let y = y0 + sy;
        if y < 0 || y >= ih {
            continue;
        }
        let sx_from = (-x0).max(0);
        let sx_to = (iw - x0).min(cut.width as i64);
        for sx in sx_from..sx_to {
            let s = ((sy * cut.width as i64 + sx) * 4) as usize;
            let a = cut.data[s + 3] as u32;
            if a == 0 {
                continue;
            }
            let d = ((y * iw + x0 + sx) * 3) as usize;
            for c in 0..3 {
                let (fg, bg) = (cut.data[s + c] as u32, img.data[d + c] as u32);
                img.data[d + c] = ((fg * a + bg * (255 - a) + 127) / 255) as u8;
            }
        }
    }
    Ok(())
}

/// JPEG-encodes on this thread's encoder (TurboJPEG handles are per thread).
pub fn encode(img: &RgbImage, quality: u8) -> Result<Vec<u8>, SimError> {
    thread_local! {
        static ENCODERS: RefCell<Vec<(u8, JpegEncoder)>> = const { RefCell::new(Vec::new()) };
    }
    ENCODERS.with(|cell| {
        let mut encoders = cell.borrow_mut();
        let i = match encoders.iter().position(|(q, _)| *q == quality) {
            Some(i) => i,
            None => {
                encoders.push((quality, JpegEncoder::new(quality)?));
                encoders.len() - 1
            }
        };
        Ok(encoders[i].1.encode(img)?)
    })
}

/// A frame as JPEG. Empty frames come from the shared ring of noisy streets.
pub fn jpeg(look: Look, objects: &[Placement], tick: u64) -> Result<Bytes, SimError> {
    if !objects.is_empty() {
        thread_local! {
            static SCRATCH: RefCell<RgbImage> = RefCell::new(RgbImage::default());
        }
        return SCRATCH.with(|s| {
            let mut img = s.borrow_mut();
            render_into(look, objects, tick, &mut img)?;
            Ok(Bytes::from(encode(&img, look.quality)?))
        });
    }
    static EMPTY: OnceLock<Mutex<HashMap<(Look, u64), Bytes>>> = OnceLock::new();
    let look = Look { variant: look.variant % VARIANTS, ..look };
    let key = (look, tick % EMPTY_RING);
    let cache = EMPTY.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(b.clone());
    }
    let bytes = Bytes::from(encode(&render(look, &[], key.1)?, look.quality)?);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    Ok(map.entry(key).or_insert(bytes).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sprite::Sprite;

    const LOOK: Look = Look { width: 320, height: 180, variant: 0, quality: 80 };

    #[test]
    fn sprite_is_drawn_where_placed_and_clipped_at_edges() {
        let empty = render(LOOK, &[], 0).expect("render");
        let p = Placement { sprite: Sprite::Person, u: 0.5, v: 0.95, height: 0.5 };
        let with = render(LOOK, &[p], 0).expect("render");
        let b = p.bbox(320, 180);
        let changed = |x: u32, y: u32| empty.pixel(x, y) != with.pixel(x, y);
        let c = b.centre();
        assert!(changed(c.x as u32, c.y as u32), "centre of the sprite");
        assert!(!changed(10, 10), "far from the sprite");
        assert!(!changed(c.x as u32, b.y2 as u32 + 2), "below its ground line");
        // Half off either edge, and wholly outside: no panic.
        for u in [-0.05, 1.02, -3.0, 4.0] {
            render(LOOK, &[Placement { u, ..p }], 0).expect("clipped");
        }
    }

    #[test]
    fn empty_frames_are_shared_and_cycle() {
        let a = jpeg(LOOK, &[], 3).expect("jpeg");
        let b = jpeg(LOOK, &[], 3 + EMPTY_RING).expect("jpeg");
        let c = jpeg(LOOK, &[], 4).expect("jpeg");
        assert_eq!(a.as_ptr(), b.as_ptr(), "same cached bytes");
        assert_ne!(a, c);
        assert!(a.starts_with(&[0xff, 0xd8]));
    }
}
