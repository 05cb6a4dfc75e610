//! The batching writer: collects decoded submissions from every transport, writes them
//! to the store in batches (by size, age and idleness), and only then completes each
//! one — an MQTT acknowledgement to the broker or an HTTP reply. A failed write is
//! retried and nothing is acknowledged until it succeeds, so the broker keeps every
//! message it handed over until it is durable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;
use veghe_sensors::{DeadLetter, Message, Node, NodeId, Quantity, RejectReason};
use veghe_store::{LatestValue, Store};

use crate::{Decoded, IngestConfig, IngestError, IngestMetrics, NodeRegistry, UnknownNodePolicy};

/// How a submission is completed once its batch is committed.
pub enum Completion {
    /// Acknowledge a QoS 1 publish to the broker.
    Mqtt {
        client: rumqttc::AsyncClient,
        publish: rumqttc::Publish,
    },
    /// Answer a waiting request.
    Reply(oneshot::Sender<Result<WriteReceipt, IngestError>>),
    None,
}

/// One decoded payload on its way to the store.
pub struct Submission {
    pub decoded: Decoded,
    /// Registry kind for a node first seen through this submission.
    pub node_kind: &'static str,
    /// Position the node reported, used when it is registered as pending.
    pub location: Option<(f64, f64)>,
    pub completion: Completion,
}

/// What happened to one submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteReceipt {
    /// Values stored (0 when the message was a duplicate or refused).
    pub stored: usize,
    pub duplicate: bool,
    /// Dead letters written for this submission.
    pub rejected: usize,
}

/// Sends submissions to the writer. The writer flushes and stops once every handle is
/// dropped.
#[derive(Clone)]
pub struct IngestHandle {
    tx: mpsc::Sender<Submission>,
    pub config: Arc<IngestConfig>,
    pub metrics: Arc<IngestMetrics>,
    pub registry: Arc<NodeRegistry>,
}

impl IngestHandle {
    /// Queues a submission, waiting while the writer is saturated (back-pressure).
    pub async fn submit(&self, submission: Submission) -> Result<(), IngestError> {
        self.tx
            .send(submission)
            .await
            .map_err(|_| IngestError::ShuttingDown)
    }

    /// Room for one submission in the writer's queue, waited for without borrowing
    /// the handle.
    pub async fn reserve_owned(&self) -> Result<mpsc::OwnedPermit<Submission>, IngestError> {
        self.tx
            .clone()
            .reserve_owned()
            .await
            .map_err(|_| IngestError::ShuttingDown)
    }

    /// Queues a submission and waits until it is committed.
    pub async fn submit_and_wait(
        &self,
        decoded: Decoded,
        node_kind: &'static str,
        location: Option<(f64, f64)>,
    ) -> Result<WriteReceipt, IngestError> {
        let (tx, rx) = oneshot::channel();
        self.submit(Submission {
            decoded,
            node_kind,
            location,
            completion: Completion::Reply(tx),
        })
        .await?;
        rx.await.map_err(|_| IngestError::ShuttingDown)?
    }
}

/// Starts the writers; the returned task ends when every writer has flushed and
/// stopped.
pub fn spawn(
    store: Store,
    registry: Arc<NodeRegistry>,
    config: IngestConfig,
    metrics: Arc<IngestMetrics>,
) -> (IngestHandle, JoinHandle<()>) {
    spawn_observed(store, registry, config, metrics, None)
}

/// Committed messages, handed to whoever follows readings as they are stored (the
/// sensor alert rules).
pub type CommittedMessages = Arc<Vec<Message>>;

/// As [`spawn`], and every committed batch's new messages also go to `observer`. The
/// observer must keep up: when its queue is full a batch is skipped for it (counted in
/// `observer_dropped`), never delaying the writes.
pub fn spawn_observed(
    store: Store,
    registry: Arc<NodeRegistry>,
    config: IngestConfig,
    metrics: Arc<IngestMetrics>,
    observer: Option<mpsc::Sender<CommittedMessages>>,
) -> (IngestHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let config = Arc::new(config);
    let handle = IngestHandle {
        tx,
        config: config.clone(),
        metrics: metrics.clone(),
        registry: registry.clone(),
    };
    let writers: Vec<_> = (0..config.writers.max(1))
        .map(|_| {
            let writer = Writer {
                store: store.clone(),
                registry: registry.clone(),
                config: config.clone(),
                metrics: metrics.clone(),
                rx: rx.clone(),
                latest: HashMap::new(),
                latest_flushed: Instant::now(),
                observer: observer.clone(),
            };
            tokio::spawn(writer.run())
        })
        .collect();
    let all = tokio::spawn(async move {
        for w in writers {
            let _ = w.await;
        }
    });
    (handle, all)
}

