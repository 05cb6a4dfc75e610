//! Alerts, users, sessions and the audit log: one contract, two backends. Every test
//! runs against PostgreSQL + TimescaleDB and against SQLite, each on its own fresh
//! database, on a multi-threaded runtime (some race writers against each other).

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::Barrier;
use veghe_alerts::{
    lifecycle, AlertError, AlertKey, AlertKind, AlertState, Position, RaisedEvent, Role,
    Severity, Source,
};
use veghe_store::{AlertQuery, AuditEntry, RaiseChange, Store, StoreError};

const COOLDOWN: Duration = Duration::from_secs(600);

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, h, m, s).unwrap()
}

fn key(camera: &str, rule: &str) -> AlertKey {
    AlertKey {
        source: Source::Camera(camera.into()),
        rule: rule.into(),
        scope: "zone-a".into(),
    }
}

fn event(camera: &str, rule: &str, severity: Severity, t: DateTime<Utc>) -> RaisedEvent {
    RaisedEvent {
        key: key(camera, rule),
        kind: AlertKind::CameraRule,
        severity,
        title: format!("{rule} on {camera}"),
        position: Some(Position {
            lat: 44.43,
            lon: 26.03,
        }),
        at: t,
        score: None,
        class_name: None,
        bbox: None,
        details: serde_json::json!({"camera": camera}),
        evidence_jpeg: None,
    }
}

fn with_evidence(mut ev: RaisedEvent, score: f32, jpeg: &[u8]) -> RaisedEvent {
    ev.score = Some(score);
    ev.class_name = Some("person".into());
    ev.bbox = Some([10.0, 20.0, 110.5, 220.25]);
    ev.evidence_jpeg = Some(Arc::new(jpeg.to_vec()));
    ev
}

fn sensor_event(node: &str, severity: Severity, t: DateTime<Utc>, lat: f64, lon: f64) -> RaisedEvent {
    RaisedEvent {
        key: AlertKey {
            source: Source::Node(node.into()),
            rule: "pm25-poor".into(),
            scope: "pm2_5".into(),
        },
        kind: AlertKind::SensorThreshold,
        severity,
        title: format!("PM2.5 high at {node}"),
        position: Some(Position { lat, lon }),
        at: t,
        score: None,
        class_name: None,
        bbox: None,
        details: serde_json::json!({"pm2_5": 61.5, "unit": "µg/m³"}),
        evidence_jpeg: None,
    }
}

async fn raise(store: &Store, ev: &RaisedEvent) -> (RaiseChange, Option<veghe_alerts::Alert>) {
    let out = store.raise_alert(ev, COOLDOWN).await.unwrap();
    (out.change, out.alert)
}

async fn raise_new(store: &Store, ev: &RaisedEvent) -> veghe_alerts::Alert {
    let (change, alert) = raise(store, ev).await;
    assert_eq!(change, RaiseChange::Created);
    alert.unwrap()
}

fn is_invalid_transition(e: &StoreError, from: AlertState, to: AlertState) -> bool {
    matches!(e, StoreError::Alert(AlertError::InvalidTransition { from: f, to: t }) if *f == from && *t == to)
}

