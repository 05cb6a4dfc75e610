//! The in-memory view of the node registry that ingest checks every message against.

use std::collections::HashMap;
use std::sync::RwLock;

use veghe_sensors::{Node, NodeId, NodeStatus};
use veghe_store::Store;

#[derive(Debug, Default)]
pub struct NodeRegistry {
    known: RwLock<HashMap<NodeId, NodeStatus>>,
}

impl NodeRegistry {
    pub async fn load(store: &Store) -> Result<Self, veghe_store::StoreError> {
        let nodes = store.nodes().await?;
        let registry = NodeRegistry::default();
        for node in &nodes {
            registry.insert(node);
        }
        Ok(registry)
    }

    pub fn status(&self, id: &NodeId) -> Option<NodeStatus> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }

    pub fn insert(&self, node: &Node) {
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(node.id.clone(), node.status);
    }

    pub fn len(&self) -> usize {
        self.known.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
