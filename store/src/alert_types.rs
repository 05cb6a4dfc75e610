//! Values that cross the store's interface for alerts, users, sessions and the audit
//! log, and the merge rule both backends apply when an event meets an open alert.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use veghe_alerts::{
    Alert, AlertId, AlertKind, AlertState, Position, RaisedEvent, Role, Severity, Source,
};

use crate::{Result, StoreError};

/// What [`crate::Store::raise_alert`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaiseChange {
    /// No open alert had the key: a new one was created.
    Created,
    /// The open alert of the key absorbed the event.
    Updated,
    /// An alert of the key was closed within the cooldown: nothing was written.
    Suppressed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RaiseOutcome {
    /// The alert as stored after the event; `None` when suppressed.
    pub alert: Option<Alert>,
    pub change: RaiseChange,
}

/// A filter over alerts; results come most severe first, then most recently seen.
#[derive(Debug, Clone)]
pub struct AlertQuery {
    /// Empty: the open ones (new, acknowledged, dispatched).
    pub states: Vec<AlertState>,
    /// Empty: every kind.
    pub kinds: Vec<AlertKind>,
    /// Empty: every severity.
    pub severities: Vec<Severity>,
    /// `(min_lat, min_lon, max_lat, max_lon)`, inclusive; alerts without a position
    /// are left out when set.
    pub area: Option<(f64, f64, f64, f64)>,
    /// Only alerts last seen at or after this instant.
    pub since: Option<DateTime<Utc>>,
    pub limit: u32,
}

impl Default for AlertQuery {
    fn default() -> Self {
        AlertQuery {
            states: Vec::new(),
            kinds: Vec::new(),
            severities: Vec::new(),
            area: None,
            since: None,
            limit: 1000,
        }
    }
}

impl AlertQuery {
    /// The states to match, as stored.
    pub(crate) fn state_names(&self) -> Vec<&'static str> {
        if self.states.is_empty() {
            OPEN_STATES.to_vec()
        } else {
            self.states.iter().map(|s| s.as_str()).collect()
        }
    }

    pub(crate) fn kind_names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.as_str()).collect()
    }

    pub(crate) fn severity_names(&self) -> Vec<&'static str> {
        self.severities.iter().map(|s| s.as_str()).collect()
    }
}

pub(crate) const OPEN_STATES: [&str; 3] = ["new", "acknowledged", "dispatched"];

/// The system's name in timelines.
pub(crate) const SYSTEM_ACTOR: &str = "veghe";

/// A user as stored, with the password hash (hashing happens outside the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A user for listings: no password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A live session, with its user's current role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// One line of the audit log: who did what to what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

/// The parts of an open alert that decide how an event merges into it.
#[derive(Debug, Clone)]
pub(crate) struct OpenAlert {
    pub id: AlertId,
    pub severity: Severity,
    pub last_seen: DateTime<Utc>,
    pub score: Option<f32>,
    pub has_evidence: bool,
}

/// How an event changes the open alert of its key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Merge {
    pub severity: Severity,
    pub last_seen: DateTime<Utc>,
    /// Replace the evidence frame, score, box, class and details with the event's.
    pub best_evidence: bool,
}

/// Count and position are merged in SQL (`count + 1`, position filled when missing);
/// the rest here: the more severe severity, the later last-seen, and the evidence of
/// the best-scoring event that carried a frame.
pub(crate) fn merge(open: &OpenAlert, ev: &RaisedEvent) -> Merge {
    let better = match (ev.score, open.score) {
        (Some(new), Some(old)) => new > old,
        (Some(_), None) => true,
        (None, _) => !open.has_evidence,
    };
    Merge {
        severity: open.severity.min(ev.severity),
        last_seen: open.last_seen.max(ev.at),
        best_evidence: ev.evidence_jpeg.is_some() && better,
    }
}

