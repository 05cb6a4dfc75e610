//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `POST /api/v1/alerts/{id}/transitions`,
//! `GET /api/v1/alerts/{id}/evidence`, `GET /api/v1/cameras`, `GET /api/v1/audit`.
//! Every view of an evidence frame and every transition goes into the audit log.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use veghe_alerts::access::{may_act, may_view, visible_kinds};
use veghe_alerts::{Alert, AlertKind, AlertState, Role, Severity};
use veghe_store::{AlertQuery, AuditEntry};

use crate::api::parse_time;
use crate::auth::{Acting, Viewer};
use crate::{ApiError, AppState, CameraInfo};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    state: Option<String>,
    kind: Option<String>,
    severity: Option<String>,
    /// min_lon,min_lat,max_lon,max_lat (GeoJSON order).
    bbox: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

fn csv<T: std::str::FromStr<Err = String>>(name: &str, value: Option<&str>) -> Result<Vec<T>, ApiError> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e: String| ApiError::BadRequest(format!("`{name}`: {e}"))))
        .collect()
}

fn parse_bbox(value: Option<&str>) -> Result<Option<(f64, f64, f64, f64)>, ApiError> {
    let Some(v) = value else {
        return Ok(None);
    };
    let nums: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::BadRequest(format!("`bbox` is min_lon,min_lat,max_lon,max_lat: {v:?}")))?;
    match nums[..] {
        [min_lon, min_lat, max_lon, max_lat]
            if nums.iter().all(|n| n.is_finite()) && min_lon <= max_lon && min_lat <= max_lat =>
        {
            Ok(Some((min_lat, min_lon, max_lat, max_lon)))
        }
        _ => Err(ApiError::BadRequest(format!("`bbox` is min_lon,min_lat,max_lon,max_lat: {v:?}"))),
    }
}

/// Not logged in: 401. Logged in: the kinds the role may see.
fn require_viewer(viewer: &Viewer) -> Result<Role, ApiError> {
    viewer
        .role()
        .ok_or_else(|| ApiError::Unauthorized("log in to see alerts".into()))
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let role = require_viewer(&viewer)?;
    let allowed = visible_kinds(Some(role));
    let mut kinds: Vec<AlertKind> = csv("kind", p.kind.as_deref())?;
    if kinds.is_empty() {
        kinds = allowed.clone();
    } else if let Some(k) = kinds.iter().find(|k| !allowed.contains(k)) {
        return Err(ApiError::Forbidden(format!("a {role} may not see {k} alerts")));
    }
    let query = AlertQuery {
        states: csv::<AlertState>("state", p.state.as_deref())?,
        kinds,
        severities: csv::<Severity>("severity", p.severity.as_deref())?,
        area: parse_bbox(p.bbox.as_deref())?,
        since: parse_time("since", p.since.as_deref())?,
        limit: p.limit.unwrap_or(500).clamp(1, 5000),
    };
    let seq = state.alerts.store().latest_alert_seq().await?;
    let alerts = state.alerts.store().alerts(&query).await?;
    Ok(Json(json!({ "alerts": alerts, "seq": seq })))
}

async fn visible_alert(state: &AppState, role: Role, id: i64) -> Result<Alert, ApiError> {
    let alert = state
        .alerts
        .store()
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} not found")))?;
    if !may_view(Some(role), alert.kind) {
        // Police data: not even its existence is told to others.
        return Err(ApiError::NotFound(format!("alert {id} not found")));
    }
    Ok(alert)
}

pub async fn one(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let role = require_viewer(&viewer)?;
    let alert = visible_alert(&state, role, id).await?;
    let timeline = state.alerts.store().alert_timeline(id).await?;
    Ok(Json(json!({ "alert": alert, "timeline": timeline })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    to: AlertState,
    note: Option<String>,
    assignee: Option<String>,
}

pub async fn transition(
    State(state): State<AppState>,
    Acting(user): Acting,
    Path(id): Path<i64>,
    Json(req): Json<TransitionRequest>,
) -> Result<Json<Value>, ApiError> {
    let current = visible_alert(&state, user.role, id).await?;
    if !may_act(Some(user.role), current.kind) {
        return Err(ApiError::Forbidden(format!("a {} may not act on {} alerts", user.role, current.kind)));
    }
    if req.note.as_ref().is_some_and(|n| n.len() > 4000) {
        return Err(ApiError::BadRequest("a note is at most 4000 bytes".into()));
    }
    let alert = state
        .alerts
        .transition(id, req.to, &user.name, req.note.as_deref(), req.assignee.as_deref())
        .await?;
    state
        .alerts
        .store()
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: user.name.clone(),
            action: "alert_transition".into(),
            target: format!("alert/{id}"),
            detail: json!({ "from": current.state, "to": alert.state, "note": req.note, "assignee": req.assignee }),
        })
        .await?;
    Ok(Json(json!({ "alert": alert })))
}

pub async fn evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let role = require_viewer(&viewer)?;
    visible_alert(&state, role, id).await?;
    let jpeg = state
        .alerts
        .store()
        .alert_evidence(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} has no evidence frame")))?;
    state
        .alerts
        .store()
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: viewer.name().to_owned(),
            action: "view_evidence".into(),
            target: format!("alert/{id}"),
            detail: json!({ "bytes": jpeg.len() }),
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        jpeg,
    )
        .into_response())
}

/// The cameras of the registry for the wall's map (police data): every veghe process
/// sharing the database registers its own.
pub async fn cameras(State(state): State<AppState>, viewer: Viewer) -> Result<Json<Value>, ApiError> {
    let role = require_viewer(&viewer)?;
    if !role.sees_police_data() {
        return Err(ApiError::Forbidden(format!("a {role} may not see the cameras")));
    }
    let cameras: Vec<CameraInfo> = state
        .store
        .cameras()
        .await?
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| CameraInfo {
            bearing_deg: c.config["bearing_deg"].as_f64().unwrap_or(0.0),
            fov_deg: c.config["fov_deg"].as_f64().unwrap_or(90.0),
            id: c.id,
            name: c.name,
            lat: c.lat,
            lon: c.lon,
        })
        .collect();
    Ok(Json(json!({ "cameras": cameras })))
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    since: Option<String>,
    limit: Option<u32>,
}

/// The audit log, for supervisors and admins.
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    let role = require_viewer(&viewer)?;
    if !matches!(role, Role::Supervisor | Role::Admin) {
        return Err(ApiError::Forbidden(format!("a {role} may not read the audit log")));
    }
    let entries = state
        .store
        .audit_log(parse_time("since", p.since.as_deref())?, p.limit.unwrap_or(200).clamp(1, 10_000))
        .await?;
    Ok(Json(json!({ "audit": entries })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_table() {
        assert_eq!(parse_bbox(None).unwrap(), None);
        assert_eq!(parse_bbox(Some("26.0,44.4,26.1,44.5")).unwrap(), Some((44.4, 26.0, 44.5, 26.1)));
        for bad in ["26,44,26.1", "a,b,c,d", "26.1,44.4,26.0,44.5", "NaN,1,2,3"] {
            assert!(parse_bbox(Some(bad)).is_err(), "{bad}");
        }
        let states: Vec<AlertState> = csv("state", Some("new, acknowledged")).unwrap();
        assert_eq!(states, vec![AlertState::New, AlertState::Acknowledged]);
        assert!(csv::<AlertState>("state", Some("new,bogus")).is_err());
    }
}
