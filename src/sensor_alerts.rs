//! Sensor alerts in a running system: committed readings feed the sensor rule engine
//! (thresholds over windows, night noise, offline nodes), whose signals are raised as
//! alerts through the hub. Clearing is logged; the alert stays for staff to close.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use veghe_alerts::{Position, SensorRuleEngine, SensorRulesConfig, SensorSignal};
use veghe_dashboard::AlertHub;
use veghe_ingest::writer::CommittedMessages;
use veghe_store::Store;

/// How often offline nodes and ended conditions are looked for.
const TICK: Duration = Duration::from_secs(30);

/// The engine over the registered nodes, fed until `shutdown`.
pub async fn spawn(
    hub: AlertHub,
    store: Store,
    config: SensorRulesConfig,
    mut readings: mpsc::Receiver<CommittedMessages>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let mut engine = SensorRuleEngine::new(config)?;
    let now = Utc::now();
    // Every active node is watched from the start, so one that never reports is
    // reported offline too.
    for node in store.nodes().await? {
        if node.status == veghe_sensors::NodeStatus::Active {
            engine.track_node(node.id.as_str(), now);
            let position = node.lat.zip(node.lon).map(|(lat, lon)| Position { lat, lon });
            engine.set_position(node.id.as_str(), position);
        }
    }
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let signals = tokio::select! {
                _ = shutdown.changed() => break,
                _ = tick.tick() => engine.tick(Utc::now()),
                batch = readings.recv() => match batch {
                    Some(messages) => {
                        let mut signals = Vec::new();
                        for m in messages.iter() {
                            for (q, v) in &m.values {
                                signals.extend(engine.feed(m.node.as_str(), *q, m.ts, *v));
                            }
                        }
                        signals
                    }
                    None => break,
                },
            };
            for signal in signals {
                match signal {
                    // The engine applies each rule's cooldown itself.
                    SensorSignal::Raise(event) => {
                        if let Err(e) = hub.raise(&event, Duration::ZERO).await {
                            tracing::error!(error = %e, key = %event.key.as_string(), "sensor alert not stored");
                        }
                    }
                    SensorSignal::Clear(key) => {
                        tracing::info!(key = %key.as_string(), "sensor condition ended");
                    }
                }
            }
        }
    }))
}
