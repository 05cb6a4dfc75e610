//! `veghe bench ingest`: sustained MQTT -> committed readings, measured for veghe on
//! PostgreSQL/TimescaleDB and on SQLite, and for a plain Python peer (paho-mqtt +
//! psycopg COPY), one after the other in one run, on the same published input through
//! the same Mosquitto.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{SecondsFormat, Utc};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use veghe_sensors::NodeId;

use crate::config::{Config, NodeConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct IngestBench {
    /// Offered load, readings (values) per second.
    #[arg(long, default_value_t = 100_000)]
    pub rate: u64,
    /// How long the load is offered.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Values per message.
    #[arg(long, default_value_t = 8)]
    pub values: usize,
    /// Distinct sensor nodes publishing.
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// PostgreSQL server (with TimescaleDB) where fresh databases are created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// Python interpreter with paho-mqtt and psycopg for the peer; none skips the peer.
    #[arg(long)]
    pub peer_python: Option<PathBuf>,
    #[arg(long, default_value = "tools/bench/peer_ingest.py")]
    pub peer_script: PathBuf,
    /// Targets to run, comma-separated: veghe-postgres, veghe-sqlite, peer-postgres.
    #[arg(long, default_value = "veghe-postgres,veghe-sqlite,peer-postgres")]
    pub targets: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub target: String,
    pub messages: u64,
    pub readings: u64,
    /// From the first publish to the last commit.
    pub seconds: f64,
    pub readings_per_s: f64,
    pub p50_s: f64,
    pub p99_s: f64,
}

const MOSQUITTO_CONF: &str = include_str!("../deploy/mosquitto/veghe.conf");

struct Broker {
    child: tokio::process::Child,
    port: u16,
    _dir: PathBuf,
}

async fn start_mosquitto() -> anyhow::Result<Broker> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("veghe-bench-mosquitto-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let conf = MOSQUITTO_CONF
        .replace(
            "listener 1883 127.0.0.1",
            &format!("listener {port} 127.0.0.1"),
        )
        .replace("persistence true", "persistence false");
    std::fs::write(dir.join("mosquitto.conf"), conf)?;
    let bin = if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    };
    let child = tokio::process::Command::new(bin)
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start mosquitto (apt-get install mosquitto)")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("mosquitto did not start");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Broker {
        child,
        port,
        _dir: dir,
    })
}

fn node_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("bench-{i:05}")).collect()
}

/// Publishes `rate` readings/s for `duration` over four connections. Timestamps are
/// the publish time, so a message's commit lag is publish-to-committed.
async fn publish(port: u16, args: &IngestBench, run: &str) -> anyhow::Result<u64> {
    const CONNECTIONS: usize = 4;
    let nodes = node_ids(args.nodes);
    let mut clients = Vec::new();
    let mut pollers = Vec::new();
    for c in 0..CONNECTIONS {
        let mut opts = MqttOptions::new(format!("bench-pub-{run}-{c}"), "127.0.0.1", port);
        opts.set_inflight(2000);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(opts, 20_000);
        pollers.push(tokio::spawn(
            async move { while events.poll().await.is_ok() {} },
        ));
        clients.push(client);
    }
    let msgs_per_s = args.rate as f64 / args.values as f64;
    let total = (msgs_per_s * args.duration.as_secs_f64()).round() as u64;
    let names = [
        "pm2_5",
        "pm10",
        "pm1",
        "temperature",
        "humidity",
        "pressure",
        "laeq",
        "lamax",
        "lamin",
        "la10",
        "la90",
        "no2",
        "rssi",
    ];
    let start = Instant::now();
    let mut sent = 0u64;
    let mut seq = vec![0u64; nodes.len()];
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    while sent < total {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * msgs_per_s) as u64).min(total);
        while sent < due {
            let n = (sent as usize) % nodes.len();
            seq[n] += 1;
            let mut values = String::with_capacity(200);
            for (i, name) in names.iter().cycle().take(args.values).enumerate() {
                if i > 0 {
                    values.push(',');
                }
                let v = if *name == "pressure" { 1000.0 } else { 20.0 }
                    + ((sent as usize + i) % 400) as f64 / 10.0;
                values.push_str(&format!("\"{name}\":{v}"));
            }
            let body = format!(
                r#"{{"node":"{}","ts":"{}","seq":{},"values":{{{values}}}}}"#,
                nodes[n],
                Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
                seq[n]
            );
            clients[sent as usize % CONNECTIONS]
                .publish(
                    format!("veghe/v1/sensors/{}/readings", nodes[n]),
                    QoS::AtLeastOnce,
                    false,
                    body,
                )
                .await?;
            sent += 1;
        }
    }
    // Keep the connections until the broker has everything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for c in &clients {
        let _ = c.disconnect().await;
    }
    for p in pollers {
        p.abort();
    }
    Ok(total)
}

