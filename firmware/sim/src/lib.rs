//! The host fleet simulator: sensor nodes placed over a real district (Bucharest,
//! Sector 6), each with plausible physics for its place and the hour, running the
//! firmware core's node loop (`veghe-firmware`) on simulated hardware and publishing to a real MQTT broker over its own
//! connection, with faults to inject.

mod district;
pub mod hardware;
mod node;
mod physics;
mod publisher;

pub use district::{fleet, SimNode, SECTOR_6};
pub use node::{NodeCore, NodeFaults};
pub use physics::{Air, Conditions, Physics, Traffic};
pub use publisher::{run, topic, Faults, SimConfig, SimError, SimStats};
