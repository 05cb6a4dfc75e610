//! The alert hub: raises alerts into the store (one open alert per key) and applies
//! dispatchers' transitions, then announces every change once, in store order, to
//! whoever listens (WebSocket clients, the MQTT publisher). Slow listeners miss changes
//! and are told to resynchronise; they never hold the others up.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;
use tokio::sync::broadcast;
use veghe_alerts::{Alert, AlertId, AlertMessage, AlertState, ChangeEvent, RaisedEvent};
use veghe_store::{RaiseChange, Store, StoreError};

/// Changes kept for listeners that are momentarily behind.
const CHANNEL_CAPACITY: usize = 4096;

/// A change as the hub announces it: made here, or by another veghe process (heard
/// on the broker; shown to this process's clients, not published again).
#[derive(Debug)]
pub struct Announced {
    pub message: AlertMessage,
    pub remote: bool,
    /// The stream message as JSON, encoded once for every client that may see it.
    stream_json: std::sync::OnceLock<Option<Utf8Bytes>>,
}

impl Announced {
    fn new(message: AlertMessage, remote: bool) -> Self {
        Announced {
            message,
            remote,
            stream_json: std::sync::OnceLock::new(),
        }
    }

    /// `{"type":"change",…}` for the WebSocket stream.
    pub fn stream_json(&self) -> Option<Utf8Bytes> {
        self.stream_json
            .get_or_init(|| {
                veghe_alerts::StreamMessage::change(self.message.clone())
                    .to_json()
                    .ok()
                    .map(Utf8Bytes::from)
            })
            .clone()
    }
}

#[derive(Clone)]
pub struct AlertHub {
    store: Store,
    changes: broadcast::Sender<Arc<Announced>>,
}

impl AlertHub {
    pub fn new(store: Store) -> Self {
        let (changes, _) = broadcast::channel(CHANNEL_CAPACITY);
        AlertHub { store, changes }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Announced>> {
        self.changes.subscribe()
    }

    fn announce(&self, message: AlertMessage) {
        // No listener is not an error.
        let _ = self.changes.send(Arc::new(Announced::new(message, false)));
    }

    /// A change another veghe process made (sharing the database), for this process's
    /// clients.
    pub fn announce_remote(&self, message: AlertMessage) {
        let _ = self.changes.send(Arc::new(Announced::new(message, true)));
    }

    /// Creates an alert, or merges the event into the open alert of its key, or drops
    /// it within the key's cooldown. Returns the alert as stored when it changed.
    pub async fn raise(&self, event: &RaisedEvent, cooldown: Duration) -> Result<Option<Alert>, StoreError> {
        let outcome = self.store.raise_alert(event, cooldown).await?;
        let event_kind = match outcome.change {
            RaiseChange::Created => ChangeEvent::New,
            RaiseChange::Updated => ChangeEvent::Update,
            RaiseChange::Suppressed => return Ok(None),
        };
        if let Some(alert) = &outcome.alert {
            if outcome.change == RaiseChange::Created {
                tracing::info!(alert.id = alert.id, alert.kind = %alert.kind, severity = %alert.severity,
                    source = %alert.source.id(), title = %alert.title, "alert raised");
            }
            self.announce(AlertMessage::new(event_kind, alert.clone()));
        }
        Ok(outcome.alert)
    }

    /// Moves an alert along its lifecycle on behalf of `by`.
    pub async fn transition(
        &self,
        id: AlertId,
        to: AlertState,
        by: &str,
        note: Option<&str>,
        assignee: Option<&str>,
    ) -> Result<Alert, StoreError> {
        let alert = self
            .store
            .transition_alert(id, to, by, note, assignee, Utc::now())
            .await?;
        let event = if alert.state.is_open() {
            ChangeEvent::Update
        } else {
            ChangeEvent::End
        };
        tracing::info!(alert.id = id, state = %alert.state, user = by, "alert transition");
        self.announce(AlertMessage::new(event, alert.clone()));
        Ok(alert)
    }
}
