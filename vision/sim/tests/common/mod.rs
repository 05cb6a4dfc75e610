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
    let sim = Arc::new(CameraSim::new(cameras, SimClock::manual()).expect("valid cameras"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, sim.clone()));
    (format!("http://{addr}"), sim)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn detector() -> Detector {
    let lib = std::env::var_os("VEGHE_ORT_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("vendor/onnxruntime/libonnxruntime.so.1.31.1"));
    let env = init_runtime(&lib).expect("ONNX Runtime (run tools/fetch-onnxruntime.sh)");
    let model = ModelConfig::nanodet(root().join("models/nanodet_m_416_coco.onnx"));
    Detector::load(&env, &model, 2, Device::Cpu).expect("model loads")
}

pub fn decode(jpeg: &[u8]) -> RgbImage {
    JpegDecoder::new().expect("decoder").decode(jpeg).expect("a whole JPEG")
}

pub const PERSON: u32 = 0;

/// The people the model finds in a JPEG.
pub fn people(det: &mut Detector, jpeg: &[u8]) -> Vec<Detection> {
    let img = decode(jpeg);
    let found = det.detect(&[&img]).expect("inference").remove(0);
    found.into_iter().filter(|d| d.class_id == PERSON).collect()
}