/// An alert's columns as read, before parsing; each backend fills one from its row.
pub(crate) struct AlertColumns {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub severity: String,
    pub source_type: String,
    pub source_id: String,
    pub rule: String,
    pub scope: String,
    pub title: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: i64,
    pub score: Option<f32>,
    pub class_name: Option<String>,
    pub bbox: Option<Vec<f32>>,
    pub details: Option<String>,
    pub has_evidence: bool,
    pub state: String,
    pub assignee: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub seq: i64,
}

impl AlertColumns {
    pub fn into_alert(self) -> Result<Alert> {
        let source = match self.source_type.as_str() {
            "camera" => Source::Camera(self.source_id),
            "node" => Source::Node(self.source_id),
            other => return Err(corrupt("alert source type", other)),
        };
        let position = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(Position { lat, lon }),
            _ => None,
        };
        let bbox = match self.bbox {
            None => None,
            Some(b) => Some(
                <[f32; 4]>::try_from(b.as_slice())
                    .map_err(|_| corrupt("alert box", &format!("{b:?}")))?,
            ),
        };
        let details = match self.details {
            None => serde_json::Value::Null,
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("alert details: {e}")))?,
        };
        Ok(Alert {
            id: self.id,
            key: self.key,
            kind: parse_kind(&self.kind)?,
            severity: parse_severity(&self.severity)?,
            source,
            rule: self.rule,
            scope: self.scope,
            title: self.title,
            position,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            count: u32::try_from(self.count.max(0)).unwrap_or(u32::MAX),
            score: self.score,
            class_name: self.class_name,
            bbox,
            details,
            has_evidence: self.has_evidence,
            state: parse_state(&self.state)?,
            assignee: self.assignee,
            closed_at: self.closed_at,
            seq: self.seq,
        })
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

pub(crate) fn parse_kind(s: &str) -> Result<AlertKind> {
    s.parse().map_err(|_| corrupt("alert kind", s))
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity> {
    s.parse().map_err(|_| corrupt("severity", s))
}

pub(crate) fn parse_state(s: &str) -> Result<AlertState> {
    s.parse().map_err(|_| corrupt("alert state", s))
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(|_| corrupt("role", s))
}

/// Closed states record when they closed.
pub(crate) fn closes(state: AlertState) -> bool {
    !state.is_open()
}

/// `at - cooldown`, saturating.
pub(crate) fn cooldown_start(at: DateTime<Utc>, cooldown: std::time::Duration) -> DateTime<Utc> {
    crate::types::cutoff(at, cooldown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::Arc;
    use veghe_alerts::AlertKey;

    fn event(severity: Severity, score: Option<f32>, jpeg: bool) -> RaisedEvent {
        RaisedEvent {
            key: AlertKey {
                source: Source::Camera("c1".into()),
                rule: "door".into(),
                scope: "zone".into(),
            },
            kind: AlertKind::CameraRule,
            severity,
            title: "t".into(),
            position: None,
            at: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
            score,
            class_name: None,
            bbox: None,
            details: serde_json::Value::Null,
            evidence_jpeg: jpeg.then(|| Arc::new(vec![0xff, 0xd8])),
        }
    }

    #[test]
    fn merge_keeps_the_worst_severity_and_the_best_evidence() {
        let open = OpenAlert {
            id: 1,
            severity: Severity::Minor,
            last_seen: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 5).unwrap(),
            score: Some(0.6),
            has_evidence: true,
        };
        let m = merge(&open, &event(Severity::Critical, Some(0.5), true));
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(m.last_seen, open.last_seen, "an older event does not move last_seen back");
        assert!(!m.best_evidence);
        assert!(merge(&open, &event(Severity::Warning, Some(0.7), true)).best_evidence);
        assert_eq!(merge(&open, &event(Severity::Warning, Some(0.7), true)).severity, Severity::Minor);
        assert!(!merge(&open, &event(Severity::Minor, Some(0.9), false)).best_evidence);
        assert!(!merge(&open, &event(Severity::Minor, None, true)).best_evidence);
        let bare = OpenAlert { score: None, has_evidence: false, ..open };
        assert!(merge(&bare, &event(Severity::Minor, None, true)).best_evidence);
    }
}
