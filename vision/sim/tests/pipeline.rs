//! The camera simulator through the real vision pipeline over HTTP: snapshot cameras
//! fetch the simulator's frames on a real clock, the shipped model scores them, and the
//! events that come out are the ones each scene scripts: a person entering a zone, a car
//! stopping where it must not, nothing on a static street (whose frames the motion gate
//! keeps from the model), nothing from broken cameras, and an unreachable camera
//! reported offline. Short scene timings and 4 frames/s keep each test to seconds.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{bind, model, runtime_library, serve_on};
use tokio::sync::mpsc;
use veghe_camera_sim::{Fault, Scene, SimCamera, SimClock, Sprite};
use veghe_vision::camera::{CameraConfig, SourceConfig, ZoneConfig};
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::motion::MotionConfig;
use veghe_vision::pipeline::{Pipeline, PipelineConfig};
use veghe_vision::rules::RuleConfig;
use veghe_vision::tracker::TrackerConfig;
use veghe_vision::{init_runtime, DetectionEvent, HealthKind, LatLon, RuleKind, VisionEvent};

/// Frames per second, simulator and pipeline alike.
const FPS: f64 = 4.0;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const CAMERA_AT: LatLon = LatLon::new(44.4351, 26.0145);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A walker that crosses in 6 s (in the zone from 3 s) and then stays away.
fn walker() -> Scene {
    Scene::Walker { cross: secs(6.0), pause: secs(60.0) }
}

/// A car that drives in for 3 s, then stands in the no-stopping zone.
fn parked() -> (Scene, Duration) {
    let drive = secs(3.0);
    (Scene::Parked { sprite: Sprite::Car, drive, stay: secs(60.0), pause: secs(10.0) }, drive)
}

fn sim_camera(id: &str, scene: Scene) -> SimCamera {
    SimCamera::new(id, scene).with_fps(FPS).with_size(WIDTH, HEIGHT)
}

/// A vision camera on the simulator's snapshot URL for `id`, watching `scene`'s zone
/// (the walker's for a static street) with `rule`.
fn vision_camera(base: &str, id: &str, scene: &Scene, rule: RuleConfig) -> CameraConfig {
    let zone = scene.zone(WIDTH, HEIGHT).or_else(|| walker().zone(WIDTH, HEIGHT)).expect("zone");
    CameraConfig {
        id: id.into(),
        name: id.into(),
        location: CAMERA_AT,
        height_m: 6.0,
        bearing_deg: 90.0,
        tilt_deg: 20.0,
        fov_deg: 90.0,
        calibration: Vec::new(),
        source: SourceConfig::Snapshot { url: format!("{base}/cameras/{id}/snapshot.jpg") },
        fps: FPS,
        zones: vec![ZoneConfig { id: "scene".into(), polygon: zone }],
        masks: Vec::new(),
        rules: vec![rule],
        enabled: true,
        offline_after: Duration::from_secs(30),
    }
}

fn zone_enter() -> RuleConfig {
    RuleConfig {
        id: "person-enters".into(),
        zone: "scene".into(),
        kind: RuleKind::ZoneEnter,
        classes: vec!["person".into()],
        min_score: 0.5,
        min_frames: 2,
        after: None,
        count: None,
    }
}

const NO_STOPPING_AFTER: Duration = Duration::from_secs(2);

fn no_stopping() -> RuleConfig {
    RuleConfig {
        id: "no-stopping".into(),
        kind: RuleKind::NoStopping,
        classes: vec!["car".into()],
        after: Some(NO_STOPPING_AFTER),
        ..zone_enter()
    }
}

/// The real pipeline (2 workers, the shipped model) on `cameras`. A track is stationary
/// after 1 s still, so no-stopping timings are the rule's own.
fn pipeline(cameras: Vec<CameraConfig>) -> (Pipeline, mpsc::UnboundedReceiver<VisionEvent>) {
    let env = init_runtime(&runtime_library()).expect("ONNX Runtime (tools/fetch-onnxruntime.sh)");
    let config = PipelineConfig { workers: 2, http_timeout: secs(2.0), ..PipelineConfig::default() };
    let tracker = TrackerConfig { stationary_after: secs(1.0), ..TrackerConfig::default() };
    let (tx, rx) = mpsc::unbounded_channel();
    let p = Pipeline::start(&env, &model(), &config, &MotionConfig::default(), &tracker, cameras, tx)
        .expect("pipeline starts");
    (p, rx)
}

/// Every event until `deadline`, or until `done` says the events so far are enough.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<VisionEvent>,
    deadline: Duration,
    done: impl Fn(&[VisionEvent]) -> bool,
) -> Vec<VisionEvent> {
    let until = tokio::time::Instant::now() + deadline;
    let mut out = Vec::new();
    while !done(&out) {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(e)) => out.push(e),
            Ok(None) | Err(_) => break,
        }
    }
    out
}

fn detections<'a>(events: &'a [VisionEvent], camera: &str) -> Vec<&'a DetectionEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            VisionEvent::Detection(d) if d.camera_id == camera => Some(d),
            _ => None,
        })
        .collect()
}

