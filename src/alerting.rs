//! Alerts in a running system: vision's events raised through the hub into the store,
//! every local change published on MQTT (`veghe/v1/alerts/{kind}`), and changes made by
//! other veghe processes on the same database, heard on the broker, read from the change
//! log at once for this process's clients.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use veghe_alerts::messages::TOPIC_FILTER;
use veghe_alerts::{raise_from_detection, raise_from_health_with, AlertMessage, SeverityPolicy};
use veghe_dashboard::alerts::RecentSeqs;
use veghe_dashboard::AlertHub;
use veghe_ingest::MqttConfig;
use veghe_vision::VisionEvent;

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// After an alert is closed, events of its key are ignored this long.
    #[serde(with = "humantime_serde")]
    pub cooldown: std::time::Duration,
    /// Severity per rule kind, camera health condition, or rule id.
    pub severity: SeverityPolicy,
    /// Evidence frames are deleted this long after their alert was last seen.
    #[serde(with = "humantime_serde")]
    pub keep_evidence: std::time::Duration,
    /// Publish alert changes on MQTT and follow other processes' changes there.
    pub mqtt: bool,
    /// `[alerts.sensors]`: threshold rules per quantity and node, and offline nodes;
    /// empty, the defaults built from the EAQI, EU and WHO tables.
    pub sensors: veghe_alerts::SensorRulesConfig,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            cooldown: Duration::from_secs(300),
            severity: SeverityPolicy::default(),
            keep_evidence: Duration::from_secs(30 * 86_400),
            mqtt: true,
            sensors: veghe_alerts::SensorRulesConfig::default(),
        }
    }
}

/// What the raiser did, for tests and logs.
#[derive(Debug, Default)]
pub struct RaiseCounters {
    pub detections: AtomicU64,
    pub health: AtomicU64,
    pub raised: AtomicU64,
    pub failed: AtomicU64,
}

/// Turns vision events into alerts until the channel closes.
pub fn spawn_vision_raiser(
    hub: AlertHub,
    config: AlertsConfig,
    mut events: UnboundedReceiver<VisionEvent>,
    counters: Arc<RaiseCounters>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let raised = match &event {
                VisionEvent::Detection(d) => {
                    counters.detections.fetch_add(1, Ordering::Relaxed);
                    Some(raise_from_detection(d, &config.severity))
                }
                VisionEvent::Health(h) => {
                    counters.health.fetch_add(1, Ordering::Relaxed);
                    raise_from_health_with(h, &config.severity)
                }
            };
            let Some(raised) = raised else {
                continue; // a recovery: the alert stays for a dispatcher to close
            };
            match hub.raise(&raised, config.cooldown).await {
                Ok(_) => {
                    counters.raised.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, key = %raised.key.as_string(), "alert not stored");
                }
            }
        }
    })
}

/// Publishes local alert changes on MQTT (QoS 1) and announces other processes'
/// changes to local clients, until `shutdown`.
pub fn spawn_mqtt_fanout(
    hub: AlertHub,
    mqtt: &MqttConfig,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let mut options = veghe_ingest::mqtt::options(&MqttConfig {
        client_id: format!("{}-alerts", mqtt.client_id),
        ..mqtt.clone()
    })?;
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let mut changes = hub.subscribe();
    Ok(tokio::spawn(async move {
        // What this process published, to recognise its echo.
        let mut published = RecentSeqs::default();
        let mut connected = false;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                change = changes.recv() => match change {
                    Ok(announced) if !announced.remote => {
                        let msg = &announced.message;
                        match msg.to_json() {
                            Ok(payload) => {
                                published.insert(msg.seq);
                                if let Err(e) = client.try_publish(msg.topic(), QoS::AtLeastOnce, false, payload) {
                                    tracing::warn!(error = %e, alert.id = msg.alert.id, "alert change not published on MQTT");
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "alert change not encoded"),
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "MQTT alert publisher fell behind"),
                    Err(RecvError::Closed) => break,
                },
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        connected = true;
                        if let Err(e) = client.try_subscribe(TOPIC_FILTER, QoS::AtLeastOnce) {
                            tracing::warn!(error = %e, "cannot follow other processes' alerts");
                        }
                    }
                    // Another process changed an alert in the shared database: read the
                    // change log now rather than at the next poll.
                    Ok(Event::Incoming(Packet::Publish(p))) => match AlertMessage::from_json(&p.payload) {
                        Ok(msg) if !published.contains(msg.seq) => hub.nudge(),
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, topic = %p.topic, "not an alert message"),
                    },
                    Ok(_) => {}
                    Err(e) => {
                        if connected {
                            tracing::warn!(error = %e, "alert MQTT connection lost; reconnecting");
                        }
                        connected = false;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
        let _ = client.disconnect().await;
    }))
}
