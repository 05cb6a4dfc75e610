//! Synthetic but plausible readings: traffic noise by hour and weekday, particulate
//! episodes on winter evenings (heating, inversions), humidity inflating optical PM
//! counts, a diurnal temperature cycle.

use chrono::{DateTime, Datelike, Timelike, Utc};
use rand::Rng;
use veghe_sensors::Quantity;

use crate::SimNode;

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

pub struct Physics;

impl Physics {
    /// The values a node reports for an instant.
    pub fn readings(node: &SimNode, c: Conditions, rng: &mut impl Rng) -> Vec<(Quantity, f64)> {
        let mut out = Vec::with_capacity(14);
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
        out.push((Quantity::Pm2_5, round(pm2_5, 1)));
        out.push((Quantity::Pm10, round(pm2_5 * rng.gen_range(1.45..1.8), 1)));
        out.push((Quantity::Pm1, round(pm2_5 * rng.gen_range(0.62..0.75), 1)));
        out.push((Quantity::Temperature, round(temperature, 1)));
        out.push((Quantity::Humidity, round(humidity, 1)));
        out.push((
            Quantity::Pressure,
            round(1016.0 + rng.gen_range(-1.5..1.5), 1),
        ));
        if node.has_no2 {
            let no2 =
                (12.0 + 45.0 * t + 10.0 * c.winter) * node.pm_factor * rng.gen_range(0.85..1.15);
            out.push((Quantity::No2, round(no2, 1)));
        }
        if node.has_noise {
            let laeq = 47.0 + node.traffic_db + 20.0 * t + rng.gen_range(-1.5..1.5);
            out.push((Quantity::Laeq, round(laeq, 1)));
            out.push((Quantity::Lamax, round(laeq + rng.gen_range(7.0..16.0), 1)));
            out.push((Quantity::Lamin, round(laeq - rng.gen_range(7.0..12.0), 1)));
            out.push((Quantity::La10, round(laeq + rng.gen_range(2.0..4.0), 1)));
            out.push((Quantity::La90, round(laeq - rng.gen_range(4.0..8.0), 1)));
        }
        if node.battery {
            out.push((
                Quantity::Battery,
                round(3.7 + 0.4 * bump(c.hour, 14.0, 3.0), 2),
            ));
        }
        out.push((
            Quantity::Rssi,
            (node.rssi_dbm + rng.gen_range(-3.0..3.0)).round(),
        ));
        out
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

    fn laeq_at(utc_hour: u32, day: u32) -> f64 {
        let node = &crate::fleet(1, 1)[0];
        let t = Utc.with_ymd_and_hms(2026, 11, day, utc_hour, 0, 0).unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let n = 50;
        (0..n)
            .map(|_| {
                Physics::readings(node, Conditions::at(t), &mut rng)
                    .into_iter()
                    .find(|(q, _)| *q == Quantity::Laeq)
                    .unwrap()
                    .1
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
                for (q, v) in Physics::readings(&node, Conditions::at(t), &mut rng) {
                    assert!(q.in_range(v), "{q} = {v}");
                }
            }
        }
    }

    #[test]
    fn winter_evenings_carry_more_particulates_than_summer_afternoons() {
        let node = &crate::fleet(1, 1)[0];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        let mut pm = |t| Physics::readings(node, Conditions::at(t), &mut rng)[0].1;
        let winter_evening = pm(Utc.with_ymd_and_hms(2026, 1, 14, 18, 30, 0).unwrap());
        let summer_afternoon = pm(Utc.with_ymd_and_hms(2026, 7, 14, 12, 0, 0).unwrap());
        assert!(
            winter_evening > 2.0 * summer_afternoon,
            "{winter_evening} vs {summer_afternoon}"
        );
    }
}
