//! The motion gate in front of inference: decides per frame whether anything moved, so
//! that still scenes (most cameras, most of the time) skip the detector. In the style
//! of Frigate: the frame is shrunk to a small grey image (about 100 px high) and
//! compared with a running-average background; masked regions (timestamps, trees) are
//! ignored; a change over most of the frame is a lighting jump (IR switch, lightning),
//! which resets the background instead of raising motion. Also owns the regions of
//! change (boxes in frame pixels) the pipeline may crop around. Pure logic over
//! reusable buffers: after the first frame of a size, `update` allocates only for the
//! regions it returns.
//!
//! Cost: one pass over the RGB bytes plus a pass over the ~18k work pixels; a 640x360
//! frame took about 0.25 ms in a release build on the 2-core development machine
//! (under load), nearly all of it in the downscale.

use crate::geometry::{BBox, Point, Polygon};
use crate::image::RgbImage;

/// Motion gate settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// Height of the grey work frame (pixels); the width follows the aspect ratio.
    pub height: u32,
    /// A work pixel changed when its grey level differs from the background by more.
    pub threshold: u8,
    /// Fraction of unmasked work pixels that must change for motion.
    pub min_area: f32,
    /// Running-average weight of the new frame in the background.
    pub learning_rate: f32,
    /// Above this changed fraction the change is global lighting, not motion.
    pub lighting_jump: f32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig { height: 100, threshold: 25, min_area: 0.002, learning_rate: 0.05, lighting_jump: 0.5 }
    }
}

/// The verdict on one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Motion {
    pub moved: bool,
    /// Changed fraction of the unmasked work pixels (reported for lighting jumps too).
    pub changed_fraction: f32,
    /// Bounding boxes of the changed blobs in frame pixels, overlapping ones merged;
    /// empty unless `moved`.
    pub regions: Vec<BBox>,
}

/// Work pixels per side of a grouping cell: changed pixels in neighbouring cells are
/// one blob, so a person whose difference image breaks into pieces gives one region.
const CELL: usize = 4;

/// The motion state of one camera.
#[derive(Debug, Clone)]
pub struct MotionGate {
    cfg: MotionConfig,
    /// Masks as configured, in the pixels of a `mask_w` x `mask_h` frame.
    masks: Vec<Polygon>,
    mask_w: u32,
    mask_h: u32,
    /// Current frame and work sizes.
    frame_w: usize,
    frame_h: usize,
    w: usize,
    h: usize,
    /// Source columns / rows of each work pixel: `xb[i]..xb[i + 1]`.
    xb: Vec<usize>,
    yb: Vec<usize>,
    masked: Vec<bool>,
    unmasked: usize,
    grey: Vec<u8>,
    background: Vec<f32>,
    /// Per source byte (column and channel) sums over the rows of one work row.
    col_acc: Vec<u32>,
    has_background: bool,
    /// Grouping cells: extent of the changed pixels (x1, y1, x2, y2 inclusive, work
    /// pixels) or None, and the flood-fill stack.
    cells: Vec<Option<[usize; 4]>>,
    cells_w: usize,
    cells_h: usize,
    stack: Vec<usize>,
}

impl MotionGate {
    /// `masks` are polygons in the pixels of a `frame_width` x `frame_height` frame;
    /// frames of another size see them scaled.
    pub fn new(cfg: MotionConfig, masks: &[Polygon], frame_width: u32, frame_height: u32) -> MotionGate {
        let mut gate = MotionGate {
            cfg: sanitise(cfg),
            masks: masks.to_vec(),
            mask_w: frame_width,
            mask_h: frame_height,
            frame_w: 0,
            frame_h: 0,
            w: 0,
            h: 0,
            xb: Vec::new(),
            yb: Vec::new(),
            masked: Vec::new(),
            unmasked: 0,
            grey: Vec::new(),
            background: Vec::new(),
            col_acc: Vec::new(),
            has_background: false,
            cells: Vec::new(),
            cells_w: 0,
            cells_h: 0,
            stack: Vec::new(),
        };
        gate.reshape(frame_width as usize, frame_height as usize);
        gate
    }

