//! Vision: frame sources, decode, motion gate, ONNX inference, tracking and zone rules
//! for the city's cameras. Pre- and post-processing are pure functions; inference runs
//! on dedicated threads, never on the async runtime.

pub mod camera;
pub mod detection;
pub mod error;
pub mod event;
pub mod geolocate;
pub mod geometry;
pub mod health;
pub mod image;
pub mod jpeg;
pub mod model;
pub mod nms;
pub mod pipeline;
pub mod preprocess;
pub mod runtime;
pub mod motion;
pub mod rules;
pub mod source;
pub mod tracker;

pub use detection::Detection;
pub use error::VisionError;
pub use event::{CameraHealthEvent, DetectionEvent, HealthKind, LatLon, RuleKind, VisionEvent};
pub use geometry::{BBox, Point, Polygon};
pub use image::RgbImage;
pub use runtime::{init_runtime, Detector, Device, ModelConfig};
