//! The `veghe` binary's library: configuration, the embedded broker, and the
//! composition of the crates into one running system. `main.rs` only parses the
//! command line and installs logging.

pub mod alerting;
pub mod bench;
pub mod bench_alerts;
pub mod bench_vision;
pub mod broker;
pub mod cameras;
pub mod cli;
pub mod config;
pub mod sensor_alerts;
pub mod system;
pub mod users;
pub mod vision;

pub use config::Config;
pub use system::{start, Running};
