//! Sprites: objects cut from the fixture photos (vision/assets/photos), with a mask for
//! their outline, scaled on demand and cached per height. The model recognises them
//! because they are pieces of real photographs (PNG or JPEG). A new sprite is one row of
//! the `sprites!` table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use veghe_vision::image::{decode_png, is_png};
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::RgbImage;

use crate::error::SimError;

/// The outline kept from a photo's crop; everything else is transparent.
#[derive(Debug, Clone, Copy)]
enum Mask {
    /// The ellipse inscribed in the crop.
    Ellipse,
    /// astronaut.png: head, collar ring and torso (photo coordinates).
    Astronaut,
    /// A vehicle from behind: a rounded box whose top corners (the cabin) round off
    /// more than the bottom ones (bumper and wheels).
    Vehicle,
}

/// Where a sprite comes from.
#[derive(Debug)]
struct Source {
    photo: &'static [u8],
    /// x, y, width, height in the photo.
    crop: (u32, u32, u32, u32),
    mask: Mask,
    /// The COCO class the detector should report.
    class: &'static str,
    /// Height as a fraction of the frame height in the scenes.
    height: f32,
}

macro_rules! sprites {
    ($($(#[$doc:meta])* $name:ident => $photo:literal, $crop:expr, $mask:ident, $class:literal, $height:literal;)+) => {
        /// A photo object the scenes composite onto the street.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Sprite {
            $($(#[$doc])* $name,)+
        }

        impl Sprite {
            pub const ALL: &'static [Sprite] = &[$(Sprite::$name,)+];

            fn source(self) -> &'static Source {
                match self {
                    $(Sprite::$name => &Source {
                        photo: include_bytes!(concat!("../../assets/photos/", $photo)),
                        crop: $crop,
                        mask: Mask::$mask,
                        class: $class,
                        height: $height,
                    },)+
                }
            }
        }
    };
}

// One row per sprite: photo, crop (x, y, w, h), outline, COCO class, height in the
// frame. Heights keep each sprite well above the smallest size the model finds (for the
// vehicles, the height that scores best in the near lane: `probe -- vehicles`).
sprites! {
    /// A person (the astronaut portrait: head and torso).
    Person => "astronaut.png", (12, 4, 358, 508), Astronaut, "person", 0.5;
    /// A cat (chelsea; the model scores it "cat" ~0.5 at this size).
    Cat => "chelsea.png", (60, 0, 310, 300), Ellipse, "cat", 0.35;
    /// A white saloon from behind (street.jpg, the Camry in the right lane; "car" 0.52
    /// to 0.67 in the near lane at this height, 0.57 to 0.61 where it parks).
    Car => "street.jpg", (655, 200, 172, 132), Vehicle, "car", 0.33;
    /// A green taxi from behind and the side (street.jpg, the nearest taxi on the left,
    /// cut short of the lime taxi beside it; "car" 0.50 to 0.68 at this height).
    Taxi => "street.jpg", (80, 210, 226, 144), Vehicle, "car", 0.36;
}

/// A sprite scaled for drawing: straight RGB plus alpha, row-major.
#[derive(Debug)]
pub struct Cut {
    pub width: u32,
    pub height: u32,
    /// RGBA.
    pub data: Vec<u8>,
}

impl Sprite {
    /// The class name the detector reports for this sprite.
    pub fn class_name(self) -> &'static str {
        self.source().class
    }

    /// Width over height.
    pub fn aspect(self) -> f32 {
        let (_, _, w, h) = self.source().crop;
        w as f32 / h as f32
    }

    /// The height the scenes draw it at, as a fraction of the frame height.
    pub fn nominal_height(self) -> f32 {
        self.source().height
    }

    /// The sprite scaled to `height` pixels (cached; the first call per size scales).
    pub fn cut(self, height: u32) -> Result<Arc<Cut>, SimError> {
        static SCALED: OnceLock<Mutex<HashMap<(Sprite, u32), Arc<Cut>>>> = OnceLock::new();
        let cache = SCALED.get_or_init(Default::default);
        let key = (self, height.clamp(1, 4096));
        if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let full = self.full()?;
        let width = ((key.1 as f32 * self.aspect()).round() as u32).max(1);
        let cut = Arc::new(scale(full, width, key.1));
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(key).or_insert(cut).clone())
    }

    /// The crop at photo resolution with its mask.
    fn full(self) -> Result<&'static Cut, SimError> {
        static FULL: OnceLock<Mutex<HashMap<Sprite, &'static Cut>>> = OnceLock::new();
        let cache = FULL.get_or_init(Default::default);
        if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&self) {
            return Ok(c);
        }
        let src = self.source();
        let photo = if is_png(src.photo) { decode_png(src.photo)? } else { JpegDecoder::new()?.decode(src.photo)? };
        let cut = crop(&photo, src.crop, src.mask).ok_or_else(|| {
            SimError::Config(format!("sprite {self:?}: crop {:?} outside the photo", src.crop))
        })?;
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        // Leaked once per sprite kind: a handful of small images for the process's life.
        Ok(*map.entry(self).or_insert_with(|| Box::leak(Box::new(cut))))
    }
}

