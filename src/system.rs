//! Composes the crates into one running system: broker (optional), store, ingest
//! writer, MQTT subscriber, maintenance (rollups, retention), HTTP server, the sensor
//! and camera simulators (optional) and the vision pipeline; and shuts them down in the
//! order that loses nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use veghe_ingest::{IngestHandle, IngestMetrics, NodeRegistry};
use veghe_store::{Store, StoreOptions};

use crate::config::Config;

/// A started system.
pub struct Running {
    pub http_addr: SocketAddr,
    /// The broker ingest subscribes to, as `mqtt://host:port`.
    pub mqtt_url: String,
    pub store: Store,
    /// Raises alerts and announces their changes (the wall's stream, MQTT).
    pub alerts: veghe_dashboard::AlertHub,
    ingest: Option<IngestHandle>,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    mqtt: Option<JoinHandle<Result<(), veghe_ingest::IngestError>>>,
    writer_done: watch::Receiver<bool>,
    maintenance: JoinHandle<()>,
    simulator: Option<JoinHandle<()>>,
    cameras: Option<crate::cameras::CameraSide>,
    alert_fanout: Option<JoinHandle<()>>,
    sensor_alerts: Option<JoinHandle<()>>,
    config: Config,
}

/// Opens the store named by the config and applies its migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.store_url();
    let options = StoreOptions {
        max_connections: config.store.max_connections,
        ..Default::default()
    };
    let store = Store::connect(&url, &options)
        .await
        .with_context(|| format!("cannot open the store at {}", redact(&url)))?;
    store.migrate().await.context("cannot migrate the store")?;
    Ok(store)
}

/// Starts everything the config asks for.
pub async fn start(mut config: Config) -> anyhow::Result<Running> {
    if config.broker.embedded {
        let addr = crate::broker::start_embedded(
            config.broker.listen,
            config.broker.max_connections,
            *config.mqtt.max_packet_bytes,
        )?;
        config.mqtt.url = format!("mqtt://{addr}");
        // One in-process ingest needs no shared subscription, and rumqttd 0.20's router
        // panics ("group must exists") when a persistent member of a shared group
        // disconnects, which would take the embedded broker down.
        config.mqtt.shared_group.clear();
    }
    // Bind HTTP before anything long-running so that a taken port fails fast.
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                anyhow::anyhow!(
                    "the HTTP address {} is already in use; pick another one with --http",
                    config.http.listen
                )
            } else {
                anyhow::anyhow!("cannot listen on {}: {e}", config.http.listen)
            }
        })?;
    let http_addr = listener.local_addr()?;

    let store = open_store(&config).await?;
    // The demo (with its camera simulator) runs on without vision when ONNX Runtime is
    // missing; a production start with cameras does not.
    let vision_optional = config.camera_simulator.enabled;
    let hub = veghe_dashboard::AlertHub::new(store.clone());
    let cameras = crate::cameras::start(&mut config, vision_optional, hub.clone()).await?;
    for node in &config.nodes {
        store
            .upsert_node(&node.to_node())
            .await
            .context("cannot register configured nodes")?;
    }
    let fleet = config
        .simulator
        .enabled
        .then(|| veghe_fleet_sim::fleet(config.simulator.nodes, config.simulator.seed));
    if let Some(fleet) = &fleet {
        for sim in fleet {
            store
                .upsert_node(&sim.node)
                .await
                .context("cannot register simulated nodes")?;
        }
    }

    let registry = Arc::new(NodeRegistry::load(&store).await?);
    let metrics = Arc::new(IngestMetrics::default());
    let (readings_tx, readings_rx) = tokio::sync::mpsc::channel(1024);
    let (ingest, writer) = veghe_ingest::writer::spawn_observed(
        store.clone(),
        registry,
        config.ingest.clone(),
        metrics,
        Some(readings_tx),
    );
    let (done_tx, writer_done) = watch::channel(false);
    tokio::spawn(async move {
        let _ = writer.await;
        let _ = done_tx.send(true);
    });

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mqtt = tokio::spawn(veghe_ingest::mqtt::run(
        config.mqtt.clone(),
        ingest.clone(),
        shutdown_rx.clone(),
        writer_done.clone(),
    ));

    let maintenance = tokio::spawn(maintain(store.clone(), config.clone(), shutdown_rx.clone()));
    let sensor_alerts = crate::sensor_alerts::spawn(
        hub.clone(),
        store.clone(),
        config.alerts.sensors.clone(),
        readings_rx,
        shutdown_rx.clone(),
    )
    .await?;
    let alert_fanout = if config.alerts.mqtt {
        Some(crate::alerting::spawn_mqtt_fanout(hub.clone(), &config.mqtt, shutdown_rx.clone())?)
    } else {
        None
    };

    let mut state = veghe_dashboard::AppState::new(store.clone(), ingest.clone(), hub.clone());
    if let Some(metrics) = cameras.metrics() {
        state = state.with_metrics(metrics);
    }
    state.auth = Arc::new(veghe_dashboard::AuthSettings {
        session_ttl: config.http.session_ttl,
        secure_cookies: config.http.secure_cookies,
    });
    state.wall = Arc::new(veghe_dashboard::WallSettings {
        tile_url: config.wall.tile_url.clone(),
        center: config.wall.center,
        zoom: config.wall.zoom,
    });
    let mut http_shutdown = shutdown_rx.clone();
    let http = tokio::spawn(veghe_dashboard::serve(listener, state, async move {
        let _ = http_shutdown.wait_for(|stop| *stop).await;
    }));
    tracing::info!(http.listen = %http_addr, mqtt.url = %config.mqtt.url,
        store = %redact(&config.store_url()), "veghe is running");

    let simulator = match fleet {
        Some(fleet) => {
            let (host, port) = veghe_ingest::mqtt::parse_broker_url(&config.mqtt.url)?;
            let sim = veghe_fleet_sim::SimConfig {
                broker_host: host,
                broker_port: port,
                interval: config.simulator.interval,
                client_prefix: "veghe-sim-".into(),
                username: config.mqtt.username.clone(),
                password: config.mqtt.password.clone(),
                faults: veghe_fleet_sim::Faults::default(),
                reconnect_max: std::time::Duration::from_secs(30),
            };
            let rx = shutdown_rx.clone();
            let stats = veghe_fleet_sim::SimStats::new(fleet.len());
            Some(tokio::spawn(async move {
                if let Err(e) = veghe_fleet_sim::run(sim, fleet, stats, rx).await {
                    tracing::error!(error = %e, "sensor simulator stopped");
                }
            }))
        }
        None => None,
    };

    Ok(Running {
        http_addr,
        mqtt_url: config.mqtt.url.clone(),
        store,
        alerts: hub,
        ingest: Some(ingest),
        shutdown,
        http,
        mqtt: Some(mqtt),
        writer_done,
        maintenance,
        simulator,
        cameras: Some(cameras),
        alert_fanout,
        sensor_alerts: Some(sensor_alerts),
        config,
    })
}

