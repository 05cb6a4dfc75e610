//! veghe's MQTT payload, written into a caller's buffer without allocating:
//! `{"node":"…","ts":"RFC 3339","seq":N,"values":{…},"health":{…}}`.

use core::fmt::Write;

/// Quantities a node measures; the names are veghe's wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Pm1,
    Pm2_5,
    Pm4,
    Pm10,
    No2,
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

impl Quantity {
    pub const ALL: [Quantity; 15] = [
        Quantity::Pm1,
        Quantity::Pm2_5,
        Quantity::Pm4,
        Quantity::Pm10,
        Quantity::No2,
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

    pub const fn name(self) -> &'static str {
        match self {
            Quantity::Pm1 => "pm1",
            Quantity::Pm2_5 => "pm2_5",
            Quantity::Pm4 => "pm4",
            Quantity::Pm10 => "pm10",
            Quantity::No2 => "no2",
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
}

/// How the node is doing, sent with every payload.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Health {
    pub uptime_s: u64,
    /// Free slots in the store-and-forward buffer.
    pub free_buffer: u32,
    /// Readings dropped because the buffer was full.
    pub dropped: u32,
    /// The last fault, e.g. `"sds011_silent"`; empty when none.
    pub last_error: &'static str,
    pub rssi_dbm: Option<i16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer cannot hold the payload.
    BufferTooSmall,
}

struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes the payload into `buf` and returns its length. Non-finite values are left
/// out: veghe would refuse them, and JSON cannot carry them.
pub fn encode(
    buf: &mut [u8],
    node: &str,
    unix_ms: u64,
    seq: u64,
    values: &[(Quantity, f32)],
    health: &Health,
) -> Result<usize, EncodeError> {
    let mut c = Cursor { buf, len: 0 };
    write_payload(&mut c, node, unix_ms, seq, values, health)
        .map_err(|_| EncodeError::BufferTooSmall)?;
    Ok(c.len)
}

fn write_payload(
    c: &mut Cursor<'_>,
    node: &str,
    unix_ms: u64,
    seq: u64,
    values: &[(Quantity, f32)],
    health: &Health,
) -> core::fmt::Result {
    // Node ids are restricted to [A-Za-z0-9_.-]: nothing to escape.
    write!(c, "{{\"node\":\"{node}\",\"ts\":\"")?;
    write_rfc3339(c, unix_ms)?;
    write!(c, "\",\"seq\":{seq},\"values\":{{")?;
    let mut first = true;
    for (q, v) in values.iter().filter(|(_, v)| v.is_finite()) {
        if !first {
            c.write_char(',')?;
        }
        first = false;
        write!(c, "\"{}\":{}", q.name(), v)?;
    }
    write!(
        c,
        "}},\"health\":{{\"uptime_s\":{},\"free_buffer\":{},\"dropped\":{}",
        health.uptime_s, health.free_buffer, health.dropped
    )?;
    if !health.last_error.is_empty() {
        write!(c, ",\"last_error\":\"{}\"", health.last_error)?;
    }
    if let Some(rssi) = health.rssi_dbm {
        write!(c, ",\"rssi\":{rssi}")?;
    }
    c.write_str("}}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` from Unix milliseconds.
fn write_rfc3339(c: &mut Cursor<'_>, unix_ms: u64) -> core::fmt::Result {
    let secs = unix_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    write!(
        c,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_str(values: &[(Quantity, f32)], health: &Health) -> String {
        let mut buf = [0u8; 512];
        let n = encode(&mut buf, "s6-0001", 1_763_911_015_654, 42, values, health).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn writes_the_wire_format() {
        let health = Health {
            uptime_s: 3600,
            free_buffer: 250,
            dropped: 0,
            last_error: "",
            rssi_dbm: Some(-71),
        };
        let s = encode_str(
            &[
                (Quantity::Pm2_5, 12.3),
                (Quantity::Laeq, 61.2),
                (Quantity::Pm10, f32::NAN),
            ],
            &health,
        );
        assert_eq!(
            s,
            r#"{"node":"s6-0001","ts":"2025-11-23T15:16:55.654Z","seq":42,"values":{"pm2_5":12.3,"laeq":61.2},"health":{"uptime_s":3600,"free_buffer":250,"dropped":0,"rssi":-71}}"#
        );
        let with_error = encode_str(
            &[],
            &Health {
                last_error: "sds011_silent",
                ..health
            },
        );
        assert!(
            with_error.contains(r#""values":{}"#)
                && with_error.contains(r#""last_error":"sds011_silent""#)
        );
    }

    #[test]
    fn refuses_a_buffer_too_small() {
        let mut buf = [0u8; 40];
        assert_eq!(
            encode(
                &mut buf,
                "n",
                0,
                1,
                &[(Quantity::Pm1, 1.0)],
                &Health::default()
            ),
            Err(EncodeError::BufferTooSmall)
        );
    }

    #[test]
    fn calendar_dates() {
        let cases = [
            (0, (1970, 1, 1)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (20_415, (2025, 11, 23)),
            (-1, (1969, 12, 31)),
            (47_482, (2100, 1, 1)),
        ];
        for (days, want) in cases {
            assert_eq!(civil_from_days(days), want, "{days}");
        }
    }
}
