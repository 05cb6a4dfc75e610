//! `veghe bench alerts`: detection events raised at a steady rate through the alert
//! hub into the store, delivered to many WebSocket clients of the running dashboard;
//! reports the latency from the event to each client's receipt (p50/p99) and the share
//! of (event, client) deliveries that arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use veghe_alerts::{AlertKey, AlertKind, Position, RaisedEvent, Role, Severity, Source};

use crate::config::Config;

#[derive(Debug, Clone, clap::Args)]
pub struct AlertsBench {
    /// Connected WebSocket clients.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Detection events per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Distinct alert keys the events fall on (cameras x zones).
    #[arg(long, default_value_t = 200)]
    pub keys: usize,
    /// Store URL (postgres://… or sqlite://PATH); default a fresh SQLite file.
    #[arg(long)]
    pub store: Option<String>,
    /// Bytes of the evidence frame each event carries.
    #[arg(long, default_value_t = 30_000)]
    pub evidence_bytes: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(args: AlertsBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("veghe-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut config = Config::default();
    config.data_dir = dir.clone();
    config.store.url = args.store.clone();
    config.http.listen = "127.0.0.1:0".parse()?;
    config.broker.embedded = true;
    config.broker.listen = "127.0.0.1:0".parse()?;
    config.mqtt.client_id = "veghe-bench-alerts".into();
    config.alerts.mqtt = false;
    let running = crate::system::start(config).await?;
    let base = format!("http://{}", running.http_addr);
    crate::users::add(&running.store, "bench", Role::Dispatcher, "bench password 123").await?;
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "bench", "password": "bench password 123"}))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(login["csrf_token"].is_string(), "bench login failed: {login}");
    let cookie = {
        let resp = reqwest::Client::new()
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"username": "bench", "password": "bench password 123"}))
            .send()
            .await?;
        let c = resp.headers().get("set-cookie").context("no cookie")?.to_str()?.to_owned();
        c.split(';').next().unwrap_or_default().to_owned()
    };

    // Clients: each records (change sequence number, receive instant).
    type Receipts = Arc<Mutex<Vec<(i64, Instant)>>>;
    let mut receipts: Vec<Receipts> = Vec::with_capacity(args.clients);
    let mut tasks = Vec::new();
    let ws_url = format!("{}/api/v1/alerts/stream", base.replacen("http", "ws", 1));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.clients);
    for _ in 0..args.clients {
        let mut req = ws_url.clone().into_client_request()?;
        req.headers_mut().insert("cookie", cookie.parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.context("WebSocket connect")?;
        let mine: Receipts = Arc::new(Mutex::new(Vec::with_capacity((args.rate * args.duration.as_secs()) as usize)));
        receipts.push(mine.clone());
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let now = Instant::now();
                // The clients share the two cores with the system under test: read
                // only what is needed, without parsing whole alerts.
                if text.starts_with(r#"{"type":"snapshot""#) {
                    let _ = ready.send(()).await;
                } else if let Some(rest) = text.strip_prefix(r#"{"type":"change","seq":"#) {
                    // Each change has its own sequence number.
                    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                    if let Ok(seq) = digits.parse::<i64>() {
                        mine.lock().unwrap_or_else(|p| p.into_inner()).push((seq, now));
                    }
                }
            }
        }));
    }
    drop(ready_tx);
    for _ in 0..args.clients {
        ready_rx.recv().await.context("a client did not get its snapshot")?;
    }

    // Raisers: events at a steady rate over several concurrent raisers; each records
    // when it raised the event that made change `seq`.
    let evidence = Arc::new(vec![0u8; args.evidence_bytes]);
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let total = args.rate * args.duration.as_secs().max(1);
    let raisers = 16u64;
    let start = tokio::time::Instant::now();
    let t0 = Utc::now();
    let mut raise_tasks = Vec::new();
    for r in 0..raisers {
        let (hub, sent, evidence) = (running.alerts.clone(), sent.clone(), evidence.clone());
        let (rate, keys) = (args.rate, args.keys as u64);
        raise_tasks.push(tokio::spawn(async move {
            let mut failures = 0u64;
            let mut n = r;
            while n < total {
                let due = start + Duration::from_nanos(n * 1_000_000_000 / rate);
                tokio::time::sleep_until(due).await;
                let at = t0 + chrono::Duration::microseconds((n as i64) * 1_000_000 / rate as i64 + 1);
                let key = n % keys;
                let event = RaisedEvent {
                    key: AlertKey {
                        source: Source::Camera(format!("cam-{:04}", key / 2)),
                        rule: "person-enters".into(),
                        scope: format!("zone-{}", key % 2),
                    },
                    kind: AlertKind::CameraRule,
                    severity: Severity::Major,
                    title: "person entered zone".into(),
                    position: Some(Position { lat: 44.43, lon: 26.03 }),
                    at,
                    score: Some(0.5 + (n % 97) as f32 / 200.0),
                    class_name: Some("person".into()),
                    bbox: Some([10.0, 10.0, 60.0, 120.0]),
                    details: serde_json::json!({}),
                    evidence_jpeg: Some(evidence.clone()),
                };
                let raised_at = Instant::now();
                match hub.raise(&event, Duration::ZERO).await {
                    // The change this event made, by its sequence number.
                    Ok(Some(alert)) => {
                        sent.lock().unwrap_or_else(|p| p.into_inner()).insert(alert.seq, raised_at);
                    }
                    Ok(None) | Err(_) => failures += 1,
                }
                n += raisers;
            }
            failures
        }));
    }
    let mut failures = 0;
    for t in raise_tasks {
        failures += t.await?;
    }
    let raised_in = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for t in &tasks {
        t.abort();
    }

    let sent = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies = Vec::with_capacity(sent.len() * args.clients);
    let mut delivered = 0u64;
    for r in &receipts {
        for (at, got) in r.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if let Some(sent_at) = sent.get(at) {
                delivered += 1;
                latencies.push(got.saturating_duration_since(*sent_at).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let expected = sent.len() as u64 * args.clients as u64;
    println!(
        "| {} | {} | {:.0} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.3}% |",
        running.store.backend().as_str(),
        args.clients,
        sent.len() as f64 / raised_in.as_secs_f64(),
        failures,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        100.0 * delivered as f64 / expected.max(1) as f64
    );
    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
