//! The camera registry on SQLite.

use sqlx::Row;

use super::{from_micros, SqliteStore};
use crate::{CameraRecord, Result, StoreError};

const COLUMNS: &str = "id, name, lat, lon, enabled, config, updated_at";

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<CameraRecord> {
    let config: String = row.try_get("config")?;
    Ok(CameraRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("camera config is not JSON: {e}")))?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

impl SqliteStore {
    pub async fn upsert_camera(&self, camera: &CameraRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO cameras (id, name, lat, lon, enabled, config, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, lat = excluded.lat,
                 lon = excluded.lon, enabled = excluded.enabled, config = excluded.config,
                 updated_at = excluded.updated_at",
        )
        .bind(&camera.id)
        .bind(&camera.name)
        .bind(camera.lat)
        .bind(camera.lon)
        .bind(camera.enabled)
        .bind(camera.config.to_string())
        .bind(camera.updated_at.timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn cameras(&self) -> Result<Vec<CameraRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM cameras ORDER BY id"))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(record).collect()
    }

    pub async fn camera(&self, id: &str) -> Result<Option<CameraRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cameras WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(record).transpose()
    }
}
