//! `GET /api/v1/alerts/stream` (WebSocket): a snapshot of the open alerts the user may
//! see, then every change, each with its sequence number. `?since=SEQ` resumes after a
//! reconnect without a gap (the changes after SEQ are replayed from the store's change
//! log). Each client has its own task and its own place in the hub's channel: a slow
//! client that falls behind is told to resynchronise, and nobody else waits for it.

use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use veghe_alerts::access::{may_view, visible_kinds};
use veghe_alerts::messages::resume;
use veghe_alerts::{Resume, Role, StreamMessage};

use super::hub::event_of;
use veghe_store::AlertQuery;

use crate::auth::Viewer;
use crate::{ApiError, AppState};

/// Changes replayed on resume before a snapshot is cheaper.
const MAX_REPLAY: u32 = 5000;
const PING_EVERY: Duration = Duration::from_secs(20);
/// A client that cannot take a message for this long is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Changes written to a client in one go at most.
const MAX_BATCH: usize = 256;

#[derive(Debug, Deserialize)]
pub struct StreamParams {
    since: Option<i64>,
}

pub async fn stream(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<StreamParams>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let role = viewer
        .role()
        .ok_or_else(|| ApiError::Unauthorized("log in to follow alerts".into()))?;
    let user = viewer.name().to_owned();
    Ok(ws.on_upgrade(move |socket| async move {
        if let Err(e) = serve(socket, state, role, p.since).await {
            tracing::debug!(user = %user, error = %e, "alert stream closed");
        }
    }))
}

async fn send(socket: &mut WebSocket, msg: &StreamMessage, role: Role) -> Result<(), String> {
    let Some(visible) = msg.for_role(Some(role)) else {
        return Ok(());
    };
    let text = visible.to_json().map_err(|e| e.to_string())?;
    send_text(socket, text.into()).await
}

/// Queues a message without writing it out yet.
async fn feed_text(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), String> {
    use futures_util::SinkExt;
    match tokio::time::timeout(SEND_TIMEOUT, socket.feed(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("client too slow".into()),
    }
}

async fn flush(socket: &mut WebSocket) -> Result<(), String> {
    use futures_util::SinkExt;
    match tokio::time::timeout(SEND_TIMEOUT, SinkExt::flush(socket)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("client too slow".into()),
    }
}

async fn send_text(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("client too slow".into()),
    }
}

/// The snapshot of open alerts, as of a sequence number read before the query (so no
/// change can fall between it and the live changes; a change may arrive twice, which
/// the client's seq check absorbs).
async fn snapshot(state: &AppState, role: Role) -> Result<StreamMessage, String> {
    let store = state.alerts.store();
    let seq = store.latest_alert_seq().await.map_err(|e| e.to_string())?;
    let query = AlertQuery {
        kinds: visible_kinds(Some(role)),
        limit: 5000,
        ..AlertQuery::default()
    };
    let alerts = store.alerts(&query).await.map_err(|e| e.to_string())?;
    Ok(StreamMessage::Snapshot { seq, alerts })
}

async fn serve(mut socket: WebSocket, state: AppState, role: Role, since: Option<i64>) -> Result<(), String> {
    // Listen before reading the store, so nothing changes unseen in between.
    let mut changes = state.alerts.subscribe();
    // The change log is never pruned, so every change after a seq this store issued can
    // be replayed; a seq it never issued (another database, a reset) gets a snapshot.
    let latest = state.alerts.store().latest_alert_seq().await.map_err(|e| e.to_string())?;
    let replay = match resume(since, Some(0), latest) {
        Resume::Replay { after } => {
            let changes = state
                .alerts
                .store()
                .alert_changes_since(after, MAX_REPLAY + 1)
                .await
                .map_err(|e| e.to_string())?;
            (changes.len() as u32 <= MAX_REPLAY).then_some((after, changes))
        }
        Resume::Snapshot => None,
    };
    let mut sent_seq = match replay {
        Some((after, changes)) => {
            let mut seq = after;
            for alert in changes {
                seq = seq.max(alert.seq);
                let event = event_of(&alert);
                send(&mut socket, &StreamMessage::Change { seq: alert.seq, event, alert }, role).await?;
            }
            seq
        }
        None => {
            let snap = snapshot(&state, role).await?;
            let seq = snap.seq().unwrap_or(0);
            send(&mut socket, &snap, role).await?;
            seq
        }
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(first) => {
                    // Whatever else is already waiting goes out in the same write: one
                    // flush per burst rather than per change keeps a busy wall cheap.
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match changes.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    let mut queued = false;
                    for announced in &batch {
                        let msg = &announced.message;
                        if msg.seq <= sent_seq {
                            continue; // already in the snapshot or the replay
                        }
                        sent_seq = msg.seq;
                        if !may_view(Some(role), msg.alert.kind) {
                            continue;
                        }
                        if let Some(json) = announced.stream_json() {
                            feed_text(&mut socket, json).await?;
                            queued = true;
                        }
                    }
                    if queued {
                        flush(&mut socket).await?;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "alert stream client fell behind; asking it to resync");
                    send(&mut socket, &StreamMessage::Resync, role).await?;
                    let snap = snapshot(&state, role).await?;
                    sent_seq = snap.seq().unwrap_or(sent_seq);
                    send(&mut socket, &snap, role).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = ping.tick() => send(&mut socket, &StreamMessage::Ping, role).await?,
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {} // clients only listen
            },
        }
    }
}
