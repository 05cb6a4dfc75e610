//! Scenes: what a camera shows, as a pure function of the time since the simulation
//! started. Each scene loops with a period, places sprites in fractions of the frame
//! (so it is the same at every frame size), and suggests the zone where its event
//! happens, so rules can be configured that fire.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use veghe_vision::{BBox, Point, Polygon};

use crate::background::layout;
use crate::sprite::Sprite;

/// Where the people of the scenes stand: the near pavement (ground line).
pub const PAVEMENT_GROUND: f32 = 0.95;
/// Where a parked vehicle stands: the near lane, its wheels just short of the kerb.
pub const ROAD_GROUND: f32 = 0.77;
/// Just off either edge of the frame (a sprite's centre), entering or leaving.
const OFF_LEFT: f32 = -0.15;
const OFF_RIGHT: f32 = 1.15;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scene {
    /// The empty street: sensor noise only.
    Static,
    /// A person walks left to right along the near pavement in `cross`, then the street
    /// is empty for `pause`; repeats. The zone is the right half of the pavement.
    Walker {
        #[serde(with = "secs")]
        cross: Duration,
        #[serde(with = "secs")]
        pause: Duration,
    },
    /// A person walks in from the right in `walk`, stands still for `stay`, walks back
    /// out, and the street is empty for `pause`; repeats.
    Loiterer {
        #[serde(with = "secs")]
        walk: Duration,
        #[serde(with = "secs")]
        stay: Duration,
        #[serde(with = "secs")]
        pause: Duration,
    },
    /// `people` persons walk in from both sides, stand side by side for `stay`, leave.
    Crowd {
        people: u32,
        #[serde(with = "secs")]
        walk: Duration,
        #[serde(with = "secs")]
        stay: Duration,
        #[serde(with = "secs")]
        pause: Duration,
    },
    /// A vehicle (or any sprite) comes along the near lane in `drive`, stops in the
    /// middle for `stay`, goes on out of the frame, then `pause`; repeats.
    Parked {
        sprite: Sprite,
        #[serde(with = "secs")]
        drive: Duration,
        #[serde(with = "secs")]
        stay: Duration,
        #[serde(with = "secs")]
        pause: Duration,
    },
}

/// Durations as seconds in JSON.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

/// One sprite in a frame, in fractions of the frame: horizontal centre `u`, the ground
/// line `v` (the sprite's bottom edge) and `height` (of the frame height).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    pub sprite: Sprite,
    pub u: f32,
    pub v: f32,
    pub height: f32,
}

impl Placement {
    /// The sprite's box in the pixels of a `width` x `height` frame (may extend past it).
    pub fn bbox(&self, width: u32, height: u32) -> BBox {
        let h = (self.height * height as f32).round();
        let w = (h * self.sprite.aspect()).round();
        let cx = self.u * width as f32;
        let y2 = self.v * height as f32;
        let x1 = (cx - w / 2.0).round();
        BBox::new(x1, (y2 - h).round(), x1 + w, (y2 - h).round() + h)
    }

    /// The ground point (bottom centre), in pixels.
    pub fn ground(&self, width: u32, height: u32) -> Point {
        self.bbox(width, height).ground_point()
    }
}

fn lerp(a: f32, b: f32, f: f32) -> f32 {
    a + (b - a) * f.clamp(0.0, 1.0)
}

/// Where within a repeating cycle `t` falls.
fn phase(t: Duration, period: Duration) -> Duration {
    if period.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos((t.as_nanos() % period.as_nanos()) as u64)
}

/// Fraction of `d` that `t` covers (1 for a zero `d`).
fn frac(t: Duration, d: Duration) -> f32 {
    if d.is_zero() { 1.0 } else { (t.as_secs_f64() / d.as_secs_f64()) as f32 }
}

/// Arrive from `from` at `at` in `walk`, stay `stay`, leave to `to` in `walk`; None
/// when not in the picture.
fn visit(p: Duration, walk: Duration, stay: Duration, from: f32, at: f32, to: f32) -> Option<f32> {
    if p < walk {
        Some(lerp(from, at, frac(p, walk)))
    } else if p < walk + stay {
        Some(at)
    } else if p < walk + stay + walk {
        Some(lerp(at, to, frac(p - walk - stay, walk)))
    } else {
        None
    }
}

