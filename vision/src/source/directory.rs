//! Replays the JPEG and PNG files of a directory in name order, as a camera would send
//! them: for tests, demos, and checking rules on recorded footage.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::Utc;

use crate::error::VisionError;
use crate::source::{EncodedFrame, FrameFuture, FrameSource};

pub struct DirectorySource {
    camera: String,
    files: Vec<PathBuf>,
    next: usize,
    repeat: bool,
}

impl DirectorySource {
    pub fn open(camera: &str, dir: &Path, repeat: bool) -> Result<Self, VisionError> {
        let err = |m: String| VisionError::Source {
            camera: camera.to_owned(),
            message: m,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .map(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
                    .unwrap_or(false)
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(err(format!("{}: no .jpg or .png files", dir.display())));
        }
        Ok(DirectorySource {
            camera: camera.to_owned(),
            files,
            next: 0,
            repeat,
        })
    }

    async fn read(&mut self) -> Result<EncodedFrame, VisionError> {
        if self.next >= self.files.len() {
            if !self.repeat {
                return Err(VisionError::Source {
                    camera: self.camera.clone(),
                    message: "end of the recorded frames".into(),
                });
            }
            self.next = 0;
        }
        let path = &self.files[self.next];
        self.next += 1;
        let bytes = tokio::fs::read(path).await.map_err(|e| VisionError::Source {
            camera: self.camera.clone(),
            message: format!("{}: {e}", path.display()),
        })?;
        Ok(EncodedFrame {
            bytes: Bytes::from(bytes),
            captured: Utc::now(),
        })
    }
}

impl FrameSource for DirectorySource {
    fn next_frame(&mut self) -> FrameFuture<'_> {
        Box::pin(self.read())
    }
}
