//! An inference worker: a dedicated thread owning one ONNX session, a JPEG decoder and
//! encoder. It takes cameras from the scheduler (up to a batch at a time), decodes at
//! reduced scale, runs the motion gate, scores the frames that need it in one batch,
//! then tracks, applies the rules, geolocates and emits events with evidence frames.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;

use crate::camera::masked;
use crate::detection::Detection;
use crate::event::VisionEvent;
use crate::image::{decode_png, is_png};
use crate::jpeg::{JpegDecoder, JpegEncoder};
use crate::pipeline::camera_state::CameraState;
use crate::pipeline::scheduler::Scheduler;
use crate::pipeline::stats::{Stage, Stats};
use crate::rules::RuleHit;
use crate::runtime::Detector;
use crate::source::EncodedFrame;
use crate::VisionError;

/// What the workers share.
pub struct WorkerContext {
    pub scheduler: Arc<Scheduler>,
    pub cameras: Arc<Vec<Mutex<CameraState>>>,
    pub stats: Arc<Stats>,
    pub events: UnboundedSender<VisionEvent>,
    pub batch: usize,
    pub rescore_every: Duration,
    pub evidence_quality: u8,
}

fn lock(m: &Mutex<CameraState>) -> MutexGuard<'_, CameraState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The worker thread's loop; returns when the scheduler stops.
pub fn run(ctx: Arc<WorkerContext>, mut detector: Detector) {
    let (mut decoder, mut encoder) = match (JpegDecoder::new(), JpegEncoder::new(ctx.evidence_quality)) {
        (Ok(d), Ok(e)) => (d, e),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "inference worker cannot start");
            return;
        }
    };
    let (input_w, input_h) = detector.input_size();
    let mut picked: Vec<(usize, EncodedFrame)> = Vec::with_capacity(ctx.batch);
    let mut results = Vec::with_capacity(ctx.batch);
    while let Some(first) = ctx.scheduler.next() {
        picked.clear();
        picked.push(first);
        while picked.len() < ctx.batch {
            match ctx.scheduler.try_next() {
                Some(more) => picked.push(more),
                None => break,
            }
        }
        // Stage 1: decode and motion; keep the cameras whose frame needs the model.
        let mut states: Vec<(usize, MutexGuard<'_, CameraState>, DateTime<Utc>)> = Vec::new();
        for (camera, frame) in picked.drain(..) {
            let mut state = lock(&ctx.cameras[camera]);
            match prepare(&ctx, &mut state, &frame, &mut decoder, input_w, input_h) {
                Ok(true) => states.push((camera, state, frame.captured)),
                Ok(false) => {
                    // Nothing moved: tracks coast, time-based rules still run.
                    let now = frame.captured;
                    let tracks = state.tracker.coast(now).to_vec();
                    let hits = state.rules.evaluate(&tracks, now);
                    emit(&ctx, &mut state, hits, now, &mut encoder);
                    drop(state);
                    ctx.scheduler.done(camera);
                }
                Err(()) => {
                    drop(state);
                    ctx.scheduler.done(camera);
                }
            }
        }
        if states.is_empty() {
            continue;
        }
        // Stage 2: one batch through the model.
        let started = Instant::now();
        let frames: Vec<&crate::image::RgbImage> = states.iter().map(|(_, s, _)| &s.decoded).collect();
        let prepared = detector.prepare(&frames);
        let preprocessed = Instant::now();
        let outcome = prepared.and_then(|()| detector.run_prepared(frames.len(), &mut results));
        let n = frames.len() as u64;
        ctx.stats.add(Stage::Preprocess, preprocessed - started, n);
        match outcome {
            Ok(timings) => {
                ctx.stats.add(Stage::Infer, timings.infer, n);
                let post_started = Instant::now();
                for ((camera, mut state, now), dets) in states.drain(..).zip(results.drain(..)) {
                    Stats::bump(&ctx.stats.frames_scored);
                    let hits = track_and_rules(&mut state, dets, input_w, input_h, now);
                    emit(&ctx, &mut state, hits, now, &mut encoder);
                    drop(state);
                    ctx.scheduler.done(camera);
                }
                ctx.stats.add(Stage::Post, timings.post + post_started.elapsed(), n);
            }
            Err(e) => {
                Stats::bump(&ctx.stats.inference_errors);
                tracing::error!(error = %e, cameras = states.len(), "inference failed; frames skipped");
                for (camera, state, _) in states.drain(..) {
                    drop(state);
                    ctx.scheduler.done(camera);
                }
            }
        }
    }
}

