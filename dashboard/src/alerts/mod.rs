//! The dispatcher's API: alerts (list, one with its timeline, transitions, evidence
//! frames), the cameras for the map, the audit log, and the live stream. Camera alerts
//! and frames are police data (see `veghe_alerts::access`).

pub mod hub;
pub mod routes;
pub mod stream;

pub use hub::{AlertHub, RecentSeqs};
