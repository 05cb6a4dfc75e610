//! The alert hub: raises alerts into the store (one open alert per key) and applies
//! dispatchers' transitions; a feed task follows the store's change log and announces
//! every change once, in sequence order, to whoever listens (WebSocket clients, the MQTT
//! publisher). The store's order is the only order: changes committed by concurrent
//! raisers, or by other veghe processes on the same database, come out in the order
//! their sequence numbers say, which is what makes a resumed stream gapless. Slow
//! listeners miss changes and are told to resynchronise; they never hold the others up.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;
use tokio::sync::{broadcast, Notify};
use veghe_alerts::{Alert, AlertId, AlertMessage, AlertState, ChangeEvent, RaisedEvent};
use veghe_store::{RaiseChange, Store, StoreError};

/// Changes kept for listeners that are momentarily behind.
const CHANNEL_CAPACITY: usize = 4096;
/// Changes read from the log at a time.
const FEED_BATCH: u32 = 1000;
/// The log is also read this often without a nudge (changes by other processes).
const FEED_POLL: Duration = Duration::from_secs(1);

/// A change as the hub announces it; `remote` when another veghe process made it (it
/// is shown to this process's clients, but published on MQTT by its maker).
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

/// A bounded set of recent change sequence numbers (the changes this process made, or
/// published), to tell them from other processes' changes.
#[derive(Debug, Default)]
pub struct RecentSeqs {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl RecentSeqs {
    /// How many are remembered; older ones are forgotten first.
    const CAPACITY: usize = 100_000;

    pub fn insert(&mut self, seq: i64) {
        if self.set.insert(seq) {
            self.order.push_back(seq);
            while self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    pub fn contains(&self, seq: i64) -> bool {
        self.set.contains(&seq)
    }

    /// Whether `seq` is remembered, forgetting it.
    pub fn take(&mut self, seq: i64) -> bool {
        self.set.remove(&seq)
    }
}

struct Shared {
    store: Store,
    changes: broadcast::Sender<Arc<Announced>>,
    nudge: Notify,
    /// Changes made in this process, not yet announced.
    local: Mutex<RecentSeqs>,
}

#[derive(Clone)]
pub struct AlertHub {
    shared: Arc<Shared>,
}

impl AlertHub {
    /// The hub over `store`, announcing changes committed from now on. Starts its feed
    /// task on the current tokio runtime; the task ends with the last clone of the hub.
    pub fn new(store: Store) -> Self {
        let (changes, _) = broadcast::channel(CHANNEL_CAPACITY);
        let shared = Arc::new(Shared {
            store,
            changes,
            nudge: Notify::new(),
            local: Mutex::new(RecentSeqs::default()),
        });
        tokio::spawn(feed(Arc::downgrade(&shared)));
        AlertHub { shared }
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Announced>> {
        self.shared.changes.subscribe()
    }

    /// Tells the feed that the log may have grown (this process wrote, or another
    /// process said so on the broker).
    pub fn nudge(&self) {
        self.shared.nudge.notify_one();
    }

    fn made_here(&self, alert: &Alert) {
        self.shared
            .local
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(alert.seq);
        self.nudge();
    }

    /// Creates an alert, or merges the event into the open alert of its key, or drops
    /// it within the key's cooldown. Returns the alert as stored when it changed.
    pub async fn raise(&self, event: &RaisedEvent, cooldown: Duration) -> Result<Option<Alert>, StoreError> {
        let outcome = self.shared.store.raise_alert(event, cooldown).await?;
        if outcome.change == RaiseChange::Suppressed {
            return Ok(None);
        }
        if let Some(alert) = &outcome.alert {
            if outcome.change == RaiseChange::Created {
                tracing::info!(alert.id = alert.id, alert.kind = %alert.kind, severity = %alert.severity,
                    source = %alert.source.id(), title = %alert.title, "alert raised");
            }
            self.made_here(alert);
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
            .shared
            .store
            .transition_alert(id, to, by, note, assignee, Utc::now())
            .await?;
        tracing::info!(alert.id = id, state = %alert.state, user = by, "alert transition");
        self.made_here(&alert);
        Ok(alert)
    }
}

/// What a change in the log means to a client that follows the stream.
pub fn event_of(alert: &Alert) -> ChangeEvent {
    if !alert.state.is_open() {
        ChangeEvent::End
    } else if alert.state == AlertState::New && alert.count == 1 {
        ChangeEvent::New
    } else {
        ChangeEvent::Update
    }
}

/// Follows the change log and announces each change in sequence order.
async fn feed(shared: Weak<Shared>) {
    let mut last = match shared.upgrade() {
        Some(s) => s.store.latest_alert_seq().await.unwrap_or(0),
        None => return,
    };
    loop {
        {
            // Held at most one poll interval: once the last hub is gone, the next
            // upgrade fails and the task ends. A nudge while reading is kept as a permit.
            let Some(s) = shared.upgrade() else { return };
            let _ = tokio::time::timeout(FEED_POLL, s.nudge.notified()).await;
        }
        let Some(s) = shared.upgrade() else { return };
        loop {
            match s.store.alert_changes_since(last, FEED_BATCH).await {
                Ok(alerts) => {
                    let n = alerts.len();
                    for alert in alerts {
                        last = last.max(alert.seq);
                        let remote = !s.local.lock().unwrap_or_else(|p| p.into_inner()).take(alert.seq);
                        let message = AlertMessage::new(event_of(&alert), alert);
                        // No listener is not an error.
                        let _ = s.changes.send(Arc::new(Announced::new(message, remote)));
                    }
                    if (n as u32) < FEED_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alert change log not readable; retrying");
                    break;
                }
            }
        }
    }
}
