//! Durable before acknowledged: `veghe run` is killed with SIGKILL while a publisher
//! sends N readings at QoS 1; the ingest's persistent session keeps what the broker
//! could not deliver, and after a restart all N are in the store exactly once.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use support::*;
use veghe_sensors::NodeId;
use veghe_store::{Store, StoreOptions};

const N: u64 = 3000;
const VALUES_PER_MESSAGE: u64 = 3;

fn write_config(
    dir: &Path,
    store_url: &str,
    mqtt_url: &str,
    http: std::net::SocketAddr,
) -> std::path::PathBuf {
    let path = dir.join("veghe.toml");
    let text = format!(
        r#"
data_dir = "{data}"
[http]
listen = "{http}"
[store]
url = "{store_url}"
[mqtt]
url = "{mqtt_url}"
client_id = "veghe-crash-test"
[ingest]
unknown_nodes = "register"
[[nodes]]
id = "crash-1"
name = "Crash test node"
kind = "air"
"#,
        data = dir.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn_veghe(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_veghe"))
        .args(["run", "--config"])
        .arg(config)
        .env("VEGHE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("veghe binary runs")
}

async fn wait_healthy(base: &str) {
    eventually(Duration::from_secs(20), "veghe healthy", || async {
        let r = reqwest::get(format!("{base}/healthz")).await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
}

async fn survives_sigkill(store_url: String) {
    let mosquitto = Mosquitto::start();
    let dir = temp_dir("veghe_crash");
    let http = free_addr();
    let base = format!("http://{http}");
    let config = write_config(&dir, &store_url, &mosquitto.url(), http);
    let mut veghe = spawn_veghe(&config);
    wait_healthy(&base).await;

    let store = Store::connect(&store_url, &StoreOptions::default())
        .await
        .unwrap();
    let node = NodeId::new("crash-1").unwrap();
    let publisher = Publisher::connect(mosquitto.port, "crash-publisher").await;
    let sender = {
        let client = publisher.client.clone();
        tokio::spawn(async move {
            let start = Utc::now() - chrono::Duration::minutes(10);
            for seq in 0..N {
                let ts = start + chrono::Duration::milliseconds(seq as i64 * 100);
                let body = payload(
                    "crash-1",
                    seq,
                    ts,
                    r#"{"pm2_5":10.5,"pm10":17.25,"humidity":55}"#,
                );
                client
                    .publish(
                        topic("crash-1"),
                        rumqttc::QoS::AtLeastOnce,
                        false,
                        body.into_bytes(),
                    )
                    .await
                    .unwrap();
                if seq % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };

    // Kill once part of the stream is committed, while the rest is still coming.
    eventually(
        Duration::from_secs(30),
        "a first part committed",
        || async {
            let n = store.count_readings(&node).await.ok()?;
            (n >= 300 * VALUES_PER_MESSAGE).then_some(())
        },
    )
    .await;
    veghe.kill().unwrap(); // SIGKILL
    veghe.wait().unwrap();
    let at_kill = store.count_readings(&node).await.unwrap();
    assert!(
        at_kill < N * VALUES_PER_MESSAGE,
        "the kill came after everything was stored"
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut veghe = spawn_veghe(&config);
    sender.await.unwrap();
    publisher.wait_acked(N).await;
    wait_healthy(&base).await;

    let stored = eventually(Duration::from_secs(60), "all N readings stored", || async {
        let n = store.count_readings(&node).await.ok()?;
        (n >= N * VALUES_PER_MESSAGE).then_some(n)
    })
    .await;
    // Give redeliveries a moment to show up if they were (wrongly) stored twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored_later = store.count_readings(&node).await.unwrap();
    assert_eq!(
        (stored, stored_later),
        (N * VALUES_PER_MESSAGE, N * VALUES_PER_MESSAGE)
    );
    let (from, to) = (Utc::now() - chrono::Duration::hours(1), Utc::now());
    let series = store
        .series(
            &node,
            veghe_sensors::Quantity::Pm2_5,
            from,
            to,
            veghe_store::Bucket::Raw,
            100_000,
        )
        .await
        .unwrap();
    assert_eq!(
        series.len() as u64,
        N,
        "one pm2_5 value per message, none missing"
    );

    veghe.kill().unwrap();
    veghe.wait().unwrap();
    eprintln!(
        "killed with {at_kill} of {} readings stored; all recovered",
        N * VALUES_PER_MESSAGE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ingest_survives_sigkill() {
    survives_sigkill(postgres_url().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ingest_survives_sigkill() {
    let dir = temp_dir("veghe_crash_sqlite");
    survives_sigkill(format!("sqlite://{}/veghe.db", dir.display())).await;
}