async fn raise_creates_updates_and_suppresses(store: Store) {
    let first = raise_new(&store, &event("c1", "door", Severity::Major, at(10, 0, 0))).await;
    assert_eq!(first.key, "camera:c1/door/zone-a");
    assert_eq!(first.source, Source::Camera("c1".into()));
    assert_eq!((first.rule.as_str(), first.scope.as_str()), ("door", "zone-a"));
    assert_eq!(first.kind, AlertKind::CameraRule);
    assert_eq!(first.state, AlertState::New);
    assert_eq!(first.count, 1);
    assert_eq!((first.first_seen, first.last_seen), (at(10, 0, 0), at(10, 0, 0)));
    assert_eq!(first.title, "door on c1");
    assert_eq!(first.details, serde_json::json!({"camera": "c1"}));
    assert_eq!(first.position, Some(Position { lat: 44.43, lon: 26.03 }));
    assert!(!first.has_evidence && first.closed_at.is_none() && first.assignee.is_none());

    let (change, updated) = raise(&store, &event("c1", "door", Severity::Major, at(10, 0, 5))).await;
    assert_eq!(change, RaiseChange::Updated);
    let updated = updated.unwrap();
    assert_eq!(updated.id, first.id);
    assert_eq!(updated.count, 2);
    assert_eq!((updated.first_seen, updated.last_seen), (at(10, 0, 0), at(10, 0, 5)));
    assert!(updated.seq > first.seq);

    // Another rule, another camera: other keys, other alerts.
    let other_rule = raise_new(&store, &event("c1", "loiter", Severity::Minor, at(10, 0, 6))).await;
    let other_camera = raise_new(&store, &event("c2", "door", Severity::Minor, at(10, 0, 6))).await;
    assert_ne!(other_rule.id, first.id);
    assert_ne!(other_camera.id, other_rule.id);

    // Closed: repeated events within the cooldown are suppressed, later ones open a
    // new alert.
    store
        .transition_alert(first.id, AlertState::Acknowledged, "ana", None, None, at(10, 1, 0))
        .await
        .unwrap();
    store
        .transition_alert(first.id, AlertState::Resolved, "ana", None, None, at(10, 2, 0))
        .await
        .unwrap();
    let (change, alert) = raise(&store, &event("c1", "door", Severity::Major, at(10, 5, 0))).await;
    assert_eq!((change, alert), (RaiseChange::Suppressed, None));
    let (change, _) = raise(&store, &event("c1", "door", Severity::Major, at(10, 11, 59))).await;
    assert_eq!(change, RaiseChange::Suppressed);
    let reopened = raise_new(&store, &event("c1", "door", Severity::Major, at(10, 12, 1))).await;
    assert_ne!(reopened.id, first.id);
    assert_eq!(reopened.count, 1);
    let closed = store.alert(first.id).await.unwrap().unwrap();
    assert_eq!((closed.state, closed.count), (AlertState::Resolved, 2));
    assert_eq!(closed.closed_at, Some(at(10, 2, 0)));

    // A false alarm starts a cooldown too; a zero cooldown does not.
    store
        .transition_alert(other_camera.id, AlertState::FalseAlarm, "ana", None, None, at(10, 3, 0))
        .await
        .unwrap();
    let out = store
        .raise_alert(&event("c2", "door", Severity::Minor, at(10, 4, 0)), COOLDOWN)
        .await
        .unwrap();
    assert_eq!(out.change, RaiseChange::Suppressed);
    let out = store
        .raise_alert(&event("c2", "door", Severity::Minor, at(10, 4, 0)), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(out.change, RaiseChange::Created);

    // Suppressed raises wrote nothing.
    let all = store
        .alerts(&AlertQuery {
            states: AlertState::ALL.to_vec(),
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(store.alert(999_999).await.unwrap(), None);
}

async fn keeps_the_best_evidence(store: Store) {
    let base = || event("c1", "door", Severity::Major, at(10, 0, 0));
    let a = raise_new(&store, &with_evidence(base(), 0.5, b"jpeg-a")).await;
    assert!(a.has_evidence);
    assert_eq!(a.score, Some(0.5));
    assert_eq!(a.bbox, Some([10.0, 20.0, 110.5, 220.25]));
    assert_eq!(a.class_name.as_deref(), Some("person"));
    assert_eq!(store.alert_evidence(a.id).await.unwrap().as_deref(), Some(&b"jpeg-a"[..]));

    // A weaker detection does not replace it.
    let (_, after) = raise(&store, &with_evidence(base(), 0.4, b"jpeg-b")).await;
    assert_eq!(after.unwrap().score, Some(0.5));
    assert_eq!(store.alert_evidence(a.id).await.unwrap().as_deref(), Some(&b"jpeg-a"[..]));

    // A stronger one does, with its box, class and details.
    let mut strong = with_evidence(base(), 0.9, b"jpeg-c");
    strong.bbox = Some([1.0, 2.0, 3.0, 4.0]);
    strong.class_name = Some("car".into());
    strong.details = serde_json::json!({"track": 7});
    let (_, after) = raise(&store, &strong).await;
    let after = after.unwrap();
    assert_eq!(after.score, Some(0.9));
    assert_eq!(after.bbox, Some([1.0, 2.0, 3.0, 4.0]));
    assert_eq!(after.class_name.as_deref(), Some("car"));
    assert_eq!(after.details, serde_json::json!({"track": 7}));
    assert_eq!(store.alert_evidence(a.id).await.unwrap().as_deref(), Some(&b"jpeg-c"[..]));

    // A higher score without a frame keeps the frame it cannot replace.
    let mut frameless = base();
    frameless.score = Some(0.99);
    let (_, after) = raise(&store, &frameless).await;
    let after = after.unwrap();
    assert_eq!((after.score, after.count), (Some(0.9), 4));
    assert_eq!(store.alert_evidence(a.id).await.unwrap().as_deref(), Some(&b"jpeg-c"[..]));

    // An alert raised without a frame takes the first one that comes.
    let bare = raise_new(&store, &event("c9", "door", Severity::Minor, at(10, 0, 0))).await;
    assert!(!bare.has_evidence);
    assert_eq!(store.alert_evidence(bare.id).await.unwrap(), None);
    let mut late_frame = event("c9", "door", Severity::Minor, at(10, 0, 1));
    late_frame.evidence_jpeg = Some(Arc::new(b"jpeg-d".to_vec()));
    let (_, after) = raise(&store, &late_frame).await;
    assert!(after.unwrap().has_evidence);
    assert_eq!(store.alert_evidence(bare.id).await.unwrap().as_deref(), Some(&b"jpeg-d"[..]));

    // Listing never fails on frames and reports them.
    let listed = store.alerts(&AlertQuery::default()).await.unwrap();
    assert!(listed.iter().all(|a| a.has_evidence));
}

async fn escalates_severity_and_fills_position(store: Store) {
    let mut ev = event("c1", "crowd", Severity::Minor, at(10, 0, 0));
    ev.position = None;
    let alert = raise_new(&store, &ev).await;
    assert_eq!((alert.severity, alert.position), (Severity::Minor, None));

    let ev = event("c1", "crowd", Severity::Critical, at(10, 0, 10));
    let (_, alert) = raise(&store, &ev).await;
    let alert = alert.unwrap();
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.position, Some(Position { lat: 44.43, lon: 26.03 }));

    // Never de-escalates; a later position does not move it; an event that arrives
    // late does not move last_seen back.
    let mut ev = event("c1", "crowd", Severity::Warning, at(10, 0, 5));
    ev.position = Some(Position { lat: 45.0, lon: 27.0 });
    let (_, alert) = raise(&store, &ev).await;
    let alert = alert.unwrap();
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.position, Some(Position { lat: 44.43, lon: 26.03 }));
    assert_eq!(alert.last_seen, at(10, 0, 10));
    assert_eq!(alert.first_seen, at(10, 0, 0));
    assert_eq!(alert.count, 3);
    assert_eq!(store.alert(alert.id).await.unwrap(), Some(alert));
}

/// The ThingsBoard failure: events of one key arriving at the same instant from
/// several workers must make one alert.
async fn concurrent_raisers_make_one_alert(store: Store) {
    const WORKERS: usize = 8;
    for round in 0..3 {
        let camera = format!("c{round}");
        let barrier = Arc::new(Barrier::new(WORKERS));
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let store = store.clone();
            let barrier = barrier.clone();
            let ev = with_evidence(
                event(&camera, "door", Severity::Major, at(10, 0, 0)),
                0.5 + w as f32 / 100.0,
                format!("jpeg-{w}").as_bytes(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.raise_alert(&ev, COOLDOWN).await
            }));
        }
        let mut created = 0;
        let mut ids = Vec::new();
        for task in tasks {
            let out = task.await.unwrap().unwrap();
            if out.change == RaiseChange::Created {
                created += 1;
            } else {
                assert_eq!(out.change, RaiseChange::Updated);
            }
            ids.push(out.alert.unwrap().id);
        }
        assert_eq!(created, 1, "round {round}: exactly one raiser creates");
        ids.dedup();
        assert_eq!(ids.len(), 1, "round {round}: every raiser saw the same alert");
        let alert = store.alert(ids[0]).await.unwrap().unwrap();
        assert_eq!(alert.count, WORKERS as u32);
        // The best evidence of the eight.
        assert_eq!(alert.score, Some(0.5 + 7_f32 / 100.0));
        assert_eq!(store.alert_evidence(alert.id).await.unwrap().as_deref(), Some(&b"jpeg-7"[..]));
        // One creation, seven updates: eight changes, one timeline step.
        assert_eq!(store.alert_timeline(alert.id).await.unwrap().len(), 1);
    }
    let open = store.alerts(&AlertQuery::default()).await.unwrap();
    assert_eq!(open.len(), 3);
    let latest = open.iter().map(|a| a.seq).max().unwrap();
    assert_eq!(store.latest_alert_seq().await.unwrap(), latest);
    assert_eq!(store.alert_changes_since(0, 100).await.unwrap().len(), 3);
}

