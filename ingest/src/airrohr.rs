//! Sensor.Community (airrohr) nodes pushing to a custom API: `X-Sensor: esp8266-<chipid>`
//! and `X-Pin` headers, body `{"esp8266id":"…","software_version":"…",
//! "sensordatavalues":[{"value_type":"SDS_P1","value":"12.30"},…]}` with string values
//! and prefixed names. Every value type the firmware sends is either mapped to a veghe
//! quantity (with unit normalisation), used as node metadata, or known telemetry that
//! is not stored; anything else becomes a dead letter on its own.

use chrono::{DateTime, Utc};
use serde_json::Value;
use veghe_sensors::{DeadLetter, Message, NodeId, Quantity, RejectReason};

use crate::wire::{check_range, parse_json, Decoded};
use crate::ValidationLimits;

/// The route this decoder serves; also the dead letters' source.
pub const SOURCE: &str = "/api/v1/push/sensor-community";

/// What a value type becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mapping {
    /// A quantity, after multiplying by the factor (unit normalisation).
    Quantity(Quantity, f64),
    Latitude,
    Longitude,
    /// Firmware telemetry (sample counts, loop timing, particle counts): known, not stored.
    Telemetry,
}

/// The airrohr value types, as the firmware names them in the custom-API body.
pub const VALUE_TYPES: &[(&str, Mapping)] = {
    use veghe_sensors::Quantity as Q;
    use Mapping::{Latitude, Longitude, Quantity, Telemetry};
    &[
        ("SDS_P1", Quantity(Q::Pm10, 1.0)),
        ("SDS_P2", Quantity(Q::Pm2_5, 1.0)),
        ("PMS_P0", Quantity(Q::Pm1, 1.0)),
        ("PMS_P1", Quantity(Q::Pm10, 1.0)),
        ("PMS_P2", Quantity(Q::Pm2_5, 1.0)),
        ("HPM_P1", Quantity(Q::Pm10, 1.0)),
        ("HPM_P2", Quantity(Q::Pm2_5, 1.0)),
        ("NPM_P0", Quantity(Q::Pm1, 1.0)),
        ("NPM_P1", Quantity(Q::Pm10, 1.0)),
        ("NPM_P2", Quantity(Q::Pm2_5, 1.0)),
        ("SPS30_P0", Quantity(Q::Pm1, 1.0)),
        ("SPS30_P2", Quantity(Q::Pm2_5, 1.0)),
        ("SPS30_P4", Quantity(Q::Pm4, 1.0)),
        ("SPS30_P1", Quantity(Q::Pm10, 1.0)),
        ("BME280_temperature", Quantity(Q::Temperature, 1.0)),
        ("BME280_humidity", Quantity(Q::Humidity, 1.0)),
        // The firmware reports pressure in Pa.
        ("BME280_pressure", Quantity(Q::Pressure, 0.01)),
        ("BMP280_temperature", Quantity(Q::Temperature, 1.0)),
        ("BMP280_pressure", Quantity(Q::Pressure, 0.01)),
        ("BMP_temperature", Quantity(Q::Temperature, 1.0)),
        ("BMP_pressure", Quantity(Q::Pressure, 0.01)),
        ("temperature", Quantity(Q::Temperature, 1.0)),
        ("humidity", Quantity(Q::Humidity, 1.0)),
        ("HTU21D_temperature", Quantity(Q::Temperature, 1.0)),
        ("HTU21D_humidity", Quantity(Q::Humidity, 1.0)),
        ("SHT3X_temperature", Quantity(Q::Temperature, 1.0)),
        ("SHT3X_humidity", Quantity(Q::Humidity, 1.0)),
        ("DS18B20_temperature", Quantity(Q::Temperature, 1.0)),
        ("SCD30_temperature", Quantity(Q::Temperature, 1.0)),
        ("SCD30_humidity", Quantity(Q::Humidity, 1.0)),
        ("SCD30_co2", Quantity(Q::Co2, 1.0)),
        ("DNMS_noise_LAeq", Quantity(Q::Laeq, 1.0)),
        ("DNMS_noise_LA_min", Quantity(Q::Lamin, 1.0)),
        ("DNMS_noise_LA_max", Quantity(Q::Lamax, 1.0)),
        ("signal", Quantity(Q::Rssi, 1.0)),
        ("GPS_lat", Latitude),
        ("GPS_lon", Longitude),
        ("GPS_height", Telemetry),
        ("GPS_timestamp", Telemetry),
        ("samples", Telemetry),
        ("min_micro", Telemetry),
        ("max_micro", Telemetry),
        ("interval", Telemetry),
        ("SPS30_N05", Telemetry),
        ("SPS30_N1", Telemetry),
        ("SPS30_N25", Telemetry),
        ("SPS30_N4", Telemetry),
        ("SPS30_N10", Telemetry),
        ("SPS30_TS", Telemetry),
        ("NPM_N1", Telemetry),
        ("NPM_N10", Telemetry),
        ("NPM_N25", Telemetry),
    ]
};

pub fn mapping(value_type: &str) -> Option<Mapping> {
    VALUE_TYPES
        .iter()
        .find(|(name, _)| *name == value_type)
        .map(|(_, m)| *m)
}

