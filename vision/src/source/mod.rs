//! Where camera frames come from, behind one trait: HTTP JPEG snapshots (ONVIF snapshot
//! URIs), MJPEG over HTTP, and a directory replay. RTSP will be another implementation.
//! Sources only fetch bytes; decoding happens on the pipeline's threads.

mod directory;
mod http;
pub mod mjpeg;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::camera::SourceConfig;
use crate::error::VisionError;

pub use directory::DirectorySource;
pub use http::{retry_delay, MjpegSource, SnapshotSource};

/// One encoded frame as fetched.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    /// JPEG (or, from a directory, PNG) bytes.
    pub bytes: Bytes,
    pub captured: DateTime<Utc>,
}

pub type FrameFuture<'a> = Pin<Box<dyn Future<Output = Result<EncodedFrame, VisionError>> + Send + 'a>>;

/// A camera's frames. `next_frame` waits for the next frame: a snapshot source fetches
/// one, a stream source reads up to the next part. Pacing (the camera's sampling rate)
/// is the caller's.
pub trait FrameSource: Send {
    fn next_frame(&mut self) -> FrameFuture<'_>;
    /// Whether frames arrive at the source's own pace (a stream) rather than when asked.
    fn is_stream(&self) -> bool {
        false
    }
}

/// HTTP settings shared by the HTTP sources.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    /// A response or MJPEG part larger than this is refused.
    pub max_frame_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(5),
            max_frame_bytes: 16 << 20,
        }
    }
}

/// Builds the source a camera's configuration names.
pub fn open(
    camera_id: &str,
    config: &SourceConfig,
    client: &reqwest::Client,
    settings: &HttpSettings,
) -> Result<Box<dyn FrameSource>, VisionError> {
    Ok(match config {
        SourceConfig::Snapshot { url } => Box::new(SnapshotSource::new(camera_id, url, client.clone(), settings.clone())),
        SourceConfig::Mjpeg { url } => Box::new(MjpegSource::new(camera_id, url, client.clone(), settings.clone())),
        SourceConfig::Directory { path, repeat } => Box::new(DirectorySource::open(camera_id, path, *repeat)?),
        SourceConfig::Push => {
            return Err(VisionError::Source {
                camera: camera_id.to_owned(),
                message: "a push camera has no source to open".into(),
            })
        }
    })
}
