//! veghe's configuration: one TOML file plus `VEGHE_SECTION__KEY` environment
//! overrides, unknown keys refused, units typed (`"10s"`, `"64 KiB"`), validated at load.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use veghe_ingest::{IngestConfig, MqttConfig};
use veghe_sensors::{Node, NodeId, NodeStatus};
use veghe_vision::camera::CameraConfig;
use veghe_vision::motion::MotionConfig;
use veghe_vision::pipeline::PipelineConfig;
use veghe_vision::tracker::TrackerConfig;
use veghe_vision::ModelConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded store and other local state live.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub store: StoreConfig,
    /// The MQTT broker embedded in the veghe process (the demo's default).
    pub broker: BrokerConfig,
    /// The broker ingest subscribes to.
    pub mqtt: MqttConfig,
    pub ingest: IngestConfig,
    pub maintenance: MaintenanceConfig,
    pub simulator: SimulatorConfig,
    /// Nodes registered (or updated) at start.
    pub nodes: Vec<NodeConfig>,
    /// The camera pipeline: ONNX Runtime, model, workers, motion gate, tracker.
    pub vision: VisionConfig,
    /// The cameras vision watches.
    pub cameras: Vec<CameraConfig>,
    /// Simulated cameras served in-process (the demo's).
    pub camera_simulator: CameraSimulatorConfig,
    /// How events become alerts: cooldown, severities, evidence retention, MQTT.
    pub alerts: crate::alerting::AlertsConfig,
    pub wall: WallConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./var"),
            http: HttpConfig::default(),
            store: StoreConfig::default(),
            broker: BrokerConfig::default(),
            mqtt: MqttConfig::default(),
            ingest: IngestConfig::default(),
            maintenance: MaintenanceConfig::default(),
            simulator: SimulatorConfig::default(),
            nodes: Vec::new(),
            vision: VisionConfig::default(),
            cameras: Vec::new(),
            camera_simulator: CameraSimulatorConfig::default(),
            alerts: crate::alerting::AlertsConfig::default(),
            wall: WallConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Mark session cookies Secure: set when veghe is served over TLS (behind a proxy).
    pub secure_cookies: bool,
    /// How long a log-in lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// `[wall]`: the dispatch wall's map.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WallConfig {
    /// Tile server, `https://…/{z}/{x}/{y}.png`; unset, the map draws without tiles.
    pub tile_url: Option<String>,
    /// Where the map starts, [lat, lon].
    pub center: [f64; 2],
    pub zoom: u8,
}