    /// Work frame size (width, height) for the current frame size.
    pub fn work_size(&self) -> (u32, u32) {
        (self.w as u32, self.h as u32)
    }

    /// Forgets the background: the next frame initialises it (after a camera
    /// reconnects, for example).
    pub fn reset(&mut self) {
        self.has_background = false;
    }

    /// Judges one frame. The first frame (and the first after a size change or a
    /// reset) only initialises the background. A frame whose buffer does not match its
    /// size is ignored (no motion).
    pub fn update(&mut self, frame: &RgbImage) -> Motion {
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        if fw == 0 || fh == 0 || frame.data.len() < fw.saturating_mul(fh).saturating_mul(3) {
            return Motion::default();
        }
        if fw != self.frame_w || fh != self.frame_h {
            self.reshape(fw, fh);
        }
        self.downscale(&frame.data);
        if !self.has_background {
            self.reset_background();
            return Motion::default();
        }

        // Changed pixels, grouped into cells as we go.
        let threshold = self.cfg.threshold as f32;
        let mut changed = 0usize;
        self.cells.iter_mut().for_each(|c| *c = None);
        for y in 0..self.h {
            for x in 0..self.w {
                let i = y * self.w + x;
                if self.masked[i] || (self.grey[i] as f32 - self.background[i]).abs() <= threshold {
                    continue;
                }
                changed += 1;
                let cell = &mut self.cells[(y / CELL) * self.cells_w + x / CELL];
                *cell = Some(match *cell {
                    None => [x, y, x, y],
                    Some([x1, y1, x2, y2]) => [x1.min(x), y1.min(y), x2.max(x), y2.max(y)],
                });
            }
        }
        let fraction = if self.unmasked == 0 { 0.0 } else { changed as f32 / self.unmasked as f32 };

        if fraction > self.cfg.lighting_jump {
            // The whole picture changed at once: not an object. Start over from it.
            self.reset_background();
            return Motion { moved: false, changed_fraction: fraction, regions: Vec::new() };
        }
        // The background follows slow changes (daylight, a parked car becoming scene).
        let a = self.cfg.learning_rate;
        for (b, &g) in self.background.iter_mut().zip(&self.grey) {
            *b += a * (g as f32 - *b);
        }
        let moved = changed > 0 && fraction >= self.cfg.min_area;
        let regions = if moved { self.regions() } else { Vec::new() };
        Motion { moved, changed_fraction: fraction, regions }
    }

    fn reset_background(&mut self) {
        self.background.clear();
        self.background.extend(self.grey.iter().map(|&g| g as f32));
        self.has_background = true;
    }

    /// New frame size: work size, box bounds, mask; forgets the background.
    fn reshape(&mut self, fw: usize, fh: usize) {
        self.frame_w = fw;
        self.frame_h = fh;
        self.has_background = false;
        if fw == 0 || fh == 0 {
            (self.w, self.h) = (0, 0);
            return;
        }
        // At most 2^24 source rows per work row keeps the column sums in a u32.
        let h = (self.cfg.height as usize).max(fh >> 24).clamp(1, fh);
        let w = ((fw as f64 * h as f64 / fh as f64).round() as usize).clamp(1, fw);
        (self.w, self.h) = (w, h);
        self.xb.clear();
        self.xb.extend((0..=w).map(|i| i * fw / w));
        self.yb.clear();
        self.yb.extend((0..=h).map(|j| j * fh / h));

        // A work pixel is masked when the centre of its source box is.
        let (sx, sy) = (
            if fw > 0 { self.mask_w as f32 / fw as f32 } else { 1.0 },
            if fh > 0 { self.mask_h as f32 / fh as f32 } else { 1.0 },
        );
        self.masked.clear();
        for j in 0..h {
            let cy = (self.yb[j] + self.yb[j + 1]) as f32 * 0.5;
            for i in 0..w {
                let cx = (self.xb[i] + self.xb[i + 1]) as f32 * 0.5;
                let p = Point::new(cx * sx, cy * sy);
                self.masked.push(self.masks.iter().any(|m| m.contains(p)));
            }
        }
        self.unmasked = self.masked.iter().filter(|m| !**m).count();
        self.grey.clear();
        self.grey.resize(w * h, 0);
        self.col_acc.clear();
        self.col_acc.resize(fw * 3, 0);
        self.cells_w = w.div_ceil(CELL);
        self.cells_h = h.div_ceil(CELL);
        self.cells.clear();
        self.cells.resize(self.cells_w * self.cells_h, None);
    }