/// Drives a fresh alert to `state` along the lifecycle.
async fn alert_in(store: &Store, n: usize, state: AlertState) -> i64 {
    let alert = raise_new(store, &event(&format!("t{n}"), "door", Severity::Major, at(10, 0, 0))).await;
    let path: &[AlertState] = match state {
        AlertState::New => &[],
        AlertState::Acknowledged => &[AlertState::Acknowledged],
        AlertState::Dispatched => &[AlertState::Acknowledged, AlertState::Dispatched],
        AlertState::Resolved => &[AlertState::Acknowledged, AlertState::Resolved],
        AlertState::FalseAlarm => &[AlertState::FalseAlarm],
    };
    for step in path {
        store
            .transition_alert(alert.id, *step, "setup", None, None, at(10, 1, 0))
            .await
            .unwrap();
    }
    alert.id
}

async fn transitions_follow_the_lifecycle(store: Store) {
    let mut n = 0;
    for from in AlertState::ALL {
        for to in AlertState::ALL {
            n += 1;
            let id = alert_in(&store, n, from).await;
            let result = store
                .transition_alert(id, to, "ana", Some("note"), Some("unit-7"), at(10, 2, 0))
                .await;
            if lifecycle::allowed(from, to) {
                let alert = result.unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
                assert_eq!(alert.state, to);
                assert_eq!(alert.assignee.as_deref(), Some("unit-7"));
                let closed = matches!(to, AlertState::Resolved | AlertState::FalseAlarm);
                assert_eq!(alert.closed_at, closed.then(|| at(10, 2, 0)), "{from} -> {to}");
            } else {
                let e = result.expect_err(&format!("{from} -> {to} refused"));
                assert!(is_invalid_transition(&e, from, to), "{from} -> {to}: {e:?}");
                let msg = e.to_string();
                assert!(msg.contains(from.as_str()) && msg.contains(to.as_str()), "{msg}");
                // Nothing changed.
                let alert = store.alert(id).await.unwrap().unwrap();
                assert_eq!(alert.state, from);
                assert_eq!(alert.assignee, None);
                let last = store.alert_timeline(id).await.unwrap().pop().unwrap();
                assert_eq!(last.to, from);
            }
        }
    }
    let e = store
        .transition_alert(424_242, AlertState::Acknowledged, "ana", None, None, at(10, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    assert!(e.to_string().contains("424242"), "{e}");
    // An assignee stays when a later transition names none.
    let id = alert_in(&store, 100, AlertState::New).await;
    store
        .transition_alert(id, AlertState::Acknowledged, "ana", None, Some("unit-3"), at(10, 2, 0))
        .await
        .unwrap();
    let alert = store
        .transition_alert(id, AlertState::Dispatched, "ana", None, None, at(10, 3, 0))
        .await
        .unwrap();
    assert_eq!(alert.assignee.as_deref(), Some("unit-3"));
}

async fn concurrent_transitions_one_wins(store: Store) {
    // Pairs where whichever commits first leaves the other invalid.
    let races = [
        (AlertState::New, AlertState::Acknowledged, AlertState::Acknowledged),
        (AlertState::Acknowledged, AlertState::Dispatched, AlertState::Dispatched),
        (AlertState::Dispatched, AlertState::Resolved, AlertState::FalseAlarm),
        (AlertState::Acknowledged, AlertState::Resolved, AlertState::FalseAlarm),
        (AlertState::Dispatched, AlertState::Resolved, AlertState::Resolved),
    ];
    for (n, (start, a, b)) in races.into_iter().enumerate() {
        for round in 0..3 {
            let id = alert_in(&store, n * 10 + round, start).await;
            let barrier = Arc::new(Barrier::new(2));
            let tasks: Vec<_> = [(a, "ana"), (b, "bob")]
                .into_iter()
                .map(|(to, who)| {
                    let store = store.clone();
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        store.transition_alert(id, to, who, None, None, at(10, 5, 0)).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.unwrap());
            }
            let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(winners.len(), 1, "{start} -> {a} | {b}: one wins");
            let won = winners[0].state;
            let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
            let lost_to = if won == a { b } else { a };
            assert!(is_invalid_transition(loser, won, lost_to), "{loser:?}");
            let timeline = store.alert_timeline(id).await.unwrap();
            assert_eq!(timeline.last().map(|t| t.to), Some(won));
            assert_eq!(
                timeline.iter().filter(|t| t.at == at(10, 5, 0)).count(),
                1,
                "one step recorded"
            );
            assert_eq!(store.alert(id).await.unwrap().unwrap().state, won);
        }
    }
}

async fn timeline_records_who_and_notes(store: Store) {
    let alert = raise_new(&store, &event("c1", "door", Severity::Major, at(10, 0, 0))).await;
    store
        .transition_alert(alert.id, AlertState::Acknowledged, "ana", None, None, at(10, 0, 30))
        .await
        .unwrap();
    store
        .transition_alert(
            alert.id,
            AlertState::Dispatched,
            "ana",
            Some("patrol 12 sent, ETA 4 min"),
            Some("patrol-12"),
            at(10, 1, 0),
        )
        .await
        .unwrap();
    let done = store
        .transition_alert(alert.id, AlertState::Resolved, "bob", Some("nobody there"), None, at(10, 9, 0))
        .await
        .unwrap();
    assert_eq!(done.assignee.as_deref(), Some("patrol-12"));
    let timeline = store.alert_timeline(alert.id).await.unwrap();
    let steps: Vec<_> = timeline
        .iter()
        .map(|t| (t.alert_id, t.from, t.to, t.by.as_str(), t.at, t.note.as_deref()))
        .collect();
    use AlertState::*;
    assert_eq!(
        steps,
        vec![
            (alert.id, None, New, "veghe", at(10, 0, 0), None),
            (alert.id, Some(New), Acknowledged, "ana", at(10, 0, 30), None),
            (alert.id, Some(Acknowledged), Dispatched, "ana", at(10, 1, 0), Some("patrol 12 sent, ETA 4 min")),
            (alert.id, Some(Dispatched), Resolved, "bob", at(10, 9, 0), Some("nobody there")),
        ]
    );
    assert!(store.alert_timeline(987_654).await.unwrap().is_empty());
}

async fn filters_and_orders_alerts(store: Store) {
    // Sensor alerts at spread positions, camera alerts in the centre.
    let west = raise_new(&store, &sensor_event("n-west", Severity::Warning, at(9, 0, 0), 44.40, 25.95)).await;
    let east = raise_new(&store, &sensor_event("n-east", Severity::Critical, at(9, 30, 0), 44.45, 26.10)).await;
    let cam_major_old = raise_new(&store, &event("c1", "door", Severity::Major, at(8, 0, 0))).await;
    let cam_major_new = raise_new(&store, &event("c2", "door", Severity::Major, at(11, 0, 0))).await;
    let cam_critical = raise_new(&store, &event("c3", "crowd", Severity::Critical, at(7, 0, 0))).await;
    let mut nowhere = event("c4", "door", Severity::Minor, at(12, 0, 0));
    nowhere.position = None;
    let nowhere = raise_new(&store, &nowhere).await;
    let mut health = event("c5", "offline", Severity::Minor, at(6, 0, 0));
    health.kind = AlertKind::CameraHealth;
    let health = raise_new(&store, &health).await;
    // Closed ones are not listed by default.
    let resolved = alert_in(&store, 1, AlertState::Resolved).await;
    let false_alarm = alert_in(&store, 2, AlertState::FalseAlarm).await;
    let acked = cam_major_old.id;
    store
        .transition_alert(acked, AlertState::Acknowledged, "ana", None, None, at(12, 0, 0))
        .await
        .unwrap();

    let ids = |alerts: Vec<veghe_alerts::Alert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let q = |f: &dyn Fn(&mut AlertQuery)| {
        let mut q = AlertQuery::default();
        f(&mut q);
        q
    };
    // Open ones: critical first, then by last seen, newest first.
    assert_eq!(
        ids(store.alerts(&AlertQuery::default()).await.unwrap()),
        vec![east.id, cam_critical.id, cam_major_new.id, cam_major_old.id, nowhere.id, health.id, west.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.limit = 2)).await.unwrap()),
        vec![east.id, cam_critical.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.states = vec![AlertState::Resolved, AlertState::FalseAlarm])).await.unwrap()),
        // Same severity and last seen: the newer alert first.
        vec![false_alarm, resolved]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.states = vec![AlertState::Acknowledged])).await.unwrap()),
        vec![acked]
    );
    assert_eq!(
        ids(store
            .alerts(&q(&|q| q.kinds = vec![AlertKind::SensorThreshold, AlertKind::SensorOffline]))
            .await
            .unwrap()),
        vec![east.id, west.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.kinds = vec![AlertKind::CameraHealth])).await.unwrap()),
        vec![health.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.severities = vec![Severity::Minor, Severity::Warning])).await.unwrap()),
        vec![nowhere.id, health.id, west.id]
    );
    // Area: the centre (camera events at 44.43, 26.03), then the west node only.
    assert_eq!(
        ids(store.alerts(&q(&|q| q.area = Some((44.42, 26.0, 44.44, 26.05)))).await.unwrap()),
        vec![cam_critical.id, cam_major_new.id, cam_major_old.id, health.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.area = Some((44.39, 25.9, 44.41, 26.0)))).await.unwrap()),
        vec![west.id]
    );
    assert_eq!(
        ids(store.alerts(&q(&|q| q.since = Some(at(9, 30, 0)))).await.unwrap()),
        vec![east.id, cam_major_new.id, nowhere.id]
    );
    assert_eq!(
        ids(store
            .alerts(&q(&|q| {
                q.since = Some(at(9, 0, 0));
                q.kinds = vec![AlertKind::CameraRule];
                q.severities = vec![Severity::Major];
            }))
            .await
            .unwrap()),
        vec![cam_major_new.id]
    );
}