/// A decoded push, with the position the node reported, if it has a GPS.
#[derive(Debug, Default, PartialEq)]
pub struct AirrohrPush {
    pub decoded: Decoded,
    pub location: Option<(f64, f64)>,
}

/// Decodes one push received at `now`. `x_sensor` is the `X-Sensor` header.
pub fn decode_push(
    x_sensor: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    limits: &ValidationLimits,
) -> AirrohrPush {
    let refuse = |node: Option<&str>, reason, detail: String| AirrohrPush {
        decoded: Decoded::refuse(SOURCE, node, reason, detail, body),
        location: None,
    };
    if body.len() > *limits.max_payload_bytes {
        return refuse(
            x_sensor,
            RejectReason::PayloadTooLarge,
            format!("{} bytes, limit {}", body.len(), *limits.max_payload_bytes),
        );
    }
    let json = match parse_json(body) {
        Ok(v) => v,
        Err(e) => return refuse(x_sensor, RejectReason::MalformedJson, e),
    };
    let chip = match json.get("esp8266id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let node = match (x_sensor, &chip) {
        (Some(header), Some(chip)) if !header.ends_with(&format!("-{chip}")) => {
            return refuse(
                Some(header),
                RejectReason::NodeMismatch,
                format!("X-Sensor `{header}` does not name chip `{chip}`"),
            );
        }
        (Some(header), _) => header.to_owned(),
        (None, Some(chip)) => format!("esp8266-{chip}"),
        (None, None) => {
            return refuse(
                None,
                RejectReason::InvalidField,
                "neither an X-Sensor header nor `esp8266id` names the node".into(),
            );
        }
    };
    let node = match NodeId::new(node.clone()) {
        Ok(id) => id,
        Err(e) => {
            return refuse(
                Some(&node),
                RejectReason::InvalidField,
                format!("node id: {e}"),
            )
        }
    };
    let Some(Value::Array(values)) = json.get("sensordatavalues") else {
        return refuse(
            Some(node.as_str()),
            RejectReason::InvalidField,
            "`sensordatavalues` must be an array".into(),
        );
    };
    if values.is_empty() {
        return refuse(
            Some(node.as_str()),
            RejectReason::Empty,
            "`sensordatavalues` is empty".into(),
        );
    }
    if values.len() > limits.max_values {
        return refuse(
            Some(node.as_str()),
            RejectReason::InvalidField,
            format!("{} values, limit {}", values.len(), limits.max_values),
        );
    }

    let mut push = AirrohrPush::default();
    let mut accepted: Vec<(Quantity, f64)> = Vec::new();
    let (mut lat, mut lon) = (None, None);
    for entry in values {
        let letter = |reason, detail: String| {
            DeadLetter::new(
                SOURCE,
                Some(node.to_string()),
                reason,
                detail,
                entry.to_string().as_bytes(),
            )
        };
        let (Some(Value::String(value_type)), Some(raw)) =
            (entry.get("value_type"), entry.get("value"))
        else {
            push.decoded.dead_letters.push(letter(
                RejectReason::InvalidField,
                "entry needs a string `value_type` and a `value`".into(),
            ));
            continue;
        };
        let Some(mapping) = mapping(value_type) else {
            push.decoded.dead_letters.push(letter(
                RejectReason::UnknownQuantity,
                format!("unknown value_type `{value_type}`"),
            ));
            continue;
        };
        if mapping == Mapping::Telemetry {
            continue;
        }
        let number = match raw {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        };
        let Some(number) = number else {
            push.decoded.dead_letters.push(letter(
                RejectReason::InvalidField,
                format!("`{value_type}` value {raw} is not a number"),
            ));
            continue;
        };
        match mapping {
            Mapping::Quantity(q, factor) => {
                let v = number * factor;
                match check_range(q, v) {
                    Ok(()) => {
                        // A node with two sensors of one quantity: the first one wins.
                        if !accepted.iter().any(|(seen, _)| *seen == q) {
                            accepted.push((q, v));
                        }
                    }
                    Err((reason, detail)) => push.decoded.dead_letters.push(letter(reason, detail)),
                }
            }
            Mapping::Latitude if (-90.0..=90.0).contains(&number) => lat = Some(number),
            Mapping::Longitude if (-180.0..=180.0).contains(&number) => lon = Some(number),
            Mapping::Latitude | Mapping::Longitude => push.decoded.dead_letters.push(letter(
                RejectReason::OutOfRange,
                format!("`{value_type}` = {number} is not a coordinate"),
            )),
            Mapping::Telemetry => {}
        }
    }
    // airrohr's GPS reports 0/0 without a fix.
    push.location = lat.zip(lon).filter(|&(la, lo)| la != 0.0 || lo != 0.0);
    if !accepted.is_empty() {
        push.decoded.message = Some(Message {
            node,
            seq: None,
            ts: now,
            values: accepted,
        });
    }
    push
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    /// A body as airrohr firmware NRZ-2020-133 sends it to a custom API, with SDS011,
    /// BME280, DNMS and GPS.
    pub const FIRMWARE_BODY: &str = r#"{"esp8266id": "13597771", "software_version": "NRZ-2020-133", "sensordatavalues":[{"value_type":"SDS_P1","value":"24.53"},{"value_type":"SDS_P2","value":"11.20"},{"value_type":"BME280_temperature","value":"7.41"},{"value_type":"BME280_pressure","value":"100734.78"},{"value_type":"BME280_humidity","value":"81.33"},{"value_type":"DNMS_noise_LAeq","value":"58.41"},{"value_type":"DNMS_noise_LA_min","value":"51.02"},{"value_type":"DNMS_noise_LA_max","value":"71.95"},{"value_type":"GPS_lat","value":"44.435123"},{"value_type":"GPS_lon","value":"26.016234"},{"value_type":"GPS_height","value":"81.20"},{"value_type":"GPS_timestamp","value":"11/20/2026T11:59:57.000"},{"value_type":"samples","value":"869253"},{"value_type":"min_micro","value":"28"},{"value_type":"max_micro","value":"20114"},{"value_type":"interval","value":"145000"},{"value_type":"signal","value":"-71"}]}"#;

    #[test]
    fn maps_every_value_of_a_firmware_push() {
        let push = decode_push(
            Some("esp8266-13597771"),
            FIRMWARE_BODY.as_bytes(),
            now(),
            &ValidationLimits::default(),
        );
        assert!(
            push.decoded.dead_letters.is_empty(),
            "{:?}",
            push.decoded.dead_letters
        );
        let m = push.decoded.message.unwrap();
        assert_eq!(m.node.as_str(), "esp8266-13597771");
        assert_eq!((m.seq, m.ts), (None, now()));
        let mut got = m.values.clone();
        got.sort_by_key(|a| a.0);
        let want = vec![
            (Quantity::Pm2_5, 11.2),
            (Quantity::Pm10, 24.53),
            (Quantity::Temperature, 7.41),
            (Quantity::Humidity, 81.33),
            (Quantity::Pressure, 1007.3478),
            (Quantity::Laeq, 58.41),
            (Quantity::Lamax, 71.95),
            (Quantity::Lamin, 51.02),
            (Quantity::Rssi, -71.0),
        ];
        assert_eq!(got.len(), want.len());
        for ((q, v), (wq, wv)) in got.iter().zip(&want) {
            assert_eq!(q, wq);
            assert!((v - wv).abs() < 1e-9, "{q}: {v} vs {wv}");
        }
        assert_eq!(push.location, Some((44.435123, 26.016234)));
    }

    #[test]
    fn unknown_and_bad_values_are_dead_letters_on_their_own() {
        let body = r#"{"esp8266id":"42","sensordatavalues":[
            {"value_type":"SDS_P1","value":"12.5"},
            {"value_type":"FOO_bar","value":"1"},
            {"value_type":"SDS_P2","value":"n/a"},
            {"value_type":"BME280_humidity","value":"180"},
            {"value":"3"}]}"#;
        let push = decode_push(
            Some("esp8266-42"),
            body.as_bytes(),
            now(),
            &ValidationLimits::default(),
        );
        assert_eq!(
            push.decoded.message.unwrap().values,
            vec![(Quantity::Pm10, 12.5)]
        );
        let reasons: Vec<_> = push.decoded.dead_letters.iter().map(|d| d.reason).collect();
        assert_eq!(
            reasons,
            vec![
                RejectReason::UnknownQuantity,
                RejectReason::InvalidField,
                RejectReason::OutOfRange,
                RejectReason::InvalidField
            ]
        );
        assert!(push.decoded.dead_letters[0].payload.contains("FOO_bar"));
    }

    #[test]
    fn refuses_pushes_that_name_no_node_or_the_wrong_one() {
        let cases = [
            (
                Some("esp8266-1"),
                r#"{"esp8266id":"2","sensordatavalues":[]}"#,
                RejectReason::NodeMismatch,
            ),
            (
                None,
                r#"{"sensordatavalues":[{"value_type":"SDS_P1","value":"1"}]}"#,
                RejectReason::InvalidField,
            ),
            (
                None,
                r#"{"esp8266id":"2","sensordatavalues":{}}"#,
                RejectReason::InvalidField,
            ),
            (
                None,
                r#"{"esp8266id":"2","sensordatavalues":[]}"#,
                RejectReason::Empty,
            ),
            (None, "{oops", RejectReason::MalformedJson),
        ];
        for (header, body, want) in cases {
            let push = decode_push(header, body.as_bytes(), now(), &ValidationLimits::default());
            assert!(push.decoded.message.is_none(), "{body}");
            let reasons: Vec<_> = push.decoded.dead_letters.iter().map(|d| d.reason).collect();
            assert_eq!(reasons, vec![want], "{body}");
        }
        // Without a header the chip id names the node.
        let push = decode_push(
            None,
            br#"{"esp8266id":"77","sensordatavalues":[{"value_type":"SDS_P1","value":"1"}]}"#,
            now(),
            &ValidationLimits::default(),
        );
        assert_eq!(push.decoded.message.unwrap().node.as_str(), "esp8266-77");
    }
}