struct Writer {
    observer: Option<mpsc::Sender<CommittedMessages>>,
    store: Store,
    registry: Arc<NodeRegistry>,
    config: Arc<IngestConfig>,
    metrics: Arc<IngestMetrics>,
    /// Shared by the writers: whoever holds it collects the next batch.
    rx: Arc<Mutex<mpsc::Receiver<Submission>>>,
    /// Newest value per node and quantity not yet recorded as latest.
    latest: HashMap<(NodeId, Quantity), (DateTime<Utc>, f64)>,
    latest_flushed: Instant,
}

fn rows_of(s: &Submission) -> usize {
    s.decoded.message.as_ref().map_or(0, |m| m.values.len()) + s.decoded.dead_letters.len()
}

/// What collecting found.
enum Collected {
    Batch(Vec<Submission>),
    /// Nothing arrived before latest values were due.
    Idle,
    Closed,
}

impl Writer {
    async fn run(mut self) {
        loop {
            // A writer with latest values due must not wait behind another writer that
            // holds the queue while it is idle.
            let rx = self.rx.clone();
            let guard = if self.latest.is_empty() {
                Some(rx.lock_owned().await)
            } else {
                tokio::time::timeout(self.latest_due_in(), rx.lock_owned())
                    .await
                    .ok()
            };
            let collected = match guard {
                Some(mut rx) => self.collect(&mut rx).await,
                None => Collected::Idle,
            };
            match collected {
                Collected::Batch(batch) => self.flush(batch).await,
                Collected::Idle => {}
                Collected::Closed => break,
            }
            if !self.latest.is_empty()
                && self.latest_flushed.elapsed() >= self.config.latest_interval
            {
                self.flush_latest().await;
            }
        }
        self.flush_latest().await;
        tracing::debug!("ingest writer stopped: every sender is gone");
    }