fn crop(photo: &RgbImage, (x0, y0, w, h): (u32, u32, u32, u32), mask: Mask) -> Option<Cut> {
    if w == 0 || h == 0 || x0 + w > photo.width || y0 + h > photo.height {
        return None;
    }
    let mut data = Vec::with_capacity(w as usize * h as usize * 4);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let [r, g, b] = photo.pixel(x, y);
            let inside = match mask {
                Mask::Ellipse => {
                    let dx = (x - x0) as f32 / w as f32 * 2.0 - 1.0;
                    let dy = (y - y0) as f32 / h as f32 * 2.0 - 1.0;
                    dx * dx + dy * dy <= 1.0
                }
                Mask::Astronaut => astronaut(x as f32, y as f32),
                Mask::Vehicle => vehicle((x - x0) as f32 + 0.5, (y - y0) as f32 + 0.5, w as f32, h as f32),
            };
            data.extend_from_slice(&[r, g, b, if inside { 255 } else { 0 }]);
        }
    }
    Some(Cut { width: w, height: h, data })
}

/// The astronaut's outline in the 512x512 photo: head, the suit's collar ring, and the
/// torso widening to the shoulders (the helmet she holds is part of her).
fn astronaut(x: f32, y: f32) -> bool {
    let in_ellipse = |cx: f32, cy: f32, rx: f32, ry: f32| {
        let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
        dx * dx + dy * dy <= 1.0
    };
    if in_ellipse(226.0, 98.0, 80.0, 92.0) || in_ellipse(210.0, 222.0, 102.0, 76.0) {
        return true;
    }
    // Torso: left and right edges as straight segments between these heights.
    const LEFT: [(f32, f32); 4] = [(250.0, 70.0), (290.0, 35.0), (340.0, 20.0), (512.0, 16.0)];
    const RIGHT: [(f32, f32); 4] = [(250.0, 330.0), (290.0, 352.0), (340.0, 362.0), (512.0, 372.0)];
    if !(LEFT[0].0..=512.0).contains(&y) {
        return false;
    }
    let edge = |pts: &[(f32, f32); 4]| {
        pts.windows(2)
            .find(|w| y >= w[0].0 && y <= w[1].0)
            .map(|w| w[0].1 + (w[1].1 - w[0].1) * (y - w[0].0) / (w[1].0 - w[0].0))
            .unwrap_or(pts[3].1)
    };
    x >= edge(&LEFT) && x <= edge(&RIGHT)
}

/// The vehicle outline in a `w` x `h` crop: a box with corners rounded by a quarter of
/// the width at the top and a tenth at the bottom.
fn vehicle(x: f32, y: f32, w: f32, h: f32) -> bool {
    let r = if y < h / 2.0 { 0.25 * w } else { 0.1 * w }.min(h / 2.0);
    // Distance into the corner square, if the point lies in one.
    let dx = (r - x).max(x - (w - r)).max(0.0);
    let dy = (r - y).max(y - (h - r)).max(0.0);
    dx * dx + dy * dy <= r * r
}

