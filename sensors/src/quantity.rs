//! Quantities veghe stores, each with one fixed unit and the range a working sensor can
//! report. Names are the wire names of veghe's MQTT payload and never change.

use std::fmt;
use std::str::FromStr;

/// A measured quantity. The unit is fixed per quantity; ingest converts to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    Pm1,
    Pm2_5,
    Pm4,
    Pm10,
    No2,
    O3,
    So2,
    Co2,
    Temperature,
    Humidity,
    Pressure,
    Laeq,
    Lamax,
    Lamin,
    La10,
    La90,
    Battery,
    Rssi,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantity `{0}`")]
pub struct UnknownQuantity(pub String);

impl Quantity {
    pub const ALL: [Quantity; 18] = [
        Quantity::Pm1,
        Quantity::Pm2_5,
        Quantity::Pm4,
        Quantity::Pm10,
        Quantity::No2,
        Quantity::O3,
        Quantity::So2,
        Quantity::Co2,
        Quantity::Temperature,
        Quantity::Humidity,
        Quantity::Pressure,
        Quantity::Laeq,
        Quantity::Lamax,
        Quantity::Lamin,
        Quantity::La10,
        Quantity::La90,
        Quantity::Battery,
        Quantity::Rssi,
    ];

    /// The wire and storage name.
    pub const fn name(self) -> &'static str {
        match self {
            Quantity::Pm1 => "pm1",
            Quantity::Pm2_5 => "pm2_5",
            Quantity::Pm4 => "pm4",
            Quantity::Pm10 => "pm10",
            Quantity::No2 => "no2",
            Quantity::O3 => "o3",
            Quantity::So2 => "so2",
            Quantity::Co2 => "co2",
            Quantity::Temperature => "temperature",
            Quantity::Humidity => "humidity",
            Quantity::Pressure => "pressure",
            Quantity::Laeq => "laeq",
            Quantity::Lamax => "lamax",
            Quantity::Lamin => "lamin",
            Quantity::La10 => "la10",
            Quantity::La90 => "la90",
            Quantity::Battery => "battery",
            Quantity::Rssi => "rssi",
        }
    }

    pub const fn unit(self) -> &'static str {
        match self {
            Quantity::Pm1 | Quantity::Pm2_5 | Quantity::Pm4 | Quantity::Pm10 => "µg/m³",
            Quantity::No2 | Quantity::O3 | Quantity::So2 => "µg/m³",
            Quantity::Co2 => "ppm",
            Quantity::Temperature => "°C",
            Quantity::Humidity => "%",
            Quantity::Pressure => "hPa",
            Quantity::Laeq
            | Quantity::Lamax
            | Quantity::Lamin
            | Quantity::La10
            | Quantity::La90 => "dB(A)",
            Quantity::Battery => "V",
            Quantity::Rssi => "dBm",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Quantity::Pm1 => "particulate matter below 1 µm",
            Quantity::Pm2_5 => "particulate matter below 2.5 µm",
            Quantity::Pm4 => "particulate matter below 4 µm",
            Quantity::Pm10 => "particulate matter below 10 µm",
            Quantity::No2 => "nitrogen dioxide",
            Quantity::O3 => "ozone",
            Quantity::So2 => "sulphur dioxide",
            Quantity::Co2 => "carbon dioxide",
            Quantity::Temperature => "air temperature",
            Quantity::Humidity => "relative humidity",
            Quantity::Pressure => "air pressure",
            Quantity::Laeq => "A-weighted equivalent continuous sound level",
            Quantity::Lamax => "A-weighted maximum sound level (fast)",
            Quantity::Lamin => "A-weighted minimum sound level (fast)",
            Quantity::La10 => "A-weighted level exceeded 10% of the time",
            Quantity::La90 => "A-weighted level exceeded 90% of the time",
            Quantity::Battery => "battery voltage",
            Quantity::Rssi => "WiFi received signal strength",
        }
    }

    /// Inclusive range of values a working sensor can report; anything outside is a
    /// fault, not a measurement. Wide on purpose: exceedances are data, not errors.
    pub const fn valid_range(self) -> (f64, f64) {
        match self {
            Quantity::Pm1 | Quantity::Pm2_5 | Quantity::Pm4 | Quantity::Pm10 => (0.0, 2000.0),
            Quantity::No2 | Quantity::O3 | Quantity::So2 => (0.0, 5000.0),
            Quantity::Co2 => (0.0, 40000.0),
            Quantity::Temperature => (-60.0, 80.0),
            Quantity::Humidity => (0.0, 100.0),
            Quantity::Pressure => (300.0, 1100.0),
            Quantity::Laeq
            | Quantity::Lamax
            | Quantity::Lamin
            | Quantity::La10
            | Quantity::La90 => (0.0, 160.0),
            Quantity::Battery => (0.0, 60.0),
            Quantity::Rssi => (-140.0, 0.0),
        }
    }

    pub fn in_range(self, value: f64) -> bool {
        let (lo, hi) = self.valid_range();
        value.is_finite() && value >= lo && value <= hi
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Quantity {
    type Err = UnknownQuantity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::ALL
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| UnknownQuantity(s.to_owned()))
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for q in Quantity::ALL {
            assert_eq!(q.name().parse::<Quantity>(), Ok(q));
            assert!(seen.insert(q.name()), "duplicate name {}", q.name());
        }
        assert!("pm25".parse::<Quantity>().is_err());
    }

    #[test]
    fn ranges_reject_nan_and_out_of_range() {
        let cases = [
            (Quantity::Pm2_5, 12.3, true),
            (Quantity::Pm2_5, -0.1, false),
            (Quantity::Pm2_5, f64::NAN, false),
            (Quantity::Humidity, 100.0, true),
            (Quantity::Humidity, 100.5, false),
            (Quantity::Pressure, 1013.2, true),
            (Quantity::Pressure, 101320.0, false),
            (Quantity::Rssi, -71.0, true),
            (Quantity::Laeq, f64::INFINITY, false),
        ];
        for (q, v, ok) in cases {
            assert_eq!(q.in_range(v), ok, "{q} {v}");
        }
    }
}
