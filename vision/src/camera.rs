//! The camera registry record: where a camera is, how it looks at the ground, where its
//! frames come from, and its zones, masks and rules. Validated when loaded.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::event::LatLon;
use crate::geometry::{Point, Polygon};
use crate::rules::RuleConfig;

/// One image point whose ground position is known (for the homography).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroundControlPoint {
    pub pixel: Point,
    pub lat: f64,
    pub lon: f64,
}

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A JPEG snapshot URL polled at the camera's rate (ONVIF snapshot URIs).
    Snapshot { url: String },
    /// A multipart MJPEG stream over HTTP.
    Mjpeg { url: String },
    /// JPEG (or PNG) files of a directory, in name order, replayed at the camera's rate.
    Directory {
        path: PathBuf,
        #[serde(default)]
        repeat: bool,
    },
    /// Frames are pushed in by the embedding program (tests, benchmarks).
    Push,
}

/// A named polygon in image pixels that rules refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub id: String,
    pub polygon: Polygon,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Where the camera is mounted.
    pub location: LatLon,
    /// Mounting height above the ground, metres.
    #[serde(default = "default_height")]
    pub height_m: f64,
    /// Compass direction of the optical axis, degrees clockwise from north.
    #[serde(default)]
    pub bearing_deg: f64,
    /// Angle of the optical axis below the horizon, degrees.
    #[serde(default = "default_tilt")]
    pub tilt_deg: f64,
    /// Horizontal field of view, degrees.
    #[serde(default = "default_fov")]
    pub fov_deg: f64,
    /// Four or more image points with their ground positions; when present, a
    /// homography maps pixels to the ground instead of height/bearing/tilt/fov.
    #[serde(default)]
    pub calibration: Vec<GroundControlPoint>,
    pub source: SourceConfig,
    /// Frames sampled per second.
    #[serde(default = "default_fps")]
    pub fps: f64,
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
    /// Image regions ignored by the motion gate and by detection (timestamps, trees).
    #[serde(default)]
    pub masks: Vec<Polygon>,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// No frame for this long: the camera is reported offline.
    #[serde(default = "default_offline_after", with = "humantime_serde")]
    pub offline_after: Duration,
}

fn default_height() -> f64 {
    6.0
}
fn default_tilt() -> f64 {
    20.0
}
fn default_fov() -> f64 {
    90.0
}
fn default_fps() -> f64 {
    1.0
}
fn default_true() -> bool {
    true
}
fn default_offline_after() -> Duration {
    Duration::from_secs(30)
}

impl CameraConfig {
    /// Checks what serde cannot: id syntax, ranges, zone references.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !id_ok {
            return Err(format!(
                "camera id {:?}: 1-64 of A-Z a-z 0-9 _ . -",
                self.id
            ));
        }
        let ctx = |m: String| format!("camera {}: {m}", self.id);
        if !(-90.0..=90.0).contains(&self.location.lat) || !(-180.0..=180.0).contains(&self.location.lon) {
            return Err(ctx("location out of range".into()));
        }
        if !(self.fps > 0.0 && self.fps <= 60.0) {
            return Err(ctx(format!("fps {} not in (0, 60]", self.fps)));
        }
        if !(self.fov_deg > 1.0 && self.fov_deg < 179.0) {
            return Err(ctx(format!("fov_deg {} not in (1, 179)", self.fov_deg)));
        }
        if !(self.height_m > 0.0 && self.height_m < 500.0) {
            return Err(ctx(format!("height_m {} not in (0, 500)", self.height_m)));
        }
        if !self.calibration.is_empty() && self.calibration.len() < 4 {
            return Err(ctx("calibration needs at least 4 ground control points".into()));
        }
        for zone in &self.zones {
            if zone.polygon.points.len() < 3 {
                return Err(ctx(format!("zone {} needs at least 3 points", zone.id)));
            }
        }
        for rule in &self.rules {
            if !self.zones.iter().any(|z| z.id == rule.zone) {
                return Err(ctx(format!("rule {} refers to unknown zone {}", rule.id, rule.zone)));
            }
        }
        Ok(())
    }
}

/// The image region inside any mask.
pub fn masked(masks: &[Polygon], p: Point) -> bool {
    masks.iter().any(|m| m.contains(p))
}
