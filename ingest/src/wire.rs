//! veghe's own sensor payload on MQTT: topic `veghe/v1/sensors/{node}/readings`, body
//! `{"node":"…","ts":"RFC 3339","seq":N,"values":{"pm2_5":12.3,…}}`. Decoding is pure:
//! bytes in, a validated message and dead letters out.

use chrono::{DateTime, Utc};
use serde_json::Value;
use veghe_sensors::{DeadLetter, Message, NodeId, Quantity, RejectReason};

use crate::lenient_json::nulls_for_non_finite;
use crate::ValidationLimits;

/// The result of decoding one payload: the message with its valid values (if any
/// survived) and a dead letter for everything refused.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub message: Option<Message>,
    pub dead_letters: Vec<DeadLetter>,
}

impl Decoded {
    pub(crate) fn refuse(
        source: &str,
        node: Option<&str>,
        reason: RejectReason,
        detail: impl Into<String>,
        payload: &[u8],
    ) -> Decoded {
        Decoded {
            message: None,
            dead_letters: vec![DeadLetter::new(
                source,
                node.map(str::to_owned),
                reason,
                detail,
                payload,
            )],
        }
    }
}

/// The node id named by a sensor topic.
pub fn node_of_topic(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix("veghe/v1/sensors/")?;
    let node = rest.strip_suffix("/readings")?;
    (!node.is_empty() && !node.contains('/')).then_some(node)
}

/// Decodes one MQTT payload received on `topic` at `now`.
pub fn decode_mqtt(
    topic: &str,
    payload: &[u8],
    now: DateTime<Utc>,
    limits: &ValidationLimits,
) -> Decoded {
    let Some(topic_node) = node_of_topic(topic) else {
        return Decoded::refuse(
            topic,
            None,
            RejectReason::BadTopic,
            "topic is not veghe/v1/sensors/{node}/readings",
            payload,
        );
    };
    let topic_node = match NodeId::new(topic_node) {
        Ok(id) => id,
        Err(e) => {
            return Decoded::refuse(
                topic,
                Some(topic_node),
                RejectReason::BadTopic,
                format!("node in topic: {e}"),
                payload,
            )
        }
    };
    let node = Some(topic_node.as_str());
    if payload.len() > *limits.max_payload_bytes {
        return Decoded::refuse(
            topic,
            node,
            RejectReason::PayloadTooLarge,
            format!(
                "{} bytes, limit {}",
                payload.len(),
                *limits.max_payload_bytes
            ),
            payload,
        );
    }
    let body = match parse_json(payload) {
        Ok(v) => v,
        Err(e) => return Decoded::refuse(topic, node, RejectReason::MalformedJson, e, payload),
    };
    let Value::Object(body) = body else {
        return Decoded::refuse(
            topic,
            node,
            RejectReason::InvalidField,
            "payload is not a JSON object",
            payload,
        );
    };
    let invalid =
        |detail: String| Decoded::refuse(topic, node, RejectReason::InvalidField, detail, payload);

    match body.get("node") {
        Some(Value::String(n)) if n == topic_node.as_str() => {}
        Some(Value::String(n)) => {
            return Decoded::refuse(
                topic,
                node,
                RejectReason::NodeMismatch,
                format!("body names node `{n}`, topic names `{topic_node}`"),
                payload,
            )
        }
        Some(other) => return invalid(format!("`node` must be a string, got {}", kind(other))),
        None => return invalid("`node` is missing".into()),
    }
    let ts = match body.get("ts") {
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => return invalid(format!("`ts` is not RFC 3339 ({e}): {s:?}")),
        },
        Some(other) => {
            return invalid(format!(
                "`ts` must be an RFC 3339 string, got {}",
                kind(other)
            ))
        }
        None => return invalid("`ts` is missing".into()),
    };
    if let Some(reason) = check_time(ts, now, limits) {
        return Decoded::refuse(topic, node, reason.0, reason.1, payload);
    }
    let seq = match body.get("seq") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(seq) if seq <= i64::MAX as u64 => Some(seq),
            _ => return invalid(format!("`seq` must be a non-negative integer, got {n}")),
        },
        Some(other) => return invalid(format!("`seq` must be an integer, got {}", kind(other))),
    };
    let values = match body.get("values") {
        Some(Value::Object(values)) => values,
        Some(other) => return invalid(format!("`values` must be an object, got {}", kind(other))),
        None => return invalid("`values` is missing".into()),
    };
    if values.is_empty() {
        return Decoded::refuse(
            topic,
            node,
            RejectReason::Empty,
            "`values` is empty",
            payload,
        );
    }
    if values.len() > limits.max_values {
        return invalid(format!(
            "{} values, limit {}",
            values.len(),
            limits.max_values
        ));
    }

    let mut decoded = Decoded::default();
    let mut accepted = Vec::with_capacity(values.len());
    for (name, value) in values {
        match check_value(name, value) {
            Ok(v) => accepted.push(v),
            Err((reason, detail)) => decoded.dead_letters.push(DeadLetter::new(
                topic,
                node.map(str::to_owned),
                reason,
                detail,
                format!("{{\"{name}\":{value}}}").as_bytes(),
            )),
        }
    }
    if !accepted.is_empty() {
        decoded.message = Some(Message {
            node: topic_node,
            seq,
            ts,
            values: accepted,
        });
    }
    decoded
}

