//! HTTP frame sources: polled JPEG snapshots and MJPEG streams. A camera that answers
//! with an error status, HTML (a login page) or a truncated body is an error for that
//! camera only.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;

use crate::error::VisionError;
use crate::source::mjpeg::{boundary_from_content_type, MjpegParser};
use crate::source::{EncodedFrame, FrameFuture, FrameSource, HttpSettings};

fn source_error(camera: &str, message: String) -> VisionError {
    VisionError::Source {
        camera: camera.to_owned(),
        message,
    }
}

/// What a response's Content-Type says, for error messages.
fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Polls a snapshot URL.
pub struct SnapshotSource {
    camera: String,
    url: String,
    client: reqwest::Client,
    settings: HttpSettings,
}

impl SnapshotSource {
    pub fn new(camera: &str, url: &str, client: reqwest::Client, settings: HttpSettings) -> Self {
        SnapshotSource {
            camera: camera.to_owned(),
            url: url.to_owned(),
            client,
            settings,
        }
    }

    async fn fetch(&mut self) -> Result<EncodedFrame, VisionError> {
        let err = |m: String| source_error(&self.camera, m);
        let resp = self
            .client
            .get(&self.url)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| err(format!("GET {}: {}", self.url, error_chain(&e))))?;
        let status = resp.status();
        let ctype = content_type(&resp);
        if !status.is_success() {
            return Err(err(format!("GET {}: HTTP {status}", self.url)));
        }
        if !ctype.is_empty() && !ctype.to_ascii_lowercase().starts_with("image/") {
            return Err(err(format!("GET {}: answered {ctype}, not an image", self.url)));
        }
        if let Some(len) = resp.content_length() {
            if len as usize > self.settings.max_frame_bytes {
                return Err(err(format!("snapshot of {len} bytes is over the limit")));
            }
        }
        let bytes = read_limited(resp, self.settings.max_frame_bytes)
            .await
            .map_err(|m| err(format!("GET {}: {m}", self.url)))?;
        Ok(EncodedFrame {
            bytes,
            captured: Utc::now(),
        })
    }
}

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(format!("body over {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The error and its causes on one line (reqwest hides the useful part in sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl FrameSource for SnapshotSource {
    fn next_frame(&mut self) -> FrameFuture<'_> {
        Box::pin(self.fetch())
    }
}

/// Reads an MJPEG stream, reconnecting when it ends or fails.
pub struct MjpegSource {
    camera: String,
    url: String,
    client: reqwest::Client,
    settings: HttpSettings,
    stream: Option<(reqwest::Response, MjpegParser)>,
}

impl MjpegSource {
    pub fn new(camera: &str, url: &str, client: reqwest::Client, settings: HttpSettings) -> Self {
        MjpegSource {
            camera: camera.to_owned(),
            url: url.to_owned(),
            client,
            settings,
            stream: None,
        }
    }

    async fn connect(&self) -> Result<(reqwest::Response, MjpegParser), VisionError> {
        let err = |m: String| source_error(&self.camera, m);
        // No overall timeout on a stream; the connect and each read are bounded instead.
        let resp = tokio::time::timeout(self.settings.timeout, self.client.get(&self.url).send())
            .await
            .map_err(|_| err(format!("GET {}: no answer within {:?}", self.url, self.settings.timeout)))?
            .map_err(|e| err(format!("GET {}: {}", self.url, error_chain(&e))))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(err(format!("GET {}: HTTP {status}", self.url)));
        }
        let ctype = content_type(&resp);
        let boundary = boundary_from_content_type(&ctype)
            .ok_or_else(|| err(format!("GET {}: answered {ctype:?}, not an MJPEG stream", self.url)))?;
        Ok((resp, MjpegParser::new(&boundary, self.settings.max_frame_bytes)))
    }

    async fn read(&mut self) -> Result<EncodedFrame, VisionError> {
        if self.stream.is_none() {
            self.stream = Some(self.connect().await?);
        }
        let camera = self.camera.clone();
        let timeout = self.settings.timeout;
        let result = async {
            let Some((resp, parser)) = self.stream.as_mut() else {
                return Err("not connected".to_owned());
            };
            loop {
                match parser.next_part() {
                    Ok(Some(part)) => {
                        return Ok(EncodedFrame {
                            bytes: part,
                            captured: Utc::now(),
                        })
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
                let chunk = tokio::time::timeout(timeout, resp.chunk())
                    .await
                    .map_err(|_| format!("no data for {timeout:?}"))?
                    .map_err(|e| error_chain(&e))?;
                match chunk {
                    Some(c) => parser.push(&c),
                    None => return Err("stream ended".to_owned()),
                }
            }
        }
        .await;
        result.map_err(|m| {
            // Reconnect on the next call.
            self.stream = None;
            source_error(&camera, format!("MJPEG {}: {m}", self.url))
        })
    }
}

impl FrameSource for MjpegSource {
    fn next_frame(&mut self) -> FrameFuture<'_> {
        Box::pin(self.read())
    }
    fn is_stream(&self) -> bool {
        true
    }
}

/// How long to wait before retrying a failing camera: doubling up to a minute.
pub fn retry_delay(consecutive_failures: u32) -> Duration {
    let secs = 1u64 << consecutive_failures.min(6);
    Duration::from_secs(secs.min(60))
}
