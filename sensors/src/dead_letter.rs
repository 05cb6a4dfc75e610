//! A rejected payload or value, kept with the reason it was rejected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why something was rejected. The code is stable (metrics label, API filter); the
/// dead letter's `detail` says the specifics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    MalformedJson,
    InvalidField,
    BadTopic,
    NodeMismatch,
    UnknownNode,
    UnknownQuantity,
    OutOfRange,
    NotFinite,
    FutureTimestamp,
    StaleTimestamp,
    PayloadTooLarge,
    Duplicate,
    Unauthorized,
    Empty,
}

impl RejectReason {
    pub const ALL: [RejectReason; 14] = [
        RejectReason::MalformedJson,
        RejectReason::InvalidField,
        RejectReason::BadTopic,
        RejectReason::NodeMismatch,
        RejectReason::UnknownNode,
        RejectReason::UnknownQuantity,
        RejectReason::OutOfRange,
        RejectReason::NotFinite,
        RejectReason::FutureTimestamp,
        RejectReason::StaleTimestamp,
        RejectReason::PayloadTooLarge,
        RejectReason::Duplicate,
        RejectReason::Unauthorized,
        RejectReason::Empty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::BadTopic => "bad_topic",
            RejectReason::NodeMismatch => "node_mismatch",
            RejectReason::UnknownNode => "unknown_node",
            RejectReason::UnknownQuantity => "unknown_quantity",
            RejectReason::OutOfRange => "out_of_range",
            RejectReason::NotFinite => "not_finite",
            RejectReason::FutureTimestamp => "future_timestamp",
            RejectReason::StaleTimestamp => "stale_timestamp",
            RejectReason::PayloadTooLarge => "payload_too_large",
            RejectReason::Duplicate => "duplicate",
            RejectReason::Unauthorized => "unauthorized",
            RejectReason::Empty => "empty",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RejectReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the whole message was refused (as opposed to one value in it).
    pub fn is_whole_message(self) -> bool {
        !matches!(
            self,
            RejectReason::UnknownQuantity | RejectReason::OutOfRange | RejectReason::NotFinite
        )
    }
}

/// Payload bytes kept in a dead letter, at most this many.
pub const DEAD_LETTER_PAYLOAD_MAX: usize = 4096;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub received_at: DateTime<Utc>,
    /// Where it came from: an MQTT topic or an HTTP route.
    pub source: String,
    pub node: Option<String>,
    pub reason: RejectReason,
    pub detail: String,
    /// The payload (or the offending value), cut to `DEAD_LETTER_PAYLOAD_MAX` bytes.
    pub payload: String,
}

impl DeadLetter {
    pub fn new(
        source: impl Into<String>,
        node: Option<String>,
        reason: RejectReason,
        detail: impl Into<String>,
        payload: &[u8],
    ) -> Self {
        let cut = &payload[..payload.len().min(DEAD_LETTER_PAYLOAD_MAX)];
        DeadLetter {
            received_at: Utc::now(),
            source: storable(source.into()),
            node: node.map(storable),
            reason,
            detail: storable(detail.into()),
            payload: storable(String::from_utf8_lossy(cut).into_owned()),
        }
    }
}

/// Text every store accepts: NUL (which PostgreSQL text refuses) becomes U+FFFD.
/// Everything in a dead letter may come from the network.
fn storable(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_text_is_made_storable_and_cut() {
        let d = DeadLetter::new(
            "veghe/v1/sensors/a\0b/readings",
            Some("a\0".into()),
            RejectReason::BadTopic,
            "x",
            &[b'{', 0, b'}'],
        );
        assert!(!d.source.contains('\0') && !d.payload.contains('\0'));
        assert_eq!(d.node.as_deref(), Some("a\u{FFFD}"));
        let big = DeadLetter::new(
            "s",
            None,
            RejectReason::PayloadTooLarge,
            "d",
            &[b'x'; 10_000],
        );
        assert_eq!(big.payload.len(), DEAD_LETTER_PAYLOAD_MAX);
    }
}
