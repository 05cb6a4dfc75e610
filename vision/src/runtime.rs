//! ONNX Runtime through `ort`: loading the shared library once per process, and the
//! [`Detector`] — one session with its preprocessing, decoding and NMS — that an
//! inference thread owns. Nothing here runs on the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use crate::detection::Detection;
use crate::error::VisionError;
use crate::image::RgbImage;
use crate::model::{self, DecodeParams, OutputLayout, OutputView, COCO_CLASSES};
use crate::nms::nms;
use crate::preprocess::{Normalisation, Preprocessor};

/// The process's ONNX Runtime environment, once loaded.
static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Loads the ONNX Runtime shared library (`libonnxruntime.so.*`) and creates the
/// process's environment. Later calls return the first environment, whatever path they
/// name. A missing or wrong library is an error, never a panic.
pub fn init_runtime(library: &Path) -> Result<Environment, VisionError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    if !library.is_file() {
        return Err(VisionError::Runtime(format!(
            "library {} not found (tools/fetch-onnxruntime.sh fetches it; vision.runtime_library names it)",
            library.display()
        )));
    }
    let env = ort::init_from(library)
        .map_err(|e| VisionError::Runtime(format!("cannot load {}: {e}", library.display())))?
        .with_name("veghe")
        .build()
        .map_err(|e| VisionError::Runtime(e.to_string()))?;
    Ok(ENVIRONMENT.get_or_init(|| env).clone())
}

/// Which execution provider sessions use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    /// CUDA when built with the `cuda` feature and the provider registers; otherwise CPU
    /// with a warning.
    Cuda,
}

/// A detector model and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default = "default_model_path")]
    pub path: PathBuf,
    #[serde(default = "default_layout")]
    pub layout: OutputLayout,
    /// Input size; by default read from the model (or 640 when it is dynamic).
    #[serde(default)]
    pub input_width: Option<u32>,
    #[serde(default)]
    pub input_height: Option<u32>,
    /// Channel order, mean and std; by default the layout's family convention.
    #[serde(default)]
    pub normalisation: Option<Normalisation>,
    /// Class names by id; by default the 80 COCO classes.
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default = "default_score_threshold")]
    pub score_threshold: f32,
    #[serde(default = "default_nms_iou")]
    pub nms_iou: f32,
    #[serde(default = "default_max_detections")]
    pub max_detections: usize,
}

/// The shipped model, relative to the working directory.
pub const DEFAULT_MODEL_PATH: &str = "models/nanodet_m_416_coco.onnx";

fn default_model_path() -> PathBuf {
    PathBuf::from(DEFAULT_MODEL_PATH)
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::nanodet(DEFAULT_MODEL_PATH)
    }
}

fn default_layout() -> OutputLayout {
    OutputLayout::Nanodet
}
fn default_score_threshold() -> f32 {
    0.35
}
fn default_nms_iou() -> f32 {
    0.5
}
fn default_max_detections() -> usize {
    100
}

impl ModelConfig {
    /// The shipped NanoDet-m model at `path`, with its defaults.
    pub fn nanodet(path: impl Into<PathBuf>) -> Self {
        ModelConfig {
            path: path.into(),
            layout: OutputLayout::Nanodet,
            input_width: None,
            input_height: None,
            normalisation: None,
            classes: Vec::new(),
            score_threshold: default_score_threshold(),
            nms_iou: default_nms_iou(),
            max_detections: default_max_detections(),
        }
    }

    pub fn class_names(&self) -> Vec<String> {
        if self.classes.is_empty() {
            COCO_CLASSES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.classes.clone()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.score_threshold) {
            return Err(format!("score_threshold {} not in 0..1", self.score_threshold));
        }
        if !(0.0..=1.0).contains(&self.nms_iou) {
            return Err(format!("nms_iou {} not in 0..1", self.nms_iou));
        }
        if self.max_detections == 0 {
            return Err("max_detections must be at least 1".into());
        }
        Ok(())
    }
}

