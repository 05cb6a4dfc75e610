//! The ingest error type.

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] veghe_store::StoreError),
    #[error("ingest is shutting down")]
    ShuttingDown,
    #[error("MQTT client: {0}")]
    Mqtt(#[from] rumqttc::ClientError),
    #[error("invalid MQTT broker URL `{url}`: {reason}")]
    BrokerUrl { url: String, reason: String },
}
