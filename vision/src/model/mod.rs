//! Model adapters: how a detector's raw output tensors become detections, by layout
//! (NanoDet, YOLOv8/v11, YOLOX), chosen by configuration. Each decoder is a pure
//! function over output slices, producing boxes in model-input pixels; NMS follows.

mod nanodet;
mod yolov8;
mod yolox;

use serde::{Deserialize, Serialize};

use crate::detection::Detection;
use crate::error::VisionError;
use crate::preprocess::{ChannelOrder, Normalisation};

pub use nanodet::decode_nanodet;
pub use yolov8::decode_yolov8;
pub use yolox::decode_yolox;

/// The output layout of a detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayout {
    /// NanoDet(-m): per stride a `[B, N, classes]` score tensor (sigmoid applied) and a
    /// `[B, N, 4 * (reg_max + 1)]` distance distribution.
    Nanodet,
    /// YOLOv8 / YOLO11: one `[B, 4 + classes, N]` tensor, boxes as centre and size in
    /// input pixels, class scores with sigmoid applied, no objectness.
    Yolov8,
    /// YOLOX: one `[B, N, 5 + classes]` tensor over strides 8, 16, 32, raw box
    /// regression (grid offsets, log sizes), objectness and class scores with sigmoid.
    Yolox,
}

impl std::str::FromStr for OutputLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "nanodet" => Ok(OutputLayout::Nanodet),
            "yolov8" | "yolo11" | "yolov11" => Ok(OutputLayout::Yolov8),
            "yolox" => Ok(OutputLayout::Yolox),
            other => Err(format!("unknown layout {other:?} (nanodet, yolov8, yolox)")),
        }
    }
}

impl OutputLayout {
    /// The preprocessing each family was trained with.
    pub fn default_normalisation(self) -> Normalisation {
        match self {
            OutputLayout::Nanodet => Normalisation {
                channels: ChannelOrder::Bgr,
                mean: [103.53, 116.28, 123.675],
                std: [57.375, 57.12, 58.395],
            },
            OutputLayout::Yolov8 => Normalisation {
                channels: ChannelOrder::Rgb,
                mean: [0.0; 3],
                std: [255.0; 3],
            },
            OutputLayout::Yolox => Normalisation {
                channels: ChannelOrder::Bgr,
                mean: [0.0; 3],
                std: [1.0; 3],
            },
        }
    }
}

/// The feature-pyramid strides of the anchor-free families here (NanoDet, YOLOX).
pub(crate) const STRIDES: [u32; 3] = [8, 16, 32];

/// One output tensor of a run, borrowed from the runtime.
#[derive(Debug, Clone, Copy)]
pub struct OutputView<'a> {
    pub name: &'a str,
    pub shape: &'a [i64],
    pub data: &'a [f32],
}

/// What the decoders need to know besides the tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeParams {
    pub input_width: u32,
    pub input_height: u32,
    pub num_classes: usize,
    /// Candidates below this score are dropped before NMS.
    pub score_threshold: f32,
}

/// Decodes the detections of batch item `batch` in model-input pixels (before NMS).
pub fn decode(
    layout: OutputLayout,
    outputs: &[OutputView<'_>],
    batch: usize,
    params: &DecodeParams,
    out: &mut Vec<Detection>,
) -> Result<(), VisionError> {
    match layout {
        OutputLayout::Nanodet => decode_nanodet(outputs, batch, params, out),
        OutputLayout::Yolov8 => decode_yolov8(outputs, batch, params, out),
        OutputLayout::Yolox => decode_yolox(outputs, batch, params, out),
    }
}

/// `shape` as three positive dimensions `[B, d1, d2]`.
pub(crate) fn dims3(view: &OutputView<'_>) -> Result<[usize; 3], String> {
    match view.shape {
        [b, d1, d2] if *b > 0 && *d1 > 0 && *d2 > 0 => {
            let dims = [*b as usize, *d1 as usize, *d2 as usize];
            if dims[0] * dims[1] * dims[2] != view.data.len() {
                return Err(format!(
                    "output {} has shape {:?} but {} values",
                    view.name,
                    view.shape,
                    view.data.len()
                ));
            }
            Ok(dims)
        }
        other => Err(format!(
            "output {} has shape {other:?}, expected three dimensions",
            view.name
        )),
    }
}

/// The only output of a single-tensor layout, its dimensions, and the values of batch
/// item `batch`.
pub(crate) fn single_output<'o, 'a>(
    layout: &str,
    outputs: &'o [OutputView<'a>],
    batch: usize,
) -> Result<(&'o OutputView<'a>, [usize; 3], &'a [f32]), VisionError> {
    let err = |m: String| layout_error(layout, m);
    let view = outputs
        .first()
        .ok_or_else(|| err("the model has no outputs".into()))?;
    let dims = dims3(view).map_err(err)?;
    let [b, d1, d2] = dims;
    if batch >= b {
        return Err(err(format!("batch item {batch} of {b}")));
    }
    let item = d1 * d2;
    Ok((view, dims, &view.data[batch * item..(batch + 1) * item]))
}

/// The error for an output that does not fit the configured layout.
pub(crate) fn layout_error(layout: &str, message: String) -> VisionError {
    VisionError::Runtime(format!(
        "the model's outputs do not match layout {layout}: {message}"
    ))
}

/// The 80 COCO classes, in the order COCO-trained detectors use.
pub const COCO_CLASSES: [&str; 80] = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
];