/// A raw output of a run: name, shape and values (for checks against other runtimes).
#[derive(Debug, Clone)]
pub struct RawOutput {
    pub name: String,
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

/// Where the time of one [`Detector::run_prepared`] went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunTimings {
    /// ONNX Runtime's `run` alone.
    pub infer: Duration,
    /// Decoding the outputs and NMS.
    pub post: Duration,
}

/// One ONNX session with its pre- and post-processing. Owned by one inference thread.
pub struct Detector {
    session: Session,
    input_name: String,
    layout: OutputLayout,
    params: DecodeParams,
    nms_iou: f32,
    max_detections: usize,
    classes: Vec<String>,
    preprocessor: Preprocessor,
    /// The batch input tensor, reused between runs.
    input: Vec<f32>,
    candidates: Vec<Detection>,
}

impl Detector {
    /// Loads `model` into a session with `threads` intra-op threads.
    pub fn load(env: &Environment, model: &ModelConfig, threads: usize, device: Device) -> Result<Self, VisionError> {
        model.validate().map_err(VisionError::Config)?;
        let path = model.path.display().to_string();
        let model_err = |message: String| VisionError::Model {
            path: path.clone(),
            message,
        };
        if !model.path.is_file() {
            return Err(model_err("file not found".into()));
        }
        let mut builder = Session::builder(env)
            .and_then(|b| b.with_intra_threads(threads.max(1)).map_err(Into::into))
            .map_err(|e| VisionError::Runtime(e.to_string()))?;
        if device == Device::Cuda {
            builder = with_cuda(builder);
        }
        let session = builder
            .commit_from_file(&model.path)
            .map_err(|e| model_err(format!("cannot load: {e}")))?;

        let input = session
            .inputs()
            .first()
            .ok_or_else(|| model_err("the model has no input".into()))?;
        let input_name = input.name().to_owned();
        let shape: Vec<i64> = input
            .dtype()
            .tensor_shape()
            .map(|s| s.to_vec())
            .ok_or_else(|| model_err(format!("input {input_name} is not a tensor")))?;
        if shape.len() != 4 || (shape[1] != 3 && shape[1] != -1) {
            return Err(model_err(format!(
                "input {input_name} has shape {shape:?}; veghe needs [batch, 3, height, width]"
            )));
        }
        let from_model = |d: i64| u32::try_from(d).ok().filter(|&d| d > 0);
        let width = model.input_width.or(from_model(shape[3])).unwrap_or(640);
        let height = model.input_height.or(from_model(shape[2])).unwrap_or(640);
        let classes = model.class_names();
        let norm = model
            .normalisation
            .clone()
            .unwrap_or_else(|| model.layout.default_normalisation());
        let preprocessor = Preprocessor::new(width, height, &norm)?;
        let mut detector = Detector {
            session,
            input_name,
            layout: model.layout,
            params: DecodeParams {
                input_width: width,
                input_height: height,
                num_classes: classes.len(),
                score_threshold: model.score_threshold,
            },
            nms_iou: model.nms_iou,
            max_detections: model.max_detections,
            classes,
            preprocessor,
            input: Vec::new(),
            candidates: Vec::new(),
        };
        // A model whose outputs do not fit the layout is refused at load, not on the
        // first camera frame.
        detector
            .detect(&[&RgbImage::new(width, height)])
            .map_err(|e| model_err(e.to_string()))?;
        Ok(detector)
    }

    pub fn input_size(&self) -> (u32, u32) {
        (self.params.input_width, self.params.input_height)
    }

    pub fn class_names(&self) -> &[String] {
        &self.classes
    }

    /// Preprocesses `frames` into one batch (stretching each to the input size).
    pub fn prepare(&mut self, frames: &[&RgbImage]) -> Result<(), VisionError> {
        let slot = self.preprocessor.slot_len();
        self.input.resize(slot * frames.len(), 0.0);
        for (frame, chunk) in frames.iter().zip(self.input.chunks_exact_mut(slot)) {
            self.preprocessor.write(frame, chunk)?;
        }
        Ok(())
    }

