//! The binary's side of vision: `veghe vision detect` (a model on image files, as JSON
//! lines) and starting the camera pipeline from the configuration.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;
use veghe_vision::camera::CameraConfig;
use veghe_vision::image::{decode_png, is_png};
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::pipeline::Pipeline;
use veghe_vision::{init_runtime, Detector, Device, RgbImage, VisionEvent};

use crate::config::VisionConfig;

/// One detection as `veghe vision detect` prints it.
#[derive(Debug, Serialize)]
struct DetectionLine<'a> {
    file: &'a str,
    class: &'a str,
    class_id: u32,
    score: f32,
    /// x1, y1, x2, y2 in the image's pixels.
    #[serde(rename = "box")]
    bbox: [f32; 4],
}

fn load_image(path: &Path, decoder: &mut JpegDecoder) -> anyhow::Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let image = if is_png(&bytes) {
        decode_png(&bytes)?
    } else {
        decoder.decode(&bytes)?
    };
    Ok(image)
}

/// Runs the configured model on each file and prints its detections as JSON lines to
/// `out`. A file that cannot be read or decoded is reported on stderr and the others
/// go on; the result is an error if any file failed.
pub fn detect(vision: &VisionConfig, files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<()> {
    let env = init_runtime(&vision.runtime_library)?;
    let mut detector = Detector::load(&env, &vision.model, vision.pipeline.session_threads.max(2), Device::Cpu)?;
    let mut decoder = JpegDecoder::new()?;
    let mut failed = 0;
    for path in files {
        let name = path.display().to_string();
        let found = load_image(path, &mut decoder).and_then(|img| {
            let mut batch = detector.detect(&[&img])?;
            Ok(batch.pop().unwrap_or_default())
        });
        match found {
            Ok(dets) => {
                for d in dets {
                    let class = detector
                        .class_names()
                        .get(d.class_id as usize)
                        .map(String::as_str)
                        .unwrap_or("?");
                    let round = |v: f32| (v * 10.0).round() / 10.0;
                    let line = DetectionLine {
                        file: &name,
                        class,
                        class_id: d.class_id,
                        score: (d.score * 1000.0).round() / 1000.0,
                        bbox: [round(d.bbox.x1), round(d.bbox.y1), round(d.bbox.x2), round(d.bbox.y2)],
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    writeln!(out)?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {name}: {e:#}");
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be read", files.len());
    }
    Ok(())
}

/// Starts the pipeline for `cameras`, sending events to `events`.
pub fn start_pipeline(
    vision: &VisionConfig,
    cameras: Vec<CameraConfig>,
    events: UnboundedSender<VisionEvent>,
) -> anyhow::Result<Pipeline> {
    let env = init_runtime(&vision.runtime_library)
        .context("vision needs ONNX Runtime (tools/fetch-onnxruntime.sh, or set vision.runtime_library)")?;
    let count = cameras.len();
    let pipeline = Pipeline::start(
        &env,
        &vision.model,
        &vision.pipeline,
        &vision.motion,
        &vision.tracker,
        cameras,
        events,
    )
    .with_context(|| format!("cannot start vision for {count} cameras"))?;
    tracing::info!(
        cameras = count,
        workers = vision.pipeline.workers,
        model = %vision.model.path.display(),
        "vision is running"
    );
    Ok(pipeline)
}
