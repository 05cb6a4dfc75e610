//! Runs the simulated fleet: one MQTT connection per node, one message per interval,
//! QoS 1, starting at random offsets so the fleet does not publish in lockstep.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rumqttc::{AsyncClient, Event, MqttOptions, QoS};
use tokio::sync::watch;

use crate::{Conditions, Physics, SimNode};

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub broker_host: String,
    pub broker_port: u16,
    pub interval: Duration,
    /// Prefix of each node's client id.
    pub client_prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the fleet is empty")]
    EmptyFleet,
    #[error("interval must be at least 100 ms")]
    IntervalTooShort,
}

/// The topic a node publishes on.
pub fn topic(node: &SimNode) -> String {
    format!("veghe/v1/sensors/{}/readings", node.node.id)
}

/// A node's payload in veghe's wire format.
pub fn payload(node: &SimNode, now: chrono::DateTime<Utc>, rng: &mut impl Rng) -> Vec<u8> {
    let values: serde_json::Map<String, serde_json::Value> =
        Physics::readings(node, Conditions::at(now), rng)
            .into_iter()
            .map(|(q, v)| (q.name().to_owned(), serde_json::json!(v)))
            .collect();
    serde_json::json!({
        "node": node.node.id,
        "ts": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        // Milliseconds since the epoch: monotonic per node and unique across restarts.
        "seq": now.timestamp_millis(),
        "values": values,
    })
    .to_string()
    .into_bytes()
}

/// Publishes until `shutdown` turns true. Returns once every node has stopped.
pub async fn run(
    config: SimConfig,
    fleet: Vec<SimNode>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), SimError> {
    if fleet.is_empty() {
        return Err(SimError::EmptyFleet);
    }
    if config.interval < Duration::from_millis(100) {
        return Err(SimError::IntervalTooShort);
    }
    tracing::info!(nodes = fleet.len(), interval_ms = config.interval.as_millis() as u64,
        broker = %format!("{}:{}", config.broker_host, config.broker_port), "sensor fleet starting");
    let tasks: Vec<_> = fleet
        .into_iter()
        .enumerate()
        .map(|(i, node)| tokio::spawn(run_node(config.clone(), node, i as u64, shutdown.clone())))
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn run_node(
    config: SimConfig,
    node: SimNode,
    seed: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5EED);
    let mut opts = MqttOptions::new(
        format!("{}{}", config.client_prefix, node.node.id),
        config.broker_host.clone(),
        config.broker_port,
    );
    opts.set_keep_alive(Duration::from_secs(30));
    if let Some(user) = &config.username {
        opts.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    let (client, mut events) = AsyncClient::new(opts, 64);
    let topic = topic(&node);
    let first = Duration::from_millis(rng.gen_range(0..config.interval.as_millis().max(1) as u64));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut connected = false;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = ticks.tick() => {
                let body = payload(&node, Utc::now(), &mut rng);
                // While offline rumqttc queues up to its capacity; beyond, try_publish fails
                // and the reading is lost as it would be on a node without storage.
                if client.try_publish(&topic, QoS::AtLeastOnce, false, body).is_err() {
                    tracing::debug!(sensor.id = %node.node.id, "publish queue full; reading dropped");
                }
            }
            event = events.poll() => match event {
                Ok(Event::Incoming(rumqttc::Packet::ConnAck(_))) => connected = true,
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        tracing::warn!(sensor.id = %node.node.id, error = %e, "sensor lost its broker");
                    }
                    connected = false;
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2000))).await;
                }
            }
        }
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(ev) = events.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}
