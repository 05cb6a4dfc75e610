//! Users, sessions and the audit log on PostgreSQL. Passwords and session tokens
//! arrive hashed; the store keeps strings.

use chrono::{DateTime, Utc};
use sqlx::Row;
use veghe_alerts::Role;

use super::PgStore;
use crate::alert_types::parse_role;
use crate::error::unique_violation;
use crate::{AuditEntry, Result, SessionRecord, StoreError, UserInfo, UserRecord};

impl PgStore {
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_violation(e, || format!("user `{name}`")))?;
        Ok(())
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT name, role, password_hash, created_at FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(UserRecord {
                name: row.try_get("name")?,
                role: parse_role(row.try_get("role")?)?,
                password_hash: row.try_get("password_hash")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE name = $1")
            .bind(name)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>> {
        let rows = sqlx::query("SELECT name, role, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UserInfo {
                    name: row.try_get("name")?,
                    role: parse_role(row.try_get("role")?)?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO sessions (token_hash, user_name, csrf_token, expires_at)
             SELECT $1, name, $3, $4 FROM users WHERE name = $2",
        )
        .bind(token_hash)
        .bind(user)
        .bind(csrf_token)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_violation(e, || "session token".to_owned()))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user `{user}`")));
        }
        Ok(())
    }

    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.user_name, u.role, s.csrf_token, s.expires_at
             FROM sessions s JOIN users u ON u.name = s.user_name
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                user: row.try_get("user_name")?,
                role: parse_role(row.try_get("role")?)?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail)
             VALUES ($1, $2, $3, $4, $5::jsonb)",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.detail.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn audit_log(&self, since: Option<DateTime<Utc>>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target, detail::text AS detail FROM audit_log
             WHERE $1::timestamptz IS NULL OR at >= $1
             ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEntry {
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?,
                })
            })
            .collect()
    }
}