async fn change_log_resumes(store: Store) {
    assert_eq!(store.latest_alert_seq().await.unwrap(), 0);
    assert!(store.alert_changes_since(0, 100).await.unwrap().is_empty());
    let a = raise_new(&store, &event("c1", "door", Severity::Major, at(10, 0, 0))).await;
    let b = raise_new(&store, &event("c2", "door", Severity::Major, at(10, 0, 1))).await;
    assert!(b.seq > a.seq && a.seq > 0);
    let (_, a2) = raise(&store, &event("c1", "door", Severity::Critical, at(10, 0, 2))).await;
    let a2 = a2.unwrap();
    assert!(a2.seq > b.seq);
    assert_eq!(store.latest_alert_seq().await.unwrap(), a2.seq);

    // From the start: each alert once, in its current state, by latest change.
    let changes = store.alert_changes_since(0, 100).await.unwrap();
    assert_eq!(changes, vec![b.clone(), a2.clone()]);
    // Resume after b: only a.
    let changes = store.alert_changes_since(b.seq, 100).await.unwrap();
    assert_eq!(changes.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(store.alert_changes_since(a2.seq, 100).await.unwrap().is_empty());

    let b2 = store
        .transition_alert(b.id, AlertState::Acknowledged, "ana", None, None, at(10, 1, 0))
        .await
        .unwrap();
    assert!(b2.seq > a2.seq);
    assert_eq!(store.latest_alert_seq().await.unwrap(), b2.seq);
    let changes = store.alert_changes_since(a2.seq, 100).await.unwrap();
    assert_eq!(changes, vec![b2.clone()]);
    assert_eq!(changes[0].state, AlertState::Acknowledged);
    // A limit pages through in order.
    let first_page = store.alert_changes_since(0, 1).await.unwrap();
    assert_eq!(first_page.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
    let next = store.alert_changes_since(first_page[0].seq, 1).await.unwrap();
    assert_eq!(next, vec![b2]);
    // Refused transitions and suppressed raises are no changes.
    let before = store.latest_alert_seq().await.unwrap();
    assert!(store
        .transition_alert(a.id, AlertState::Resolved, "ana", None, None, at(10, 2, 0))
        .await
        .is_err());
    assert_eq!(store.latest_alert_seq().await.unwrap(), before);
}

/// A reader following the change log while writers commit concurrently never
/// skips a change: whatever seq it has reached, no later commit lands below it.
async fn change_log_has_no_gaps_under_concurrent_writers(store: Store) {
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen = std::collections::HashSet::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.alert_changes_since(cursor, 1000).await.unwrap();
                for a in &page {
                    assert!(a.seq > cursor, "changes come in seq order");
                    cursor = a.seq;
                    seen.insert(a.id);
                }
                if finished && page.is_empty() {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let barrier = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let ev = event(&format!("w{w}-{i}"), "door", Severity::Major, at(10, 0, 0));
                    ids.push(store.raise_alert(&ev, COOLDOWN).await.unwrap().alert.unwrap().id);
                }
                ids
            })
        })
        .collect();
    let mut written = std::collections::HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    assert_eq!(written.len(), WRITERS * EACH);
    assert_eq!(seen, written, "the follower saw every alert");
}

