//! The MQTT subscriber: a persistent session with manual acknowledgements, optionally
//! in a shared-subscription group so that several ingest workers split the load.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use chrono::Utc;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::watch;

use crate::wire::decode_mqtt;
use crate::writer::{Completion, Submission};
use crate::{IngestError, IngestHandle, MqttConfig, SENSOR_TOPIC_FILTER};

/// Host and port of an `mqtt://host:port` URL (`tcp://` is accepted too).
pub fn parse_broker_url(url: &str) -> Result<(String, u16), IngestError> {
    let bad = |reason: &str| IngestError::BrokerUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| bad("expected mqtt://host:port"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| bad("port is not a number"))?,
        ),
        None => (rest, 1883),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("host is empty"));
    }
    Ok((host.to_owned(), port))
}

/// The subscription filter for a config.
pub fn topic_filter(config: &MqttConfig) -> String {
    if config.shared_group.is_empty() {
        SENSOR_TOPIC_FILTER.to_owned()
    } else {
        format!("$share/{}/{SENSOR_TOPIC_FILTER}", config.shared_group)
    }
}

/// Options for a client of veghe's broker.
pub fn options(config: &MqttConfig) -> Result<MqttOptions, IngestError> {
    let (host, port) = parse_broker_url(&config.url)?;
    let mut opts = MqttOptions::new(config.client_id.clone(), host, port);
    opts.set_keep_alive(config.keep_alive.max(Duration::from_secs(5)));
    opts.set_max_packet_size(*config.max_packet_bytes, *config.max_packet_bytes);
    if let Some(user) = &config.username {
        opts.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    Ok(opts)
}

/// Receives sensor messages until `shutdown` turns true, then keeps the connection up
/// until the writer has finished (`writer_done`) so that its last acknowledgements
/// reach the broker. Messages received after the shutdown signal are left
/// unacknowledged; the broker redelivers them to the next session.
pub async fn run(
    config: MqttConfig,
    handle: IngestHandle,
    mut shutdown: watch::Receiver<bool>,
    mut writer_done: watch::Receiver<bool>,
) -> Result<(), IngestError> {
    let mut opts = options(&config)?;
    opts.set_clean_session(false);
    opts.set_manual_acks(true);
    let (mut client, mut events) = AsyncClient::new(opts.clone(), 10_000);
    let filter = topic_filter(&config);
    let limits = handle.config.limits.clone();
    let metrics = handle.metrics.clone();
    let mut handle = Some(handle);
    metrics.mqtt_enabled.store(true, Relaxed);
    let mut backoff = Duration::from_millis(200);
    // Set at shutdown: how long the writer may take before we disconnect anyway.
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    // Received but not yet queued for the writer. The event loop is polled without
    // pause, because the writer's acknowledgements leave through it; this backlog is
    // bounded by the broker's in-flight window.
    let mut backlog: VecDeque<Submission> = VecDeque::new();
    loop {
        let room = handle.as_ref().filter(|_| !backlog.is_empty()).cloned();
        tokio::select! {
            changed = shutdown.changed(), if handle.is_some() => {
                if changed.is_err() || *shutdown.borrow() {
                    // Unqueued messages stay unacknowledged: the broker redelivers them.
                    backlog.clear();
                    // Dropping our handle lets the writer finish once the others are gone.
                    handle = None;
                    drain_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(10));
                }
            }
            permit = async move {
                match room {
                    Some(h) => h.reserve_owned().await,
                    None => std::future::pending().await,
                }
            } => match permit {
                Ok(permit) => {
                    if let Some(submission) = backlog.pop_front() {
                        permit.send(submission);
                    }
                }
                Err(_) => break,
            },
            _ = writer_done.changed(), if handle.is_none() => break,
            // A fixed deadline: a sleep made afresh each turn would never end while
            // broker events keep arriving.
            _ = tokio::time::sleep_until(drain_deadline.unwrap_or_else(tokio::time::Instant::now)),
                if drain_deadline.is_some() => {
                tracing::warn!("writer did not finish within 10 s of shutdown; disconnecting");
                break;
            }
            event = events.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(200);
                    metrics.mqtt_connected.store(true, Relaxed);
                    tracing::info!(broker = %config.url, session_present = ack.session_present,
                        filter = %filter, "connected to the MQTT broker");
                    client.subscribe(filter.clone(), QoS::AtLeastOnce).await?;
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if handle.is_none() {
                        continue;
                    }
                    metrics.received_mqtt.fetch_add(1, Relaxed);
                    let decoded = decode_mqtt(&publish.topic, &publish.payload, Utc::now(), &limits);
                    let completion = Completion::Mqtt { client: client.clone(), publish };
                    backlog.push_back(Submission { decoded, node_kind: "sensor", location: None, completion });
                }
                Ok(_) => {}
                Err(e) => {
                    metrics.mqtt_connected.store(false, Relaxed);
                    // Acks of the old connection cannot be sent on the new one: drop the
                    // backlog, the broker redelivers it.
                    backlog.clear();
                    tracing::warn!(broker = %config.url, error = %e, retry_in_ms = backoff.as_millis() as u64,
                        "MQTT connection lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    // A fresh client: state carried over from the lost connection (packet
                    // ids, queued acks) left a resumed session silent after a broker
                    // restart. The broker keeps the session and redelivers what was not
                    // acknowledged; de-duplication absorbs the rest.
                    (client, events) = AsyncClient::new(opts.clone(), 10_000);
                }
            }
        }
        if *writer_done.borrow() && handle.is_none() {
            break;
        }
    }
    metrics.mqtt_connected.store(false, Relaxed);
    // Flush the acknowledgements still queued in the client, then leave cleanly.
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(event) = events.poll().await {
            if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_broker_url;

    #[test]
    fn broker_urls() {
        let cases = [
            ("mqtt://127.0.0.1:1883", Some(("127.0.0.1", 1883))),
            ("tcp://broker.city:11883/", Some(("broker.city", 11883))),
            ("mqtt://localhost", Some(("localhost", 1883))),
            ("mqtt://[::1]:1884", Some(("::1", 1884))),
            ("http://x:1", None),
            ("mqtt://:1883", None),
            ("mqtt://h:port", None),
        ];
        for (url, want) in cases {
            let got = parse_broker_url(url).ok();
            assert_eq!(got.as_ref().map(|(h, p)| (h.as_str(), *p)), want, "{url}");
        }
    }
}