async fn run_veghe(
    broker: &Broker,
    args: &IngestBench,
    env: &[(String, String)],
    store_url: String,
    target: &str,
) -> anyhow::Result<BenchResult> {
    let mut config = Config::load(None, env.iter().cloned())?;
    config.http.listen = "127.0.0.1:0".parse()?;
    config.store.url = Some(store_url);
    config.mqtt.url = format!("mqtt://127.0.0.1:{}", broker.port);
    config.mqtt.client_id = format!("veghe-bench-{target}");
    // A persistent member of a shared group keeps its share queued while it is away:
    // each run gets a group of its own.
    config.mqtt.shared_group = format!("veghe-bench-{target}");
    config.maintenance.rollup_interval = Duration::from_secs(10);
    config.nodes = node_ids(args.nodes)
        .into_iter()
        .map(|id| NodeConfig {
            id: NodeId::new(id).expect("valid id"),
            name: "bench".into(),
            kind: "air+noise".into(),
            lat: Some(44.43),
            lon: Some(26.03),
            installed_on: None,
            owner: String::new(),
            public: true,
        })
        .collect();
    let running = crate::system::start(config).await?;
    let metrics = running.ingest().metrics.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics.mqtt_connected.load(Relaxed) {
        if Instant::now() > deadline {
            bail!("veghe did not connect to the broker");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // subscription in place
    let started = Instant::now();
    let messages = publish(broker.port, args, target).await?;
    let expected = messages * args.values as u64;
    let deadline = Instant::now() + args.duration + Duration::from_secs(180);
    while metrics.readings_stored.load(Relaxed) < expected {
        if Instant::now() > deadline {
            bail!(
                "{target}: only {} of {expected} readings committed",
                metrics.readings_stored.load(Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let result = BenchResult {
        target: target.to_owned(),
        messages,
        readings: expected,
        seconds,
        readings_per_s: expected as f64 / seconds,
        p50_s: metrics.commit_lag.quantile(0.5).unwrap_or(f64::NAN),
        p99_s: metrics.commit_lag.quantile(0.99).unwrap_or(f64::NAN),
    };
    running.shutdown().await?;
    Ok(result)
}

async fn run_peer(
    broker: &Broker,
    args: &IngestBench,
    python: &PathBuf,
    db: &str,
) -> anyhow::Result<BenchResult> {
    let msgs = (args.rate as f64 / args.values as f64 * args.duration.as_secs_f64()).round() as u64;
    let mut child = tokio::process::Command::new(python)
        .arg(&args.peer_script)
        .args([
            "--port",
            &broker.port.to_string(),
            "--db",
            db,
            "--expect",
            &msgs.to_string(),
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", python.display()))?;
    let stdout = child.stdout.take().context("peer stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
        Ok(Ok(Some(l))) if l.trim() == "READY" => {}
        other => bail!("peer did not get ready: {other:?}"),
    }
    let started = Instant::now();
    let messages = publish(broker.port, args, "peer").await?;
    let line = tokio::time::timeout(args.duration + Duration::from_secs(300), lines.next_line())
        .await
        .context("peer did not finish in time")??
        .context("peer ended without a result")?;
    let seconds = started.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_str(&line).context("peer result")?;
    let readings = v["readings"].as_u64().unwrap_or(0);
    let _ = child.wait().await;
    Ok(BenchResult {
        target: "peer-postgres".into(),
        messages,
        readings,
        seconds,
        readings_per_s: readings as f64 / seconds,
        p50_s: v["p50_s"].as_f64().unwrap_or(f64::NAN),
        p99_s: v["p99_s"].as_f64().unwrap_or(f64::NAN),
    })
}

/// Runs the benchmark and prints a table (and one JSON line per target). `env` may
/// override veghe's configuration (`VEGHE_INGEST__BATCH_ROWS=…`).
pub async fn ingest(
    args: IngestBench,
    env: &[(String, String)],
) -> anyhow::Result<Vec<BenchResult>> {
    let mut broker = start_mosquitto().await?;
    let stamp = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut results = Vec::new();
    for target in args.targets.split(',').map(str::trim) {
        eprintln!(
            "bench: {target}: {} readings/s for {:?} ...",
            args.rate, args.duration
        );
        let result = match target {
            "veghe-postgres" => {
                let name = format!("veghe_bench_{stamp}_veghe");
                let url = veghe_store::create_database(&args.postgres, &name).await?;
                let r = run_veghe(&broker, &args, env, url, target).await;
                if let Err(e) = veghe_store::drop_database(&args.postgres, &name).await {
                    eprintln!("bench: could not drop {name}: {e}");
                }
                r?
            }
            "veghe-sqlite" => {
                let dir = std::env::temp_dir().join(format!("veghe-bench-{stamp}"));
                let r = run_veghe(
                    &broker,
                    &args,
                    env,
                    format!("sqlite://{}/veghe.db", dir.display()),
                    target,
                )
                .await;
                let _ = std::fs::remove_dir_all(&dir);
                r?
            }
            "peer-postgres" => {
                let Some(python) = &args.peer_python else {
                    eprintln!("bench: no --peer-python; peer skipped");
                    continue;
                };
                let name = format!("veghe_bench_{stamp}_peer");
                let url = veghe_store::create_database(&args.postgres, &name).await?;
                let r = run_peer(&broker, &args, python, &url).await;
                if let Err(e) = veghe_store::drop_database(&args.postgres, &name).await {
                    eprintln!("bench: could not drop {name}: {e}");
                }
                r?
            }
            other => bail!("unknown bench target `{other}`"),
        };
        println!("{}", serde_json::to_string(&result)?);
        results.push(result);
    }
    let _ = broker.child.kill().await;
    println!("\n| target | readings | readings/s (first publish to last commit) | p50 publish-to-committed | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for r in &results {
        println!(
            "| {} | {} | {:.0} | {:.0} ms | {:.0} ms |",
            r.target,
            r.readings,
            r.readings_per_s,
            r.p50_s * 1e3,
            r.p99_s * 1e3
        );
    }
    let veghe = results.iter().find(|r| r.target == "veghe-postgres");
    let peer = results.iter().find(|r| r.target == "peer-postgres");
    if let (Some(v), Some(p)) = (veghe, peer) {
        println!(
            "\nveghe / peer on PostgreSQL: throughput {:.2}x, p99 latency {:.2}x lower",
            v.readings_per_s / p.readings_per_s,
            p.p99_s / v.p99_s
        );
    }
    Ok(results)
}
