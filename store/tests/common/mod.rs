//! Test databases: a fresh PostgreSQL database (TimescaleDB) or SQLite file per test.

use std::sync::atomic::{AtomicU32, Ordering};

use veghe_store::{Store, StoreOptions};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Admin URL of the PostgreSQL server the tests may create databases on.
pub fn pg_admin_url() -> String {
    std::env::var("VEGHE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub async fn postgres() -> Store {
    let admin = pg_admin_url();
    let url = veghe_store::create_database(&admin, &unique_name("veghe_test"))
        .await
        .expect("PostgreSQL reachable");
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .expect("connect test database");
    store.migrate().await.expect("migrate");
    store
}

pub async fn sqlite() -> Store {
    let dir = std::env::temp_dir().join(unique_name("veghe_test"));
    let url = format!("sqlite://{}/veghe.db", dir.display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    store
}