/// Checks a person-enters event: where, what, and the evidence frame.
fn assert_entered(e: &DetectionEvent, camera: &str) {
    assert_eq!((e.camera_id.as_str(), e.rule_kind, e.class_name.as_str(), e.class_id), (camera, RuleKind::ZoneEnter, "person", 0));
    let zone = walker().zone(WIDTH, HEIGHT).expect("zone");
    assert!(zone.contains(e.bbox.ground_point()), "ground point {:?} of {:?} outside the zone", e.bbox.ground_point(), e.bbox);
    assert!(e.score >= 0.5, "{}", e.score);
    // The pinhole model puts her east of the camera (bearing 90°), within a few hundred m.
    let p = e.position.expect("position");
    assert!(p.lon > CAMERA_AT.lon && (p.lat - CAMERA_AT.lat).abs() < 0.005, "{p:?}");
    let evidence = e.evidence_jpeg.as_ref().expect("evidence frame");
    let img = JpegDecoder::new().expect("decoder").decode(evidence).expect("evidence decodes");
    assert!(img.width >= 320 && img.height >= 180, "{}x{}", img.width, img.height);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walker_entering_the_zone_raises_one_event() {
    let (listener, base) = bind().await;
    let (p, mut rx) = pipeline(vec![vision_camera(&base, "walk", &walker(), zone_enter())]);
    // The scene starts when the simulator does, once the pipeline is ready to fetch.
    let _sim = serve_on(listener, vec![sim_camera("walk", walker())], SimClock::real());
    // She is in the zone from 3 s and out of the frame at 6 s.
    let events = collect(&mut rx, secs(7.0), |_| false).await;
    let found = detections(&events, "walk");
    assert_eq!(found.len(), 1, "{events:?}");
    assert_entered(found[0], "walk");
    let stats = p.stats();
    assert!(stats.frames_scored >= 10 && stats.decode_errors == 0, "{stats:?}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn car_stopping_in_the_zone_raises_no_stopping_after_the_delay() {
    let (scene, drive) = parked();
    let (listener, base) = bind().await;
    let (p, mut rx) = pipeline(vec![vision_camera(&base, "lane", &scene, no_stopping())]);
    let started: DateTime<Utc> = Utc::now();
    let _sim = serve_on(listener, vec![sim_camera("lane", scene)], SimClock::real());
    // It stops at 3 s and must stand for 2 s: allow a few seconds more.
    let events = collect(&mut rx, secs(10.0), |e| !detections(e, "lane").is_empty()).await;
    let found = detections(&events, "lane");
    assert_eq!(found.len(), 1, "{events:?}");
    let e = found[0];
    assert_eq!((e.rule_kind, e.class_name.as_str(), e.class_id), (RuleKind::NoStopping, "car", 2));
    let stopped = started + chrono::Duration::from_std(drive).expect("duration");
    let waited = (e.time - stopped).to_std().unwrap_or_default();
    assert!(waited >= NO_STOPPING_AFTER, "fired {waited:?} after the car stopped");
    assert!(e.position.is_some() && e.evidence_jpeg.is_some());
    let zone = parked().0.zone(WIDTH, HEIGHT).expect("zone");
    assert!(zone.contains(e.bbox.ground_point()), "{:?}", e.bbox);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_street_raises_nothing_and_is_mostly_not_scored() {
    let (listener, base) = bind().await;
    let (p, mut rx) = pipeline(vec![vision_camera(&base, "quiet", &Scene::Static, zone_enter())]);
    let _sim = serve_on(listener, vec![sim_camera("quiet", Scene::Static)], SimClock::real());
    let events = collect(&mut rx, secs(7.0), |_| false).await;
    assert!(detections(&events, "quiet").is_empty(), "{events:?}");
    let stats = p.stats();
    assert!(stats.frames_skipped >= 15, "{stats:?}");
    assert!(stats.frames_skipped >= 10 * stats.frames_scored.max(1), "{stats:?}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_cameras_raise_nothing_and_leave_the_others_alone() {
    let faults = [("html", Fault::ServeHtml), ("err", Fault::ServerError), ("cut", Fault::Truncated)];
    // Nothing listens on a port just released.
    let gone_url = {
        let (listener, base) = bind().await;
        drop(listener);
        base
    };
    let (listener, base) = bind().await;
    let mut cameras = vec![vision_camera(&base, "walk", &walker(), zone_enter())];
    // The broken cameras show the walker too: were their frames used, they would fire.
    cameras.extend(faults.iter().map(|(id, _)| vision_camera(&base, id, &walker(), zone_enter())));
    cameras.push(CameraConfig {
        offline_after: secs(2.0),
        ..vision_camera(&gone_url, "gone", &walker(), zone_enter())
    });
    let (p, mut rx) = pipeline(cameras);
    let mut sims = vec![sim_camera("walk", walker())];
    sims.extend(faults.iter().map(|(id, f)| sim_camera(id, walker()).with_fault(*f)));
    let t0 = Instant::now();
    let _sim = serve_on(listener, sims, SimClock::real());
    let events = collect(&mut rx, secs(7.0), |_| false).await;

    let found = detections(&events, "walk");
    assert_eq!(found.len(), 1, "{events:?}");
    assert_entered(found[0], "walk");
    for (id, _) in faults.iter().chain([&("gone", Fault::ServerError)]) {
        assert!(detections(&events, id).is_empty(), "{id}: {events:?}");
    }
    let health: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            VisionEvent::Health(h) => Some(h),
            _ => None,
        })
        .collect();
    let offline: Vec<_> = health.iter().filter(|h| h.kind == HealthKind::Offline).collect();
    assert_eq!(offline.len(), 1, "{health:?}");
    assert_eq!(offline[0].camera_id, "gone");
    assert_eq!(offline[0].position, Some(CAMERA_AT));
    assert!(t0.elapsed() >= secs(2.0));
    let stats = p.stats();
    assert!(stats.decode_errors >= 5, "the truncated camera's frames are refused: {stats:?}");
    p.shutdown().await;
}
