//! The numbers veghe judges air and noise by, in one place: the European Air Quality
//! Index bands per pollutant, the EU Directive 2024/2881 limit values (from 2030), the
//! WHO 2021 air-quality guidelines, and the noise periods and guidelines of Directive
//! 2002/49/EC and WHO 2018. Pure data and arithmetic, kept in the sensor vocabulary so
//! alerts, dashboard maps and open data all read the same numbers.
//!
//! EAQI table: the revised EEA index as given in the project's design brief (upper band
//! edges in µg/m³ for Good, Fair, Moderate, Poor, Very poor; above the last edge:
//! Extremely poor). The EEA's earlier index used other edges (PM2.5 10/20/25/50/800);
//! check the table against the EEA's current publication before relying on it. A value
//! on an edge belongs to the lower band: PM2.5 = 50 is Moderate, 50.1 is Poor.

use std::fmt;

use serde::{Deserialize, Serialize};
use crate::Quantity;

/// The pollutants the EAQI rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pollutant {
    #[serde(rename = "pm2_5")]
    Pm2_5,
    Pm10,
    No2,
    O3,
    So2,
}

impl Pollutant {
    pub const ALL: [Pollutant; 5] = [Pollutant::Pm2_5, Pollutant::Pm10, Pollutant::No2, Pollutant::O3, Pollutant::So2];

    /// The sensor quantity measuring this pollutant (always µg/m³).
    pub const fn quantity(self) -> Quantity {
        match self {
            Pollutant::Pm2_5 => Quantity::Pm2_5,
            Pollutant::Pm10 => Quantity::Pm10,
            Pollutant::No2 => Quantity::No2,
            Pollutant::O3 => Quantity::O3,
            Pollutant::So2 => Quantity::So2,
        }
    }

    /// The pollutant a quantity measures, if the EAQI rates it.
    pub fn from_quantity(q: Quantity) -> Option<Pollutant> {
        Pollutant::ALL.into_iter().find(|p| p.quantity() == q)
    }

    /// The usual written name: "PM2.5", "NO2".
    pub const fn label(self) -> &'static str {
        match self {
            Pollutant::Pm2_5 => "PM2.5",
            Pollutant::Pm10 => "PM10",
            Pollutant::No2 => "NO2",
            Pollutant::O3 => "O3",
            Pollutant::So2 => "SO2",
        }
    }
}

impl fmt::Display for Pollutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// EAQI bands, best first; `Ord` follows (Good < ExtremelyPoor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Good,
    Fair,
    Moderate,
    Poor,
    VeryPoor,
    ExtremelyPoor,
}

impl Band {
    pub const ALL: [Band; 6] = [Band::Good, Band::Fair, Band::Moderate, Band::Poor, Band::VeryPoor, Band::ExtremelyPoor];

    pub const fn as_str(self) -> &'static str {
        match self {
            Band::Good => "good",
            Band::Fair => "fair",
            Band::Moderate => "moderate",
            Band::Poor => "poor",
            Band::VeryPoor => "very_poor",
            Band::ExtremelyPoor => "extremely_poor",
        }
    }

    /// The EAQI index level, 1 (good) to 6 (extremely poor).
    pub const fn level(self) -> u8 {
        self as u8 + 1
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// THE table: EAQI upper band edges in µg/m³ for Good, Fair, Moderate, Poor and Very
/// poor, per pollutant.
pub const EAQI_UPPER_EDGES: [(Pollutant, [f64; 5]); 5] = [
    (Pollutant::Pm2_5, [5.0, 15.0, 50.0, 90.0, 140.0]),
    (Pollutant::Pm10, [15.0, 45.0, 120.0, 195.0, 270.0]),
    (Pollutant::No2, [10.0, 25.0, 60.0, 100.0, 150.0]),
    (Pollutant::O3, [60.0, 100.0, 120.0, 160.0, 180.0]),
    (Pollutant::So2, [20.0, 40.0, 125.0, 190.0, 275.0]),
];

/// The five upper edges of a pollutant's bands.
pub fn upper_edges(p: Pollutant) -> [f64; 5] {
    // Every pollutant has a row (checked by a test); the fallback is never taken.
    EAQI_UPPER_EDGES.iter().find(|(q, _)| *q == p).map(|(_, e)| *e).unwrap_or([f64::INFINITY; 5])
}

/// The upper edge of `band` for `p` (None for Extremely poor, which has none).
pub fn upper_edge(p: Pollutant, band: Band) -> Option<f64> {
    upper_edges(p).get(band as usize).copied()
}

/// The band of a concentration in µg/m³. None for values that are not concentrations
/// (NaN, infinite, negative).
pub fn band(p: Pollutant, value: f64) -> Option<Band> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let edges = upper_edges(p);
    Some(edges.iter().position(|e| value <= *e).map(|i| Band::ALL[i]).unwrap_or(Band::ExtremelyPoor))
}

