//! Who is asking: log-in with a user name and password (argon2id hashes), session
//! cookies (HttpOnly, SameSite=Strict, Secure behind TLS), a CSRF token that every
//! state-changing request repeats in a header, and login rate limiting.

pub mod password;
pub mod rate_limit;
mod session;

pub use session::{login, logout, me, Acting, Viewer, SESSION_COOKIE};

use std::time::Duration;

/// Session settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a session lives.
    pub session_ttl: Duration,
    /// Mark cookies Secure (the server is behind TLS).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
        }
    }
}
