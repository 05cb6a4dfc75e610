//! The public sensor map: a GeoJSON FeatureCollection of public nodes with their
//! latest values.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use veghe_sensors::{Node, NodeId, NodeStatus};
use veghe_store::LatestValue;

use crate::{ApiError, AppState};

fn is_public(node: &Node) -> bool {
    node.public && node.status == NodeStatus::Active
}

fn feature(node: &Node, latest: &[&LatestValue]) -> Value {
    let geometry = match (node.lon, node.lat) {
        (Some(lon), Some(lat)) => json!({ "type": "Point", "coordinates": [lon, lat] }),
        _ => Value::Null,
    };
    let values: BTreeMap<&str, Value> = latest
        .iter()
        .map(|l| {
            (
                l.quantity.name(),
                json!({ "value": l.value, "unit": l.quantity.unit(), "ts": l.ts }),
            )
        })
        .collect();
    let last_seen = latest.iter().map(|l| l.ts).max();
    json!({
        "type": "Feature",
        "id": node.id,
        "geometry": geometry,
        "properties": {
            "name": node.name,
            "kind": node.kind,
            "owner": node.owner,
            "installed_on": node.installed_on,
            "last_seen": last_seen,
            "values": values,
        }
    })
}

/// `GET /api/v1/sensors`
pub async fn map(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let nodes = state.store.nodes().await?;
    let latest = state.store.latest_values(true).await?;
    let mut by_node: BTreeMap<&NodeId, Vec<&LatestValue>> = BTreeMap::new();
    for l in &latest {
        by_node.entry(&l.node).or_default().push(l);
    }
    let features: Vec<Value> = nodes
        .iter()
        .filter(|n| is_public(n))
        .map(|n| feature(n, by_node.get(&n.id).map(Vec::as_slice).unwrap_or(&[])))
        .collect();
    Ok(Json(
        json!({ "type": "FeatureCollection", "features": features }),
    ))
}

/// `GET /api/v1/sensors/{id}`: one public node as a GeoJSON Feature.
pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = public_node(&state, &id).await?;
    let latest = state.store.latest_values(true).await?;
    let mine: Vec<&LatestValue> = latest.iter().filter(|l| l.node == node.id).collect();
    Ok(Json(feature(&node, &mine)))
}

/// A node that the public may see, or 404 (private and unknown look the same).
pub(crate) async fn public_node(state: &AppState, id: &str) -> Result<Node, ApiError> {
    let not_found = || ApiError::NotFound(format!("no public sensor `{id}`"));
    let id = NodeId::new(id).map_err(|_| not_found())?;
    match state.store.node(&id).await? {
        Some(node) if is_public(&node) => Ok(node),
        _ => Err(not_found()),
    }
}
