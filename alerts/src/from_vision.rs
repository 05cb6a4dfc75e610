//! What vision emits, as events for the alert wall: a detection event of a camera
//! rule, or a camera health change, becomes a [`RaisedEvent`] with its key, severity,
//! a one-line title and its evidence.
//!
//! Keys: one open alert per camera, rule and zone (`Camera(camera_id)`, `rule_id`,
//! `zone_id`), so repeated detections of a rule update the same alert; one per camera
//! and health condition (`Camera(camera_id)`, `"camera_health"`, `"offline"` |
//! `"stalled"` | `"low_frame_rate"`). A recovery raises nothing: it ends the health
//! alerts of its camera, which is the caller's business.
//!
//! Severity comes from a [`SeverityPolicy`]: one per rule kind and health condition,
//! overridable per rule id. Non-finite scores, boxes and positions are dropped (None),
//! never passed on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use veghe_vision::{CameraHealthEvent, DetectionEvent, HealthKind, LatLon, RuleKind};

use crate::model::{AlertKey, AlertKind, Position, RaisedEvent, Severity, Source};

/// The rule name of camera health alerts.
pub const CAMERA_HEALTH_RULE: &str = "camera_health";

/// How severe each camera alert is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityPolicy {
    pub zone_enter: Severity,
    pub loiter: Severity,
    pub crowd: Severity,
    pub no_stopping: Severity,
    pub camera_offline: Severity,
    pub camera_stalled: Severity,
    pub camera_low_frame_rate: Severity,
    /// Per rule id, overriding the rule kind's severity.
    pub rules: BTreeMap<String, Severity>,
}

impl Default for SeverityPolicy {
    /// Zone entry major (a person where nobody should be), crowd major, loitering
    /// minor, no-stopping minor; a camera offline major (the wall is blind there), a
    /// frozen or slow camera a warning.
    fn default() -> Self {
        SeverityPolicy {
            zone_enter: Severity::Major,
            loiter: Severity::Minor,
            crowd: Severity::Major,
            no_stopping: Severity::Minor,
            camera_offline: Severity::Major,
            camera_stalled: Severity::Warning,
            camera_low_frame_rate: Severity::Warning,
            rules: BTreeMap::new(),
        }
    }
}

impl SeverityPolicy {
    /// The severity of an alert raised by rule `rule_id` of kind `kind`.
    pub fn for_rule(&self, rule_id: &str, kind: RuleKind) -> Severity {
        if let Some(s) = self.rules.get(rule_id) {
            return *s;
        }
        match kind {
            RuleKind::ZoneEnter => self.zone_enter,
            RuleKind::Loiter => self.loiter,
            RuleKind::Crowd => self.crowd,
            RuleKind::NoStopping => self.no_stopping,
        }
    }

    /// The severity of a camera health alert; None for a recovery.
    pub fn for_health(&self, kind: HealthKind) -> Option<Severity> {
        match kind {
            HealthKind::Offline => Some(self.camera_offline),
            HealthKind::Stalled => Some(self.camera_stalled),
            HealthKind::LowFrameRate => Some(self.camera_low_frame_rate),
            HealthKind::Recovered => None,
        }
    }
}

/// The name of a rule kind as vision spells it in configuration.
pub fn rule_kind_str(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::ZoneEnter => "zone_enter",
        RuleKind::Loiter => "loiter",
        RuleKind::Crowd => "crowd",
        RuleKind::NoStopping => "no_stopping",
    }
}

/// The scope of a health alert: "offline", "stalled", "low_frame_rate"; None for a
/// recovery, which has no alert of its own.
pub fn health_scope(kind: HealthKind) -> Option<&'static str> {
    match kind {
        HealthKind::Offline => Some("offline"),
        HealthKind::Stalled => Some("stalled"),
        HealthKind::LowFrameRate => Some("low_frame_rate"),
        HealthKind::Recovered => None,
    }
}

