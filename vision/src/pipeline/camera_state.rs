//! What the pipeline keeps per camera between frames: the decode buffer, the motion
//! gate, the tracker, the compiled rules and the ground mapping. Owned by whichever
//! worker holds the camera (the scheduler guarantees one at a time).

use chrono::{DateTime, Utc};

use crate::camera::CameraConfig;
use crate::geolocate::Geolocator;
use crate::image::RgbImage;
use crate::motion::{MotionConfig, MotionGate};
use crate::rules::RuleEngine;
use crate::tracker::{Tracker, TrackerConfig};

pub struct CameraState {
    pub config: CameraConfig,
    /// The last frame, decoded at reduced scale.
    pub decoded: RgbImage,
    /// The camera's full frame size (zones, masks and boxes are in these pixels).
    pub frame_size: (u32, u32),
    pub motion: Option<MotionGate>,
    motion_config: MotionConfig,
    pub tracker: Tracker,
    pub rules: RuleEngine,
    pub geolocator: Option<Geolocator>,
    pub last_scored: Option<DateTime<Utc>>,
    /// The last decode error, logged once until a frame decodes again.
    pub decode_error: Option<String>,
}

impl CameraState {
    pub fn new(
        config: CameraConfig,
        class_names: &[String],
        motion_config: MotionConfig,
        tracker_config: TrackerConfig,
    ) -> Result<Self, String> {
        let rules = RuleEngine::new(&config.id, &config.zones, &config.rules, class_names)?;
        Ok(CameraState {
            config,
            decoded: RgbImage::default(),
            frame_size: (0, 0),
            motion: None,
            motion_config,
            tracker: Tracker::new(tracker_config),
            rules,
            geolocator: None,
            last_scored: None,
            decode_error: None,
        })
    }

    /// Called after each decode: (re)builds what depends on the frame size.
    pub fn frame_size_check(&mut self, full_width: u32, full_height: u32) {
        if self.frame_size != (full_width, full_height) {
            self.frame_size = (full_width, full_height);
            self.motion = Some(MotionGate::new(
                self.motion_config.clone(),
                &self.config.masks,
                full_width,
                full_height,
            ));
            self.geolocator = match Geolocator::from_camera(&self.config, full_width, full_height) {
                Ok(g) => Some(g),
                Err(e) => {
                    tracing::warn!(camera.id = %self.config.id, error = %e, "camera cannot be geolocated; events carry no position");
                    None
                }
            };
        }
    }

    /// Decoded pixels per full-frame pixel.
    pub fn decode_scale(&self) -> (f32, f32) {
        let (w, h) = self.frame_size;
        if w == 0 || h == 0 {
            return (1.0, 1.0);
        }
        (self.decoded.width as f32 / w as f32, self.decoded.height as f32 / h as f32)
    }
}
