//! The alert record: what happened, where, how bad, its evidence and its state; the
//! key that makes one open alert per (source, rule, scope); and the transitions of its
//! timeline. Plain data, no IO.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Store-assigned alert id.
pub type AlertId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A camera rule fired (police data).
    CameraRule,
    /// A camera went offline, froze or slowed down (police data).
    CameraHealth,
    /// A sensor value crossed a threshold.
    SensorThreshold,
    /// A sensor node stopped reporting.
    SensorOffline,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::CameraRule,
        AlertKind::CameraHealth,
        AlertKind::SensorThreshold,
        AlertKind::SensorOffline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::CameraRule => "camera_rule",
            AlertKind::CameraHealth => "camera_health",
            AlertKind::SensorThreshold => "sensor_threshold",
            AlertKind::SensorOffline => "sensor_offline",
        }
    }

    /// Camera alerts and their frames are police data.
    pub fn is_police_data(self) -> bool {
        matches!(self, AlertKind::CameraRule | AlertKind::CameraHealth)
    }
}

/// Most to least urgent; `Ord` puts critical first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Major,
    Minor,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Warning => "warning",
        }
    }
}

/// Where an alert comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Source {
    Camera(String),
    Node(String),
}

impl Source {
    pub fn id(&self) -> &str {
        match self {
            Source::Camera(id) | Source::Node(id) => id,
        }
    }

    pub fn kind_str(&self) -> &'static str {
        match self {
            Source::Camera(_) => "camera",
            Source::Node(_) => "node",
        }
    }
}

/// The lifecycle: new -> acknowledged -> dispatched -> resolved, or false alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged,
    Dispatched,
    Resolved,
    FalseAlarm,
}

impl AlertState {
    pub const ALL: [AlertState; 5] = [
        AlertState::New,
        AlertState::Acknowledged,
        AlertState::Dispatched,
        AlertState::Resolved,
        AlertState::FalseAlarm,
    ];

    /// Open alerts absorb repeated events; closed ones do not.
    pub fn is_open(self) -> bool {
        matches!(self, AlertState::New | AlertState::Acknowledged | AlertState::Dispatched)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Dispatched => "dispatched",
            AlertState::Resolved => "resolved",
            AlertState::FalseAlarm => "false_alarm",
        }
    }
}

macro_rules! from_str_via_as_str {
    ($t:ty, $what:literal) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$t>::ALL_VALUES
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), s))
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

impl AlertKind {
    const ALL_VALUES: [AlertKind; 4] = AlertKind::ALL;
}
impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::Major, Severity::Minor, Severity::Warning];
    const ALL_VALUES: [Severity; 4] = Severity::ALL;
}
impl AlertState {
    const ALL_VALUES: [AlertState; 5] = AlertState::ALL;
}
from_str_via_as_str!(AlertKind, "alert kind");
from_str_via_as_str!(Severity, "severity");
from_str_via_as_str!(AlertState, "alert state");

/// One open alert per key: the source, the rule, and the scope within them (the
/// zone of a camera rule, the health condition of a camera, the quantity of a sensor).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertKey {
    pub source: Source,
    pub rule: String,
    pub scope: String,
}

impl AlertKey {
    /// The key as one string, unique per key (stored with a unique index on open
    /// alerts).
    pub fn as_string(&self) -> String {
        format!("{}:{}/{}/{}", self.source.kind_str(), self.source.id(), self.rule, self.scope)
    }
}

/// WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

/// An event that needs a human, before the store has merged it: creates an alert, or
/// updates the open alert of its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaisedEvent {
    pub key: AlertKey,
    pub kind: AlertKind,
    pub severity: Severity,
    /// One line for the wall, e.g. "person entered zone door".
    pub title: String,
    pub position: Option<Position>,
    pub at: DateTime<Utc>,
    /// Detector score (camera rules); the best-scoring event's evidence is kept.
    pub score: Option<f32>,
    pub class_name: Option<String>,
    /// Box in the camera frame's pixels: x1, y1, x2, y2.
    pub bbox: Option<[f32; 4]>,
    /// Sensor values or health details, as JSON.
    pub details: serde_json::Value,
    /// JPEG evidence frame (camera rules).
    #[serde(skip)]
    pub evidence_jpeg: Option<std::sync::Arc<Vec<u8>>>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    pub key: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub source: Source,
    pub rule: String,
    pub scope: String,
    pub title: String,
    pub position: Option<Position>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Events merged into this alert.
    pub count: u32,
    pub score: Option<f32>,
    pub class_name: Option<String>,
    pub bbox: Option<[f32; 4]>,
    pub details: serde_json::Value,
    /// Whether an evidence frame is kept (fetched separately).
    pub has_evidence: bool,
    pub state: AlertState,
    pub assignee: Option<String>,
    /// When the alert was closed (resolved or false alarm).
    pub closed_at: Option<DateTime<Utc>>,
    /// Position of the alert's latest change in the change log.
    pub seq: i64,
}

/// One step of an alert's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub alert_id: AlertId,
    pub from: Option<AlertState>,
    pub to: AlertState,
    /// User name, or "veghe" for the system.
    pub by: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}
