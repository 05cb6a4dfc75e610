//! The fan-out payloads: what other city systems read on MQTT
//! (`veghe/v1/alerts/{kind}`, one [`AlertMessage`] per change with event new, update or
//! end, as Frigate does) and what dashboards read on the WebSocket stream
//! ([`StreamMessage`], tagged `{"type": "snapshot" | "change" | "resync" | "ping", …}`).
//! Alerts travel as their stored record: no evidence bytes, only `has_evidence`.
//!
//! Sequence numbers are the store's change-log positions (`Alert::seq`): a stream
//! client remembers the last one it saw and resumes after it ([`resume`]); a client
//! that fell too far behind is sent `Resync` and starts again from a snapshot.

use serde::{Deserialize, Serialize};

use crate::access::{may_view, Role};
use crate::model::{Alert, AlertKind, AlertState};
use crate::AlertError;

/// The MQTT topic prefix of alerts.
pub const TOPIC_PREFIX: &str = "veghe/v1/alerts";
/// The filter matching every alert topic.
pub const TOPIC_FILTER: &str = "veghe/v1/alerts/+";

/// `veghe/v1/alerts/{kind}`, e.g. `veghe/v1/alerts/camera_rule`.
pub fn topic(kind: AlertKind) -> String {
    format!("{TOPIC_PREFIX}/{}", kind.as_str())
}

/// The kind an alert topic is for; None for other topics.
pub fn kind_from_topic(topic: &str) -> Option<AlertKind> {
    topic.strip_prefix(TOPIC_PREFIX)?.strip_prefix('/')?.parse().ok()
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEvent {
    /// A new alert.
    New,
    /// An open alert changed: a merged event (count, last seen, evidence) or a step of
    /// its lifecycle (acknowledged, dispatched).
    Update,
    /// The alert was closed: resolved or a false alarm.
    End,
}

impl ChangeEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeEvent::New => "new",
            ChangeEvent::Update => "update",
            ChangeEvent::End => "end",
        }
    }
}

/// The event for a change of an alert from `prev` (None: it did not exist) to
/// `next`. None when there is nothing to announce: a closed alert that stays closed
/// (after "end" subscribers hear no more of it).
pub fn event_for(prev: Option<AlertState>, next: AlertState) -> Option<ChangeEvent> {
    match (prev.map(AlertState::is_open), next.is_open()) {
        // Created closed (never seen open): announce the end only.
        (None, false) => Some(ChangeEvent::End),
        (None, true) => Some(ChangeEvent::New),
        (Some(true), true) => Some(ChangeEvent::Update),
        (Some(true), false) => Some(ChangeEvent::End),
        (Some(false), false) => None,
        // Closed alerts stay closed in the lifecycle; if one is ever reopened, it is
        // news again.
        (Some(false), true) => Some(ChangeEvent::New),
    }
}

/// One alert change on MQTT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub event: ChangeEvent,
    pub alert: Alert,
    pub seq: i64,
}

impl AlertMessage {
    /// The message for `alert` as it is now; its sequence number is the alert's.
    pub fn new(event: ChangeEvent, alert: Alert) -> Self {
        AlertMessage { event, seq: alert.seq, alert }
    }

    /// The message for a change from `prev`, if there is one to send.
    pub fn for_change(prev: Option<AlertState>, alert: Alert) -> Option<Self> {
        event_for(prev, alert.state).map(|e| AlertMessage::new(e, alert))
    }

    pub fn topic(&self) -> String {
        topic(self.alert.kind)
    }

    pub fn to_json(&self) -> Result<Vec<u8>, AlertError> {
        serde_json::to_vec(self).map_err(|e| AlertError::Message(e.to_string()))
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, AlertError> {
        serde_json::from_slice(bytes).map_err(|e| AlertError::Message(e.to_string()))
    }
}

/// One message of the WebSocket stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// The open alerts as of `seq`, sent on connect (and after a resync).
    Snapshot { seq: i64, alerts: Vec<Alert> },
    /// One change after the snapshot.
    Change { seq: i64, event: ChangeEvent, alert: Alert },
    /// The client fell too far behind: changes were dropped for it; it must take a
    /// new snapshot.
    Resync,
    /// Keep-alive.
    Ping,
}

impl StreamMessage {
    pub fn change(msg: AlertMessage) -> Self {
        StreamMessage::Change { seq: msg.seq, event: msg.event, alert: msg.alert }
    }

    /// The sequence number the message brings the client to.
    pub fn seq(&self) -> Option<i64> {
        match self {
            StreamMessage::Snapshot { seq, .. } | StreamMessage::Change { seq, .. } => Some(*seq),
            StreamMessage::Resync | StreamMessage::Ping => None,
        }
    }

