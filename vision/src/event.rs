//! What vision emits: detection events raised by a camera's rules, and camera health
//! events. The alerts crate consumes these types as they are.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::geometry::BBox;

/// A position on the ground, WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        LatLon { lat, lon }
    }
}

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// An object entered a zone.
    ZoneEnter,
    /// An object stayed in a zone longer than the rule allows.
    Loiter,
    /// More objects in a zone than the rule allows.
    Crowd,
    /// A vehicle stood still in a no-stopping zone longer than the rule allows.
    NoStopping,
}

/// A camera rule fired for an object (or, for a crowd, for the zone).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectionEvent {
    pub camera_id: String,
    pub rule_id: String,
    pub rule_kind: RuleKind,
    pub zone_id: String,
    pub class_name: String,
    pub class_id: u32,
    pub score: f32,
    /// In the pixels of the camera's frame.
    pub bbox: BBox,
    /// The tracker's id for the object; for a crowd, the track that tipped the count.
    pub track_id: u64,
    /// Objects counted in the zone when the rule fired (crowd rules; 1 otherwise).
    pub count: u32,
    /// Where the object stands, when the camera is geolocated.
    pub position: Option<LatLon>,
    pub time: DateTime<Utc>,
    /// JPEG of the frame with the box drawn, kept as the alert's evidence.
    #[serde(skip)]
    pub evidence_jpeg: Option<Arc<Vec<u8>>>,
}

/// A camera stopped behaving as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthKind {
    /// No frame could be fetched for the offline timeout.
    Offline,
    /// Frames arrive but are identical (a frozen encoder).
    Stalled,
    /// Frames arrive slower than the configured sampling rate.
    LowFrameRate,
    /// The camera answered again after one of the above.
    Recovered,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CameraHealthEvent {
    pub camera_id: String,
    pub kind: HealthKind,
    pub detail: String,
    pub position: Option<LatLon>,
    pub time: DateTime<Utc>,
}

/// Everything vision emits, in one stream.
#[derive(Debug, Clone)]
pub enum VisionEvent {
    Detection(DetectionEvent),
    Health(CameraHealthEvent),
}
