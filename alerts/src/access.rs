//! Who may see and act on which alerts. Camera alerts and frames are police data:
//! dispatchers, supervisors and admins only; environment staff see sensor alerts;
//! anonymous users see none.

use serde::{Deserialize, Serialize};

use crate::model::AlertKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Dispatcher,
    Supervisor,
    Environment,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Dispatcher, Role::Supervisor, Role::Environment, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::Supervisor => "supervisor",
            Role::Environment => "environment",
            Role::Admin => "admin",
        }
    }

    pub fn sees_police_data(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Supervisor | Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (dispatcher, supervisor, environment, admin)"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a user with `role` (None: anonymous) may see alerts of `kind`.
pub fn may_view(role: Option<Role>, kind: AlertKind) -> bool {
    match role {
        None => false,
        Some(r) if kind.is_police_data() => r.sees_police_data(),
        Some(_) => true,
    }
}

/// Whether a user may change the state of alerts of `kind` (the same people who see
/// them; everyone who sees an alert may work on it).
pub fn may_act(role: Option<Role>, kind: AlertKind) -> bool {
    may_view(role, kind)
}

/// The kinds a role sees, for filtering lists and streams.
pub fn visible_kinds(role: Option<Role>) -> Vec<AlertKind> {
    AlertKind::ALL.into_iter().filter(|k| may_view(role, *k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_table() {
        use AlertKind::*;
        let cases = [
            (None, CameraRule, false),
            (None, SensorThreshold, false),
            (Some(Role::Dispatcher), CameraRule, true),
            (Some(Role::Dispatcher), SensorOffline, true),
            (Some(Role::Supervisor), CameraHealth, true),
            (Some(Role::Admin), CameraRule, true),
            (Some(Role::Environment), CameraRule, false),
            (Some(Role::Environment), CameraHealth, false),
            (Some(Role::Environment), SensorThreshold, true),
            (Some(Role::Environment), SensorOffline, true),
        ];
        for (role, kind, want) in cases {
            assert_eq!(may_view(role, kind), want, "{role:?} {kind:?}");
        }
        assert_eq!(visible_kinds(Some(Role::Environment)), vec![SensorThreshold, SensorOffline]);
        assert!(visible_kinds(None).is_empty());
        assert_eq!("supervisor".parse::<Role>(), Ok(Role::Supervisor));
        assert!("chief".parse::<Role>().is_err());
    }
}