/// Decodes the frame and runs the motion gate. Ok(true) when the frame needs the
/// model: something moved, or tracked objects are due a re-check.
fn prepare(
    ctx: &WorkerContext,
    state: &mut CameraState,
    frame: &EncodedFrame,
    decoder: &mut JpegDecoder,
    input_w: u32,
    input_h: u32,
) -> Result<bool, ()> {
    let started = Instant::now();
    let decoded = decode(&frame.bytes, decoder, input_w, input_h, &mut state.decoded);
    let (full_w, full_h) = match decoded {
        Ok(size) => size,
        Err(e) => {
            Stats::bump(&ctx.stats.decode_errors);
            let message = e.to_string();
            if state.decode_error.as_deref() != Some(&message) {
                tracing::warn!(camera.id = %state.config.id, error = %message, "frame refused");
                state.decode_error = Some(message);
            }
            return Err(());
        }
    };
    if state.decode_error.take().is_some() {
        tracing::info!(camera.id = %state.config.id, "frames decode again");
    }
    state.frame_size_check(full_w, full_h);
    let decoded_at = Instant::now();
    ctx.stats.add(Stage::Decode, decoded_at - started, 1);
    let moved = match state.motion.as_mut() {
        Some(gate) => gate.update(&state.decoded).moved,
        None => true,
    };
    ctx.stats.add(Stage::Motion, decoded_at.elapsed(), 1);
    let now = frame.captured;
    // A camera's first frame is always scored: what stands in view at start-up (a
    // parked car) has not moved and would otherwise go unseen.
    let first = state.last_scored.is_none();
    let due = !state.tracker.tracks().is_empty()
        && state
            .last_scored
            .is_none_or(|t| (now - t).to_std().unwrap_or_default() >= ctx.rescore_every);
    if moved || due || first {
        state.last_scored = Some(now);
        Ok(true)
    } else {
        Stats::bump(&ctx.stats.frames_skipped);
        Ok(false)
    }
}

fn decode(
    bytes: &[u8],
    decoder: &mut JpegDecoder,
    input_w: u32,
    input_h: u32,
    out: &mut crate::image::RgbImage,
) -> Result<(u32, u32), VisionError> {
    if is_png(bytes) {
        *out = decode_png(bytes)?;
        return Ok((out.width, out.height));
    }
    let full = decoder.decode_into(bytes, input_w, input_h, out)?;
    Ok((full.width, full.height))
}

/// Model-input boxes to full-frame pixels, masks applied, then tracker and rules.
fn track_and_rules(
    state: &mut CameraState,
    mut dets: Vec<Detection>,
    input_w: u32,
    input_h: u32,
    now: DateTime<Utc>,
) -> Vec<RuleHit> {
    let (fw, fh) = state.frame_size;
    let (sx, sy) = (fw as f32 / input_w as f32, fh as f32 / input_h as f32);
    for d in dets.iter_mut() {
        d.bbox = d.bbox.scale(sx, sy).clamp(fw as f32, fh as f32);
    }
    if !state.config.masks.is_empty() {
        dets.retain(|d| !masked(&state.config.masks, d.bbox.ground_point()));
    }
    let tracks = state.tracker.update(&dets, now).to_vec();
    state.rules.evaluate(&tracks, now)
}

/// Turns rule hits into events: position, evidence frame with the box drawn.
fn emit(ctx: &WorkerContext, state: &mut CameraState, hits: Vec<RuleHit>, now: DateTime<Utc>, encoder: &mut JpegEncoder) {
    if hits.is_empty() {
        return;
    }
    let (dx, dy) = state.decode_scale();
    for hit in hits {
        let position = state.geolocator.as_ref().and_then(|g| g.locate(hit.bbox.ground_point()));
        let mut event = state.rules.event(&hit, position, now);
        let mut evidence = state.decoded.clone();
        evidence.draw_box(&hit.bbox.scale(dx, dy), [255, 32, 32], 2);
        match encoder.encode(&evidence) {
            Ok(jpeg) => event.evidence_jpeg = Some(Arc::new(jpeg)),
            Err(e) => tracing::warn!(camera.id = %state.config.id, error = %e, "evidence frame not encoded"),
        }
        tracing::info!(
            camera.id = %event.camera_id,
            rule.id = %event.rule_id,
            track.id = event.track_id,
            class = %event.class_name,
            score = event.score,
            "camera rule fired"
        );
        Stats::bump(&ctx.stats.events);
        if ctx.events.send(VisionEvent::Detection(event)).is_err() {
            tracing::debug!("no one listens for vision events");
        }
    }
}
