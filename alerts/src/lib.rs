//! Alerts: the alert model, its lifecycle, how detection and sensor events become
//! alerts (one open alert per key), and the messages that fan them out. Pure logic:
//! no SQL, no HTTP — the store persists, the dashboard serves.
//!
//! - [`model`], [`lifecycle`], [`access`]: the record, its states, who sees what.
//! - [`from_vision`]: vision's detection and camera-health events as raised events.
//! - [`sensor_rules`]: threshold and offline rules over sensor readings.
//! - [`standards`]: EAQI bands, EU and WHO limits, noise periods, in one table.
//! - [`messages`]: MQTT and WebSocket payloads.

pub mod access;
pub mod from_vision;
pub mod lifecycle;
pub mod messages;
pub mod model;
pub mod sensor_rules;
pub mod standards;

pub use access::Role;
pub use from_vision::{raise_from_detection, raise_from_health, raise_from_health_with, SeverityPolicy};
pub use messages::{event_for, topic, AlertMessage, ChangeEvent, Resume, StreamMessage};
pub use model::{
    Alert, AlertId, AlertKey, AlertKind, AlertState, Position, RaisedEvent, Severity, Source, Transition,
};
pub use sensor_rules::{
    OfflineRuleConfig, SensorRuleConfig, SensorRuleEngine, SensorRulesConfig, SensorSignal, TimeOfDay, TimeOfDayRange,
};
pub use standards::{Band, Pollutant};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("an alert cannot go from {from} to {to}")]
    InvalidTransition { from: AlertState, to: AlertState },
    #[error("invalid alert rule: {0}")]
    Rule(String),
    #[error("sensor rule {rule}: {reason}")]
    SensorRule { rule: String, reason: String },
    #[error("alert message: {0}")]
    Message(String),
}