/// The keys of the health alerts a recovery of `camera_id` ends.
pub fn health_keys(camera_id: &str) -> Vec<AlertKey> {
    [HealthKind::Offline, HealthKind::Stalled, HealthKind::LowFrameRate]
        .into_iter()
        .filter_map(health_scope)
        .map(|scope| AlertKey {
            source: Source::Camera(camera_id.to_owned()),
            rule: CAMERA_HEALTH_RULE.to_owned(),
            scope: scope.to_owned(),
        })
        .collect()
}

/// The key a detection event merges into.
pub fn detection_key(ev: &DetectionEvent) -> AlertKey {
    AlertKey { source: Source::Camera(ev.camera_id.clone()), rule: ev.rule_id.clone(), scope: ev.zone_id.clone() }
}

/// A WGS84 position, if it is one.
pub fn position(p: Option<LatLon>) -> Option<Position> {
    p.filter(|p| p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0)
        .map(|p| Position { lat: p.lat, lon: p.lon })
}

/// A camera rule fired: the event for its (camera, rule, zone) alert.
pub fn raise_from_detection(ev: &DetectionEvent, policy: &SeverityPolicy) -> RaisedEvent {
    let score = Some(ev.score).filter(|s| s.is_finite());
    let b = ev.bbox;
    let bbox = Some([b.x1, b.y1, b.x2, b.y2]).filter(|b| b.iter().all(|v| v.is_finite()));
    let class = if ev.class_name.trim().is_empty() { "object" } else { ev.class_name.as_str() };
    RaisedEvent {
        key: detection_key(ev),
        kind: AlertKind::CameraRule,
        severity: policy.for_rule(&ev.rule_id, ev.rule_kind),
        title: detection_title(ev.rule_kind, class, &ev.zone_id, ev.count),
        position: position(ev.position),
        at: ev.time,
        score,
        class_name: Some(class.to_owned()),
        bbox,
        details: json!({
            "rule_kind": rule_kind_str(ev.rule_kind),
            "zone": ev.zone_id,
            "class": class,
            "class_id": ev.class_id,
            "score": score,
            "track_id": ev.track_id,
            "count": ev.count,
        }),
        evidence_jpeg: ev.evidence_jpeg.clone(),
    }
}

/// A camera's health changed: the event for its (camera, health condition) alert, or
/// None for a recovery.
pub fn raise_from_health(ev: &CameraHealthEvent) -> Option<RaisedEvent> {
    raise_from_health_with(ev, &SeverityPolicy::default())
}

/// [`raise_from_health`] with the severities of `policy`.
pub fn raise_from_health_with(ev: &CameraHealthEvent, policy: &SeverityPolicy) -> Option<RaisedEvent> {
    let scope = health_scope(ev.kind)?;
    let severity = policy.for_health(ev.kind)?;
    let what = match ev.kind {
        HealthKind::Offline => "camera offline",
        HealthKind::Stalled => "camera image frozen",
        HealthKind::LowFrameRate => "camera frame rate low",
        HealthKind::Recovered => return None,
    };
    let detail = ev.detail.trim();
    let title = if detail.is_empty() { what.to_owned() } else { format!("{what}: {detail}") };
    Some(RaisedEvent {
        key: AlertKey {
            source: Source::Camera(ev.camera_id.clone()),
            rule: CAMERA_HEALTH_RULE.to_owned(),
            scope: scope.to_owned(),
        },
        kind: AlertKind::CameraHealth,
        severity,
        title,
        position: position(ev.position),
        at: ev.time,
        score: None,
        class_name: None,
        bbox: None,
        details: json!({ "health": scope, "detail": ev.detail }),
        evidence_jpeg: None,
    })
}

fn detection_title(kind: RuleKind, class: &str, zone: &str, count: u32) -> String {
    match kind {
        RuleKind::ZoneEnter => format!("{class} entered zone {zone}"),
        RuleKind::Loiter => format!("{class} loitering in zone {zone}"),
        RuleKind::Crowd => format!("{count} {} in zone {zone} (crowd)", plural(class, count)),
        RuleKind::NoStopping => format!("{class} stopped in no-stopping zone {zone}"),
    }
}

