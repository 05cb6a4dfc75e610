//! One contract, two backends: every test here runs against PostgreSQL + TimescaleDB
//! and against the embedded SQLite store, each on its own fresh database.

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use veghe_sensors::{DeadLetter, Message, Node, NodeId, NodeStatus, Quantity, RejectReason};
use veghe_store::{Bucket, DeadLetterQuery, LatestValue, RetentionPolicy, Store};

/// Every value of a batch as a latest-value candidate.
fn latest_of(batch: &[Message]) -> Vec<LatestValue> {
    batch
        .iter()
        .flat_map(|m| {
            m.values.iter().map(move |(q, v)| LatestValue {
                node: m.node.clone(),
                quantity: *q,
                ts: m.ts,
                value: *v,
            })
        })
        .collect()
}

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, h, m, s).unwrap()
}

fn msg(node: &str, seq: Option<u64>, ts: DateTime<Utc>, values: &[(Quantity, f64)]) -> Message {
    Message {
        node: id(node),
        seq,
        ts,
        values: values.to_vec(),
    }
}

fn node(name: &str, public: bool, status: NodeStatus) -> Node {
    Node {
        id: id(name),
        name: format!("Node {name}"),
        kind: "air+noise".into(),
        lat: Some(44.43),
        lon: Some(26.03),
        installed_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
        owner: "Sector 6".into(),
        public,
        status,
    }
}

const WIDE: (i32, i32) = (2000, 2100);

fn span() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(WIDE.0, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(WIDE.1, 1, 1, 0, 0, 0).unwrap(),
    )
}

async fn writes_and_reads_back(store: Store) {
    store
        .upsert_node(&node("n1", true, NodeStatus::Active))
        .await
        .unwrap();
    let batch = vec![
        msg(
            "n1",
            Some(1),
            at(10, 0, 0),
            &[(Quantity::Pm2_5, 12.3), (Quantity::Laeq, 61.2)],
        ),
        msg(
            "n1",
            Some(2),
            at(10, 0, 10),
            &[(Quantity::Pm2_5, 14.1), (Quantity::Laeq, 58.4)],
        ),
    ];
    let outcome = store.write_batch(&batch, &[]).await.unwrap();
    assert_eq!(outcome.readings, 4);
    assert!(outcome.duplicates.is_empty());
    store.upsert_latest(&latest_of(&batch)).await.unwrap();

    let (from, to) = span();
    let series = store
        .series(&id("n1"), Quantity::Pm2_5, from, to, Bucket::Raw, 100)
        .await
        .unwrap();
    let values: Vec<_> = series.iter().map(|p| (p.ts, p.value)).collect();
    assert_eq!(values, vec![(at(10, 0, 0), 12.3), (at(10, 0, 10), 14.1)]);

    let latest = store.latest_values(true).await.unwrap();
    let pm = latest
        .iter()
        .find(|l| l.quantity == Quantity::Pm2_5)
        .unwrap();
    assert_eq!((pm.ts, pm.value), (at(10, 0, 10), 14.1));
    assert_eq!(latest.len(), 2);

    // An older message arriving late does not move the latest value back.
    let late = [msg(
        "n1",
        Some(0),
        at(9, 59, 50),
        &[(Quantity::Pm2_5, 99.0)],
    )];
    store.write_batch(&late, &[]).await.unwrap();
    store.upsert_latest(&latest_of(&late)).await.unwrap();
    let latest = store.latest_values(true).await.unwrap();
    let pm = latest
        .iter()
        .find(|l| l.quantity == Quantity::Pm2_5)
        .unwrap();
    assert_eq!(pm.value, 14.1);
    assert_eq!(store.count_readings(&id("n1")).await.unwrap(), 5);
}

async fn refuses_duplicates(store: Store) {
    let first = vec![
        msg("n1", Some(7), at(10, 0, 0), &[(Quantity::Pm10, 20.0)]),
        msg("n2", None, at(10, 0, 0), &[(Quantity::Pm10, 21.0)]),
    ];
    assert!(store
        .write_batch(&first, &[])
        .await
        .unwrap()
        .duplicates
        .is_empty());
    let again = vec![
        msg("n1", Some(8), at(10, 0, 10), &[(Quantity::Pm10, 22.0)]),
        // Same seq, even with another timestamp: a duplicate.
        msg("n1", Some(7), at(10, 0, 5), &[(Quantity::Pm10, 23.0)]),
        // No seq: the timestamp identifies the message.
        msg("n2", None, at(10, 0, 0), &[(Quantity::Pm10, 24.0)]),
        msg("n2", None, at(10, 0, 10), &[(Quantity::Pm10, 25.0)]),
        // Repeated within the batch.
        msg("n1", Some(8), at(10, 0, 10), &[(Quantity::Pm10, 22.0)]),
    ];
    let outcome = store.write_batch(&again, &[]).await.unwrap();
    assert_eq!(outcome.duplicates, vec![1, 2, 4]);
    assert_eq!(outcome.readings, 2);
    assert_eq!(store.count_readings(&id("n1")).await.unwrap(), 2);
    assert_eq!(store.count_readings(&id("n2")).await.unwrap(), 2);
}

