//! The simulator's error type.

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown camera {0}")]
    UnknownCamera(String),
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("cannot render frame: {0}")]
    Render(#[from] veghe_vision::VisionError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
