//! Faults a simulated camera can be told to show, standing in for the ways real cameras
//! break: a login page instead of a picture, server errors, a cut-off JPEG, a stalled
//! encoder repeating one frame, a slow answer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 200 with a `text/html` login page (a camera whose session expired).
    ServeHtml,
    /// 500 Internal Server Error.
    ServerError,
    /// The JPEG cut in half (a connection dropped mid-frame), announced as a JPEG.
    Truncated,
    /// The same JPEG bytes forever: the first frame the camera served (a stalled
    /// encoder).
    Frozen,
    /// Every answer (and every stream part) comes `delay` late.
    Slow {
        #[serde(with = "millis")]
        delay: Duration,
    },
}

/// Durations as milliseconds in the JSON listing.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The login page a [`Fault::ServeHtml`] camera answers with.
pub const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>IP Camera - Login</title></head>\n\
<body><form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" type=\"password\">\
<button>Sign in</button></form></body></html>\n";
