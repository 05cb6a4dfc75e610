//! The MJPEG wire format (`multipart/x-mixed-replace`): one part per frame, each with its
//! own Content-Type and Content-Length, and the body stream that carries the parts as a
//! producer task hands them over.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

/// The multipart boundary (without the leading dashes).
pub const BOUNDARY: &str = "veghe-frame";

pub fn content_type() -> String {
    format!("multipart/x-mixed-replace; boundary={BOUNDARY}")
}

/// One part: boundary line, headers, the JPEG, CRLF.
pub fn part(jpeg: &[u8]) -> Bytes {
    let head = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
    let mut b = BytesMut::with_capacity(head.len() + jpeg.len() + 2);
    b.put_slice(head.as_bytes());
    b.put_slice(jpeg);
    b.put_slice(b"\r\n");
    b.freeze()
}

/// The response body: parts as they arrive; it ends when the producer stops, and
/// dropping it (the client went away) stops the producer.
pub struct Parts(pub mpsc::Receiver<Bytes>);

impl futures_core::Stream for Parts {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|p| p.map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_layout() {
        let p = part(b"\xff\xd8abc\xff\xd9");
        let text = String::from_utf8_lossy(&p);
        assert!(text.starts_with("--veghe-frame\r\nContent-Type: image/jpeg\r\nContent-Length: 7\r\n\r\n"), "{text}");
        assert!(p.ends_with(b"\xff\xd9\r\n"));
    }
}