/// A rectangle in fractions of the frame, as a pixel polygon.
fn rect(u1: f32, v1: f32, u2: f32, v2: f32, width: u32, height: u32) -> Polygon {
    let (w, h) = (width as f32, height as f32);
    Polygon::new(vec![
        Point::new(u1 * w, v1 * h),
        Point::new(u2 * w, v1 * h),
        Point::new(u2 * w, v2 * h),
        Point::new(u1 * w, v2 * h),
    ])
}

// The default timings keep a sprite's step at 1 frame/s under ~50 px in a 640-wide
// frame (under 0.4 of its width), so consecutive boxes overlap enough (IoU > 0.4) for
// the tracker to follow it.
impl Scene {
    pub fn walker() -> Scene {
        Scene::Walker { cross: Duration::from_secs(16), pause: Duration::from_secs(8) }
    }

    pub fn loiterer() -> Scene {
        Scene::Loiterer {
            walk: Duration::from_secs(6),
            stay: Duration::from_secs(60),
            pause: Duration::from_secs(20),
        }
    }

    pub fn crowd() -> Scene {
        Scene::Crowd {
            people: 4,
            walk: Duration::from_secs(5),
            stay: Duration::from_secs(40),
            pause: Duration::from_secs(20),
        }
    }

    /// A car stops in the near lane for a minute.
    pub fn parked() -> Scene {
        Scene::Parked {
            sprite: Sprite::Car,
            drive: Duration::from_secs(10),
            stay: Duration::from_secs(60),
            pause: Duration::from_secs(20),
        }
    }

