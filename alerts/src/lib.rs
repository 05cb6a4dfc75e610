//! Alerts: the alert model, rules, de-duplication, lifecycle and fan-out. Pure logic, no
//! SQL and no HTTP.
//!
//! Not built yet (see README, Status).
