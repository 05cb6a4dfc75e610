//! Image-space geometry shared by the model decoders, NMS, the tracker and the zone
//! rules: boxes in image pixels, points and polygons.

use serde::{Deserialize, Serialize};

/// A point in image pixels (x to the right, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }
}

/// An axis-aligned box in image pixels, corners inclusive of `x1,y1`, exclusive of
/// `x2,y2`. A box with `x2 <= x1` or `y2 <= y1` is empty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub const fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        BBox { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn centre(&self) -> Point {
        Point::new((self.x1 + self.x2) * 0.5, (self.y1 + self.y2) * 0.5)
    }

    /// Where the object touches the ground: the middle of the bottom edge.
    pub fn ground_point(&self) -> Point {
        Point::new((self.x1 + self.x2) * 0.5, self.y2)
    }

    pub fn intersection(&self, other: &BBox) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        w * h
    }

    /// Intersection over union, 0 for disjoint or empty boxes.
    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// Scales both axes (model input space to image space).
    pub fn scale(&self, sx: f32, sy: f32) -> BBox {
        BBox::new(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)
    }

    /// Clamps to an image of `width` x `height` pixels.
    pub fn clamp(&self, width: f32, height: f32) -> BBox {
        BBox::new(
            self.x1.clamp(0.0, width),
            self.y1.clamp(0.0, height),
            self.x2.clamp(0.0, width),
            self.y2.clamp(0.0, height),
        )
    }

    pub fn is_finite(&self) -> bool {
        self.x1.is_finite() && self.y1.is_finite() && self.x2.is_finite() && self.y2.is_finite()
    }
}

/// A closed polygon in image pixels (zones and masks). The last vertex connects to the
/// first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Polygon {
    pub points: Vec<Point>,
}

impl Polygon {
    pub fn new(points: Vec<Point>) -> Self {
        Polygon { points }
    }

    /// Even-odd rule; points on an edge may fall either side.
    pub fn contains(&self, p: Point) -> bool {
        let pts = &self.points;
        if pts.len() < 3 {
            return false;
        }
        let mut inside = false;
        let mut j = pts.len() - 1;
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[j]);
            if (a.y > p.y) != (b.y > p.y) {
                let x_cross = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if p.x < x_cross {
                    inside = !inside;
                }
            }
            j = i;
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_table() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let cases = [
            (BBox::new(0.0, 0.0, 10.0, 10.0), 1.0),
            (BBox::new(5.0, 0.0, 15.0, 10.0), 50.0 / 150.0),
            (BBox::new(10.0, 10.0, 20.0, 20.0), 0.0),
            (BBox::new(2.0, 2.0, 4.0, 4.0), 4.0 / 100.0),
            (BBox::new(5.0, 5.0, 5.0, 5.0), 0.0),
        ];
        for (b, want) in cases {
            assert!((a.iou(&b) - want).abs() < 1e-6, "{b:?}: {} != {want}", a.iou(&b));
            assert!((b.iou(&a) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn polygon_contains_table() {
        // An L-shaped zone.
        let zone = Polygon::new(vec![
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 4.0),
            Point::new(4.0, 4.0),
            Point::new(4.0, 10.0),
            Point::new(0.0, 10.0),
        ]);
        let cases = [
            (Point::new(2.0, 2.0), true),
            (Point::new(8.0, 2.0), true),
            (Point::new(2.0, 8.0), true),
            (Point::new(8.0, 8.0), false),
            (Point::new(-1.0, 2.0), false),
            (Point::new(2.0, 11.0), false),
        ];
        for (p, want) in cases {
            assert_eq!(zone.contains(p), want, "{p:?}");
        }
        assert!(!Polygon::new(vec![Point::new(0.0, 0.0), Point::new(1.0, 1.0)]).contains(Point::new(0.5, 0.5)));
    }

    #[test]
    fn ground_point_is_bottom_centre() {
        let b = BBox::new(10.0, 20.0, 30.0, 60.0);
        assert_eq!(b.ground_point(), Point::new(20.0, 60.0));
    }
}
