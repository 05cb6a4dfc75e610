//! The host fleet simulator: sensor nodes placed over a real district (Bucharest,
//! Sector 6), each with plausible physics for its place and the hour, publishing
//! veghe payloads to a real MQTT broker over its own connection.

mod district;
mod physics;
mod publisher;

pub use district::{fleet, SimNode, SECTOR_6};
pub use physics::{Conditions, Physics};
pub use publisher::{run, SimConfig, SimError};
