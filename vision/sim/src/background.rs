//! The empty street every camera looks at: building fronts, a far and a near pavement,
//! kerbs and a two-lane road, with a fixed grain so it is not flat colour. Drawn once per
//! frame size and variant (deterministic), then shared. Scene coordinates are fractions
//! of the frame, so the layout is the same at every size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use veghe_vision::RgbImage;

/// Distinct streets; cameras take `variant % VARIANTS`, which bounds the cache.
pub const VARIANTS: u32 = 4;

/// Where the bands of the street are, as fractions of the frame height (top down).
pub mod layout {
    /// Bottom of the building fronts.
    pub const BUILDINGS: f32 = 0.36;
    /// Far kerb (bottom of the far pavement).
    pub const FAR_KERB: f32 = 0.48;
    /// The lane divider.
    pub const DIVIDER: f32 = 0.64;
    /// Near kerb (top of the near pavement).
    pub const NEAR_KERB: f32 = 0.80;
}

/// The street for a frame size and variant, drawn on first use and then shared.
pub fn background(width: u32, height: u32, variant: u32) -> Arc<RgbImage> {
    static CACHE: OnceLock<Mutex<HashMap<(u32, u32, u32), Arc<RgbImage>>>> = OnceLock::new();
    let key = (width, height, variant % VARIANTS);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(img) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return img.clone();
    }
    let img = Arc::new(draw(key.0, key.1, key.2));
    cache.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(img).clone()
}

/// A cheap integer hash (deterministic texture and layout choices).
pub(crate) fn hash(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn shade(c: [u8; 3], d: i32) -> [u8; 3] {
    c.map(|v| (v as i32 + d).clamp(0, 255) as u8)
}

/// Draws the street. Pure.
pub fn draw(width: u32, height: u32, variant: u32) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    let (w, h) = (width as f32, height as f32);
    let row = |f: f32| (f * h).round() as u32;
    let seed = hash(variant as u64 + 1);

    // Building fronts: blocks of varying width and colour, rows of windows.
    const FACADES: [[u8; 3]; 6] = [
        [176, 160, 138],
        [150, 144, 132],
        [196, 184, 160],
        [128, 116, 104],
        [168, 152, 150],
        [140, 150, 156],
    ];
    let sky = [188, 198, 206];
    let bottom = row(layout::BUILDINGS);
    let mut x0 = 0u32;
    let mut block = 0u64;
    while x0 < width {
        let r = hash(seed ^ block);
        let bw = ((0.14 + (r % 100) as f32 / 100.0 * 0.16) * w) as u32;
        let top = row(0.04 + ((r >> 8) % 100) as f32 / 100.0 * 0.12);
        let colour = FACADES[((r >> 16) % FACADES.len() as u64) as usize];
        let x1 = (x0 + bw.max(8)).min(width);
        let (win_w, win_h) = ((w * 0.022).max(3.0) as u32, (h * 0.05).max(3.0) as u32);
        let (pitch_x, pitch_y) = (win_w * 2 + 2, win_h * 2);
        for y in 0..bottom {
            for x in x0..x1 {
                let c = if y < top {
                    sky
                } else {
                    let (lx, ly) = (x - x0, y - top);
                    let window = lx % pitch_x >= win_w / 2 + 1
                        && lx % pitch_x < win_w / 2 + 1 + win_w
                        && ly % pitch_y >= win_h / 2
                        && ly % pitch_y < win_h / 2 + win_h
                        && x + win_w < x1;
                    if window {
                        // Some windows lit, most dark.
                        let lit = hash(seed ^ (((x / pitch_x) as u64) << 20) ^ (ly / pitch_y) as u64) % 5 == 0;
                        if lit { [214, 200, 150] } else { [60, 66, 74] }
                    } else if x == x0 {
                        shade(colour, -40)
                    } else {
                        colour
                    }
                };
                put(&mut img, x, y, c);
            }
        }
        x0 = x1;
        block += 1;
    }

    // Pavements (tiles with joints), kerbs, asphalt with a dashed divider.
    let far_kerb = row(layout::FAR_KERB);
    let near_kerb = row(layout::NEAR_KERB);
    let divider = row(layout::DIVIDER);
    let kerb_h = (h * 0.012).max(2.0) as u32;
    let tile = (w / 32.0).max(6.0) as u32;
    let dash = (w / 12.0) as u32;
    let line_h = (h * 0.008).max(1.0) as u32;
    for y in bottom..height {
        for x in 0..width {
            let c = if y < far_kerb {
                let joint = x % tile == 0 || (y - bottom) % (tile / 2).max(3) == 0;
                if joint { [128, 126, 122] } else { [162, 160, 154] }
            } else if y < far_kerb + kerb_h || (y >= near_kerb && y < near_kerb + kerb_h) {
                [206, 204, 198]
            } else if y < near_kerb {
                let on_dash = y >= divider && y < divider + line_h && (x / dash) % 2 == 0;
                if on_dash { [226, 224, 214] } else { [74, 76, 80] }
            } else {
                let joint = x % (tile * 2) == 0 || (y - near_kerb) % tile == 0;
                if joint { [120, 118, 112] } else { [170, 166, 158] }
            };
            put(&mut img, x, y, c);
        }
    }

    // Grain: a fixed +-6 texture, as worn surfaces have.
    for (i, p) in img.data.chunks_exact_mut(3).enumerate() {
        let d = (hash(seed ^ (i as u64 * 0x9e37)) % 13) as i32 - 6;
        let c = shade([p[0], p[1], p[2]], d);
        p.copy_from_slice(&c);
    }
    img
}

