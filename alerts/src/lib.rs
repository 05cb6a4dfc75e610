//! Alerts: the alert model, its lifecycle, how detection and sensor events become
//! alerts (one open alert per key), and the messages that fan them out. Pure logic:
//! no SQL, no HTTP — the store persists, the dashboard serves.

pub mod access;
pub mod lifecycle;
pub mod model;

pub use access::Role;
pub use model::{
    Alert, AlertId, AlertKey, AlertKind, AlertState, Position, RaisedEvent, Severity, Source, Transition,
};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("an alert cannot go from {from} to {to}")]
    InvalidTransition { from: AlertState, to: AlertState },
    #[error("invalid alert rule: {0}")]
    Rule(String),
}
