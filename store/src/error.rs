//! The store's error type.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use postgres://… or sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The thing named does not exist (an alert id, a user name).
    #[error("{0} not found")]
    NotFound(String),
    /// The thing named exists already (a user name), or kept changing under a write.
    #[error("{0}")]
    Conflict(String),
    /// Refused by the alert model, e.g. an alert that cannot go from one state to
    /// another.
    #[error(transparent)]
    Alert(#[from] veghe_alerts::AlertError),
}

/// A unique-key violation as [`StoreError::Conflict`] (`what` already exists); other
/// errors as they are.
pub(crate) fn unique_violation(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!("{} already exists", what())),
        _ => StoreError::Database(e),
    }
}
