//! The vision crate's error type.

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("cannot decode frame: {0}")]
    Decode(String),
    #[error("cannot encode frame: {0}")]
    Encode(String),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("model {path}: {message}")]
    Model { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("camera {camera}: {message}")]
    Source { camera: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
