//! Synthetic but plausible surroundings for a node: traffic noise by hour and weekday,
//! particulate episodes on winter evenings (heating, inversions), humidity inflating
//! optical PM counts, a diurnal temperature cycle. The node's simulated sensors
//! (`hardware`) turn these into UART frames, BME280 registers and sound levels.

use crate::SimNode;
use chrono::{DateTime, Datelike, Timelike, Utc};
use rand::Rng;

/// What the weather and the clock say, shared by every node at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Conditions {
    /// Local hour of day, fractional (Bucharest: UTC+2, UTC+3 in summer).
    pub hour: f64,
    pub weekend: bool,
    /// 1.0 in mid-winter, 0.0 in mid-summer.
    pub winter: f64,
}

impl Conditions {
    pub fn at(t: DateTime<Utc>) -> Conditions {
        // EU summer time roughly April to October.
        let offset = if (4..=10).contains(&t.month()) {
            3.0
        } else {
            2.0
        };
        let hour = (t.hour() as f64 + t.minute() as f64 / 60.0 + offset) % 24.0;
        let local_day = (t + chrono::Duration::hours(offset as i64)).weekday();
        let doy = t.ordinal() as f64;
        let winter = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * (doy - 15.0) / 365.0).cos();
        Conditions {
            hour,
            weekend: matches!(local_day, chrono::Weekday::Sat | chrono::Weekday::Sun),
            winter,
        }
    }
}

/// A gaussian-ish bump centred at `centre` hours with `width` hours.
fn bump(hour: f64, centre: f64, width: f64) -> f64 {
    let d = ((hour - centre + 12.0).rem_euclid(24.0)) - 12.0;
    (-(d * d) / (2.0 * width * width)).exp()
}

/// Traffic intensity 0..1 by local hour.
pub fn traffic(c: Conditions) -> f64 {
    let (morning, evening) = if c.weekend { (0.45, 0.7) } else { (1.0, 0.9) };
    let base = if (6.0..22.0).contains(&c.hour) {
        0.55
    } else {
        0.12
    };
    (base
        + morning * 0.45 * bump(c.hour, if c.weekend { 10.5 } else { 8.0 }, 1.4)
        + evening * 0.4 * bump(c.hour, 18.0, 1.8))
    .min(1.0)
}

/// What a node's sensors are exposed to at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Air {
    /// µg/m³, as an optical counter would see it (humidity included).
    pub pm1: f64,
    pub pm2_5: f64,
    pub pm10: f64,
    pub temperature: f64,
    pub humidity: f64,
    /// hPa.
    pub pressure: f64,
    pub no2: Option<f64>,
    pub noise: Option<Traffic>,
    /// Volts, on battery-powered nodes.
    pub battery: Option<f64>,
    pub rssi: f64,
}

/// The street's sound: the LAeq the traffic makes and how much its fast level swings
/// (dB standard deviation: wider at night, when single vehicles stand out of quiet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    pub laeq: f64,
    pub spread_db: f64,
}

pub struct Physics;

impl Physics {
    /// The air and sound around a node at an instant.
    pub fn air(node: &SimNode, c: Conditions, rng: &mut impl Rng) -> Air {
        let t = traffic(c);
        let temperature =
            12.0 - 10.0 * c.winter + 5.0 * bump(c.hour, 15.0, 4.0) - 2.0 + rng.gen_range(-0.6..0.6);
        let humidity =
            (88.0 - 30.0 * bump(c.hour, 15.0, 4.0) + 6.0 * c.winter + rng.gen_range(-3.0..3.0))
                .clamp(20.0, 100.0);
        // Heating and evening inversions in winter; traffic all year.
        let heating = c.winter * (0.4 * bump(c.hour, 20.5, 2.2) + 0.15 * bump(c.hour, 7.5, 1.5));
        let dry_pm25 = (8.0 + 22.0 * c.winter) * node.pm_factor * (0.7 + 0.4 * t + 1.8 * heating);
        // Optical counters over-read in humid air.
        let humidity_gain = if humidity > 80.0 {
            1.0 + (humidity - 80.0) / 40.0
        } else {
            1.0
        };
        let pm2_5 = (dry_pm25 * humidity_gain * rng.gen_range(0.9..1.1)).max(0.5);
        Air {
            pm1: pm2_5 * rng.gen_range(0.62..0.75),
            pm2_5,
            pm10: pm2_5 * rng.gen_range(1.45..1.8),
            temperature,
            humidity,
            pressure: 1016.0 + rng.gen_range(-1.5..1.5),
            no2: node.has_no2.then(|| {
                (12.0 + 45.0 * t + 10.0 * c.winter) * node.pm_factor * rng.gen_range(0.85..1.15)
            }),
            noise: node.has_noise.then(|| Traffic {
                laeq: 47.0 + node.traffic_db + 20.0 * t + rng.gen_range(-1.5..1.5),
                spread_db: 3.5 + 3.0 * (1.0 - t),
            }),
            battery: node
                .battery
                .then(|| round(3.7 + 0.4 * bump(c.hour, 14.0, 3.0), 2)),
            rssi: (node.rssi_dbm + rng.gen_range(-3.0..3.0)).round(),
        }
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use veghe_sensors::Quantity;

    fn laeq_at(utc_hour: u32, day: u32) -> f64 {
        let node = &crate::fleet(1, 1)[0];
        let t = Utc.with_ymd_and_hms(2026, 11, day, utc_hour, 0, 0).unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let n = 50;
        (0..n)
            .map(|_| {
                Physics::air(node, Conditions::at(t), &mut rng)
                    .noise
                    .unwrap()
                    .laeq
            })
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn rush_hour_is_louder_than_the_night() {
        // 2026-11-17 is a Tuesday; 06:00 UTC is 08:00 in Bucharest.
        let rush = laeq_at(6, 17);
        let night = laeq_at(1, 17);
        assert!(rush - night > 10.0, "rush {rush:.1} night {night:.1}");
    }

    #[test]
    fn every_value_is_in_its_valid_range() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        for node in crate::fleet(40, 2) {
            for h in 0..24 {
                let t = Utc.with_ymd_and_hms(2026, 1, 10, h, 0, 0).unwrap();
                let a = Physics::air(&node, Conditions::at(t), &mut rng);
                let mut values = vec![
                    (Quantity::Pm1, a.pm1),
                    (Quantity::Pm2_5, a.pm2_5),
                    (Quantity::Pm10, a.pm10),
                    (Quantity::Temperature, a.temperature),
                    (Quantity::Humidity, a.humidity),
                    (Quantity::Pressure, a.pressure),
                    (Quantity::Rssi, a.rssi),
                ];
                values.extend(a.no2.map(|v| (Quantity::No2, v)));
                values.extend(a.battery.map(|v| (Quantity::Battery, v)));
                values.extend(a.noise.map(|n| (Quantity::Laeq, n.laeq)));
                for (q, v) in values {
                    assert!(q.in_range(v), "{q} = {v}");
                }
            }
        }
    }

    #[test]
    fn winter_evenings_carry_more_particulates_than_summer_afternoons() {
        let node = &crate::fleet(1, 1)[0];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        let mut pm = |t| Physics::air(node, Conditions::at(t), &mut rng).pm2_5;
        let winter_evening = pm(Utc.with_ymd_and_hms(2026, 1, 14, 18, 30, 0).unwrap());
        let summer_afternoon = pm(Utc.with_ymd_and_hms(2026, 7, 14, 12, 0, 0).unwrap());
        assert!(
            winter_evening > 2.0 * summer_afternoon,
            "{winter_evening} vs {summer_afternoon}"
        );
    }
}
