//! Shared by the simulator's test suites: the simulator on a loopback port, and the
//! shipped detector.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use veghe_camera_sim::{serve, CameraSim, SimCamera, SimClock};
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::{init_runtime, Detection, Detector, Device, ModelConfig, RgbImage};

/// The simulator on a manual clock, served on a free loopback port; returns its base URL.
pub async fn start(cameras: Vec<SimCamera>) -> (String, Arc<CameraSim>) {
    let (listener, base) = bind().await;
    (base, serve_on(listener, cameras, SimClock::manual()))
}

/// A free loopback port, bound (connections wait in its backlog until served), and its
/// base URL.
pub async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    (listener, format!("http://{addr}"))
}

/// The simulator on `clock`, served on `listener`.
pub fn serve_on(listener: tokio::net::TcpListener, cameras: Vec<SimCamera>, clock: SimClock) -> Arc<CameraSim> {
    let sim = Arc::new(CameraSim::new(cameras, clock).expect("valid cameras"));
    tokio::spawn(serve(listener, sim.clone()));
    sim
}

pub fn runtime_library() -> PathBuf {
    std::env::var_os("VEGHE_ORT_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("vendor/onnxruntime/libonnxruntime.so.1.31.1"))
}

pub fn model() -> ModelConfig {
    ModelConfig::nanodet(root().join("models/nanodet_m_416_coco.onnx"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn detector() -> Detector {
    let env = init_runtime(&runtime_library()).expect("ONNX Runtime (run tools/fetch-onnxruntime.sh)");
    Detector::load(&env, &model(), 2, Device::Cpu).expect("model loads")
}

pub fn decode(jpeg: &[u8]) -> RgbImage {
    JpegDecoder::new().expect("decoder").decode(jpeg).expect("a whole JPEG")
}

pub const PERSON: u32 = 0;
pub const CAR: u32 = 2;

/// The COCO class id of a class name the simulator's sprites use.
pub fn class_id(name: &str) -> u32 {
    match name {
        "person" => PERSON,
        "car" => CAR,
        other => panic!("no class id for {other}"),
    }
}

/// What the model finds of one class in a JPEG.
pub fn found(det: &mut Detector, jpeg: &[u8], class: u32) -> Vec<Detection> {
    let img = decode(jpeg);
    let found = det.detect(&[&img]).expect("inference").remove(0);
    found.into_iter().filter(|d| d.class_id == class).collect()
}

/// The people the model finds in a JPEG.
pub fn people(det: &mut Detector, jpeg: &[u8]) -> Vec<Detection> {
    found(det, jpeg, PERSON)
}
