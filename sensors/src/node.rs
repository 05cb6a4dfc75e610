//! The node registry record and the node identifier.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A node identifier: 1-64 characters of `[A-Za-z0-9_.-]`, so that it is safe in an MQTT
/// topic level, a URL path segment and a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NodeId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeIdError {
    #[error("node id is empty")]
    Empty,
    #[error("node id is longer than 64 characters")]
    TooLong,
    #[error("node id contains `{0}`; allowed are letters, digits, `_`, `.` and `-`")]
    BadChar(char),
}

impl NodeId {
    pub fn new(id: impl Into<String>) -> Result<Self, NodeIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(NodeIdError::Empty);
        }
        if id.len() > 64 {
            return Err(NodeIdError::TooLong);
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(NodeIdError::BadChar(c));
        }
        Ok(NodeId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NodeId::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Whether a node's data is accepted as part of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Registered by an operator.
    Active,
    /// Seen on the wire but not registered; kept, never shown publicly.
    Pending,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Active => "active",
            NodeStatus::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(NodeStatus::Active),
            "pending" => Some(NodeStatus::Pending),
            _ => None,
        }
    }
}

/// A node of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    pub name: String,
    /// What it measures, e.g. `air`, `noise`, `air+noise`, `sensor-community`.
    pub kind: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub installed_on: Option<NaiveDate>,
    pub owner: String,
    pub public: bool,
    pub status: NodeStatus,
}

impl Node {
    /// The record created for a node first seen on the wire.
    pub fn pending(id: NodeId, kind: &str) -> Self {
        Node {
            name: id.to_string(),
            id,
            kind: kind.to_owned(),
            lat: None,
            lon: None,
            installed_on: None,
            owner: String::new(),
            public: false,
            status: NodeStatus::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        let cases: [(&str, Result<(), NodeIdError>); 6] = [
            ("s6-noise-001", Ok(())),
            ("esp8266-12345", Ok(())),
            ("", Err(NodeIdError::Empty)),
            ("a/b", Err(NodeIdError::BadChar('/'))),
            ("a+", Err(NodeIdError::BadChar('+'))),
            ("é", Err(NodeIdError::BadChar('é'))),
        ];
        for (id, want) in cases {
            assert_eq!(NodeId::new(id).map(|_| ()), want, "{id:?}");
        }
        assert_eq!(NodeId::new("x".repeat(65)), Err(NodeIdError::TooLong));
    }
}
