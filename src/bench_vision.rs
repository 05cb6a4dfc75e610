//! `veghe bench vision`: per-frame stage times (decode, motion, preprocess, infer,
//! post-process) for 640x360 and 1920x1080 JPEGs on 1 and 2 session threads; the
//! share of a scored frame's time spent in ONNX Runtime; a Python peer in the style of
//! Frigate on the same frames and model in the same run; and the number of cameras at
//! 1 frame/s the pipeline sustains with 10% of frames moving, without dropping frames.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;
use veghe_camera_sim::render::{self, Look};
use veghe_camera_sim::{Placement, Sprite};
use veghe_vision::camera::{CameraConfig, SourceConfig};
use veghe_vision::image::resize;
use veghe_vision::jpeg::{JpegDecoder, JpegEncoder};
use veghe_vision::motion::MotionGate;
use veghe_vision::pipeline::{Pipeline, PipelineConfig};
use veghe_vision::source::EncodedFrame;
use veghe_vision::tracker::Tracker;
use veghe_vision::{init_runtime, Detector, Device, LatLon};

use crate::config::VisionConfig;

/// The street photo the stage benchmark scales to each frame size.
const STREET_JPEG: &[u8] = include_bytes!("../vision/assets/photos/street.jpg");

#[derive(Debug, Clone, clap::Args)]
pub struct VisionBench {
    /// Frames per stage measurement.
    #[arg(long, default_value_t = 60)]
    pub iterations: usize,
    /// Python with onnxruntime, numpy and Pillow for the peer; none skips the peer.
    #[arg(long)]
    pub peer_python: Option<PathBuf>,
    #[arg(long, default_value = "tools/bench/peer_vision.py")]
    pub peer_script: PathBuf,
    /// Seconds each camera count of the scale test runs.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub scale_duration: Duration,
    /// Largest camera count tried; 0 skips the scale test.
    #[arg(long, default_value_t = 4000)]
    pub scale_max: usize,
    /// Inference workers in the scale test [default: one per core].
    #[arg(long)]
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    pub target: String,
    pub frame: String,
    pub threads: usize,
    pub decode_ms: f64,
    pub motion_ms: f64,
    pub preprocess_ms: f64,
    pub infer_ms: f64,
    pub post_ms: f64,
    pub total_ms: f64,
    pub fps: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleResult {
    pub cameras: usize,
    pub offered: u64,
    pub scored: u64,
    pub skipped: u64,
    pub dropped: u64,
    /// Seconds after the last frame until every frame was handled.
    pub drain_s: f64,
    pub sustained: bool,
}

fn mean(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / n.max(1) as f64
}

/// The bench frames: the street photo stretched to `w` x `h`, JPEG quality 85.
fn street_frame(w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let photo = JpegDecoder::new()?.decode(STREET_JPEG)?;
    let scaled = resize(&photo, w, h)?;
    Ok(JpegEncoder::new(85)?.encode(&scaled)?)
}

fn stage_bench(vision: &VisionConfig, label: &str, jpeg: &[u8], threads: usize, iterations: usize) -> anyhow::Result<StageResult> {
    let env = init_runtime(&vision.runtime_library)?;
    let mut detector = Detector::load(&env, &vision.model, threads, Device::Cpu)?;
    let mut decoder = JpegDecoder::new()?;
    let (iw, ih) = detector.input_size();
    let mut frame = veghe_vision::RgbImage::default();
    let full = decoder.decode_into(jpeg, iw, ih, &mut frame)?;
    let mut gate = MotionGate::new(vision.motion, &[], full.width, full.height);
    let mut tracker = Tracker::new(vision.tracker);
    let mut out = Vec::new();
    let (mut decode, mut motion, mut pre, mut infer, mut post) = (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    // Warm-up: ONNX Runtime allocates its arena on the first runs.
    for _ in 0..3 {
        detector.prepare(&[&frame])?;
        detector.run_prepared(1, &mut out)?;
    }
    let started = Instant::now();
    for i in 0..iterations {
        let t0 = Instant::now();
        decoder.decode_into(jpeg, iw, ih, &mut frame)?;
        let t1 = Instant::now();
        gate.update(&frame);
        let t2 = Instant::now();
        detector.prepare(&[&frame])?;
        let t3 = Instant::now();
        let timings = detector.run_prepared(1, &mut out)?;
        let t4 = Instant::now();
        // As the pipeline does: boxes to frame pixels, then the tracker.
        let (sx, sy) = (full.width as f32 / iw as f32, full.height as f32 / ih as f32);
        let mut dets = out.pop().unwrap_or_default();
        for d in dets.iter_mut() {
            d.bbox = d.bbox.scale(sx, sy);
        }
        tracker.update(&dets, Utc::now() + chrono::Duration::seconds(i as i64));
        let t5 = Instant::now();
        decode += t1 - t0;
        motion += t2 - t1;
        pre += t3 - t2;
        infer += timings.infer;
        post += timings.post + (t5 - t4);
    }
    let elapsed = started.elapsed();
    let n = iterations;
    Ok(StageResult {
        target: "veghe".into(),
        frame: label.into(),
        threads,
        decode_ms: mean(decode, n),
        motion_ms: mean(motion, n),
        preprocess_ms: mean(pre, n),
        infer_ms: mean(infer, n),
        post_ms: mean(post, n),
        total_ms: mean(elapsed, n),
        fps: n as f64 / elapsed.as_secs_f64(),
    })
}

fn peer_bench(python: &Path, script: &Path, model: &Path, label: &str, file: &Path, threads: usize, iterations: usize) -> anyhow::Result<StageResult> {
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(model)
        .arg(threads.to_string())
        .arg(iterations.to_string())
        .arg(file)
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !out.status.success() {
        bail!("peer failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("peer output")?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let fps = f("fps");
    Ok(StageResult {
        target: "python peer".into(),
        frame: label.into(),
        threads,
        decode_ms: f("decode_ms"),
        motion_ms: 0.0,
        preprocess_ms: f("preprocess_ms"),
        infer_ms: f("infer_ms"),
        post_ms: f("post_ms"),
        total_ms: 1000.0 / fps,
        fps,
    })
}

fn push_camera(i: usize) -> CameraConfig {
    CameraConfig {
        id: format!("bench-{i:05}"),
        name: String::new(),
        location: LatLon::new(44.43, 26.03),
        height_m: 6.0,
        bearing_deg: 0.0,
        tilt_deg: 20.0,
        fov_deg: 90.0,
        calibration: Vec::new(),
        source: SourceConfig::Push,
        fps: 1.0,
        zones: Vec::new(),
        masks: Vec::new(),
        rules: Vec::new(),
        enabled: true,
        offline_after: Duration::from_secs(30),
    }
}

/// Frames for the scale test: empty noisy streets, and a person at 30 positions.
fn scale_frames() -> anyhow::Result<(Vec<Bytes>, Vec<Bytes>)> {
    let look = Look {
        width: 640,
        height: 360,
        variant: 0,
        quality: 80,
    };
    let still = (0..render::EMPTY_RING)
        .map(|tick| render::jpeg(look, &[], tick))
        .collect::<Result<Vec<_>, _>>()?;
    let moving = (0..30)
        .map(|k| {
            let p = Placement {
                sprite: Sprite::Person,
                u: 0.1 + 0.8 * k as f32 / 29.0,
                v: 0.95,
                height: Sprite::Person.nominal_height(),
            };
            render::jpeg(look, &[p], 100 + k as u64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((still, moving))
}

async fn scale_run(vision: &VisionConfig, workers: usize, cameras: usize, duration: Duration, frames: &(Vec<Bytes>, Vec<Bytes>)) -> anyhow::Result<ScaleResult> {
    let env = init_runtime(&vision.runtime_library)?;
    let config = PipelineConfig {
        workers,
        session_threads: 1,
        batch: 1,
        ..vision.pipeline.clone()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let ids: Vec<String> = (0..cameras).map(|i| push_camera(i).id).collect();
    let pipeline = Pipeline::start(&env, &vision.model, &config, &vision.motion, &vision.tracker, (0..cameras).map(push_camera).collect(), tx)?;
    let (still, moving) = frames;
    let seconds = duration.as_secs().max(1);
    let base = Utc::now();
    // Warm-up: every camera's first frame is scored (start-up), which is a one-off
    // burst, not the steady state measured here.
    for id in &ids {
        pipeline.submit(id, EncodedFrame { bytes: still[0].clone(), captured: base - chrono::Duration::seconds(1) });
    }
    let handled = |s: &veghe_vision::pipeline::StatsSnapshot| s.frames_scored + s.frames_skipped + s.decode_errors + s.frames_dropped;
    let warm_deadline = Instant::now() + Duration::from_secs(120);
    while handled(&pipeline.stats()) < cameras as u64 && Instant::now() < warm_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let warm = pipeline.stats();
    let start = tokio::time::Instant::now();
    // Each camera sends once a second, the cameras spread evenly over the second; one
    // camera in ten shows a walking person (every frame of it moves), the rest an
    // empty street with sensor noise.
    let slots = 100u64;
    for s in 0..seconds {
        for slot in 0..slots {
            tokio::time::sleep_until(start + Duration::from_millis(s * 1000 + slot * 1000 / slots)).await;
            let from = cameras * slot as usize / slots as usize;
            let to = cameras * (slot as usize + 1) / slots as usize;
            for i in from..to {
                let bytes = if i % 10 == 0 {
                    moving[(s as usize + i) % moving.len()].clone()
                } else {
                    still[(s as usize * 3 + i) % still.len()].clone()
                };
                let captured = base + chrono::Duration::milliseconds((s * 1000 + slot * 10) as i64);
                pipeline.submit(&ids[i], EncodedFrame { bytes, captured });
            }
        }
    }
    let offered = seconds * cameras as u64;
    let last = Instant::now();
    let mut stats = pipeline.stats();
    while handled(&stats) - handled(&warm) < offered && last.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stats = pipeline.stats();
    }
    let drain_s = last.elapsed().as_secs_f64();
    pipeline.shutdown().await;
    drain.abort();
    Ok(ScaleResult {
        cameras,
        offered,
        scored: stats.frames_scored - warm.frames_scored,
        skipped: stats.frames_skipped - warm.frames_skipped,
        dropped: stats.frames_dropped - warm.frames_dropped,
        drain_s,
        // Kept up: nothing replaced unprocessed, and the backlog at the end is under a
        // second's worth.
        sustained: stats.frames_dropped == warm.frames_dropped && drain_s < 1.0,
    })
}

fn print_stage(r: &StageResult) {
    println!(
        "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
        r.target, r.frame, r.threads, r.decode_ms, r.motion_ms, r.preprocess_ms, r.infer_ms, r.post_ms, r.total_ms, r.fps
    );
}

pub async fn run(args: VisionBench, vision: VisionConfig) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("veghe-bench-vision-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sizes = [("640x360", 640u32, 360u32), ("1920x1080", 1920, 1080)];
    let mut files = Vec::new();
    for (label, w, h) in sizes {
        let jpeg = street_frame(w, h)?;
        let path = dir.join(format!("street-{label}.jpg"));
        std::fs::write(&path, &jpeg)?;
        files.push((label, path, jpeg));
    }

    println!("Per scored frame, mean ms ({} frames each; the same JPEGs for both targets):\n", args.iterations);
    println!("| target | frame | threads | decode | motion | preprocess | infer | post | total | frames/s |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut results = Vec::new();
    for threads in [1usize, 2] {
        for (label, path, jpeg) in &files {
            let vision2 = vision.clone();
            let (label2, jpeg2, iterations) = (label.to_string(), jpeg.clone(), args.iterations);
            let ours = tokio::task::spawn_blocking(move || stage_bench(&vision2, &label2, &jpeg2, threads, iterations)).await??;
            print_stage(&ours);
            results.push(ours.clone());
            if let Some(python) = &args.peer_python {
                let peer = peer_bench(python, &args.peer_script, &vision.model.path, label, path, threads, args.iterations)?;
                print_stage(&peer);
                println!(
                    "|  | veghe / peer | {threads} |  |  |  |  |  |  | **{:.2}x** |",
                    ours.fps / peer.fps
                );
                results.push(peer);
            }
        }
    }
    for r in results.iter().filter(|r| r.target == "veghe" && r.frame == "640x360") {
        println!(
            "\nEfficiency, 640x360 on {} thread(s): ONNX Runtime time / end-to-end time per scored frame = {:.3}",
            r.threads,
            r.infer_ms / r.total_ms
        );
    }

    if args.scale_max > 0 {
        let workers = args.workers.unwrap_or(vision.pipeline.workers);
        let frames = scale_frames()?;
        println!("\nScale: cameras at 1 frame/s, 10% of frames moving, {workers} workers, {}s per step:\n", args.scale_duration.as_secs());
        println!("| cameras | offered | scored | skipped | dropped | drain s | sustained |");
        println!("|---:|---:|---:|---:|---:|---:|---|");
        let mut good = 0;
        let mut bad = None;
        let mut n = 100.min(args.scale_max);
        loop {
            let r = scale_run(&vision, workers, n, args.scale_duration, &frames).await?;
            println!("| {} | {} | {} | {} | {} | {:.2} | {} |", r.cameras, r.offered, r.scored, r.skipped, r.dropped, r.drain_s, r.sustained);
            if r.sustained {
                good = n;
            } else {
                bad = Some(n);
            }
            n = match bad {
                None if n >= args.scale_max => break,
                None => (n * 2).min(args.scale_max),
                Some(b) if b - good <= (b / 10).max(25) => break,
                Some(b) => (good + b) / 2,
            };
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        println!(
            "\nSustained: {good} cameras on {cores} cores = {} cameras per core; 3,000 cameras need about {} such cores.",
            good / cores,
            if good > 0 { (3000 * cores).div_ceil(good) } else { 0 }
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
