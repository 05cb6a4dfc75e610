//! `veghe user add` (password from standard input) and the demo's dispatcher login.

use std::io::BufRead;

use anyhow::{bail, Context};
use chrono::Utc;
use veghe_alerts::Role;
use veghe_dashboard::auth::password::{hash_password, random_token};
use veghe_store::{Store, StoreError};

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Reads a password: the first line of `input`, without its line ending.
pub fn read_password(input: impl BufRead) -> anyhow::Result<String> {
    let line = input
        .lines()
        .next()
        .transpose()
        .context("cannot read the password from standard input")?
        .unwrap_or_default();
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must have at least {MIN_PASSWORD} characters (read from standard input)");
    }
    Ok(password)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'))
}

/// Creates a user; an existing name is an error.
pub async fn add(store: &Store, name: &str, role: Role, password: &str) -> anyhow::Result<()> {
    if !valid_name(name) {
        bail!("user name {name:?}: 1-64 of A-Z a-z 0-9 _ - . @");
    }
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("hashing task")?
        .map_err(anyhow::Error::msg)?;
    match store.create_user(name, role, &hash, Utc::now()).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => bail!("user {name} exists already"),
        Err(e) => Err(e.into()),
    }
}

/// The demo's dispatcher: created with a random password on the first start, which is
/// the only time the password is shown.
pub async fn ensure_demo_dispatcher(store: &Store) -> anyhow::Result<Option<(String, String)>> {
    const NAME: &str = "dispatcher";
    if store.user(NAME).await?.is_some() {
        return Ok(None);
    }
    let password: String = random_token().chars().take(16).collect();
    add(store, NAME, Role::Dispatcher, &password).await?;
    Ok(Some((NAME.to_owned(), password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_input_table() {
        let ok = read_password("correct horse battery\n".as_bytes()).unwrap();
        assert_eq!(ok, "correct horse battery");
        assert_eq!(read_password("0123456789\r\nsecond line".as_bytes()).unwrap(), "0123456789");
        assert!(read_password("short\n".as_bytes()).is_err());
        assert!(read_password("".as_bytes()).is_err());
        assert!(valid_name("ana.popescu@s6"));
        assert!(!valid_name("ana popescu"));
        assert!(!valid_name(""));
    }
}