/// English plural of a detector class name (COCO names are lowercase nouns).
fn plural(class: &str, count: u32) -> String {
    if count == 1 {
        return class.to_owned();
    }
    match class {
        "person" => "people".to_owned(),
        "sheep" => "sheep".to_owned(),
        "skis" | "scissors" => class.to_owned(),
        c if c.ends_with('s') || c.ends_with('x') || c.ends_with("ch") || c.ends_with("sh") => format!("{c}es"),
        c => format!("{c}s"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use veghe_vision::geometry::BBox;

    use super::*;

    fn det(kind: RuleKind, rule: &str, zone: &str, class: &str, count: u32) -> DetectionEvent {
        DetectionEvent {
            camera_id: "cam-7".into(),
            rule_id: rule.into(),
            rule_kind: kind,
            zone_id: zone.into(),
            class_name: class.into(),
            class_id: 0,
            score: 0.83,
            bbox: BBox::new(10.0, 20.0, 60.0, 180.0),
            track_id: 42,
            count,
            position: Some(LatLon::new(44.43, 26.03)),
            time: Utc.with_ymd_and_hms(2025, 3, 1, 22, 15, 0).unwrap(),
            evidence_jpeg: Some(Arc::new(vec![0xff, 0xd8, 0xff, 0xd9])),
        }
    }

    #[test]
    fn detection_table() {
        use RuleKind::*;
        use Severity::*;
        let cases = [
            (ZoneEnter, "door-enter", "door", "person", 1, Major, "person entered zone door"),
            (Crowd, "square-crowd", "square", "person", 3, Major, "3 people in zone square (crowd)"),
            (Crowd, "lot-crowd", "lot", "bus", 4, Major, "4 buses in zone lot (crowd)"),
            (Crowd, "lot-crowd", "lot", "car", 1, Major, "1 car in zone lot (crowd)"),
            (Loiter, "atm-loiter", "atm", "person", 1, Minor, "person loitering in zone atm"),
            (NoStopping, "bus-lane", "bus-lane", "car", 1, Minor, "car stopped in no-stopping zone bus-lane"),
            (ZoneEnter, "x", "yard", "", 1, Major, "object entered zone yard"),
        ];
        let policy = SeverityPolicy::default();
        for (kind, rule, zone, class, count, sev, title) in cases {
            let ev = det(kind, rule, zone, class, count);
            let r = raise_from_detection(&ev, &policy);
            assert_eq!(r.title, title);
            assert_eq!(r.severity, sev, "{title}");
            assert_eq!(r.kind, AlertKind::CameraRule);
            assert_eq!(r.key, AlertKey { source: Source::Camera("cam-7".into()), rule: rule.into(), scope: zone.into() });
            assert_eq!(r.details["count"], count);
            assert_eq!(r.details["track_id"], 42);
            assert_eq!(r.details["rule_kind"], rule_kind_str(kind));
            assert_eq!(r.score, Some(0.83));
            assert_eq!(r.bbox, Some([10.0, 20.0, 60.0, 180.0]));
            assert_eq!(r.position, Some(Position { lat: 44.43, lon: 26.03 }));
            assert!(Arc::ptr_eq(r.evidence_jpeg.as_ref().unwrap(), ev.evidence_jpeg.as_ref().unwrap()));
        }
    }

    #[test]
    fn repeated_detections_share_a_key() {
        let a = det(RuleKind::ZoneEnter, "door-enter", "door", "person", 1);
        let mut b = a.clone();
        b.track_id = 43;
        b.time += chrono::Duration::seconds(5);
        let p = SeverityPolicy::default();
        assert_eq!(raise_from_detection(&a, &p).key, raise_from_detection(&b, &p).key);
        let mut other_zone = a.clone();
        other_zone.zone_id = "window".into();
        assert_ne!(raise_from_detection(&a, &p).key, raise_from_detection(&other_zone, &p).key);
    }

    #[test]
    fn non_finite_inputs_are_dropped() {
        let mut ev = det(RuleKind::ZoneEnter, "r", "z", "person", 1);
        ev.score = f32::NAN;
        ev.bbox = BBox::new(f32::INFINITY, 0.0, 1.0, 1.0);
        let cases = [Some(LatLon::new(f64::NAN, 26.0)), Some(LatLon::new(91.0, 26.0)), Some(LatLon::new(44.0, 181.0)), None];
        for p in cases {
            ev.position = p;
            let r = raise_from_detection(&ev, &SeverityPolicy::default());
            assert_eq!(r.score, None);
            assert_eq!(r.bbox, None);
            assert_eq!(r.position, None, "{p:?}");
            assert!(r.details["score"].is_null());
            // Serialises without error (no NaN in the JSON).
            serde_json::to_string(&r).unwrap();
        }
    }

    #[test]
    fn policy_overrides_and_config() {
        let p: SeverityPolicy = serde_json::from_value(json!({
            "loiter": "major",
            "camera_stalled": "minor",
            "rules": { "school-gate": "critical" }
        }))
        .unwrap();
        let cases = [
            ("school-gate", RuleKind::ZoneEnter, Severity::Critical),
            ("school-gate", RuleKind::Loiter, Severity::Critical),
            ("park", RuleKind::Loiter, Severity::Major),
            ("park", RuleKind::Crowd, Severity::Major),
            ("park", RuleKind::NoStopping, Severity::Minor),
        ];
        for (rule, kind, want) in cases {
            assert_eq!(p.for_rule(rule, kind), want, "{rule} {kind:?}");
        }
        assert_eq!(p.for_health(HealthKind::Stalled), Some(Severity::Minor));
        assert!(serde_json::from_value::<SeverityPolicy>(json!({ "loitering": "major" })).is_err());
        assert!(serde_json::from_value::<SeverityPolicy>(json!({ "loiter": "urgent" })).is_err());
        assert_eq!(serde_json::from_value::<SeverityPolicy>(json!({})).unwrap(), SeverityPolicy::default());
    }

    #[test]
    fn health_table() {
        let t = Utc.with_ymd_and_hms(2025, 3, 1, 3, 0, 0).unwrap();
        let cases = [
            (HealthKind::Offline, "HTTP 500", Some(("offline", Severity::Major, "camera offline: HTTP 500"))),
            (HealthKind::Stalled, "", Some(("stalled", Severity::Warning, "camera image frozen"))),
            (HealthKind::LowFrameRate, "0.2 fps", Some(("low_frame_rate", Severity::Warning, "camera frame rate low: 0.2 fps"))),
            (HealthKind::Recovered, "frames again", None),
        ];
        for (kind, detail, want) in cases {
            let ev = CameraHealthEvent { camera_id: "cam-9".into(), kind, detail: detail.into(), position: None, time: t };
            let got = raise_from_health(&ev);
            match (got, want) {
                (None, None) => {}
                (Some(r), Some((scope, sev, title))) => {
                    assert_eq!(r.key.source, Source::Camera("cam-9".into()));
                    assert_eq!(r.key.rule, CAMERA_HEALTH_RULE);
                    assert_eq!(r.key.scope, scope);
                    assert_eq!(r.severity, sev);
                    assert_eq!(r.title, title);
                    assert_eq!(r.kind, AlertKind::CameraHealth);
                    assert_eq!(r.at, t);
                    assert!(r.evidence_jpeg.is_none());
                }
                (got, want) => panic!("{kind:?}: {got:?} vs {want:?}"),
            }
        }
        let keys = health_keys("cam-9");
        assert_eq!(keys.iter().map(|k| k.scope.as_str()).collect::<Vec<_>>(), ["offline", "stalled", "low_frame_rate"]);
    }
}
