//! The EAQI bands, EU 2024/2881 limits, WHO 2021 guidelines and noise periods, re-exported
//! from [`veghe_sensors::standards`], where the one table lives so that the service's
//! indices and the alert rules judge by the same numbers.

pub use veghe_sensors::standards::*;
