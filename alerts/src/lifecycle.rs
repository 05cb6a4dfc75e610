//! Which state changes a dispatcher may make, and the error for the others.

use crate::model::AlertState;
use crate::AlertError;

/// Whether `from -> to` is a step of the lifecycle: acknowledge a new alert,
/// dispatch an acknowledged one, resolve an acknowledged or dispatched one, and call a
/// false alarm on any open one. Closed alerts stay closed.
pub fn allowed(from: AlertState, to: AlertState) -> bool {
    use AlertState::*;
    matches!(
        (from, to),
        (New, Acknowledged)
            | (Acknowledged, Dispatched)
            | (Acknowledged, Resolved)
            | (Dispatched, Resolved)
            | (New, FalseAlarm)
            | (Acknowledged, FalseAlarm)
            | (Dispatched, FalseAlarm)
    )
}

pub fn check(from: AlertState, to: AlertState) -> Result<(), AlertError> {
    if allowed(from, to) {
        Ok(())
    } else {
        Err(AlertError::InvalidTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertState::*;

    #[test]
    fn transition_table() {
        let ok = [
            (New, Acknowledged),
            (Acknowledged, Dispatched),
            (Acknowledged, Resolved),
            (Dispatched, Resolved),
            (New, FalseAlarm),
            (Acknowledged, FalseAlarm),
            (Dispatched, FalseAlarm),
        ];
        for from in AlertState::ALL {
            for to in AlertState::ALL {
                assert_eq!(allowed(from, to), ok.contains(&(from, to)), "{from} -> {to}");
            }
        }
        let err = check(Resolved, Acknowledged).unwrap_err().to_string();
        assert!(err.contains("resolved") && err.contains("acknowledged"), "{err}");
    }
}