/// Parses JSON, reading bare NaN/Infinity tokens as null on a second attempt.
pub(crate) fn parse_json(payload: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) => match nulls_for_non_finite(text) {
            Some(fixed) => serde_json::from_str(&fixed).map_err(|_| e.to_string()),
            None => Err(e.to_string()),
        },
    }
}

pub(crate) fn check_time(
    ts: DateTime<Utc>,
    now: DateTime<Utc>,
    limits: &ValidationLimits,
) -> Option<(RejectReason, String)> {
    let ahead = ts.signed_duration_since(now);
    if ahead.to_std().is_ok_and(|d| d > limits.max_clock_skew) {
        return Some((
            RejectReason::FutureTimestamp,
            format!("{ts} is {}s ahead of the server clock", ahead.num_seconds()),
        ));
    }
    let behind = now.signed_duration_since(ts);
    if behind.to_std().is_ok_and(|d| d > limits.max_age) {
        return Some((
            RejectReason::StaleTimestamp,
            format!(
                "{ts} is older than {}",
                humantime::format_duration(limits.max_age)
            ),
        ));
    }
    None
}

/// Checks one named value: a known quantity, a finite number, in its range.
pub(crate) fn check_value(
    name: &str,
    value: &Value,
) -> Result<(Quantity, f64), (RejectReason, String)> {
    let quantity: Quantity = name.parse().map_err(|_| {
        (
            RejectReason::UnknownQuantity,
            format!("unknown quantity `{name}`"),
        )
    })?;
    let v = match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| {
            (
                RejectReason::InvalidField,
                format!("`{name}`: {n} is not a number"),
            )
        })?,
        Value::Null => {
            return Err((RejectReason::NotFinite, format!("`{name}` is null/NaN")));
        }
        Value::String(s)
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "nan" | "inf" | "-inf" | "infinity" | "-infinity"
            ) =>
        {
            return Err((RejectReason::NotFinite, format!("`{name}` is {s}")));
        }
        other => {
            return Err((
                RejectReason::InvalidField,
                format!("`{name}` must be a number, got {}", kind(other)),
            ));
        }
    };
    check_range(quantity, v)?;
    Ok((quantity, v))
}

