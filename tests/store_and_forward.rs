//! Store-and-forward across an outage: simulated nodes running the firmware core lose
//! their connection for a few seconds (WiFi outage), keep measuring into their
//! outboxes, and after reconnecting every reading they produced is stored exactly once.

mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use chrono::Utc;
use support::*;
use veghe::Config;
use veghe_fleet_sim::{Faults, SimConfig, SimStats};
use veghe_sensors::Quantity;
use veghe_store::Bucket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reading_produced_during_an_outage_arrives_exactly_once() {
    let mosquitto = Mosquitto::start();
    let mut config = Config::load(None, []).unwrap();
    config.data_dir = temp_dir("veghe_saf");
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.mqtt.url = mosquitto.url();
    config.mqtt.client_id = unique("ingest");
    config.store.url = Some(postgres_url().await);
    let running = veghe::start(config).await.unwrap();

    let fleet = veghe_fleet_sim::fleet(5, 11);
    let nodes: Vec<_> = fleet.iter().map(|n| n.node.id.clone()).collect();
    let stats = SimStats::new(fleet.len());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let sim = SimConfig {
        broker_host: "127.0.0.1".into(),
        broker_port: mosquitto.port,
        interval: Duration::from_millis(200),
        client_prefix: unique("node-"),
        username: None,
        password: None,
        faults: Faults {
            uart_garbage: 0.3,
            wifi_outage: Some((Duration::from_secs(2), Duration::from_secs(3))),
            ..Faults::default()
        },
        reconnect_max: Duration::from_secs(2),
    };
    let sim_task = tokio::spawn(veghe_fleet_sim::run(sim, fleet, stats.clone(), stop_rx));

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (produced_before, acked_before) = (stats.total_produced(), stats.total_acknowledged());
    tokio::time::sleep(Duration::from_millis(2800)).await;
    let during = stats.total_produced() - produced_before;
    assert!(
        stats.total_acknowledged() - acked_before <= 10,
        "nodes were offline"
    );
    // Nodes reconnect with jittered backoff and send their outboxes, oldest first.
    eventually(Duration::from_secs(60), "every outbox drained", || async {
        let behind = (0..nodes.len())
            .all(|i| stats.produced[i].load(Relaxed) <= stats.acknowledged[i].load(Relaxed) + 1);
        behind.then_some(())
    })
    .await;
    let _ = stop.send(true);
    sim_task.await.unwrap().unwrap();
    assert!(
        during >= 50,
        "nodes kept measuring while the broker was away ({during})"
    );

    // Every node's outbox drains into the broker, then into the store.
    let stopped_produced: Vec<u64> = stats.produced.iter().map(|p| p.load(Relaxed)).collect();
    let (from, to) = (
        Utc::now() - chrono::Duration::hours(1),
        Utc::now() + chrono::Duration::minutes(1),
    );
    for (i, node) in nodes.iter().enumerate() {
        let acknowledged = stats.acknowledged[i].load(Relaxed);
        let stored = eventually(
            Duration::from_secs(30),
            "a node's readings stored",
            || async {
                let s = running
                    .store
                    .series(node, Quantity::Rssi, from, to, Bucket::Raw, 100_000)
                    .await
                    .ok()?;
                (s.len() as u64 >= acknowledged).then_some(s.len() as u64)
            },
        )
        .await;
        // Nothing the broker acknowledged is lost, nothing is stored twice; a payload in
        // flight at the stop may be stored without its acknowledgement counted.
        let produced = stopped_produced[i];
        assert!(
            acknowledged <= stored && stored <= produced,
            "{node}: {acknowledged} acknowledged, {stored} stored, {produced} produced"
        );
        // What was still in the outbox at the stop is all that is missing.
        assert!(
            produced - acknowledged <= 2,
            "{node}: {produced} produced, {acknowledged} acknowledged"
        );
    }
    running.shutdown().await.unwrap();
}
