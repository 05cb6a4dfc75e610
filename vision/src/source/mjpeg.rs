//! A multipart MJPEG stream (`multipart/x-mixed-replace`) cut into JPEG frames. Pure:
//! bytes go in as they arrive, whole frames come out. Parts are taken by their
//! `Content-Length` when the camera sends one, else up to the next boundary; a part
//! larger than the limit is an error rather than unbounded memory.

use bytes::{Buf, Bytes, BytesMut};

/// Cuts a multipart byte stream into parts.
#[derive(Debug)]
pub struct MjpegParser {
    /// `--boundary`, as it appears before each part.
    delimiter: Vec<u8>,
    buf: BytesMut,
    max_part: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MjpegError {
    PartTooLarge(usize),
    BadHeader(String),
}

impl std::fmt::Display for MjpegError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MjpegError::PartTooLarge(n) => write!(f, "MJPEG part larger than {n} bytes"),
            MjpegError::BadHeader(h) => write!(f, "MJPEG part header: {h}"),
        }
    }
}

/// The boundary named by a `Content-Type: multipart/x-mixed-replace; boundary=...`
/// header, without quotes or leading dashes.
pub fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"').trim_start_matches("--");
            (!v.is_empty()).then(|| v.to_owned())
        } else {
            None
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl MjpegParser {
    pub fn new(boundary: &str, max_part: usize) -> Self {
        MjpegParser {
            delimiter: format!("--{boundary}").into_bytes(),
            buf: BytesMut::new(),
            max_part,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete part's body, if one has arrived.
    pub fn next_part(&mut self) -> Result<Option<Bytes>, MjpegError> {
        loop {
            let Some(start) = find(&self.buf, &self.delimiter) else {
                // Keep only a tail that could still hold the start of a delimiter.
                let keep = self.delimiter.len();
                if self.buf.len() > keep {
                    let drop = self.buf.len() - keep;
                    self.buf.advance(drop);
                }
                return Ok(None);
            };
            let header_start = start + self.delimiter.len();
            let Some(header_len) = find(&self.buf[header_start..], b"\r\n\r\n") else {
                if self.buf.len() - header_start > 8192 {
                    // No header end within 8 KiB: garbage; skip this delimiter.
                    self.buf.advance(header_start);
                    continue;
                }
                return Ok(None);
            };
            let headers = &self.buf[header_start..header_start + header_len];
            let body_start = header_start + header_len + 4;
            let length = match content_length(headers) {
                Ok(length) => length,
                Err(e) => {
                    self.buf.advance(body_start);
                    return Err(e);
                }
            };
            let body_end = match length {
                Some(n) => {
                    if n > self.max_part {
                        self.buf.advance(body_start);
                        return Err(MjpegError::PartTooLarge(self.max_part));
                    }
                    if self.buf.len() < body_start + n {
                        return Ok(None);
                    }
                    body_start + n
                }
                None => match find(&self.buf[body_start..], &self.delimiter) {
                    Some(rel) => {
                        // The body ends before the CRLF that precedes the delimiter.
                        let mut end = body_start + rel;
                        if self.buf[..end].ends_with(b"\r\n") {
                            end -= 2;
                        }
                        end
                    }
                    None => {
                        if self.buf.len() - body_start > self.max_part {
                            self.buf.advance(body_start);
                            return Err(MjpegError::PartTooLarge(self.max_part));
                        }
                        return Ok(None);
                    }
                },
            };
            self.buf.advance(body_start);
            let body = self.buf.split_to(body_end - body_start).freeze();
            return Ok(Some(body));
        }
    }
}

fn content_length(headers: &[u8]) -> Result<Option<usize>, MjpegError> {
    for line in headers.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                return v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| MjpegError::BadHeader(line.trim().to_owned()));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(body: &[u8], with_length: bool) -> Vec<u8> {
        let mut p = b"--frame\r\nContent-Type: image/jpeg\r\n".to_vec();
        if with_length {
            p.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        p.extend_from_slice(b"\r\n");
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    }

    #[test]
    fn boundary_table() {
        let cases = [
            ("multipart/x-mixed-replace; boundary=frame", Some("frame")),
            ("multipart/x-mixed-replace;boundary=\"--myboundary\"", Some("myboundary")),
            ("multipart/x-mixed-replace; charset=x; Boundary=ab", Some("ab")),
            ("image/jpeg", None),
            ("multipart/x-mixed-replace", None),
            ("text/html; boundary=x", None),
        ];
        for (ct, want) in cases {
            assert_eq!(boundary_from_content_type(ct).as_deref(), want, "{ct}");
        }
    }

    #[test]
    fn parts_with_and_without_length_in_any_chunking() {
        let bodies: [&[u8]; 3] = [b"\xff\xd8first\xff\xd9", b"\xff\xd8second--fr\xff\xd9", b"\xff\xd8third\xff\xd9"];
        for with_length in [true, false] {
            let mut stream = Vec::new();
            for b in bodies {
                stream.extend(part(b, with_length));
            }
            stream.extend_from_slice(b"--frame\r\n"); // the start of a fourth part
            for chunk_size in [1, 3, 7, 64, stream.len()] {
                let mut parser = MjpegParser::new("frame", 1 << 20);
                let mut got = Vec::new();
                for chunk in stream.chunks(chunk_size) {
                    parser.push(chunk);
                    while let Some(p) = parser.next_part().unwrap() {
                        got.push(p);
                    }
                }
                let want: Vec<&[u8]> = bodies.to_vec();
                assert_eq!(got.iter().map(|b| &b[..]).collect::<Vec<_>>(), want, "length {with_length}, chunk {chunk_size}");
            }
        }
    }

    #[test]
    fn oversize_and_garbage() {
        let mut parser = MjpegParser::new("frame", 4);
        parser.push(&part(b"0123456789", true));
        assert_eq!(parser.next_part(), Err(MjpegError::PartTooLarge(4)));
        let mut parser = MjpegParser::new("frame", 1 << 20);
        parser.push(&vec![b'x'; 100_000]);
        assert_eq!(parser.next_part(), Ok(None));
        assert!(parser.buf.len() < 100, "garbage is not kept");
        parser.push(b"--frame\r\nContent-Length: nope\r\n\r\nabc");
        assert!(matches!(parser.next_part(), Err(MjpegError::BadHeader(_))));
    }
}