    /// Box-averages the RGB frame into the grey work frame (BT.601 luma, fixed point).
    /// The bytes of the source rows are summed per channel and column first (a plain
    /// widening add the compiler vectorises), and the luma of each work pixel is taken
    /// from those sums once per work row.
    fn downscale(&mut self, data: &[u8]) {
        let stride = self.frame_w * 3;
        for j in 0..self.h {
            self.col_acc.iter_mut().for_each(|a| *a = 0);
            let (y0, y1) = (self.yb[j], self.yb[j + 1]);
            for row in data[y0 * stride..y1 * stride].chunks_exact(stride) {
                for (acc, &v) in self.col_acc.iter_mut().zip(row) {
                    *acc += v as u32;
                }
            }
            let rows = (y1 - y0) as u64;
            for i in 0..self.w {
                let (x0, x1) = (self.xb[i], self.xb[i + 1]);
                let (mut r, mut g, mut b) = (0u64, 0u64, 0u64);
                for c in self.col_acc[x0 * 3..x1 * 3].chunks_exact(3) {
                    r += c[0] as u64;
                    g += c[1] as u64;
                    b += c[2] as u64;
                }
                let n = rows * (x1 - x0) as u64;
                let luma = (77 * r + 150 * g + 29 * b) / (n * 256).max(1);
                self.grey[j * self.w + i] = luma.min(255) as u8;
            }
        }
    }

    /// Blobs of neighbouring active cells (8-connected), as boxes in frame pixels,
    /// overlapping boxes merged.
    fn regions(&mut self) -> Vec<BBox> {
        let (cw, ch) = (self.cells_w, self.cells_h);
        let mut boxes: Vec<[usize; 4]> = Vec::new();
        for start in 0..self.cells.len() {
            let Some(first) = self.cells[start].take() else { continue };
            let mut ext = first;
            self.stack.clear();
            self.stack.push(start);
            while let Some(c) = self.stack.pop() {
                let (cx, cy) = (c % cw, c / cw);
                for ny in cy.saturating_sub(1)..(cy + 2).min(ch) {
                    for nx in cx.saturating_sub(1)..(cx + 2).min(cw) {
                        let n = ny * cw + nx;
                        if let Some(e) = self.cells[n].take() {
                            ext = [ext[0].min(e[0]), ext[1].min(e[1]), ext[2].max(e[2]), ext[3].max(e[3])];
                            self.stack.push(n);
                        }
                    }
                }
            }
            boxes.push(ext);
        }
        let boxes: Vec<BBox> = boxes
            .into_iter()
            .map(|[x1, y1, x2, y2]| {
                BBox::new(self.xb[x1] as f32, self.yb[y1] as f32, self.xb[x2 + 1] as f32, self.yb[y2 + 1] as f32)
            })
            .collect();
        merge_overlapping(boxes)
    }
}

/// Merges boxes that overlap (touching counts) until none do.
pub fn merge_overlapping(mut boxes: Vec<BBox>) -> Vec<BBox> {
    let touches = |a: &BBox, b: &BBox| a.x1 <= b.x2 && b.x1 <= a.x2 && a.y1 <= b.y2 && b.y1 <= a.y2;
    let mut i = 0;
    while i < boxes.len() {
        let mut merged = false;
        let mut j = i + 1;
        while j < boxes.len() {
            if touches(&boxes[i], &boxes[j]) {
                let b = boxes.swap_remove(j);
                let a = &mut boxes[i];
                *a = BBox::new(a.x1.min(b.x1), a.y1.min(b.y1), a.x2.max(b.x2), a.y2.max(b.y2));
                merged = true;
            } else {
                j += 1;
            }
        }
        // A grown box may now touch one already passed: look again from this one.
        if !merged {
            i += 1;
        }
    }
    // Earlier boxes may touch a later grown one; a final pass from the start settles it.
    let n = boxes.len();
    if n > 1 && (0..n).any(|a| (a + 1..n).any(|b| touches(&boxes[a], &boxes[b]))) {
        return merge_overlapping(boxes);
    }
    boxes
}