    /// The prepared batch tensor (for checks against other runtimes).
    pub fn prepared_input(&self) -> &[f32] {
        &self.input
    }

    /// Runs the prepared batch and decodes each item: boxes in model-input pixels.
    pub fn run_prepared(&mut self, batch: usize, out: &mut Vec<Vec<Detection>>) -> Result<RunTimings, VisionError> {
        let size = self.input_size();
        let (layout, params, nms_iou, max) = (self.layout, &self.params, self.nms_iou, self.max_detections);
        let candidates = &mut self.candidates;
        let (post, infer) = run_session(&mut self.session, &self.input_name, size, &self.input, batch, |views| {
            let started = Instant::now();
            out.clear();
            for item in 0..batch {
                candidates.clear();
                model::decode(layout, views, item, params, candidates)?;
                out.push(nms(std::mem::take(candidates), nms_iou, max));
            }
            Ok(started.elapsed())
        })?;
        Ok(RunTimings { infer, post })
    }

    /// Detects objects in each frame; boxes in that frame's pixels.
    pub fn detect(&mut self, frames: &[&RgbImage]) -> Result<Vec<Vec<Detection>>, VisionError> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        self.prepare(frames)?;
        let mut out = Vec::with_capacity(frames.len());
        self.run_prepared(frames.len(), &mut out)?;
        let (w, h) = self.input_size();
        for (dets, frame) in out.iter_mut().zip(frames) {
            let (sx, sy) = (frame.width as f32 / w as f32, frame.height as f32 / h as f32);
            for d in dets.iter_mut() {
                d.bbox = d.bbox.scale(sx, sy).clamp(frame.width as f32, frame.height as f32);
            }
        }
        Ok(out)
    }

    /// Runs a given input tensor `[batch, 3, h, w]` and returns the raw outputs.
    pub fn run_raw(&mut self, input: &[f32], batch: usize) -> Result<Vec<RawOutput>, VisionError> {
        let size = self.input_size();
        let (raw, _) = run_session(&mut self.session, &self.input_name, size, input, batch, |views| {
            Ok(views
                .iter()
                .map(|v| RawOutput {
                    name: v.name.to_owned(),
                    shape: v.shape.to_vec(),
                    data: v.data.to_vec(),
                })
                .collect())
        })?;
        Ok(raw)
    }
}

/// Runs `session` on `input` (`[batch, 3, h, w]`) and hands the outputs, as views, to
/// `f`; returns its result and the time ONNX Runtime took.
fn run_session<R>(
    session: &mut Session,
    input_name: &str,
    (w, h): (u32, u32),
    input: &[f32],
    batch: usize,
    f: impl FnOnce(&[OutputView<'_>]) -> Result<R, VisionError>,
) -> Result<(R, Duration), VisionError> {
    let started = Instant::now();
    let shape = [batch as i64, 3, h as i64, w as i64];
    let tensor = TensorRef::from_array_view((shape, input)).map_err(|e| VisionError::Runtime(e.to_string()))?;
    let outputs = session
        .run(ort::inputs![input_name => tensor])
        .map_err(|e| VisionError::Runtime(e.to_string()))?;
    let inferred = started.elapsed();
    let mut views = Vec::with_capacity(outputs.len());
    for name in outputs.keys() {
        let (shape, data) = outputs[name]
            .try_extract_tensor::<f32>()
            .map_err(|e| VisionError::Runtime(format!("output {name}: {e}")))?;
        views.push(OutputView {
            name,
            shape: &shape[..],
            data,
        });
    }
    Ok((f(&views)?, inferred))
}

#[cfg(feature = "cuda")]
fn with_cuda(builder: ort::session::builder::SessionBuilder) -> ort::session::builder::SessionBuilder {
    match builder.with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()]) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "CUDA execution provider unavailable; running on CPU");
            e.recover()
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn with_cuda(builder: ort::session::builder::SessionBuilder) -> ort::session::builder::SessionBuilder {
    tracing::warn!("built without the cuda feature; running on CPU");
    builder
}
