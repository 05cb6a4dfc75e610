//! Session cookies: `POST /api/v1/session` logs in, `GET` says who is logged in,
//! `DELETE` logs out; the [`Viewer`] and [`Acting`] extractors find the user of a
//! request, the latter also checking the CSRF header.

use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use veghe_alerts::Role;
use veghe_store::AuditEntry;

use super::password::{constant_time_eq, random_token, token_hash, verify_password};
use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "veghe_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub name: String,
    pub role: Role,
    pub csrf_token: String,
}

/// The user, if the request carries a live session; anonymous otherwise.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<SessionUser>);

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|u| u.role)
    }

    pub fn name(&self) -> &str {
        self.0.as_ref().map(|u| u.name.as_str()).unwrap_or("anonymous")
    }
}

/// A logged-in user making a change: the session must be live and the request must
/// repeat the session's CSRF token in `X-CSRF-Token`.
#[derive(Debug, Clone)]
pub struct Acting(pub SessionUser);

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_owned())
        })
}

async fn lookup(parts: &Parts, state: &AppState) -> Result<Option<SessionUser>, ApiError> {
    let Some(token) = session_token(&parts.headers) else {
        return Ok(None);
    };
    let record = state.store.session(&token_hash(&token), Utc::now()).await?;
    Ok(record.map(|r| SessionUser {
        name: r.user,
        role: r.role,
        csrf_token: r.csrf_token,
    }))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Viewer(lookup(parts, state).await?))
    }
}

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = lookup(parts, state)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("log in first".into()))?;
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent, &user.csrf_token) {
            return Err(ApiError::Forbidden(
                "missing or wrong X-CSRF-Token header (GET /api/v1/session gives it)".into(),
            ));
        }
        Ok(Acting(user))
    }
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// The peer's address when the server records it (served with connect info).
pub struct ClientAddr(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

fn cookie(state: &AppState, value: &str, max_age_s: u64) -> HeaderValue {
    let secure = if state.auth.secure_cookies { "; Secure" } else { "" };
    let text = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("veghe_session=; Path=/; Max-Age=0"))
}

/// `POST /api/v1/session` with `{"username": …, "password": …}`.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(creds): Json<Credentials>,
) -> Result<Response, ApiError> {
    let ip_key = format!("ip:{}", addr.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into()));
    let user_key = format!("user:{}", creds.username);
    let keys = [ip_key.as_str(), user_key.as_str()];
    let now = Instant::now();
    if let Some(wait) = state.limiter.retry_after(&keys, now) {
        return Err(ApiError::TooManyRequests {
            message: "too many failed log-ins; wait and try again".into(),
            retry_after_s: wait.as_secs().max(1),
        });
    }
    let user = state.store.user(&creds.username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = creds.password.clone();
    // argon2 is slow on purpose: off the async runtime. An unknown user is checked
    // against a dummy hash so timing does not tell which names exist.
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            verify_password(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.failed(&keys, now);
        let _ = state
            .store
            .audit(&AuditEntry {
                at: Utc::now(),
                actor: creds.username.clone(),
                action: "login_failed".into(),
                target: "session".into(),
                detail: json!({ "address": ip_key.trim_start_matches("ip:") }),
            })
            .await;
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    state.limiter.succeeded(&user_key);
    let token = random_token();
    let csrf = random_token();
    let ttl = state.auth.session_ttl;
    let expires = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    state
        .store
        .create_session(&token_hash(&token), &user.name, &csrf, expires)
        .await?;
    state
        .store
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: user.name.clone(),
            action: "login".into(),
            target: "session".into(),
            detail: json!({}),
        })
        .await?;
    let body = json!({ "user": user.name, "role": user.role, "csrf_token": csrf, "expires_at": expires });
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(SET_COOKIE, cookie(&state, &token, ttl.as_secs()));
    Ok(resp)
}

/// `GET /api/v1/session`: the logged-in user and the CSRF token, or 401.
pub async fn me(viewer: Viewer) -> Result<Json<serde_json::Value>, ApiError> {
    let user = viewer.0.ok_or_else(|| ApiError::Unauthorized("not logged in".into()))?;
    Ok(Json(json!({ "user": user.name, "role": user.role, "csrf_token": user.csrf_token })))
}

/// `DELETE /api/v1/session`: logs out (the session is deleted and the cookie cleared).
pub async fn logout(State(state): State<AppState>, acting: Acting, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        state.store.delete_session(&token_hash(&token)).await?;
    }
    state
        .store
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: acting.0.name,
            action: "logout".into(),
            target: "session".into(),
            detail: json!({}),
        })
        .await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(SET_COOKIE, cookie(&state, "", 0));
    Ok(resp)
}

/// An argon2id hash of a random string, to spend the same time on unknown users.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| super::password::hash_password(&random_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; veghe_session=abc; b=2"));
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("veghe_session="));
        assert_eq!(session_token(&h), None);
        assert_eq!(session_token(&HeaderMap::new()), None);
    }
}