/// Out-of-range settings fall back to something that cannot misbehave.
fn sanitise(mut c: MotionConfig) -> MotionConfig {
    let d = MotionConfig::default();
    c.height = c.height.max(1);
    if !(c.learning_rate >= 0.0 && c.learning_rate <= 1.0) {
        c.learning_rate = d.learning_rate;
    }
    if !(c.min_area >= 0.0 && c.min_area <= 1.0) {
        c.min_area = d.min_area;
    }
    if !(c.lighting_jump > 0.0 && c.lighting_jump <= 1.0) {
        c.lighting_jump = d.lighting_jump;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 640;
    const H: u32 = 360;

    /// A textured street-like scene: a horizontal gradient with stripes.
    fn scene() -> RgbImage {
        let mut img = RgbImage::new(W, H);
        for y in 0..H {
            for x in 0..W {
                let g = (40 + (x * 120 / W) + if (y / 30) % 2 == 0 { 20 } else { 0 }) as u8;
                let i = ((y * W + x) * 3) as usize;
                img.data[i..i + 3].copy_from_slice(&[g, g.saturating_add(5), g.saturating_sub(5)]);
            }
        }
        img
    }

    fn fill(img: &mut RgbImage, b: BBox, rgb: [u8; 3]) {
        for y in b.y1 as u32..b.y2 as u32 {
            for x in b.x1 as u32..b.x2 as u32 {
                let i = ((y * img.width + x) * 3) as usize;
                img.data[i..i + 3].copy_from_slice(&rgb);
            }
        }
    }

    fn with_block(b: BBox) -> RgbImage {
        let mut img = scene();
        fill(&mut img, b, [230, 230, 230]);
        img
    }

    fn covers(outer: &BBox, inner: &BBox, slack: f32) -> bool {
        outer.x1 <= inner.x1 + slack
            && outer.y1 <= inner.y1 + slack
            && outer.x2 >= inner.x2 - slack
            && outer.y2 >= inner.y2 - slack
    }

    fn rect(x1: f32, y1: f32, x2: f32, y2: f32) -> Polygon {
        Polygon::new(vec![Point::new(x1, y1), Point::new(x2, y1), Point::new(x2, y2), Point::new(x1, y2)])
    }

    /// Deterministic noise in -amp..=amp (xorshift).
    fn noisy(img: &RgbImage, amp: i32, seed: u32) -> RgbImage {
        let mut s = seed | 1;
        let mut out = img.clone();
        for v in &mut out.data {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let n = (s % (2 * amp as u32 + 1)) as i32 - amp;
            *v = (*v as i32 + n).clamp(0, 255) as u8;
        }
        out
    }

    #[test]
    fn work_size_follows_aspect() {
        let cases = [((640, 360), (178, 100)), ((1920, 1080), (178, 100)), ((100, 100), (100, 100)), ((50, 20), (50, 20)), ((1, 1000), (1, 100))];
        for ((fw, fh), want) in cases {
            assert_eq!(MotionGate::new(MotionConfig::default(), &[], fw, fh).work_size(), want, "{fw}x{fh}");
        }
    }

    #[test]
    fn static_and_noisy_frames_have_no_motion() {
        // (name, noise amplitude per channel) on a 640x360 frame.
        for (name, amp) in [("static", 0), ("noise +-5", 5)] {
            let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
            let base = scene();
            for k in 0..20 {
                let m = gate.update(&noisy(&base, amp, k + 1));
                assert!(!m.moved && m.regions.is_empty(), "{name} frame {k}: {m:?}");
            }
        }
        // A frame no taller than the work frame is not averaged down: the noise
        // reaches the work pixels as it is.
        let mut small = RgbImage::new(160, 90);
        small.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 200) as u8);
        let mut gate = MotionGate::new(MotionConfig::default(), &[], 160, 90);
        for k in 0..20 {
            let m = gate.update(&noisy(&small, 5, k + 7));
            assert!(!m.moved, "small frame {k}: {m:?}");
            assert_eq!(m.changed_fraction, 0.0);
        }
    }

    #[test]
    fn moved_block_gives_motion_and_regions() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
        let (from, to) = (BBox::new(100.0, 100.0, 164.0, 164.0), BBox::new(400.0, 200.0, 464.0, 264.0));
        assert!(!gate.update(&with_block(from)).moved, "first frame only initialises");
        assert!(!gate.update(&with_block(from)).moved);
        let m = gate.update(&with_block(to));
        assert!(m.moved, "{m:?}");
        // The block left one place and arrived at another: two regions, each covering
        // its block to within a work pixel (3.6 px), neither much larger.
        assert_eq!(m.regions.len(), 2, "{m:?}");
        for b in [from, to] {
            let r = m.regions.iter().find(|r| r.iou(&b) > 0.5).expect("a region on the block");
            assert!(covers(r, &b, 4.0) && covers(&BBox::new(b.x1 - 8.0, b.y1 - 8.0, b.x2 + 8.0, b.y2 + 8.0), r, 0.0), "{r:?} vs {b:?}");
        }
        let want = 2.0 * 64.0 * 64.0 / (W * H) as f32;
        assert!((m.changed_fraction - want).abs() < 0.3 * want, "{} vs {want}", m.changed_fraction);
    }

    #[test]
    fn small_change_below_min_area_is_not_motion() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
        gate.update(&scene());
        // 8x8 px is about 0.03% of the frame, under the 0.2% minimum.
        let m = gate.update(&with_block(BBox::new(300.0, 100.0, 308.0, 108.0)));
        assert!(!m.moved && m.changed_fraction > 0.0, "{m:?}");
    }

    #[test]
    fn change_inside_mask_is_ignored() {
        let block = BBox::new(20.0, 10.0, 220.0, 50.0); // a timestamp overlay
        let cases = [
            ("masked", vec![rect(0.0, 0.0, 240.0, 60.0)], false),
            ("mask elsewhere", vec![rect(400.0, 300.0, 640.0, 360.0)], true),
            ("no mask", vec![], true),
        ];
        for (name, masks, want) in cases {
            let mut gate = MotionGate::new(MotionConfig::default(), &masks, W, H);
            gate.update(&scene());
            let m = gate.update(&with_block(block));
            assert_eq!(m.moved, want, "{name}: {m:?}");
        }
    }

    #[test]
    fn lighting_jump_reinitialises_without_motion() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
        let base = scene();
        gate.update(&base);
        // The IR cut filter switches: every pixel 80 grey levels brighter.
        let mut bright = base.clone();
        bright.data.iter_mut().for_each(|v| *v = v.saturating_add(80));
        let m = gate.update(&bright);
        assert!(!m.moved && m.changed_fraction > 0.9, "{m:?}");
        // The background is now the bright scene: no motion on the next frames...
        assert!(!gate.update(&bright).moved);
        // ...and a real object against it is seen.
        let mut object = bright.clone();
        fill(&mut object, BBox::new(300.0, 150.0, 364.0, 214.0), [0, 0, 0]);
        assert!(gate.update(&object).moved);
    }

    #[test]
    fn background_absorbs_an_object_that_stays() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
        gate.update(&scene());
        let parked = with_block(BBox::new(200.0, 200.0, 300.0, 260.0));
        let moved: Vec<bool> = (0..60).map(|_| gate.update(&parked).moved).collect();
        // Seen at first; after ~27 frames (0.95^n * diff < threshold) it is scene.
        assert!(moved[0] && moved[10], "{moved:?}");
        assert!(!moved[40..].iter().any(|m| *m), "{moved:?}");
    }

    #[test]
    fn size_change_reinitialises_and_scales_masks() {
        // Masks configured on the 640x360 main stream.
        let mut gate = MotionGate::new(MotionConfig::default(), &[rect(0.0, 0.0, 320.0, 360.0)], W, H);
        gate.update(&scene());
        // The camera switches to a 320x180 sub-stream.
        let mut small = RgbImage::new(320, 180);
        small.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 97) as u8 + 50);
        assert!(!gate.update(&small).moved, "new size: only initialises");
        // A change in the left half (the scaled mask) is ignored; the right half is not.
        let mut left = small.clone();
        fill(&mut left, BBox::new(20.0, 20.0, 120.0, 120.0), [255, 255, 255]);
        assert!(!gate.update(&left).moved);
        let mut gate2 = gate.clone();
        let mut right = small.clone();
        fill(&mut right, BBox::new(200.0, 20.0, 300.0, 120.0), [255, 255, 255]);
        assert!(gate2.update(&right).moved);
    }

    #[test]
    fn bad_frames_do_not_panic() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], 0, 0);
        let cases = [
            RgbImage { width: 0, height: 0, data: vec![] },
            RgbImage { width: 640, height: 360, data: vec![0; 10] },
            RgbImage { width: 1, height: 1, data: vec![1, 2, 3] },
            RgbImage { width: 3, height: 1, data: vec![9; 9] },
            RgbImage { width: u32::MAX, height: u32::MAX, data: vec![] },
        ];
        for f in &cases {
            assert!(!gate.update(f).moved);
            assert!(!gate.update(f).moved);
        }
        // Everything masked, NaN settings: never motion, never a panic.
        let cfg = MotionConfig { height: 0, learning_rate: f32::NAN, min_area: f32::NAN, lighting_jump: -1.0, threshold: 0 };
        let mut gate = MotionGate::new(cfg, &[rect(-1.0, -1.0, 700.0, 400.0)], W, H);
        gate.update(&scene());
        let m = gate.update(&with_block(BBox::new(0.0, 0.0, 100.0, 100.0)));
        assert_eq!((m.moved, m.changed_fraction), (false, 0.0));
    }

    #[test]
    fn buffers_are_reused_between_frames() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[], W, H);
        gate.update(&scene());
        let ptrs = (gate.grey.as_ptr(), gate.background.as_ptr(), gate.col_acc.as_ptr());
        for k in 0..5 {
            gate.update(&with_block(BBox::new(10.0 * k as f32, 0.0, 10.0 * k as f32 + 64.0, 64.0)));
        }
        assert_eq!(ptrs, (gate.grey.as_ptr(), gate.background.as_ptr(), gate.col_acc.as_ptr()));
    }

    #[test]
    fn merge_overlapping_table() {
        let b = BBox::new;
        let cases: Vec<(Vec<BBox>, Vec<BBox>)> = vec![
            (vec![], vec![]),
            (vec![b(0.0, 0.0, 10.0, 10.0)], vec![b(0.0, 0.0, 10.0, 10.0)]),
            (vec![b(0.0, 0.0, 10.0, 10.0), b(20.0, 0.0, 30.0, 10.0)], vec![b(0.0, 0.0, 10.0, 10.0), b(20.0, 0.0, 30.0, 10.0)]),
            (vec![b(0.0, 0.0, 10.0, 10.0), b(5.0, 5.0, 15.0, 15.0)], vec![b(0.0, 0.0, 15.0, 15.0)]),
            // A chain: the third joins only once the first two merged.
            (
                vec![b(0.0, 0.0, 10.0, 10.0), b(20.0, 0.0, 30.0, 10.0), b(8.0, 0.0, 22.0, 2.0)],
                vec![b(0.0, 0.0, 30.0, 10.0)],
            ),
            // Touching edges merge.
            (vec![b(0.0, 0.0, 10.0, 10.0), b(10.0, 0.0, 20.0, 10.0)], vec![b(0.0, 0.0, 20.0, 10.0)]),
        ];
        for (input, want) in cases {
            let mut got = merge_overlapping(input.clone());
            got.sort_by(|a, b| a.x1.total_cmp(&b.x1));
            assert_eq!(got, want, "{input:?}");
        }
    }
}