impl Running {
    pub fn ingest(&self) -> &IngestHandle {
        self.ingest
            .as_ref()
            .expect("ingest handle lives until shutdown")
    }

    /// Stops taking new data, commits and acknowledges everything received, brings the
    /// rollups up to date and closes the store.
    /// The camera side (simulator and vision).
    pub fn cameras(&self) -> Option<&crate::cameras::CameraSide> {
        self.cameras.as_ref()
    }

    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(cameras) = self.cameras.take() {
            cameras.shutdown().await;
        }
        if let Some(fanout) = self.alert_fanout.take() {
            let _ = fanout.await;
        }
        if let Some(sensor_alerts) = self.sensor_alerts.take() {
            let _ = sensor_alerts.await;
        }
        if let Some(sim) = self.simulator.take() {
            let _ = sim.await;
        }
        match (&mut self.http).await {
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
            Ok(Ok(())) => {}
        }
        // The last handles go; the writer flushes what is queued and stops.
        self.ingest = None;
        if let Some(mqtt) = self.mqtt.take() {
            match mqtt.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "MQTT subscriber ended with an error"),
                Err(e) => tracing::warn!(error = %e, "MQTT subscriber task failed"),
                Ok(Ok(())) => {}
            }
        }
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.writer_done.wait_for(|d| *d),
        )
        .await;
        let _ = (&mut self.maintenance).await;
        if let Err(e) = self.store.refresh_rollups().await {
            tracing::warn!(error = %e, "final rollup failed; it runs again at the next start");
        }
        self.store.close().await;
        tracing::info!(data_dir = %self.config.data_dir.display(), "veghe stopped cleanly");
        Ok(())
    }
}

/// Rollups and retention on their intervals, until shutdown.
async fn maintain(store: Store, config: Config, mut shutdown: watch::Receiver<bool>) {
    let mut rollups = tokio::time::interval(config.maintenance.rollup_interval);
    let mut retention = tokio::time::interval(config.maintenance.retention_interval);
    rollups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let policy = config.maintenance.retention();
    let keep_evidence = chrono::Duration::from_std(config.alerts.keep_evidence).unwrap_or(chrono::Duration::days(30));
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            _ = rollups.tick() => match store.refresh_rollups().await {
                Ok(r) => tracing::debug!(minute_buckets = r.minute_buckets, hour_buckets = r.hour_buckets, "rollups refreshed"),
                Err(e) => tracing::warn!(error = %e, "rollup refresh failed; retrying next interval"),
            },
            _ = retention.tick() => {
                match store.apply_retention(&policy, chrono::Utc::now()).await {
                    Ok(r) => tracing::info!(raw_removed = r.raw_removed, rollups_removed = r.rollups_removed,
                        dead_letters_removed = r.dead_letters_removed, "retention applied"),
                    Err(e) => tracing::warn!(error = %e, "retention failed; retrying next interval"),
                }
                match store.delete_alert_evidence_before(chrono::Utc::now() - keep_evidence).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(frames_deleted = n, keep_days = keep_evidence.num_days(), "evidence frames past retention deleted"),
                    Err(e) => tracing::warn!(error = %e, "evidence retention failed; retrying next interval"),
                }
                if let Err(e) = store.delete_expired_sessions(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "expired sessions not removed");
                }
            },
        }
    }
}

/// A URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact("sqlite://./var/veghe.db"),
            "sqlite://./var/veghe.db"
        );
    }
}
