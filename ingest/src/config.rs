//! Configuration of ingest: the broker, batching and validation limits.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UnknownNodePolicy {
    /// Keep the data and add the node to the registry as pending (never public).
    #[default]
    Register,
    /// Refuse the data; it goes to the dead-letter store.
    Reject,
}

/// What a payload must satisfy to be accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationLimits {
    /// Largest accepted payload (`"64 KiB"`, or a number of bytes).
    #[serde(rename = "max_payload")]
    pub max_payload_bytes: ByteSize,
    /// How far ahead of the server clock a timestamp may be (node clock skew).
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// How old a timestamp may be (store-and-forward after an outage).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// Most values in one message.
    pub max_values: usize,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        ValidationLimits {
            max_payload_bytes: ByteSize(64 * 1024),
            max_clock_skew: Duration::from_secs(120),
            max_age: Duration::from_secs(30 * 86400),
            max_values: 64,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Flush a batch once it holds this many readings (values).
    pub batch_rows: usize,
    /// Flush a batch at the latest this long after its first message arrived.
    #[serde(with = "humantime_serde")]
    pub batch_interval: Duration,
    /// Flush early when no message arrived for this long (low load, low latency).
    #[serde(with = "humantime_serde")]
    pub batch_idle: Duration,
    /// Messages waiting for the writer before receivers are slowed down.
    pub queue_capacity: usize,
    /// Batches written concurrently: one is collected while another commits.
    pub writers: usize,
    /// How often the latest value of each node and quantity is recorded (the map's
    /// freshness); coalescing spares the store an update per reading.
    #[serde(with = "humantime_serde")]
    pub latest_interval: Duration,
    pub unknown_nodes: UnknownNodePolicy,
    pub limits: ValidationLimits,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_rows: 5000,
            batch_interval: Duration::from_millis(200),
            batch_idle: Duration::from_millis(5),
            queue_capacity: 20_000,
            writers: 3,
            latest_interval: Duration::from_secs(1),
            unknown_nodes: UnknownNodePolicy::Register,
            limits: ValidationLimits::default(),
        }
    }
}

/// The broker ingest subscribes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port` (TLS is terminated in front of veghe or not used).
    pub url: String,
    /// Client id; with a persistent session the broker keeps unacknowledged messages
    /// for it across restarts, so each ingest worker needs its own.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Shared-subscription group (`$share/GROUP/…`) so that several ingest workers
    /// split the load; empty (the default) for a plain subscription. Observed with
    /// Mosquitto 2.0.11: after a broker restart a worker in a group receives nothing
    /// more, while a plain persistent subscription loses nothing.
    pub shared_group: String,
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Largest MQTT packet the client accepts; larger payloads are dead-lettered by
    /// `ingest.limits.max_payload` well before this.
    #[serde(rename = "max_packet")]
    pub max_packet_bytes: ByteSize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            client_id: "veghe-ingest-1".into(),
            username: None,
            password: None,
            shared_group: String::new(),
            keep_alive: Duration::from_secs(30),
            max_packet_bytes: ByteSize(16 * 1024 * 1024),
        }
    }
}

/// A size in bytes, written as a number of bytes or with a unit: `"64 KiB"`, `"16MiB"`,
/// `"1 MB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub usize);

impl std::ops::Deref for ByteSize {
    type Target = usize;
    fn deref(&self) -> &usize {
        &self.0
    }
}

impl ByteSize {
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: usize = digits
            .parse()
            .map_err(|_| format!("`{s}` is not a size like \"64 KiB\""))?;
        let factor = match unit.trim() {
            "" | "B" => 1,
            "KB" | "kB" => 1000,
            "KiB" => 1024,
            "MB" => 1000 * 1000,
            "MiB" => 1024 * 1024,
            "GB" => 1000 * 1000 * 1000,
            "GiB" => 1024 * 1024 * 1024,
            other => {
                return Err(format!(
                    "unknown size unit `{other}` (B, KB, KiB, MB, MiB, GB, GiB)"
                ))
            }
        };
        n.checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| format!("`{s}` is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(usize),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(ByteSize(n)),
            Raw::Text(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn sizes() {
        let cases = [
            ("64 KiB", Some(65536)),
            ("16MiB", Some(16 << 20)),
            ("1 MB", Some(1_000_000)),
            ("512", Some(512)),
            ("12 parsecs", None),
            ("KiB", None),
        ];
        for (s, want) in cases {
            assert_eq!(ByteSize::parse(s).ok().map(|b| b.0), want, "{s}");
        }
    }
}