    /// The scene's name in listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Scene::Static => "static",
            Scene::Walker { .. } => "walker",
            Scene::Loiterer { .. } => "loiterer",
            Scene::Crowd { .. } => "crowd",
            Scene::Parked { .. } => "parked",
        }
    }

    /// How long one cycle of the scene lasts (zero for a static scene).
    pub fn period(&self) -> Duration {
        match *self {
            Scene::Static => Duration::ZERO,
            Scene::Walker { cross, pause } => cross + pause,
            Scene::Loiterer { walk, stay, pause } | Scene::Crowd { walk, stay, pause, .. } => {
                walk * 2 + stay + pause
            }
            Scene::Parked { drive, stay, pause, .. } => drive * 2 + stay + pause,
        }
    }

    /// The sprites in the frame at time `t` since the start, back to front.
    pub fn objects(&self, t: Duration) -> Vec<Placement> {
        let p = phase(t, self.period());
        let person = |u: f32| Placement {
            sprite: Sprite::Person,
            u,
            v: PAVEMENT_GROUND,
            height: Sprite::Person.nominal_height(),
        };
        match *self {
            Scene::Static => Vec::new(),
            Scene::Walker { cross, .. } => {
                if p < cross {
                    vec![person(lerp(OFF_LEFT, OFF_RIGHT, frac(p, cross)))]
                } else {
                    Vec::new()
                }
            }
            Scene::Loiterer { walk, stay, .. } => {
                visit(p, walk, stay, OFF_RIGHT, 0.72, OFF_RIGHT).map(person).into_iter().collect()
            }
            Scene::Crowd { people, walk, stay, .. } => (0..people.min(8))
                .filter_map(|k| {
                    let spot = Self::crowd_spot(k, people);
                    let side = if spot < 0.5 { OFF_LEFT } else { OFF_RIGHT };
                    visit(p, walk, stay, side, spot, side).map(|u| Placement {
                        height: Sprite::Person.nominal_height() * 0.85,
                        ..person(u)
                    })
                })
                .collect(),
            Scene::Parked { sprite, drive, stay, .. } => visit(p, drive, stay, OFF_LEFT, 0.55, OFF_RIGHT)
                .map(|u| Placement { sprite, u, v: ROAD_GROUND, height: sprite.nominal_height() })
                .into_iter()
                .collect(),
        }
    }

    /// Where person `k` of `n` stands in a crowd: spread over the middle of the frame.
    fn crowd_spot(k: u32, n: u32) -> f32 {
        if n <= 1 { 0.5 } else { 0.2 + 0.6 * k as f32 / (n - 1) as f32 }
    }

    /// The zone where the scene's event happens, in the pixels of a `width` x `height`
    /// frame; None for a static scene. Rules test a box's ground point (bottom centre).
    pub fn zone(&self, width: u32, height: u32) -> Option<Polygon> {
        let pavement = layout::NEAR_KERB - 0.02;
        match self {
            Scene::Static => None,
            // The right half of the near pavement.
            Scene::Walker { .. } => Some(rect(0.5, pavement, 1.0, 1.0, width, height)),
            // Around the spot where the loiterer stands.
            Scene::Loiterer { .. } => Some(rect(0.55, pavement, 0.9, 1.0, width, height)),
            // The middle of the pavement, where the crowd gathers.
            Scene::Crowd { .. } => Some(rect(0.1, pavement, 0.9, 1.0, width, height)),
            // The middle of the near lane.
            Scene::Parked { .. } => Some(rect(0.35, layout::DIVIDER, 0.75, layout::NEAR_KERB, width, height)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    fn in_zone(scene: &Scene, t: Duration) -> usize {
        let zone = scene.zone(640, 360).expect("zone");
        scene.objects(t).iter().filter(|o| zone.contains(o.ground(640, 360))).count()
    }

    #[test]
    fn walker_crosses_the_zone_and_loops() {
        let w = Scene::walker(); // cross 16 s, pause 8 s
        assert_eq!(w.period(), s(24.0));
        // (time, objects, in zone)
        let cases = [(0.0, 1, 0), (3.0, 1, 0), (9.0, 1, 1), (12.0, 1, 1), (14.5, 1, 0), (16.5, 0, 0), (23.9, 0, 0), (36.0, 1, 1)];
        for (t, n, z) in cases {
            assert_eq!((w.objects(s(t)).len(), in_zone(&w, s(t))), (n, z), "t={t}");
        }
        let u = |t| w.objects(s(t))[0].u;
        assert!(u(1.0) < u(2.0) && u(2.0) < u(3.0), "walks right");
        assert_eq!(w.objects(s(5.0)), w.objects(s(29.0)));
        // Steps at 1 frame/s keep consecutive boxes overlapping for the tracker.
        for t in 0..16 {
            let (a, b) = (w.objects(s(t as f64))[0].bbox(640, 360), w.objects(s(t as f64 + 1.0)).first().map(|o| o.bbox(640, 360)));
            if let Some(b) = b {
                assert!(a.iou(&b) > 0.4, "t={t}: IoU {}", a.iou(&b));
            }
        }
    }

    #[test]
    fn loiterer_stands_in_the_zone() {
        let l = Scene::loiterer(); // walk 6, stay 60, pause 20
        assert_eq!(in_zone(&l, s(1.0)), 0, "still entering");
        for t in [5.0, 30.0, 63.0] {
            assert_eq!(in_zone(&l, s(t)), 1, "t={t}");
        }
        assert_eq!(l.objects(s(10.0)), l.objects(s(50.0)), "stands still");
        assert!(l.objects(s(75.0)).is_empty());
    }

    #[test]
    fn crowd_gathers_and_parked_stops_in_their_zones() {
        let c = Scene::crowd();
        assert_eq!(in_zone(&c, s(20.0)), 4);
        assert_eq!(in_zone(&c, s(60.0)), 0);
        let p = Scene::parked();
        assert_eq!(in_zone(&p, s(30.0)), 1);
        assert_eq!(p.objects(s(10.0)), p.objects(s(60.0)));
        assert_eq!(in_zone(&p, s(0.5)), 0);
        assert!(Scene::Static.objects(s(3.0)).is_empty() && Scene::Static.zone(640, 360).is_none());
    }

    #[test]
    fn crowd_people_do_not_overlap_much() {
        let objs = Scene::crowd().objects(s(20.0));
        for (i, a) in objs.iter().enumerate() {
            for b in &objs[i + 1..] {
                assert!(a.bbox(640, 360).iou(&b.bbox(640, 360)) < 0.2, "{a:?} {b:?}");
            }
        }
    }
}
