//! The MQTT broker embedded in the veghe process (rumqttd) for the one-command demo and
//! small sites.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(
        "the MQTT address {0} is already in use (is another broker such as Mosquitto running \
         there?); pick another one with --mqtt 127.0.0.1:1884, or stop that broker"
    )]
    AddressInUse(SocketAddr),
    #[error("cannot listen on MQTT address {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid embedded broker configuration: {0}")]
    Config(String),
    #[error("the embedded broker did not start listening on {0} within 10 s")]
    NotListening(SocketAddr),
}

/// Starts rumqttd on `listen` (port 0 picks a free port) on its own threads and returns
/// the address once it accepts connections.
pub fn start_embedded(
    listen: SocketAddr,
    max_connections: usize,
    max_payload_bytes: usize,
) -> Result<SocketAddr, BrokerError> {
    // Probe first: rumqttd would only log a failed bind on its own thread.
    let probe = TcpListener::bind(listen).map_err(|source| match source.kind() {
        std::io::ErrorKind::AddrInUse => BrokerError::AddressInUse(listen),
        _ => BrokerError::Bind {
            addr: listen,
            source,
        },
    })?;
    let addr = probe.local_addr().map_err(|source| BrokerError::Bind {
        addr: listen,
        source,
    })?;
    drop(probe);

    let toml = format!(
        r#"
id = 0
[router]
id = 0
max_connections = {max_connections}
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "veghe-v4"
listen = "{addr}"
next_connection_delay_ms = 0
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = {max_payload_bytes}
max_inflight_count = 1000
dynamic_filters = true
"#
    );
    let config: rumqttd::Config =
        toml::from_str(&toml).map_err(|e| BrokerError::Config(e.to_string()))?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .map_err(|e| BrokerError::Config(format!("cannot start the broker thread: {e}")))?;

    // Ready once the port is bound: probing by binding opens no connection, so the
    // broker logs no aborted client.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpListener::bind(addr).is_err() {
            tracing::info!(mqtt.listen = %addr, "embedded MQTT broker listening");
            return Ok(addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(BrokerError::NotListening(addr))
}