    async fn collect(&self, rx: &mut mpsc::Receiver<Submission>) -> Collected {
        let first = if self.latest.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(self.latest_due_in(), rx.recv()).await {
                Ok(s) => s,
                Err(_) => return Collected::Idle,
            }
        };
        let Some(first) = first else {
            return Collected::Closed;
        };
        let started = Instant::now();
        let mut rows = rows_of(&first);
        let mut batch = vec![first];
        let deadline = started + self.config.batch_interval;
        while rows < self.config.batch_rows {
            // Take what is already queued without waiting.
            match rx.try_recv() {
                Ok(s) => {
                    rows += rows_of(&s);
                    batch.push(s);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = self.config.batch_idle.min(deadline - now);
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(s)) => {
                    rows += rows_of(&s);
                    batch.push(s);
                }
                Ok(None) => break,
                Err(_) => break, // idle: flush what we have
            }
        }
        Collected::Batch(batch)
    }

    fn latest_due_in(&self) -> Duration {
        self.config
            .latest_interval
            .saturating_sub(self.latest_flushed.elapsed())
    }

    /// Records the coalesced latest values; on failure they are kept for the next try.
    async fn flush_latest(&mut self) {
        self.latest_flushed = Instant::now();
        if self.latest.is_empty() {
            return;
        }
        let values: Vec<LatestValue> = self
            .latest
            .iter()
            .map(|((node, quantity), (ts, value))| LatestValue {
                node: node.clone(),
                quantity: *quantity,
                ts: *ts,
                value: *value,
            })
            .collect();
        match self.store.upsert_latest(&values).await {
            Ok(()) => self.latest.clear(),
            Err(e) => {
                self.metrics
                    .store_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(error = %e, values = values.len(), "latest values not recorded; retrying");
            }
        }
    }

    async fn flush(&mut self, mut batch: Vec<Submission>) {
        let mut messages: Vec<Message> = Vec::with_capacity(batch.len());
        let mut owners: Vec<usize> = Vec::with_capacity(batch.len());
        let mut letters: Vec<DeadLetter> = Vec::new();
        let mut letter_owner: Vec<usize> = Vec::new();
        let mut pending: Vec<Node> = Vec::new();
        for (i, sub) in batch.iter_mut().enumerate() {
            for letter in sub.decoded.dead_letters.drain(..) {
                letters.push(letter);
                letter_owner.push(i);
            }
            let Some(message) = sub.decoded.message.take() else {
                continue;
            };
            if self.registry.status(&message.node).is_none()
                && !pending.iter().any(|n| n.id == message.node)
            {
                match self.config.unknown_nodes {
                    UnknownNodePolicy::Register => {
                        let mut node = Node::pending(message.node.clone(), sub.node_kind);
                        if let Some((lat, lon)) = sub.location {
                            node.lat = Some(lat);
                            node.lon = Some(lon);
                        }
                        pending.push(node);
                    }
                    UnknownNodePolicy::Reject => {
                        letters.push(DeadLetter::new(
                            "registry",
                            Some(message.node.to_string()),
                            RejectReason::UnknownNode,
                            format!("node `{}` is not registered", message.node),
                            describe(&message).as_bytes(),
                        ));
                        letter_owner.push(i);
                        continue;
                    }
                }
            }
            messages.push(message);
            owners.push(i);
        }

        let started = Instant::now();
        let outcome = self.write_with_retry(&pending, &messages, &letters).await;
        for node in &pending {
            self.registry.insert(node);
        }
        // Duplicates are dead-lettered too, with what identified them.
        let duplicates: Vec<DeadLetter> = outcome
            .duplicates
            .iter()
            .filter_map(|&i| messages.get(i))
            .map(|m| {
                DeadLetter::new(
                    "store",
                    Some(m.node.to_string()),
                    RejectReason::Duplicate,
                    match m.seq {
                        Some(seq) => format!("seq {seq} of node `{}` is already stored", m.node),
                        None => format!(
                            "a message of node `{}` at {} is already stored",
                            m.node, m.ts
                        ),
                    },
                    describe(m).as_bytes(),
                )
            })
            .collect();
        if !duplicates.is_empty() {
            self.write_with_retry(&[], &[], &duplicates).await;
        }
        let committed = Utc::now();
        self.metrics.batch_latency.observe(started.elapsed());
        self.metrics
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for letter in letters.iter().chain(&duplicates) {
            self.metrics.reject(letter.reason);
        }

        let mut receipts = vec![WriteReceipt::default(); batch.len()];
        for &o in &letter_owner {
            receipts[o].rejected += 1;
        }
        let mut stored_messages = 0u64;
        let mut stored_values = 0u64;
        let mut observed = Vec::new();
        for (mi, (message, &owner)) in messages.iter().zip(&owners).enumerate() {
            if outcome.duplicates.binary_search(&mi).is_ok() {
                receipts[owner].duplicate = true;
                receipts[owner].rejected += 1;
            } else {
                if self.observer.is_some() {
                    observed.push(message.clone());
                }
                receipts[owner].stored = message.values.len();
                stored_messages += 1;
                stored_values += message.values.len() as u64;
                for (q, v) in &message.values {
                    let entry = self
                        .latest
                        .entry((message.node.clone(), *q))
                        .or_insert((message.ts, *v));
                    if message.ts > entry.0 {
                        *entry = (message.ts, *v);
                    }
                }
                if let Ok(lag) = committed.signed_duration_since(message.ts).to_std() {
                    self.metrics.commit_lag.observe(lag);
                }
            }
        }
        self.metrics
            .messages_stored
            .fetch_add(stored_messages, std::sync::atomic::Ordering::Relaxed);
        self.metrics
            .readings_stored
            .fetch_add(stored_values, std::sync::atomic::Ordering::Relaxed);

        if let (Some(observer), false) = (&self.observer, observed.is_empty()) {
            if observer.try_send(Arc::new(observed)).is_err() {
                self.metrics
                    .observer_dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }

        for (sub, receipt) in batch.into_iter().zip(receipts) {
            match sub.completion {
                Completion::Mqtt { client, publish } => {
                    // A lost ack only means a redelivery, which de-duplication absorbs.
                    if let Err(e) = client.ack(&publish).await {
                        tracing::debug!(error = %e, "MQTT ack not sent; the broker will redeliver");
                    }
                }
                Completion::Reply(tx) => {
                    let _ = tx.send(Ok(receipt));
                }
                Completion::None => {}
            }
        }
    }

    /// Writes until it succeeds; the store being away must not lose anything, and
    /// nothing is acknowledged meanwhile.
    async fn write_with_retry(
        &self,
        pending: &[Node],
        messages: &[Message],
        letters: &[DeadLetter],
    ) -> veghe_store::WriteOutcome {
        let mut backoff = Duration::from_millis(100);
        let mut failures = 0u32;
        loop {
            let attempt = async {
                if !pending.is_empty() {
                    self.store.register_pending(pending).await?;
                }
                self.store.write_batch(messages, letters).await
            };
            match attempt.await {
                Ok(outcome) => {
                    if failures > 0 {
                        tracing::info!(failures, "store writes recovered");
                    }
                    return outcome;
                }
                Err(e) => {
                    self.metrics
                        .store_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if failures == 0 {
                        tracing::error!(error = %e, messages = messages.len(),
                            "batch write failed; retrying until the store accepts it");
                    }
                    failures += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// A short JSON description of a message for a dead letter.
fn describe(m: &Message) -> String {
    serde_json::json!({
        "node": m.node.as_str(),
        "seq": m.seq,
        "ts": m.ts.to_rfc3339(),
        "values": m.values.iter().map(|(q, v)| (q.name().to_owned(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
    })
    .to_string()
}