/// Area-average resampling with alpha weighting (no dark fringes at the outline).
fn scale(src: &Cut, width: u32, height: u32) -> Cut {
    let (sw, sh) = (src.width as f32, src.height as f32);
    let (fx, fy) = (sw / width as f32, sh / height as f32);
    let mut data = vec![0u8; width as usize * height as usize * 4];
    for y in 0..height {
        let (sy0, sy1) = (y as f32 * fy, ((y + 1) as f32 * fy).min(sh));
        for x in 0..width {
            let (sx0, sx1) = (x as f32 * fx, ((x + 1) as f32 * fx).min(sw));
            let mut acc = [0f32; 4];
            let mut area = 0f32;
            let mut yy = sy0.floor() as u32;
            while (yy as f32) < sy1 && yy < src.height {
                let wy = (sy1.min(yy as f32 + 1.0) - sy0.max(yy as f32)).max(0.0);
                let mut xx = sx0.floor() as u32;
                while (xx as f32) < sx1 && xx < src.width {
                    let wx = (sx1.min(xx as f32 + 1.0) - sx0.max(xx as f32)).max(0.0);
                    let w = wx * wy;
                    let i = (yy as usize * src.width as usize + xx as usize) * 4;
                    let a = src.data[i + 3] as f32 / 255.0;
                    for c in 0..3 {
                        acc[c] += src.data[i + c] as f32 * a * w;
                    }
                    acc[3] += a * w;
                    area += w;
                    xx += 1;
                }
                yy += 1;
            }
            let o = (y as usize * width as usize + x as usize) * 4;
            if acc[3] > 0.0 {
                for c in 0..3 {
                    data[o + c] = (acc[c] / acc[3]).round().clamp(0.0, 255.0) as u8;
                }
            }
            data[o + 3] = if area > 0.0 { (acc[3] / area * 255.0).round().clamp(0.0, 255.0) as u8 } else { 0 };
        }
    }
    Cut { width, height, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sprite_cuts_and_scales() {
        for &s in Sprite::ALL {
            let c = s.cut(120).expect("sprite");
            assert_eq!(c.height, 120, "{s:?}");
            assert_eq!(c.width, (120.0 * s.aspect()).round() as u32, "{s:?}");
            assert_eq!(c.data.len(), (c.width * c.height * 4) as usize);
            let opaque = c.data.chunks_exact(4).filter(|p| p[3] == 255).count();
            assert!(opaque > (c.width * c.height / 3) as usize, "{s:?}: {opaque} opaque pixels");
            assert!(Arc::ptr_eq(&c, &s.cut(120).expect("cached")));
        }
    }

    #[test]
    fn astronaut_outline_keeps_her_and_drops_the_flag() {
        assert!(astronaut(226.0, 100.0)); // face
        assert!(astronaut(200.0, 420.0)); // suit
        assert!(!astronaut(20.0, 60.0)); // flag, top left
        assert!(!astronaut(430.0, 150.0)); // shuttle model
    }

    #[test]
    fn vehicle_outline_rounds_the_cabin_more_than_the_wheels() {
        let (w, h) = (200.0, 100.0);
        assert!(vehicle(100.0, 50.0, w, h)); // middle
        assert!(vehicle(100.0, 0.5, w, h) && vehicle(0.5, 50.0, w, h)); // edges
        assert!(!vehicle(5.0, 5.0, w, h)); // top-left corner: off
        assert!(!vehicle(195.0, 5.0, w, h)); // top-right corner: off
        assert!(vehicle(5.0, 95.0, w, h) || vehicle(8.0, 92.0, w, h)); // bottom corner: nearly square
        assert!(!vehicle(12.0, 12.0, w, h)); // inside the top rounding
        assert!(vehicle(20.0, 85.0, w, h)); // inside the bottom box
    }
}
