//! A decoded sensor message (one node, one instant, several values) and the row it
//! becomes in the store.

use chrono::{DateTime, Utc};

use crate::{NodeId, Quantity};

/// One message from one node after decoding and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub node: NodeId,
    /// Node-side sequence number; `None` for protocols without one (airrohr), in which
    /// case the timestamp identifies the message for de-duplication.
    pub seq: Option<u64>,
    pub ts: DateTime<Utc>,
    pub values: Vec<(Quantity, f64)>,
}

/// One stored value: a node's quantity at an instant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reading {
    pub node: NodeId,
    pub quantity: Quantity,
    pub ts: DateTime<Utc>,
    pub value: f64,
}