async fn keeps_dead_letters(store: Store) {
    let letters = vec![
        DeadLetter::new(
            "veghe/v1/sensors/n1/readings",
            Some("n1".into()),
            RejectReason::MalformedJson,
            "expected value at line 1 column 1",
            b"{nope",
        ),
        DeadLetter::new(
            "/api/v1/push/sensor-community",
            Some("esp8266-1".into()),
            RejectReason::UnknownQuantity,
            "value_type `foo_bar`",
            b"{\"value_type\":\"foo_bar\"}",
        ),
        DeadLetter::new(
            "veghe/v1/sensors/x/readings",
            None,
            RejectReason::PayloadTooLarge,
            "70000 bytes",
            &[0u8; 10],
        ),
    ];
    store.write_batch(&[], &letters).await.unwrap();
    let all = store
        .dead_letters(&DeadLetterQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].reason, RejectReason::PayloadTooLarge, "newest first");
    let json = store
        .dead_letters(&DeadLetterQuery {
            reason: Some(RejectReason::MalformedJson),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0].payload, "{nope");
    assert_eq!(json[0].node.as_deref(), Some("n1"));
    let by_node = store
        .dead_letters(&DeadLetterQuery {
            node: Some("esp8266-1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_node.len(), 1);
    assert_eq!(by_node[0].reason, RejectReason::UnknownQuantity);
}

async fn maintains_rollups(store: Store) {
    let mut batch = Vec::new();
    for (i, (m, s, v)) in [
        (0, 0, 10.0),
        (0, 30, 20.0),
        (1, 0, 30.0),
        (1, 59, 50.0),
        (61, 0, 7.0),
    ]
    .into_iter()
    .enumerate()
    {
        let ts = at(10, 0, 0) + chrono::Duration::minutes(m) + chrono::Duration::seconds(s);
        batch.push(msg("n1", Some(i as u64), ts, &[(Quantity::Laeq, v)]));
    }
    store.write_batch(&batch, &[]).await.unwrap();
    let report = store.refresh_rollups().await.unwrap();
    assert_eq!(report.minute_buckets, 3);
    let (from, to) = span();
    let minutes = store
        .series(&id("n1"), Quantity::Laeq, from, to, Bucket::Minute, 100)
        .await
        .unwrap();
    let got: Vec<_> = minutes
        .iter()
        .map(|p| (p.ts, p.value, p.min, p.max, p.count))
        .collect();
    assert_eq!(
        got,
        vec![
            (at(10, 0, 0), 15.0, Some(10.0), Some(20.0), Some(2)),
            (at(10, 1, 0), 40.0, Some(30.0), Some(50.0), Some(2)),
            (at(11, 1, 0), 7.0, Some(7.0), Some(7.0), Some(1)),
        ]
    );
    let hours = store
        .series(&id("n1"), Quantity::Laeq, from, to, Bucket::Hour, 100)
        .await
        .unwrap();
    let got: Vec<_> = hours.iter().map(|p| (p.ts, p.value, p.count)).collect();
    assert_eq!(
        got,
        vec![(at(10, 0, 0), 27.5, Some(4)), (at(11, 0, 0), 7.0, Some(1))]
    );

    // A late reading for an old minute updates that minute and its hour.
    store
        .write_batch(
            &[msg(
                "n1",
                Some(99),
                at(10, 0, 45),
                &[(Quantity::Laeq, 60.0)],
            )],
            &[],
        )
        .await
        .unwrap();
    store.refresh_rollups().await.unwrap();
    let minutes = store
        .series(&id("n1"), Quantity::Laeq, from, to, Bucket::Minute, 1)
        .await
        .unwrap();
    assert_eq!(
        (minutes[0].value, minutes[0].max, minutes[0].count),
        (30.0, Some(60.0), Some(3))
    );
    let days = store
        .series(&id("n1"), Quantity::Laeq, from, to, Bucket::Day, 100)
        .await
        .unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(
        days[0].ts,
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
    );
    assert_eq!(days[0].count, Some(6));
    assert_eq!(
        days[0].value,
        (10.0 + 20.0 + 30.0 + 50.0 + 7.0 + 60.0) / 6.0
    );
    assert_eq!(
        store.refresh_rollups().await.unwrap().minute_buckets,
        0,
        "nothing left dirty"
    );
}

async fn applies_retention(store: Store) {
    let now = Utc::now();
    let old = now - chrono::Duration::days(40);
    let recent = now - chrono::Duration::hours(1);
    store
        .write_batch(
            &[
                msg("n1", Some(1), old, &[(Quantity::Pm2_5, 1.0)]),
                msg("n1", Some(2), recent, &[(Quantity::Pm2_5, 2.0)]),
            ],
            &[],
        )
        .await
        .unwrap();
    store.refresh_rollups().await.unwrap();
    let policy = RetentionPolicy {
        raw: Duration::from_secs(30 * 86400),
        minute: Duration::from_secs(30 * 86400),
        hour: Duration::from_secs(365 * 86400),
        dead_letters: Duration::from_secs(30 * 86400),
    };
    store.apply_retention(&policy, now).await.unwrap();
    let (from, to) = span();
    let raw = store
        .series(&id("n1"), Quantity::Pm2_5, from, to, Bucket::Raw, 10)
        .await
        .unwrap();
    assert_eq!(raw.iter().map(|p| p.value).collect::<Vec<_>>(), vec![2.0]);
    let minutes = store
        .series(&id("n1"), Quantity::Pm2_5, from, to, Bucket::Minute, 10)
        .await
        .unwrap();
    assert_eq!(minutes.len(), 1, "old minute rollup removed");
    let hours = store
        .series(&id("n1"), Quantity::Pm2_5, from, to, Bucket::Hour, 10)
        .await
        .unwrap();
    assert_eq!(hours.len(), 2, "hour rollups kept longer");
}

async fn keeps_the_node_registry(store: Store) {
    store
        .upsert_node(&node("pub", true, NodeStatus::Active))
        .await
        .unwrap();
    store
        .upsert_node(&node("private", false, NodeStatus::Active))
        .await
        .unwrap();
    // Registering as pending never downgrades a registered node.
    store
        .register_pending(&[
            Node::pending(id("pub"), "air"),
            Node::pending(id("new"), "air"),
        ])
        .await
        .unwrap();
    let nodes = store.nodes().await.unwrap();
    let ids: Vec<_> = nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, vec!["new", "private", "pub"]);
    let public = store.node(&id("pub")).await.unwrap().unwrap();
    assert_eq!(public, node("pub", true, NodeStatus::Active));
    assert_eq!(
        store.node(&id("new")).await.unwrap().unwrap().status,
        NodeStatus::Pending
    );
    assert!(store.node(&id("absent")).await.unwrap().is_none());

    let batch: Vec<_> = ["pub", "private", "new"]
        .iter()
        .enumerate()
        .map(|(i, n)| msg(n, Some(i as u64), at(12, 0, 0), &[(Quantity::Pm2_5, 5.0)]))
        .collect();
    store.write_batch(&batch, &[]).await.unwrap();
    store.upsert_latest(&latest_of(&batch)).await.unwrap();
    let public_latest = store.latest_values(true).await.unwrap();
    assert_eq!(
        public_latest
            .iter()
            .map(|l| l.node.as_str())
            .collect::<Vec<_>>(),
        vec!["pub"]
    );
    assert_eq!(store.latest_values(false).await.unwrap().len(), 3);
}

async fn keeps_the_camera_registry(store: Store) {
    use veghe_store::CameraRecord;
    assert!(store.cameras().await.unwrap().is_empty());
    let camera = |id: &str, lat: f64, enabled: bool| CameraRecord {
        id: id.into(),
        name: format!("Camera {id}"),
        lat,
        lon: 26.03,
        enabled,
        config: serde_json::json!({ "id": id, "fps": 1.0, "zones": [{ "id": "z", "polygon": [] }] }),
        updated_at: at(12, 0, 0),
    };
    store.upsert_camera(&camera("cam-2", 44.40, true)).await.unwrap();
    store.upsert_camera(&camera("cam-1", 44.41, true)).await.unwrap();
    // A second registration replaces the record.
    store.upsert_camera(&camera("cam-2", 44.42, false)).await.unwrap();
    let all = store.cameras().await.unwrap();
    assert_eq!(all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["cam-1", "cam-2"]);
    let two = store.camera("cam-2").await.unwrap().unwrap();
    assert_eq!((two.lat, two.enabled), (44.42, false));
    assert_eq!(two.config["zones"][0]["id"], "z");
    assert_eq!(two.updated_at, at(12, 0, 0));
    assert!(store.camera("cam-9").await.unwrap().is_none());
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::common::postgres().await).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::common::sqlite().await).await })*
        }
    };
}

contract!(
    writes_and_reads_back,
    refuses_duplicates,
    keeps_dead_letters,
    maintains_rollups,
    applies_retention,
    keeps_the_node_registry,
    keeps_the_camera_registry,
);
