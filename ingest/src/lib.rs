//! Sensor ingest: decodes veghe's MQTT payloads and Sensor.Community (airrohr) pushes,
//! validates them, and writes them in batches to the store, acknowledging each MQTT
//! message to the broker only after what it carried is committed.
//!
//! Decoding is pure ([`wire`], [`airrohr`]); IO lives in [`writer`] and [`mqtt`].

pub mod airrohr;
mod config;
mod error;
mod lenient_json;
pub mod metrics;
pub mod mqtt;
mod registry;
pub mod wire;
pub mod writer;

pub use config::{ByteSize, IngestConfig, MqttConfig, UnknownNodePolicy, ValidationLimits};
pub use error::IngestError;
pub use metrics::IngestMetrics;
pub use registry::NodeRegistry;
pub use wire::Decoded;
pub use writer::{Completion, IngestHandle, Submission, WriteReceipt};

/// The topic filter (without any shared-subscription prefix) of veghe sensor data.
pub const SENSOR_TOPIC_FILTER: &str = "veghe/v1/sensors/+/readings";

/// The topic a node publishes its readings on.
pub fn sensor_topic(node: &str) -> String {
    format!("veghe/v1/sensors/{node}/readings")
}
