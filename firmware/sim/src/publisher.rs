//! Runs the simulated fleet: one MQTT connection per node, one payload per interval
//! into the node's outbox, sent oldest first with one message in flight and removed
//! when the broker acknowledges it. Offline (broker away, injected WiFi outage) the
//! outbox fills and the node reconnects with jittered exponential backoff.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::watch;
use veghe_firmware::node::NodeError;
use veghe_firmware::store_forward::Backoff;

use crate::node::{NodeCore, NodeFaults};
use crate::SimNode;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub broker_host: String,
    pub broker_port: u16,
    pub interval: Duration,
    /// Prefix of each node's client id.
    pub client_prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub faults: Faults,
    /// Longest wait between reconnection attempts (30 s on a real node).
    pub reconnect_max: Duration,
}

/// Faults to inject across the fleet.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of nodes (0..=1) whose SDS011 is silent.
    pub silent_sds011: f64,
    /// Probability that garbage bytes precede an SDS011 frame.
    pub uart_garbage: f64,
    /// Every node loses WiFi `after` the start, for `duration`.
    pub wifi_outage: Option<(Duration, Duration)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the fleet is empty")]
    EmptyFleet,
    #[error("interval must be at least 100 ms")]
    IntervalTooShort,
    #[error("node {0} refused by the firmware core: {1:?}")]
    Node(String, NodeError),
}

/// Counters per node (in fleet order) and in total.
#[derive(Debug)]
pub struct SimStats {
    pub produced: Vec<AtomicU64>,
    pub acknowledged: Vec<AtomicU64>,
}

impl SimStats {
    pub fn new(nodes: usize) -> Arc<SimStats> {
        Arc::new(SimStats {
            produced: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    pub fn total_produced(&self) -> u64 {
        self.produced.iter().map(|a| a.load(Relaxed)).sum()
    }

    pub fn total_acknowledged(&self) -> u64 {
        self.acknowledged.iter().map(|a| a.load(Relaxed)).sum()
    }
}

/// The topic a node publishes on.
pub fn topic(node: &SimNode) -> String {
    format!("veghe/v1/sensors/{}/readings", node.node.id)
}

/// Publishes until `shutdown` turns true. Returns once every node has stopped.
pub async fn run(
    config: SimConfig,
    fleet: Vec<SimNode>,
    stats: Arc<SimStats>,
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
    // What each node's flash would hold: numbers above any issued before this start.
    let seq_start = Utc::now().timestamp_millis().max(0) as u64;
    let started = tokio::time::Instant::now();
    let silent_every = if config.faults.silent_sds011 > 0.0 {
        (1.0 / config.faults.silent_sds011).round().max(1.0) as usize
    } else {
        usize::MAX
    };
    let mut tasks = Vec::with_capacity(fleet.len());
    for (i, sim) in fleet.into_iter().enumerate() {
        let faults = NodeFaults {
            silent_sds011: i % silent_every == silent_every - 1,
            uart_garbage: config.faults.uart_garbage,
        };
        let id = sim.node.id.to_string();
        // Boxed: the task's future then holds a pointer, not a second copy of the
        // node's buffers.
        let core = match NodeCore::new(sim, faults, seq_start, config.interval, i as u64) {
            Ok(core) => Box::new(core),
            Err(e) => {
                tasks.iter().for_each(tokio::task::JoinHandle::abort);
                return Err(SimError::Node(id, e));
            }
        };
        tasks.push(tokio::spawn(run_node(
            config.clone(),
            core,
            i,
            stats.clone(),
            started,
            shutdown.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

enum Offline {
    Outage(tokio::time::Instant),
    Backoff(Duration),
}

async fn run_node(
    config: SimConfig,
    mut core: Box<NodeCore>,
    index: usize,
    stats: Arc<SimStats>,
    started: tokio::time::Instant,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rng = SmallRng::seed_from_u64(index as u64 ^ 0x5EED);
    let first = Duration::from_millis(rng.gen_range(0..config.interval.as_millis().max(1) as u64));
    let first_tick = tokio::time::Instant::now() + first;
    let mut ticks = tokio::time::interval_at(first_tick, config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let cap_ms = u32::try_from(config.reconnect_max.as_millis())
        .unwrap_or(u32::MAX)
        .max(100);
    let mut backoff = Backoff::new(100.min(cap_ms), cap_ms);
    let outage = config
        .faults
        .wifi_outage
        .map(|(after, d)| (started + after, started + after + d));
    let mut outage_done = false;
    let mut opts = MqttOptions::new(
        format!("{}{}", config.client_prefix, core.sim.node.id),
        config.broker_host.clone(),
        config.broker_port,
    );
    opts.set_keep_alive(Duration::from_secs(30));
    if let Some(user) = &config.username {
        opts.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    // The node's loop plays up to the present. Its clock counts from a boot one
    // interval before the first tick, so that its reports fall on the ticks.
    let interval_ms = config.interval.as_millis() as u64;
    let produce = |core: &mut NodeCore, rng: &mut SmallRng| {
        let since_first = tokio::time::Instant::now().saturating_duration_since(first_tick);
        let to_ms = since_first.as_millis() as u64 + interval_ms;
        let queued = core.advance(to_ms, Utc::now(), rng);
        stats.produced[index].fetch_add(u64::from(queued), Relaxed);
    };

    loop {
        // A fresh connection each time: what was in flight is sent again from the outbox.
        let (client, mut events) = AsyncClient::new(opts.clone(), 16);
        let mut in_flight = false;
        let mut connected = false;
        let outage_at = outage.filter(|_| !outage_done).map(|(start, _)| start);
        let offline = loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    let _ = client.try_disconnect();
                    return;
                }
                _ = async { tokio::time::sleep_until(outage_at.unwrap_or_else(tokio::time::Instant::now)).await },
                    if outage_at.is_some() => {
                    outage_done = true;
                    tracing::info!(sensor.id = %core.sim.node.id, "WiFi outage");
                    break Offline::Outage(outage.map(|(_, end)| end).unwrap_or_else(tokio::time::Instant::now));
                }
                _ = ticks.tick() => produce(&mut core, &mut rng),
                event = events.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        connected = true;
                        backoff.reset();
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        core.sent();
                        stats.acknowledged[index].fetch_add(1, Relaxed);
                        in_flight = false;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let wait = backoff.next_delay_ms(rng.gen());
                        break Offline::Backoff(Duration::from_millis(u64::from(wait)));
                    }
                }
            }
            if connected && !in_flight {
                if let Some(payload) = core.oldest() {
                    in_flight = client
                        .try_publish(&core.topic, QoS::AtLeastOnce, false, payload)
                        .is_ok();
                }
            }
        };
        drop(client);
        drop(events);
        let until = match offline {
            Offline::Outage(end) => end,
            Offline::Backoff(wait) => tokio::time::Instant::now() + wait,
        };
        // Offline, the node keeps measuring into its outbox.
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep_until(until) => break,
                _ = ticks.tick() => produce(&mut core, &mut rng),
            }
        }
    }
}