/// EU Directive 2024/2881 limit values for the protection of human health, to be met
/// by 2030, µg/m³.
pub mod eu_2024_2881 {
    pub const PM2_5_ANNUAL: f64 = 10.0;
    pub const PM2_5_DAILY: f64 = 25.0;
    pub const PM10_ANNUAL: f64 = 20.0;
    pub const PM10_DAILY: f64 = 45.0;
    pub const NO2_ANNUAL: f64 = 20.0;
    pub const NO2_DAILY: f64 = 50.0;
    pub const NO2_HOURLY: f64 = 200.0;

    // How often each short-term limit may be exceeded per calendar year (Annex I,
    // Table 1). NO2: as quoted from the directive's Annex I Table 1 ("1 hour 200, not
    // to be exceeded more than 3 times per calendar year; 1 day 50, not to be exceeded
    // more than 18 times"), https://eur-lex.europa.eu/eli/dir/2024/2881/oj. PM2.5 and
    // PM10: 18 days is the commonly reported figure, NOT confirmed against the
    // directive text here; check Annex I before relying on it.

    /// Hours per year the NO2 hourly limit may be exceeded (Annex I, confirmed).
    pub const NO2_HOURLY_EXCEEDANCES_ALLOWED: u32 = 3;
    /// Days per year the NO2 daily limit may be exceeded (Annex I, confirmed).
    pub const NO2_DAILY_EXCEEDANCES_ALLOWED: u32 = 18;
    /// Days per year the PM2.5 daily limit may be exceeded (unconfirmed, see above).
    pub const PM2_5_DAILY_EXCEEDANCES_ALLOWED: u32 = 18;
    /// Days per year the PM10 daily limit may be exceeded (unconfirmed, see above).
    pub const PM10_DAILY_EXCEEDANCES_ALLOWED: u32 = 18;
}

/// WHO 2021 air-quality guideline levels, µg/m³.
pub mod who_2021 {
    pub const PM2_5_ANNUAL: f64 = 5.0;
    pub const PM2_5_DAILY: f64 = 15.0;
    pub const PM10_ANNUAL: f64 = 15.0;
    pub const PM10_DAILY: f64 = 45.0;
    pub const NO2_ANNUAL: f64 = 10.0;
    pub const NO2_DAILY: f64 = 25.0;
    // The WHO's 24-hour levels are 99th percentiles of a year's daily means (3-4
    // exceedance days a year, from recollection of the 2021 guidelines, not checked
    // here); they are guidelines, not legal limits, so veghe reports counts only.
}

/// Environmental noise: the assessment periods of Directive 2002/49/EC (local time,
/// hours, start inclusive) and the WHO 2018 road-traffic guidelines, dB.
pub mod noise {
    /// Day 07-19.
    pub const DAY: (u32, u32) = (7, 19);
    /// Evening 19-23.
    pub const EVENING: (u32, u32) = (19, 23);
    /// Night 23-07.
    pub const NIGHT: (u32, u32) = (23, 7);
    /// WHO 2018, road traffic, Lden.
    pub const WHO_2018_ROAD_LDEN: f64 = 53.0;
    /// WHO 2018, road traffic, Lnight.
    pub const WHO_2018_ROAD_LNIGHT: f64 = 45.0;