pub(crate) fn check_range(quantity: Quantity, v: f64) -> Result<(), (RejectReason, String)> {
    if !v.is_finite() {
        return Err((RejectReason::NotFinite, format!("`{quantity}` is {v}")));
    }
    if !quantity.in_range(v) {
        let (lo, hi) = quantity.valid_range();
        return Err((
            RejectReason::OutOfRange,
            format!(
                "`{quantity}` = {v} {} is outside {lo}..{hi}",
                quantity.unit()
            ),
        ));
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TOPIC: &str = "veghe/v1/sensors/s6-001/readings";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn decode(topic: &str, payload: &str) -> Decoded {
        decode_mqtt(
            topic,
            payload.as_bytes(),
            now(),
            &ValidationLimits::default(),
        )
    }

    fn reasons(d: &Decoded) -> Vec<RejectReason> {
        d.dead_letters.iter().map(|l| l.reason).collect()
    }

    #[test]
    fn accepts_a_valid_message() {
        let d = decode(
            TOPIC,
            r#"{"node":"s6-001","ts":"2026-11-20T11:59:50Z","seq":42,
            "values":{"pm2_5":12.3,"pm10":20.1,"laeq":61.2},"health":{"uptime_s":3600}}"#,
        );
        assert!(d.dead_letters.is_empty(), "{:?}", d.dead_letters);
        let m = d.message.unwrap();
        assert_eq!(m.seq, Some(42));
        assert_eq!(
            m.ts,
            Utc.with_ymd_and_hms(2026, 11, 20, 11, 59, 50).unwrap()
        );
        let mut values = m.values.clone();
        values.sort_by_key(|a| a.0);
        assert_eq!(
            values,
            vec![
                (Quantity::Pm2_5, 12.3),
                (Quantity::Pm10, 20.1),
                (Quantity::Laeq, 61.2)
            ]
        );
    }

    #[test]
    fn refuses_whole_messages_with_a_reason() {
        let ok_values = r#""values":{"pm2_5":1}"#;
        let cases: Vec<(&str, String, RejectReason)> = vec![
            (
                "veghe/v1/sensors/readings",
                format!("{{{ok_values}}}"),
                RejectReason::BadTopic,
            ),
            (
                "veghe/v1/sensors/a b/readings",
                format!("{{{ok_values}}}"),
                RejectReason::BadTopic,
            ),
            (TOPIC, "{\"node\":".into(), RejectReason::MalformedJson),
            (TOPIC, "[1,2]".into(), RejectReason::InvalidField),
            (
                TOPIC,
                format!(r#"{{"node":"other","ts":"2026-11-20T12:00:00Z",{ok_values}}}"#),
                RejectReason::NodeMismatch,
            ),
            (
                TOPIC,
                format!(r#"{{"node":7,"ts":"2026-11-20T12:00:00Z",{ok_values}}}"#),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":"yesterday",{ok_values}}}"#),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":1732104000,{ok_values}}}"#),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":"2026-11-20T12:00:00Z","seq":-1,{ok_values}}}"#),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":"2026-11-20T12:00:00Z","seq":"1",{ok_values}}}"#),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":"2026-11-20T13:00:00Z",{ok_values}}}"#),
                RejectReason::FutureTimestamp,
            ),
            (
                TOPIC,
                format!(r#"{{"node":"s6-001","ts":"2025-01-01T00:00:00Z",{ok_values}}}"#),
                RejectReason::StaleTimestamp,
            ),
            (
                TOPIC,
                r#"{"node":"s6-001","ts":"2026-11-20T12:00:00Z","values":{}}"#.into(),
                RejectReason::Empty,
            ),
            (
                TOPIC,
                r#"{"node":"s6-001","ts":"2026-11-20T12:00:00Z","values":[1]}"#.into(),
                RejectReason::InvalidField,
            ),
            (
                TOPIC,
                format!(
                    r#"{{"node":"s6-001","ts":"2026-11-20T12:00:00Z","pad":"{}",{ok_values}}}"#,
                    "x".repeat(70_000)
                ),
                RejectReason::PayloadTooLarge,
            ),
        ];
        for (topic, payload, want) in cases {
            let d = decode(topic, &payload);
            assert!(d.message.is_none(), "{payload:.80}");
            assert_eq!(reasons(&d), vec![want], "{payload:.80}");
        }
    }

    #[test]
    fn refuses_bad_values_and_keeps_the_good_ones() {
        let d = decode(
            TOPIC,
            r#"{"node":"s6-001","ts":"2026-11-20T12:00:00Z","seq":1,
            "values":{"pm2_5":NaN,"pm10":20.0,"laeq":"61","humidity":140,"radon":3,"o3":null,"no2":-Infinity}}"#,
        );
        let m = d.message.as_ref().expect("pm10 survives");
        assert_eq!(m.values, vec![(Quantity::Pm10, 20.0)]);
        let mut got: Vec<_> = d
            .dead_letters
            .iter()
            .map(|l| (l.reason, l.payload.clone()))
            .collect();
        got.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            got,
            vec![
                (RejectReason::OutOfRange, r#"{"humidity":140}"#.to_owned()),
                (RejectReason::InvalidField, r#"{"laeq":"61"}"#.to_owned()),
                (RejectReason::NotFinite, r#"{"no2":null}"#.to_owned()),
                (RejectReason::NotFinite, r#"{"o3":null}"#.to_owned()),
                (RejectReason::NotFinite, r#"{"pm2_5":null}"#.to_owned()),
                (RejectReason::UnknownQuantity, r#"{"radon":3}"#.to_owned()),
            ]
        );
        assert!(d
            .dead_letters
            .iter()
            .all(|l| l.node.as_deref() == Some("s6-001")));
    }

    #[test]
    fn a_message_with_only_bad_values_is_not_stored() {
        let d = decode(
            TOPIC,
            r#"{"node":"s6-001","ts":"2026-11-20T12:00:00Z","values":{"pm2_5":-3}}"#,
        );
        assert!(d.message.is_none());
        assert_eq!(reasons(&d), vec![RejectReason::OutOfRange]);
    }

    #[test]
    fn clock_skew_within_the_limit_is_accepted() {
        let d = decode(
            TOPIC,
            r#"{"node":"s6-001","ts":"2026-11-20T12:01:00+00:00","values":{"pm1":1}}"#,
        );
        assert!(d.message.is_some() && d.dead_letters.is_empty());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    b"{}[]\",:0123456789.eE+-nulltruefalseNaNInfinity \\u"[(seed % 49) as usize]
                })
                .collect();
            let _ = decode_mqtt(TOPIC, &bytes, now(), &ValidationLimits::default());
        }
    }
}
