//! One simulated camera as configured: id, scene, frame size and rate, JPEG quality,
//! which street it looks at, its offset into the scene's cycle, and its fault.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::fault::Fault;
use crate::scene::Scene;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCamera {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub scene: Scene,
    /// Frames per second: the stream's rate, and how often a snapshot changes.
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    /// JPEG quality, 1-100.
    pub quality: u8,
    /// Which street it looks at (see `background::VARIANTS`).
    pub background: u32,
    /// Where in the scene's cycle this camera starts (staggers cameras of one scene).
    #[serde(default, with = "offset_secs")]
    pub offset: Duration,
    /// The fault it starts with (changeable at run time).
    #[serde(default)]
    pub fault: Option<Fault>,
}

mod offset_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Duration::try_from_secs_f64(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Frame sizes are bounded so that a mistyped size cannot exhaust memory.
const MAX_SIDE: u32 = 3840;

impl SimCamera {
    /// A 640x360 camera at 1 frame/s, quality 80, street 0, no fault.
    pub fn new(id: impl Into<String>, scene: Scene) -> Self {
        let id = id.into();
        SimCamera {
            name: id.clone(),
            id,
            scene,
            fps: 1.0,
            width: 640,
            height: 360,
            quality: 80,
            background: 0,
            offset: Duration::ZERO,
            fault: None,
        }
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    pub fn with_fps(mut self, fps: f64) -> Self {
        self.fps = fps;
        self
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// The frame number (tick) at scene time `t`: frames change once per 1/fps.
    pub fn tick(&self, t: Duration) -> u64 {
        (t.as_secs_f64() * self.fps).floor() as u64
    }

    /// The scene time a tick shows (the start of its interval, plus the offset).
    pub fn tick_time(&self, tick: u64) -> Duration {
        Duration::from_secs_f64(tick as f64 / self.fps) + self.offset
    }

    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(format!("camera {:?}: {m}", self.id)));
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self.id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !id_ok {
            return bad("id must be 1-64 of A-Z a-z 0-9 _ . -".into());
        }
        if !(self.fps > 0.0 && self.fps <= 60.0) {
            return bad(format!("fps {} not in (0, 60]", self.fps));
        }
        if !(16..=MAX_SIDE).contains(&self.width) || !(16..=MAX_SIDE).contains(&self.height) {
            return bad(format!("size {}x{} not within 16..={MAX_SIDE}", self.width, self.height));
        }
        if !(1..=100).contains(&self.quality) {
            return bad(format!("quality {} not in 1..=100", self.quality));
        }
        if let Scene::Crowd { people, .. } = self.scene {
            if people == 0 || people > 8 {
                return bad(format!("crowd of {people}: 1 to 8 people"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_table() {
        let ok = SimCamera::new("cam-1", Scene::Static);
        let cases = [
            (ok.clone(), true),
            (SimCamera { id: "bad id".into(), ..ok.clone() }, false),
            (SimCamera { id: String::new(), ..ok.clone() }, false),
            (ok.clone().with_fps(0.0), false),
            (ok.clone().with_fps(f64::NAN), false),
            (ok.clone().with_fps(25.0), true),
            (ok.clone().with_size(1920, 1080), true),
            (ok.clone().with_size(10_000, 1080), false),
            (ok.clone().with_size(0, 0), false),
            (SimCamera { quality: 0, ..ok.clone() }, false),
            (SimCamera { scene: Scene::Crowd { people: 0, walk: Duration::ZERO, stay: Duration::ZERO, pause: Duration::ZERO }, ..ok.clone() }, false),
        ];
        for (cam, want) in cases {
            assert_eq!(cam.validate().is_ok(), want, "{cam:?}");
        }
    }

    #[test]
    fn ticks_follow_fps() {
        let cam = SimCamera::new("c", Scene::Static).with_fps(4.0);
        assert_eq!(cam.tick(Duration::from_millis(999)), 3);
        assert_eq!(cam.tick(Duration::from_millis(1000)), 4);
        assert_eq!(cam.tick_time(6), Duration::from_millis(1500));
    }
}
