//! Real dependencies for the end-to-end suites: a Mosquitto process per test (from the
//! project's shipped broker config), a fresh PostgreSQL database per test, free ports,
//! an MQTT publisher, and polling helpers.

#![allow(dead_code)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u16>()
    )
}

pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Mosquitto broker of this test's own, configured as `deploy/mosquitto/veghe.conf`.
pub struct Mosquitto {
    pub port: u16,
    child: Child,
    pub dir: PathBuf,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        let dir = temp_dir("mosquitto");
        let port = free_addr().port();
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/mosquitto/veghe.conf"),
        )
        .unwrap();
        let conf = shipped.replace(
            "listener 1883 127.0.0.1",
            &format!("listener {port} 127.0.0.1"),
        ) + &format!("persistence_location {}/\n", dir.display());
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        Mosquitto::spawn(port, dir)
    }

    fn spawn(port: u16, dir: PathBuf) -> Mosquitto {
        let child = spawn_mosquitto(port, &dir);
        Mosquitto { port, child, dir }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Stops the broker as an operator would (SIGTERM: it saves its sessions).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port with the same state directory.
    pub fn restart(&mut self) {
        self.child = spawn_mosquitto(self.port, &self.dir);
    }
}

fn spawn_mosquitto(port: u16, dir: &Path) -> Child {
    let child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto is installed (apt-get install mosquitto)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn mosquitto_bin() -> &'static str {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL database (TimescaleDB available) for one test.
pub async fn postgres_url() -> String {
    let admin = std::env::var("VEGHE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    veghe_store::create_database(&admin, &unique("veghe_test"))
        .await
        .expect("PostgreSQL reachable")
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An MQTT client that publishes at QoS 1 and counts PUBACKs.
pub struct Publisher {
    pub client: AsyncClient,
    acked: tokio::sync::watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(port: u16, client_id: &str) -> Publisher {
        let mut opts = MqttOptions::new(client_id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_clean_session(false);
        opts.set_max_packet_size(4 << 20, 4 << 20);
        opts.set_inflight(1000);
        let (client, mut events) = AsyncClient::new(opts, 100_000);
        let (tx, acked) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        n += 1;
                        let _ = tx.send(n);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            task,
        }
    }

    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .unwrap();
    }

    /// Waits until the broker acknowledged `n` publishes.
    pub async fn wait_acked(&self, n: u64) {
        let mut rx = self.acked.clone();
        tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|a| *a >= n))
            .await
            .expect("broker acknowledged the publishes")
            .unwrap();
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A veghe payload for `node` with `seq` at `ts`.
pub fn payload(node: &str, seq: u64, ts: chrono::DateTime<chrono::Utc>, values: &str) -> String {
    format!(
        r#"{{"node":"{node}","ts":"{}","seq":{seq},"values":{values}}}"#,
        ts.to_rfc3339()
    )
}

pub fn topic(node: &str) -> String {
    format!("veghe/v1/sensors/{node}/readings")
}

pub async fn get_json(url: &str) -> serde_json::Value {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert!(status.is_success(), "GET {url}: {status} {body}");
    serde_json::from_str(&body).unwrap()
}

pub async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.text().await.unwrap()
}
