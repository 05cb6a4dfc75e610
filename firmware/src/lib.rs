//! The sensor-node firmware core: portable `#![no_std]` logic a city flashes onto its
//! noise and air-quality nodes, with the hardware behind small traits, tested on the
//! host. No heap: every buffer is a fixed array.
//!
//! `hal` names the hardware (UART, I²C, I²S samples, a power switch, a clock; flash
//! behind `store_forward::SlotStorage` and `sequence::SeqStore`); `sensors` parses the
//! particulate sensors' UART frames and compensates the BME280; `liveness` spots a
//! silent sensor; `noise` is the level meter; `payload`, `sequence` and
//! `store_forward` make and keep the MQTT payloads; `node` is the loop that composes
//! them, which the fleet simulator runs too.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

pub mod hal;
pub mod liveness;
pub mod node;
pub mod noise;
pub mod payload;
pub mod sensors;
pub mod sequence;
pub mod store_forward;
