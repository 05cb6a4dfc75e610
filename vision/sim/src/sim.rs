//! The simulator's state: its cameras, the clock their scenes follow, the fault each
//! shows now, and each camera's last encoded frame (rendered at most once per frame
//! interval, whoever asks and however often).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use veghe_vision::RgbImage;

use crate::camera::SimCamera;
use crate::clock::SimClock;
use crate::error::SimError;
use crate::fault::Fault;
use crate::render::{self, Look};
use crate::scene::Placement;

struct Entry {
    camera: SimCamera,
    fault: RwLock<Option<Fault>>,
    /// The last frame served: (tick, JPEG).
    last: Mutex<Option<(u64, Bytes)>>,
    /// A frozen camera's one frame, kept once the camera first froze.
    frozen: OnceLock<Bytes>,
}

pub struct CameraSim {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    clock: SimClock,
}

impl CameraSim {
    /// Validates the cameras (ids unique) and builds the simulator on `clock`.
    pub fn new(cameras: Vec<SimCamera>, clock: SimClock) -> Result<Self, SimError> {
        let mut index = HashMap::with_capacity(cameras.len());
        let mut entries = Vec::with_capacity(cameras.len());
        for camera in cameras {
            camera.validate()?;
            if index.insert(camera.id.clone(), entries.len()).is_some() {
                return Err(SimError::Config(format!("duplicate camera id {:?}", camera.id)));
            }
            entries.push(Entry {
                fault: RwLock::new(camera.fault),
                camera,
                last: Mutex::new(None),
                frozen: OnceLock::new(),
            });
        }
        Ok(CameraSim { entries, index, clock })
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    pub fn cameras(&self) -> impl Iterator<Item = &SimCamera> {
        self.entries.iter().map(|e| &e.camera)
    }

    pub fn camera(&self, id: &str) -> Option<&SimCamera> {
        self.entry(id).ok().map(|e| &e.camera)
    }

    fn entry(&self, id: &str) -> Result<&Entry, SimError> {
        self.index
            .get(id)
            .map(|&i| &self.entries[i])
            .ok_or_else(|| SimError::UnknownCamera(id.to_owned()))
    }

    /// The fault a camera shows now.
    pub fn fault(&self, id: &str) -> Result<Option<Fault>, SimError> {
        Ok(*self.entry(id)?.fault.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Changes (or clears) a camera's fault while it runs.
    pub fn set_fault(&self, id: &str, fault: Option<Fault>) -> Result<(), SimError> {
        *self.entry(id)?.fault.write().unwrap_or_else(|p| p.into_inner()) = fault;
        Ok(())
    }

    /// The sprites a camera shows at simulation time `t` (the ground truth for tests),
    /// at the start of the frame interval `t` falls in.
    pub fn objects_at(&self, id: &str, t: Duration) -> Result<Vec<Placement>, SimError> {
        let cam = &self.entry(id)?.camera;
        Ok(cam.scene.objects(cam.tick_time(cam.tick(t))))
    }

    /// The frame a camera shows at time `t`, decoded (no JPEG round trip).
    pub fn render_at(&self, id: &str, t: Duration) -> Result<RgbImage, SimError> {
        let cam = &self.entry(id)?.camera;
        let tick = cam.tick(t);
        render::render(look(cam), &cam.scene.objects(cam.tick_time(tick)), tick)
    }

    /// The JPEG a camera shows at time `t`, fault-free. Pure in `t`; not cached per
    /// camera (empty streets still come from the shared ring).
    pub fn jpeg_at(&self, id: &str, t: Duration) -> Result<Bytes, SimError> {
        let cam = &self.entry(id)?.camera;
        let tick = cam.tick(t);
        render::jpeg(look(cam), &cam.scene.objects(cam.tick_time(tick)), tick)
    }

    /// The JPEG a camera shows now, fault-free, rendered at most once per frame
    /// interval. CPU work: call it off the async runtime.
    pub fn frame(&self, id: &str) -> Result<Bytes, SimError> {
        let e = self.entry(id)?;
        let tick = e.camera.tick(self.clock.now());
        let mut last = e.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, bytes)) = &*last {
            if *t == tick {
                return Ok(bytes.clone());
            }
        }
        let cam = &e.camera;
        let bytes = render::jpeg(look(cam), &cam.scene.objects(cam.tick_time(tick)), tick)?;
        *last = Some((tick, bytes.clone()));
        Ok(bytes)
    }

    /// The bytes a frozen camera repeats: its frame at the moment it first froze.
    pub(crate) fn frozen_frame(&self, id: &str) -> Result<Bytes, SimError> {
        let e = self.entry(id)?;
        if let Some(b) = e.frozen.get() {
            return Ok(b.clone());
        }
        let b = self.frame(id)?;
        Ok(e.frozen.get_or_init(|| b).clone())
    }
}

fn look(cam: &SimCamera) -> Look {
    Look { width: cam.width, height: cam.height, variant: cam.background, quality: cam.quality }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;

    #[test]
    fn frames_change_once_per_tick_and_follow_the_clock() {
        let clock = SimClock::manual();
        let sim = CameraSim::new(vec![SimCamera::new("w", Scene::walker()).with_fps(2.0)], clock.clone())
            .expect("sim");
        let a = sim.frame("w").expect("frame");
        clock.advance(Duration::from_millis(400));
        let b = sim.frame("w").expect("frame");
        assert_eq!(a.as_ptr(), b.as_ptr(), "same tick, same bytes");
        clock.advance(Duration::from_millis(200));
        let c = sim.frame("w").expect("frame");
        assert_ne!(a, c);
        assert_eq!(c, sim.jpeg_at("w", Duration::from_millis(600)).expect("jpeg"));
        assert!(matches!(sim.frame("nope"), Err(SimError::UnknownCamera(_))));
    }

    #[test]
    fn duplicate_or_invalid_cameras_are_refused() {
        let cam = SimCamera::new("a", Scene::Static);
        assert!(CameraSim::new(vec![cam.clone(), cam.clone()], SimClock::manual()).is_err());
        assert!(CameraSim::new(vec![cam.with_fps(-1.0)], SimClock::manual()).is_err());
    }

    #[test]
    fn frozen_frame_never_changes_and_faults_switch() {
        let clock = SimClock::manual();
        let sim = CameraSim::new(vec![SimCamera::new("f", Scene::walker())], clock.clone()).expect("sim");
        clock.set(Duration::from_secs(3));
        let first = sim.frozen_frame("f").expect("frame");
        clock.set(Duration::from_secs(6));
        assert_eq!(first, sim.frozen_frame("f").expect("frame"));
        assert_ne!(first, sim.frame("f").expect("frame"));
        sim.set_fault("f", Some(Fault::ServerError)).expect("known");
        assert_eq!(sim.fault("f").expect("known"), Some(Fault::ServerError));
    }
}