async fn deletes_old_evidence(store: Store) {
    let old = raise_new(&store, &with_evidence(event("c1", "door", Severity::Major, at(8, 0, 0)), 0.8, b"old")).await;
    let old_bare = raise_new(&store, &event("c2", "door", Severity::Major, at(8, 0, 0))).await;
    let recent = raise_new(&store, &with_evidence(event("c3", "door", Severity::Major, at(8, 0, 0)), 0.8, b"recent")).await;
    // Seen again later: its evidence is younger than its first sighting.
    raise(&store, &event("c3", "door", Severity::Major, at(11, 0, 0))).await;

    assert_eq!(store.delete_alert_evidence_before(at(10, 0, 0)).await.unwrap(), 1);
    let old = store.alert(old.id).await.unwrap().unwrap();
    assert!(!old.has_evidence);
    assert_eq!(old.score, Some(0.8), "the alert itself stays");
    assert_eq!(store.alert_evidence(old.id).await.unwrap(), None);
    assert!(!store.alert(old_bare.id).await.unwrap().unwrap().has_evidence);
    assert!(store.alert(recent.id).await.unwrap().unwrap().has_evidence);
    assert_eq!(store.alert_evidence(recent.id).await.unwrap().as_deref(), Some(&b"recent"[..]));
    assert_eq!(store.delete_alert_evidence_before(at(10, 0, 0)).await.unwrap(), 0);
    assert_eq!(store.delete_alert_evidence_before(at(12, 0, 0)).await.unwrap(), 1);
    assert_eq!(store.alert_evidence(recent.id).await.unwrap(), None);
}

