//! The sensor-node firmware core: portable `#![no_std]` logic a city flashes onto its
//! noise and air-quality nodes, with the hardware behind small traits, tested on the
//! host. No heap: every buffer is a fixed array.
//!
//! Built so far: the particulate sensors' UART frame parsers (SDS011, PMS5003) with
//! silent-sensor detection, the BME280's integer compensation, and the noise chain
//! (A-weighting, LAeq, LAmax/LAmin fast, LA10/LA90, microphone calibration). See
//! README, Status, for what is still to come.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

pub mod liveness;
pub mod noise;
pub mod payload;
pub mod sensors;
pub mod sequence;
pub mod store_forward;
