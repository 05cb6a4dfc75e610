//! The sensor-node firmware core: portable `#![no_std]` logic a city flashes onto its
//! noise and air-quality nodes, with the hardware behind small traits, tested on the
//! host. No heap: every buffer is a fixed array.
//!
//! Built so far: the particulate sensors' UART frame parsers (SDS011, PMS5003) with
//! silent-sensor detection, and the BME280's integer compensation. See README, Status,
//! for what is still to come.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

pub mod liveness;
pub mod sensors;