async fn keeps_users(store: Store) {
    store
        .create_user("ana", Role::Dispatcher, "$argon2id$v=19$ana", at(9, 0, 0))
        .await
        .unwrap();
    store
        .create_user("bob", Role::Environment, "$argon2id$v=19$bob", at(9, 1, 0))
        .await
        .unwrap();
    let e = store
        .create_user("ana", Role::Admin, "other", at(9, 2, 0))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert!(e.to_string().contains("ana"), "{e}");

    let ana = store.user("ana").await.unwrap().unwrap();
    assert_eq!(ana.name, "ana");
    assert_eq!(ana.role, Role::Dispatcher, "the duplicate did not overwrite");
    assert_eq!(ana.password_hash, "$argon2id$v=19$ana");
    assert_eq!(ana.created_at, at(9, 0, 0));
    assert_eq!(store.user("carol").await.unwrap(), None);

    assert!(store.set_password("ana", "$argon2id$v=19$new").await.unwrap());
    assert!(!store.set_password("carol", "x").await.unwrap());
    assert_eq!(store.user("ana").await.unwrap().unwrap().password_hash, "$argon2id$v=19$new");

    let users = store.users().await.unwrap();
    let listed: Vec<_> = users.iter().map(|u| (u.name.as_str(), u.role, u.created_at)).collect();
    assert_eq!(
        listed,
        vec![("ana", Role::Dispatcher, at(9, 0, 0)), ("bob", Role::Environment, at(9, 1, 0))]
    );
}