    /// The message as a user with `role` (None: anonymous) may see it: a snapshot
    /// without the alerts they may not see, a change only if they may see it.
    pub fn for_role(&self, role: Option<Role>) -> Option<StreamMessage> {
        match self {
            StreamMessage::Snapshot { seq, alerts } => Some(StreamMessage::Snapshot {
                seq: *seq,
                alerts: alerts.iter().filter(|a| may_view(role, a.kind)).cloned().collect(),
            }),
            StreamMessage::Change { alert, .. } => may_view(role, alert.kind).then(|| self.clone()),
            StreamMessage::Resync | StreamMessage::Ping => Some(self.clone()),
        }
    }

    pub fn to_json(&self) -> Result<String, AlertError> {
        serde_json::to_string(self).map_err(|e| AlertError::Message(e.to_string()))
    }
}

impl From<AlertMessage> for StreamMessage {
    fn from(m: AlertMessage) -> Self {
        StreamMessage::change(m)
    }
}

/// How to bring a (re)connecting stream client up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Send a snapshot, then changes.
    Snapshot,
    /// Send the changes with seq greater than `after`, then live changes.
    Replay { after: i64 },
}

/// The plan for a client that saw changes up to `client_seq` (None: a new client),
/// given the oldest change still kept (None: none kept) and the latest seq.
pub fn resume(client_seq: Option<i64>, oldest_kept: Option<i64>, latest: i64) -> Resume {
    match client_seq {
        None => Resume::Snapshot,
        // From another store, or a store that started again.
        Some(c) if c > latest || c < 0 => Resume::Snapshot,
        Some(c) if c == latest => Resume::Replay { after: c },
        // Needs c+1..=latest, all of which must still be kept.
        Some(c) => match oldest_kept {
            Some(o) if o <= c.saturating_add(1) => Resume::Replay { after: c },
            _ => Resume::Snapshot,
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::model::{Severity, Source};

    fn alert(kind: AlertKind, state: AlertState, seq: i64) -> Alert {
        let t = Utc.with_ymd_and_hms(2025, 3, 1, 22, 15, 0).unwrap();
        Alert {
            id: 7,
            key: "camera:cam-7/door-enter/door".into(),
            kind,
            severity: Severity::Major,
            source: Source::Camera("cam-7".into()),
            rule: "door-enter".into(),
            scope: "door".into(),
            title: "person entered zone door".into(),
            position: None,
            first_seen: t,
            last_seen: t,
            count: 2,
            score: Some(0.75),
            class_name: Some("person".into()),
            bbox: Some([1.0, 2.0, 3.0, 4.0]),
            details: json!({ "track_id": 42 }),
            has_evidence: true,
            state,
            assignee: None,
            closed_at: None,
            seq,
        }
    }

    #[test]
    fn topics() {
        let cases = [
            (AlertKind::CameraRule, "veghe/v1/alerts/camera_rule"),
            (AlertKind::CameraHealth, "veghe/v1/alerts/camera_health"),
            (AlertKind::SensorThreshold, "veghe/v1/alerts/sensor_threshold"),
            (AlertKind::SensorOffline, "veghe/v1/alerts/sensor_offline"),
        ];
        for (kind, t) in cases {
            assert_eq!(topic(kind), t);
            assert_eq!(kind_from_topic(t), Some(kind));
        }
        for t in ["veghe/v1/alerts", "veghe/v1/alerts/", "veghe/v1/alerts/fire", "veghe/v1/sensors/x/readings", "veghe/v1/alertscamera_rule"] {
            assert_eq!(kind_from_topic(t), None, "{t}");
        }
    }

    #[test]
    fn event_table() {
        use AlertState::{Acknowledged, Dispatched, FalseAlarm, Resolved};
        use ChangeEvent::{End, Update};
        let cases = [
            (None, AlertState::New, Some(ChangeEvent::New)),
            (None, Resolved, Some(End)),
            (Some(AlertState::New), AlertState::New, Some(Update)),
            (Some(AlertState::New), Acknowledged, Some(Update)),
            (Some(Acknowledged), Dispatched, Some(Update)),
            (Some(Dispatched), Dispatched, Some(Update)),
            (Some(Dispatched), Resolved, Some(End)),
            (Some(AlertState::New), FalseAlarm, Some(End)),
            (Some(Resolved), Resolved, None),
            (Some(FalseAlarm), Resolved, None),
            (Some(Resolved), AlertState::New, Some(ChangeEvent::New)),
        ];
        for (prev, next, want) in cases {
            assert_eq!(event_for(prev, next), want, "{prev:?} -> {next}");
        }
    }

    #[test]
    fn alert_message_json() {
        let m = AlertMessage::for_change(Some(AlertState::New), alert(AlertKind::CameraRule, AlertState::Acknowledged, 31)).unwrap();
        assert_eq!(m.event, ChangeEvent::Update);
        assert_eq!(m.seq, 31);
        assert_eq!(m.topic(), "veghe/v1/alerts/camera_rule");
        let v: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
        assert_eq!(v["event"], "update");
        assert_eq!(v["seq"], 31);
        assert_eq!(v["alert"]["state"], "acknowledged");
        assert_eq!(v["alert"]["source"], json!({ "type": "camera", "id": "cam-7" }));
        assert_eq!(v["alert"]["has_evidence"], true);
        assert!(v["alert"].get("evidence_jpeg").is_none());
        assert_eq!(AlertMessage::from_json(&m.to_json().unwrap()).unwrap(), m);
        assert!(AlertMessage::from_json(b"{\"event\":\"later\"}").is_err());
        assert!(AlertMessage::for_change(Some(AlertState::Resolved), alert(AlertKind::CameraRule, AlertState::Resolved, 32)).is_none());
    }

    #[test]
    fn stream_messages_are_tagged() {
        let a = alert(AlertKind::CameraRule, AlertState::New, 5);
        let cases = [
            (StreamMessage::Snapshot { seq: 5, alerts: vec![a.clone()] }, "snapshot"),
            (StreamMessage::change(AlertMessage::new(ChangeEvent::New, a.clone())), "change"),
            (StreamMessage::Resync, "resync"),
            (StreamMessage::Ping, "ping"),
        ];
        for (m, tag) in cases {
            let text = m.to_json().unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["type"], tag, "{text}");
            assert_eq!(serde_json::from_str::<StreamMessage>(&text).unwrap(), m);
        }
        let v: serde_json::Value = serde_json::from_str(&StreamMessage::from(AlertMessage::new(ChangeEvent::End, a)).to_json().unwrap()).unwrap();
        assert_eq!((v["seq"].as_i64(), v["event"].as_str()), (Some(5), Some("end")));
        assert_eq!(serde_json::to_string(&StreamMessage::Ping).unwrap(), r#"{"type":"ping"}"#);
    }

    #[test]
    fn stream_filtered_by_role() {
        let cam = alert(AlertKind::CameraRule, AlertState::New, 1);
        let pm = Alert { kind: AlertKind::SensorThreshold, source: Source::Node("n1".into()), ..alert(AlertKind::SensorThreshold, AlertState::New, 2) };
        let snap = StreamMessage::Snapshot { seq: 2, alerts: vec![cam.clone(), pm.clone()] };
        let cases = [
            (None, 0, false, false),
            (Some(Role::Environment), 1, false, true),
            (Some(Role::Dispatcher), 2, true, true),
            (Some(Role::Admin), 2, true, true),
        ];
        for (role, n, sees_cam, sees_pm) in cases {
            let Some(StreamMessage::Snapshot { alerts, seq }) = snap.for_role(role) else { panic!() };
            assert_eq!((alerts.len(), seq), (n, 2), "{role:?}");
            let c = StreamMessage::change(AlertMessage::new(ChangeEvent::New, cam.clone()));
            assert_eq!(c.for_role(role).is_some(), sees_cam, "{role:?}");
            let p = StreamMessage::change(AlertMessage::new(ChangeEvent::New, pm.clone()));
            assert_eq!(p.for_role(role).is_some(), sees_pm, "{role:?}");
            assert_eq!(StreamMessage::Ping.for_role(role), Some(StreamMessage::Ping));
        }
    }

    #[test]
    fn resume_table() {
        let cases = [
            (None, Some(1), 100, Resume::Snapshot),
            (Some(100), Some(1), 100, Resume::Replay { after: 100 }),
            (Some(100), None, 100, Resume::Replay { after: 100 }),
            (Some(90), Some(50), 100, Resume::Replay { after: 90 }),
            (Some(49), Some(50), 100, Resume::Replay { after: 49 }),
            (Some(48), Some(50), 100, Resume::Snapshot),
            (Some(90), None, 100, Resume::Snapshot),
            (Some(120), Some(1), 100, Resume::Snapshot),
            (Some(-3), Some(1), 100, Resume::Snapshot),
            (Some(0), Some(1), 100, Resume::Replay { after: 0 }),
            (Some(i64::MAX), Some(1), i64::MAX, Resume::Replay { after: i64::MAX }),
        ];
        for (client, oldest, latest, want) in cases {
            assert_eq!(resume(client, oldest, latest), want, "{client:?} {oldest:?} {latest}");
        }
    }
}