fn put(img: &mut RgbImage, x: u32, y: u32, c: [u8; 3]) {
    let i = (y as usize * img.width as usize + x as usize) * 3;
    img.data[i..i + 3].copy_from_slice(&c);
}

/// Sensor noise: a fixed table of values in -2..=2 per frame size, read at an offset
/// that changes every frame, so frames differ by noise only and cost a single pass.
pub struct Noise {
    table: Vec<i8>,
    len: usize,
}

/// Offsets a frame's noise may start at (distinct noise patterns).
const NOISE_SPAN: usize = 1 << 16;

/// The noise ceiling, grey levels.
pub const NOISE_AMPLITUDE: i8 = 2;

impl Noise {
    pub fn for_size(width: u32, height: u32) -> Arc<Noise> {
        static CACHE: OnceLock<Mutex<HashMap<(u32, u32), Arc<Noise>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((width, height))
            .or_insert_with(|| {
                let len = width as usize * height as usize * 3;
                let span = (2 * NOISE_AMPLITUDE + 1) as u64;
                let table = (0..len + NOISE_SPAN)
                    .map(|i| (hash(i as u64 ^ 0x5eed) % span) as i8 - NOISE_AMPLITUDE)
                    .collect();
                Arc::new(Noise { table, len })
            })
            .clone()
    }

    /// Adds frame `index`'s noise to `data` (a frame of this size).
    pub fn apply(&self, data: &mut [u8], index: u64) {
        let off = (hash(index ^ 0xa5a5) as usize) % NOISE_SPAN;
        let n = data.len().min(self.len);
        for (p, &d) in data[..n].iter_mut().zip(&self.table[off..off + n]) {
            *p = p.saturating_add_signed(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn street_is_deterministic_and_scales() {
        let a = draw(320, 180, 1);
        assert_eq!(a, draw(320, 180, 1));
        assert_ne!(a, draw(320, 180, 2));
        let big = draw(1280, 720, 1);
        assert_eq!((big.width, big.height), (1280, 720));
        // The road is dark, the near pavement light, at every size.
        for img in [&a, &big] {
            let road = img.pixel(img.width / 3 + 1, (img.height as f32 * 0.72) as u32);
            let pave = img.pixel(img.width / 3 + 1, (img.height as f32 * 0.9) as u32 + 1);
            assert!(road[0] < 90 && pave[0] > 100, "road {road:?} pavement {pave:?}");
        }
    }

    #[test]
    fn noise_is_small_and_changes_per_frame() {
        let bg = draw(64, 36, 0);
        let noise = Noise::for_size(64, 36);
        let (mut f1, mut f2) = (bg.data.clone(), bg.data.clone());
        noise.apply(&mut f1, 1);
        noise.apply(&mut f2, 2);
        assert_ne!(f1, f2);
        let max = f1.iter().zip(&bg.data).map(|(a, b)| (*a as i32 - *b as i32).abs()).max();
        assert_eq!(max, Some(NOISE_AMPLITUDE as i32));
    }
}