    /// Lden from the day, evening and night levels (Directive 2002/49/EC, Annex I):
    /// 10 lg[(12·10^(Ld/10) + 4·10^((Le+5)/10) + 8·10^((Ln+10)/10)) / 24]. NaN in, NaN
    /// out.
    pub fn lden(ld: f64, le: f64, ln: f64) -> f64 {
        let e = |l: f64| 10f64.powf(l / 10.0);
        10.0 * ((12.0 * e(ld) + 4.0 * e(le + 5.0) + 8.0 * e(ln + 10.0)) / 24.0).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pollutant_has_one_row_of_rising_edges() {
        for p in Pollutant::ALL {
            let rows = EAQI_UPPER_EDGES.iter().filter(|(q, _)| *q == p).count();
            assert_eq!(rows, 1, "{p}");
            let e = upper_edges(p);
            assert!(e.windows(2).all(|w| w[0] < w[1]), "{p}: {e:?}");
            assert_eq!(Pollutant::from_quantity(p.quantity()), Some(p));
        }
        assert_eq!(Pollutant::from_quantity(Quantity::Laeq), None);
    }

    #[test]
    fn band_table() {
        use Band::*;
        use Pollutant::*;
        let cases = [
            (Pm2_5, 0.0, Some(Good)),
            (Pm2_5, 5.0, Some(Good)),
            (Pm2_5, 5.01, Some(Fair)),
            (Pm2_5, 15.0, Some(Fair)),
            (Pm2_5, 50.0, Some(Moderate)),
            (Pm2_5, 50.1, Some(Poor)),
            (Pm2_5, 90.0, Some(Poor)),
            (Pm2_5, 140.0, Some(VeryPoor)),
            (Pm2_5, 140.5, Some(ExtremelyPoor)),
            (Pm10, 44.0, Some(Fair)),
            (Pm10, 121.0, Some(Poor)),
            (Pm10, 300.0, Some(ExtremelyPoor)),
            (No2, 10.0, Some(Good)),
            (No2, 61.0, Some(Poor)),
            (No2, 200.0, Some(ExtremelyPoor)),
            (O3, 110.0, Some(Moderate)),
            (O3, 170.0, Some(VeryPoor)),
            (So2, 20.0, Some(Good)),
            (So2, 276.0, Some(ExtremelyPoor)),
            (Pm2_5, f64::NAN, None),
            (Pm2_5, f64::INFINITY, None),
            (Pm2_5, -1.0, None),
        ];
        for (p, v, want) in cases {
            assert_eq!(band(p, v), want, "{p} {v}");
        }
        assert_eq!(upper_edge(Pm2_5, Moderate), Some(50.0));
        assert_eq!(upper_edge(Pm10, Moderate), Some(120.0));
        assert_eq!(upper_edge(Pm2_5, ExtremelyPoor), None);
        assert_eq!(Band::Good.level(), 1);
        assert_eq!(Band::ExtremelyPoor.level(), 6);
    }

    #[test]
    fn lden_table() {
        let cases = [
            // Equal levels all day: the evening and night penalties add ~6.4 dB.
            (60.0, 60.0, 60.0, 66.4),
            (55.0, 50.0, 45.0, 55.0),
            (70.0, 65.0, 60.0, 70.0),
        ];
        for (ld, le, ln, want) in cases {
            let got = noise::lden(ld, le, ln);
            assert!((got - want).abs() < 0.05, "{ld} {le} {ln}: {got}");
        }
        assert!(noise::lden(f64::NAN, 50.0, 40.0).is_nan());
    }
}
