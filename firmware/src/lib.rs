//! The sensor-node firmware core: portable `#![no_std]` logic a city flashes onto its
//! noise and air-quality nodes, with the hardware behind small traits.
//!
//! Not built yet (see README, Status): today the fleet simulator in `firmware/sim`
//! produces the nodes' readings itself.
#![cfg_attr(not(feature = "std"), no_std)]