impl Default for WallConfig {
    fn default() -> Self {
        WallConfig {
            tile_url: None,
            center: [44.435, 26.025],
            zoom: 13,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user:pass@host/db` or `sqlite://PATH`; unset means
    /// `sqlite://{data_dir}/veghe.db`.
    pub url: Option<String>,
    pub max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: None,
            max_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    pub embedded: bool,
    pub listen: SocketAddr,
    pub max_connections: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            embedded: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            max_connections: 20_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceConfig {
    /// How often the 1-minute and 1-hour rollups catch up with new readings.
    #[serde(with = "humantime_serde")]
    pub rollup_interval: Duration,
    /// How often retention runs.
    #[serde(with = "humantime_serde")]
    pub retention_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_raw: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_minute: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_hour: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_dead_letters: Duration,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        MaintenanceConfig {
            rollup_interval: Duration::from_secs(10),
            retention_interval: Duration::from_secs(3600),
            keep_raw: day * 90,
            keep_minute: day * 400,
            keep_hour: day * 3650,
            keep_dead_letters: day * 30,
        }
    }
}

impl MaintenanceConfig {
    pub fn retention(&self) -> veghe_store::RetentionPolicy {
        veghe_store::RetentionPolicy {
            raw: self.keep_raw,
            minute: self.keep_minute,
            hour: self.keep_hour,
            dead_letters: self.keep_dead_letters,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    pub enabled: bool,
    pub nodes: usize,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            enabled: false,
            nodes: 60,
            interval: Duration::from_secs(10),
            seed: 6,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisionConfig {
    /// Run the pipeline when cameras are configured.
    pub enabled: bool,
    /// The ONNX Runtime shared library (tools/fetch-onnxruntime.sh puts it here).
    pub runtime_library: PathBuf,
    pub model: ModelConfig,
    pub pipeline: PipelineConfig,
    pub motion: MotionConfig,
    pub tracker: TrackerConfig,
}

/// Where tools/fetch-onnxruntime.sh puts the library, relative to the working directory.
pub const DEFAULT_RUNTIME_LIBRARY: &str = "vendor/onnxruntime/libonnxruntime.so.1.31.1";

impl Default for VisionConfig {
    fn default() -> Self {
        VisionConfig {
            enabled: true,
            runtime_library: PathBuf::from(DEFAULT_RUNTIME_LIBRARY),
            model: ModelConfig::default(),
            pipeline: PipelineConfig::default(),
            motion: MotionConfig::default(),
            tracker: TrackerConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraSimulatorConfig {
    pub enabled: bool,
    pub count: usize,
    pub listen: SocketAddr,
}

impl Default for CameraSimulatorConfig {
    fn default() -> Self {
        CameraSimulatorConfig {
            enabled: false,
            count: 24,
            listen: SocketAddr::from(([127, 0, 0, 1], 8554)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub id: NodeId,
    pub name: String,
    pub kind: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub installed_on: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub owner: String,
    #[serde(default = "yes")]
    pub public: bool,
}

fn yes() -> bool {
    true
}

impl NodeConfig {
    pub fn to_node(&self) -> Node {
        Node {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            lat: self.lat,
            lon: self.lon,
            installed_on: self.installed_on,
            owner: self.owner.clone(),
            public: self.public,
            status: NodeStatus::Active,
        }
    }
}

impl Config {
    /// Reads `path` (if any), applies `VEGHE_SECTION__KEY=value` overrides from `env`,
    /// and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (String::new(), "defaults".to_owned()),
        };
        Config::from_toml(&text, &origin, env)
    }

    pub fn from_toml(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut tree: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: origin.to_owned(),
                    message: e.to_string(),
                })?;
        let mut overridden = Vec::new();
        for (var, value) in env {
            let Some(path) = var.strip_prefix("VEGHE_") else {
                continue;
            };
            if !path.contains("__") && path != "DATA_DIR" {
                continue; // VEGHE_LOG, VEGHE_CONFIG and the like are not config keys.
            }
            let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
            set_path(&mut tree, &keys, env_value(&value)).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
            overridden.push(var);
        }
        let origin = if overridden.is_empty() {
            origin.to_owned()
        } else {
            format!("{origin} with {}", overridden.join(", "))
        };
        let config: Config =
            toml::Value::Table(tree)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin,
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if let Some(url) = &self.store.url {
            veghe_store::Backend::of_url(url)
                .map_err(|e| ConfigError::Invalid(format!("store.url: {e}")))?;
        }
        veghe_ingest::mqtt::parse_broker_url(&self.mqtt.url)
            .map_err(|e| ConfigError::Invalid(format!("mqtt.url: {e}")))?;
        if self.mqtt.client_id.is_empty() {
            return bad("mqtt.client_id must not be empty".into());
        }
        if self.mqtt.shared_group.contains(['/', '+', '#']) {
            return bad("mqtt.shared_group must not contain `/`, `+` or `#`".into());
        }
        if self.store.max_connections == 0 {
            return bad("store.max_connections must be at least 1".into());
        }
        let i = &self.ingest;
        if i.batch_rows == 0 || i.queue_capacity == 0 {
            return bad("ingest.batch_rows and ingest.queue_capacity must be at least 1".into());
        }
        if i.batch_interval.is_zero() {
            return bad("ingest.batch_interval must be more than 0".into());
        }
        if *i.limits.max_payload_bytes < 256 {
            return bad("ingest.limits.max_payload must be at least 256 B".into());
        }
        if *self.mqtt.max_packet_bytes < *i.limits.max_payload_bytes {
            return bad("mqtt.max_packet must be at least ingest.limits.max_payload".into());
        }
        let m = &self.maintenance;
        if m.rollup_interval.is_zero() || m.retention_interval.is_zero() {
            return bad("maintenance intervals must be more than 0".into());
        }
        if m.keep_hour < m.keep_minute {
            return bad("maintenance: keep_hour must be at least keep_minute".into());
        }
        if self.simulator.enabled && self.simulator.interval < Duration::from_millis(100) {
            return bad("simulator.interval must be at least 100ms".into());
        }
        self.vision.model.validate().map_err(|e| ConfigError::Invalid(format!("vision.model: {e}")))?;
        self.vision.pipeline.validate().map_err(|e| ConfigError::Invalid(format!("vision.pipeline: {e}")))?;
        if self.http.session_ttl < Duration::from_secs(60) {
            return bad("http.session_ttl must be at least 1 minute".into());
        }
        if !(-90.0..=90.0).contains(&self.wall.center[0]) || !(-180.0..=180.0).contains(&self.wall.center[1]) || self.wall.zoom > 22 {
            return bad("wall.center must be [lat, lon] and wall.zoom at most 22".into());
        }
        if let Some(url) = &self.wall.tile_url {
            if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with('/')) || !url.contains("{z}") {
                return bad(format!("wall.tile_url {url:?} must be an http(s) URL with {{z}}, {{x}} and {{y}}"));
            }
        }
        self.alerts
            .sensors
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("alerts.sensors: {e}")))?;
        let mut camera_ids = std::collections::HashSet::new();
        for c in &self.cameras {
            c.validate().map_err(ConfigError::Invalid)?;
            if !camera_ids.insert(c.id.as_str()) {
                return bad(format!("camera {} is configured twice", c.id));
            }
            for r in &c.rules {
                r.validate().map_err(|e| ConfigError::Invalid(format!("camera {}: rule {}: {e}", c.id, r.id)))?;
            }
        }
        for n in &self.nodes {
            if n.lat.is_some_and(|v| !(-90.0..=90.0).contains(&v))
                || n.lon.is_some_and(|v| !(-180.0..=180.0).contains(&v))
            {
                return bad(format!("node {}: lat/lon out of range", n.id));
            }
        }
        Ok(())
    }

    /// The store URL in effect.
    pub fn store_url(&self) -> String {
        self.store
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("veghe.db").display()))
    }
}

/// An environment value read as a TOML value when it is one (`5000`, `true`, `"1234"`,
/// `["a"]`), as a string otherwise.
fn env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(tree: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("empty key")?;
    let mut table = tree;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a section"))?;
    }
    table.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_shipped_example_parses() {
        let text = include_str!("../veghe.example.toml");
        let config = Config::from_toml(text, "veghe.example.toml", []).unwrap();
        assert!(config
            .store
            .url
            .as_deref()
            .unwrap()
            .starts_with("postgres://"));
        assert_eq!(config.ingest.batch_rows, 5000);
        assert_eq!(config.ingest.batch_interval, Duration::from_millis(200));
        assert_eq!(*config.ingest.limits.max_payload_bytes, 64 * 1024);
        assert!(!config.nodes.is_empty());
        assert_eq!(config.cameras.len(), 1);
        let camera = &config.cameras[0];
        assert_eq!(camera.calibration.len(), 4);
        assert_eq!(camera.rules.len(), 2);
        assert_eq!(camera.rules[0].after, Some(Duration::from_secs(60)));
        assert_eq!(config.vision.pipeline.rescore_every, Duration::from_secs(5));
        assert_eq!(config.vision.tracker.max_age, Duration::from_secs(120));
    }

    #[test]
    fn camera_mistakes_are_refused_with_the_camera_named() {
        let camera = |extra: &str| {
            format!(
                "[[cameras]]\nid = \"c1\"\nlocation = {{ lat = 44.4, lon = 26.0 }}\nsource = {{ kind = \"snapshot\", url = \"http://x/s.jpg\" }}\n{extra}"
            )
        };
        let cases = [
            (camera("fps = 0.0\n"), "fps"),
            (camera("[[cameras.rules]]\nid = \"r\"\nzone = \"nowhere\"\nkind = \"zone_enter\"\n"), "unknown zone"),
            (camera("[[cameras.zones]]\nid = \"z\"\npolygon = [{ x = 1.0, y = 1.0 }]\n"), "3 points"),
            (camera("colour = \"red\"\n"), "unknown field `colour`"),
            (format!("{}{}", camera(""), camera("")), "configured twice"),
            ("[vision.model]\nlayout = \"ssd\"\n".to_owned(), "unknown variant"),
        ];
        for (text, want) in cases {
            let err = Config::from_toml(&text, "test", []).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn env_overrides_win_and_keep_their_types() {
        let config = Config::from_toml(
            "[http]\nlisten = \"127.0.0.1:8080\"\n",
            "test",
            env(&[
                ("VEGHE_HTTP__LISTEN", "0.0.0.0:9000"),
                ("VEGHE_INGEST__BATCH_ROWS", "100"),
                ("VEGHE_INGEST__LIMITS__MAX_PAYLOAD", "1 MiB"),
                ("VEGHE_MQTT__PASSWORD", "\"1234\""),
                ("VEGHE_STORE__URL", "postgres://veghe@db/veghe"),
                ("VEGHE_LOG", "debug"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.http.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.ingest.batch_rows, 100);
        assert_eq!(*config.ingest.limits.max_payload_bytes, 1 << 20);
        assert_eq!(config.mqtt.password.as_deref(), Some("1234"));
        assert_eq!(config.store_url(), "postgres://veghe@db/veghe");
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let cases = [
            (
                "[http]\nlisen = \"127.0.0.1:80\"\n",
                "unknown field `lisen`",
            ),
            ("[ingest]\nbatch_interval = \"soon\"\n", "batch_interval"),
            ("[ingest]\nbatch_rows = 0\n", "batch_rows"),
            ("[store]\nurl = \"mysql://x\"\n", "store.url"),
            ("[mqtt]\nurl = \"http://x\"\n", "mqtt.url"),
            (
                "[ingest.limits]\nmax_payload = \"12 parsecs\"\n",
                "size unit",
            ),
            (
                "[[nodes]]\nid = \"a/b\"\nname = \"x\"\nkind = \"air\"\n",
                "node id",
            ),
            ("http = [", "TOML"),
        ];
        for (text, want) in cases {
            let err = Config::from_toml(text, "test", []).unwrap_err().to_string();
            assert!(err.contains(want) || want == "TOML", "{text:?}: {err}");
        }
        let err = Config::from_toml("", "test", env(&[("VEGHE_HTTP__NOPE", "1")])).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn defaults_are_embedded_and_local() {
        let config = Config::load(None, []).unwrap();
        assert_eq!(config.store_url(), "sqlite://./var/veghe.db");
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    }
}