async fn keeps_sessions(store: Store) {
    store
        .create_user("ana", Role::Supervisor, "h", at(9, 0, 0))
        .await
        .unwrap();
    store
        .create_session("token-1", "ana", "csrf-1", at(18, 0, 0))
        .await
        .unwrap();
    store
        .create_session("token-2", "ana", "csrf-2", at(12, 0, 0))
        .await
        .unwrap();
    let e = store
        .create_session("token-3", "nobody", "csrf-3", at(18, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");

    let s = store.session("token-1", at(10, 0, 0)).await.unwrap().unwrap();
    assert_eq!(s.user, "ana");
    assert_eq!(s.role, Role::Supervisor);
    assert_eq!(s.csrf_token, "csrf-1");
    assert_eq!(s.expires_at, at(18, 0, 0));
    assert_eq!(store.session("token-x", at(10, 0, 0)).await.unwrap(), None);
    // Expired: gone at its expiry instant.
    assert!(store.session("token-2", at(11, 59, 59)).await.unwrap().is_some());
    assert_eq!(store.session("token-2", at(12, 0, 0)).await.unwrap(), None);

    assert_eq!(store.delete_expired_sessions(at(12, 0, 0)).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(at(12, 0, 0)).await.unwrap(), 0);
    assert!(store.delete_session("token-1").await.unwrap());
    assert!(!store.delete_session("token-1").await.unwrap());
    assert_eq!(store.session("token-1", at(10, 0, 0)).await.unwrap(), None);
}

async fn audit_log_newest_first(store: Store) {
    let entry = |t, action: &str, target: &str| AuditEntry {
        at: t,
        actor: "ana".into(),
        action: action.into(),
        target: target.into(),
        detail: serde_json::json!({"ip": "10.0.0.7", "note": "ünïcode"}),
    };
    let entries = [
        entry(at(10, 0, 0), "login", "session"),
        entry(at(10, 5, 0), "view_evidence", "alert:1"),
        entry(at(10, 5, 0), "transition", "alert:1"),
        entry(at(9, 0, 0), "login", "session"),
    ];
    for e in &entries {
        store.audit(e).await.unwrap();
    }
    let log = store.audit_log(None, 100).await.unwrap();
    assert_eq!(
        log,
        vec![entries[2].clone(), entries[1].clone(), entries[0].clone(), entries[3].clone()]
    );
    let since = store.audit_log(Some(at(10, 0, 0)), 100).await.unwrap();
    assert_eq!(since.len(), 3);
    let limited = store.audit_log(None, 1).await.unwrap();
    assert_eq!(limited, vec![entries[2].clone()]);
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::common::postgres().await).await })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::common::sqlite().await).await })*
        }
    };
}

contract!(
    raise_creates_updates_and_suppresses,
    keeps_the_best_evidence,
    escalates_severity_and_fills_position,
    concurrent_raisers_make_one_alert,
    transitions_follow_the_lifecycle,
    concurrent_transitions_one_wins,
    timeline_records_who_and_notes,
    filters_and_orders_alerts,
    change_log_resumes,
    change_log_has_no_gaps_under_concurrent_writers,
    deletes_old_evidence,
    keeps_users,
    keeps_sessions,
    audit_log_newest_first,
);
