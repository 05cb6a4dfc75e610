//! API errors and their HTTP status: the one place where failures become responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    /// Not logged in (or wrong credentials).
    #[error("{0}")]
    Unauthorized(String),
    /// Logged in but not allowed, or a missing CSRF token.
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with the current state (an invalid alert transition).
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    #[error(transparent)]
    Store(#[from] veghe_store::StoreError),
    #[error(transparent)]
    Ingest(#[from] veghe_ingest::IngestError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(veghe_store::StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            ApiError::Store(veghe_store::StoreError::Conflict(_)) => StatusCode::CONFLICT,
            ApiError::Store(veghe_store::StoreError::Alert(_)) => StatusCode::CONFLICT,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Ingest(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let mut resp = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if let ApiError::TooManyRequests { retry_after_s, .. } = self {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_s.into());
        }
        resp
    }
}
