//! A camera of the registry as the store keeps it: the columns the map needs, and the
//! full record (vision's camera configuration) as JSON, which the store does not read.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraRecord {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub enabled: bool,
    pub config: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}
