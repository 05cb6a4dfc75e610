//! End to end: a reading published over MQTT (or pushed by an airrohr node over HTTP)
//! travels through ingest into the store and out through the API — against the
//! embedded broker with SQLite, and against Mosquitto with PostgreSQL/TimescaleDB.

mod support;

use std::time::Duration;

use chrono::{DurationRound, Utc};
use serde_json::Value;
use support::*;
use veghe::config::NodeConfig;
use veghe::Config;
use veghe_ingest::UnknownNodePolicy;
use veghe_sensors::NodeId;

enum Setup {
    EmbeddedSqlite,
    MosquittoPostgres,
}

struct System {
    running: veghe::Running,
    base: String,
    mqtt_port: u16,
    _mosquitto: Option<Mosquitto>,
}

fn node(id: &str, lat: f64, lon: f64) -> NodeConfig {
    NodeConfig {
        id: NodeId::new(id).unwrap(),
        name: format!("Test {id}"),
        kind: "air+noise".into(),
        lat: Some(lat),
        lon: Some(lon),
        installed_on: None,
        owner: "tests".into(),
        public: true,
    }
}

async fn start(setup: Setup, unknown_nodes: UnknownNodePolicy) -> System {
    let mut config = Config::load(None, []).unwrap();
    config.data_dir = temp_dir("veghe_data");
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.mqtt.client_id = unique("ingest");
    config.maintenance.rollup_interval = Duration::from_millis(200);
    config.ingest.unknown_nodes = unknown_nodes;
    config.nodes = vec![
        node("s6-test-1", 44.43, 26.03),
        node("esp8266-13597771", 44.4522, 26.049),
        NodeConfig {
            public: false,
            ..node("s6-private", 44.44, 26.02)
        },
    ];
    let mosquitto = match setup {
        Setup::EmbeddedSqlite => {
            config.broker.embedded = true;
            config.broker.listen = free_addr();
            None
        }
        Setup::MosquittoPostgres => {
            let m = Mosquitto::start();
            config.mqtt.url = m.url();
            config.store.url = Some(postgres_url().await);
            Some(m)
        }
    };
    let running = veghe::start(config).await.expect("system starts");
    let mqtt_port = veghe_ingest::mqtt::parse_broker_url(&running.mqtt_url)
        .unwrap()
        .1;
    let base = format!("http://{}", running.http_addr);
    // Ingest is subscribed once the broker reports it connected.
    eventually(Duration::from_secs(10), "healthz ok", || async {
        let resp = reqwest::get(format!("{base}/healthz")).await.ok()?;
        resp.status().is_success().then_some(())
    })
    .await;
    System {
        running,
        base,
        mqtt_port,
        _mosquitto: mosquitto,
    }
}

async fn feature(base: &str, id: &str) -> Option<Value> {
    let map = get_json(&format!("{base}/api/v1/sensors")).await;
    map["features"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
}

async fn mqtt_reading_reaches_the_api(setup: Setup) {
    let sys = start(setup, UnknownNodePolicy::Register).await;
    let publisher = Publisher::connect(sys.mqtt_port, &unique("node")).await;
    let t0 = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap()
        - chrono::Duration::minutes(2);
    let values = [(12.5, 61.0), (14.5, 63.0), (30.0, 58.0)];
    for (i, (pm, laeq)) in values.iter().enumerate() {
        let ts = t0 + chrono::Duration::seconds(20 * i as i64);
        let body = payload(
            "s6-test-1",
            i as u64 + 1,
            ts,
            &format!(r#"{{"pm2_5":{pm},"laeq":{laeq},"humidity":70}}"#),
        );
        publisher.publish(&topic("s6-test-1"), body).await;
    }
    publisher.wait_acked(3).await;

    let f = eventually(
        Duration::from_secs(10),
        "the latest reading on the map",
        || async {
            let f = feature(&sys.base, "s6-test-1").await?;
            (f["properties"]["values"]["pm2_5"]["value"] == 30.0).then_some(f)
        },
    )
    .await;
    assert_eq!(f["type"], "Feature");
    assert_eq!(
        f["geometry"]["coordinates"],
        serde_json::json!([26.03, 44.43])
    );
    assert_eq!(f["properties"]["values"]["laeq"]["unit"], "dB(A)");
    assert_eq!(
        f["properties"]["values"]["pm2_5"]["ts"],
        serde_json::json!(t0 + chrono::Duration::seconds(40))
    );
    assert!(
        feature(&sys.base, "s6-private").await.is_none(),
        "private nodes stay off the public map"
    );

    let from = (t0 - chrono::Duration::minutes(1)).to_rfc3339();
    let to = (t0 + chrono::Duration::minutes(5)).to_rfc3339();
    let url = |bucket: &str| {
        format!(
            "{}/api/v1/sensors/s6-test-1/readings?quantity=pm2_5&bucket={bucket}&from={}&to={}",
            sys.base,
            urlencode(&from),
            urlencode(&to)
        )
    };
    let raw = get_json(&url("raw")).await;
    let points: Vec<f64> = raw["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(points, vec![12.5, 14.5, 30.0]);
    assert_eq!(raw["unit"], "µg/m³");

    // The rollups catch up within a few of their intervals.
    let minute = eventually(Duration::from_secs(10), "the 1-minute rollup", || async {
        let s = get_json(&url("1m")).await;
        (s["points"].as_array()?.len() == 1).then_some(s)
    })
    .await;
    let p = &minute["points"][0];
    assert_eq!(
        (p["count"].as_u64(), p["min"].as_f64(), p["max"].as_f64()),
        (Some(3), Some(12.5), Some(30.0))
    );
    assert!((p["value"].as_f64().unwrap() - 19.0).abs() < 1e-9);
    let hour = get_json(&url("1h")).await;
    assert_eq!(hour["points"][0]["count"], 3);

    let metrics = get_text(&format!("{}/metrics", sys.base)).await;
    assert!(
        metrics.contains("veghe_ingest_readings_stored_total 9"),
        "{metrics}"
    );
    assert!(metrics.contains("veghe_ingest_mqtt_connected 1"));

    // Bad requests get clear errors.
    let resp = reqwest::get(format!(
        "{}/api/v1/sensors/s6-test-1/readings?quantity=pm25",
        sys.base
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("unknown quantity"));
    let resp = reqwest::get(format!(
        "{}/api/v1/sensors/s6-private/readings?quantity=pm2_5",
        sys.base
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);

    sys.running.shutdown().await.unwrap();
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// A push as the airrohr firmware (NRZ-2020-133) sends it to a custom API.
const AIRROHR_BODY: &str = r#"{"esp8266id": "13597771", "software_version": "NRZ-2020-133", "sensordatavalues":[{"value_type":"SDS_P1","value":"24.53"},{"value_type":"SDS_P2","value":"11.20"},{"value_type":"BME280_temperature","value":"7.41"},{"value_type":"BME280_pressure","value":"100734.78"},{"value_type":"BME280_humidity","value":"81.33"},{"value_type":"DNMS_noise_LAeq","value":"58.41"},{"value_type":"DNMS_noise_LA_min","value":"51.02"},{"value_type":"DNMS_noise_LA_max","value":"71.95"},{"value_type":"samples","value":"869253"},{"value_type":"min_micro","value":"28"},{"value_type":"max_micro","value":"20114"},{"value_type":"interval","value":"145000"},{"value_type":"signal","value":"-71"}]}"#;

/// Pushes `body` as airrohr node `sensor` does.
async fn push(base: &str, sensor: &str, body: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/push/sensor-community"))
        .header("X-Sensor", sensor)
        .header("X-Pin", "1")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn airrohr_push_is_ingested(setup: Setup) {
    let sys = start(setup, UnknownNodePolicy::Register).await;
    let resp = push(&sys.base, "esp8266-13597771", AIRROHR_BODY.to_owned()).await;
    assert_eq!(resp.status(), 200);
    let receipt: Value = resp.json().await.unwrap();
    assert_eq!(receipt["stored"], 9, "{receipt}");
    assert_eq!(receipt["rejected"], 0);

    // Committed before the answer; the map's latest values follow within a second.
    let f = eventually(Duration::from_secs(5), "the push on the map", || async {
        let f = feature(&sys.base, "esp8266-13597771").await?;
        f["properties"]["values"].get("rssi").is_some().then_some(f)
    })
    .await;
    let v = &f["properties"]["values"];
    let expect = [
        ("pm10", 24.53),
        ("pm2_5", 11.2),
        ("temperature", 7.41),
        ("pressure", 1007.3478),
        ("humidity", 81.33),
        ("laeq", 58.41),
        ("lamin", 51.02),
        ("lamax", 71.95),
        ("rssi", -71.0),
    ];
    for (q, want) in expect {
        let got = v[q]["value"].as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-6, "{q}: {got} vs {want}");
    }
    assert_eq!(v.as_object().unwrap().len(), expect.len());

    // An unknown value type is a dead letter of its own; the rest is kept.
    let body = AIRROHR_BODY.replace("\"signal\"", "\"XYZ_unknown\"");
    let resp = push(&sys.base, "esp8266-13597771", body).await;
    let receipt: Value = resp.json().await.unwrap();
    assert_eq!(
        (receipt["stored"].as_u64(), receipt["rejected"].as_u64()),
        (Some(8), Some(1))
    );
    let letters = get_json(&format!(
        "{}/api/v1/dead-letters?reason=unknown_quantity",
        sys.base
    ))
    .await;
    assert!(letters["dead_letters"][0]["payload"]
        .as_str()
        .unwrap()
        .contains("XYZ_unknown"));

    // An unregistered chip is kept as pending and not shown publicly.
    let resp = push(
        &sys.base,
        "esp8266-424242",
        AIRROHR_BODY.replace("13597771", "424242"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let pending = sys
        .running
        .store
        .node(&NodeId::new("esp8266-424242").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, veghe_sensors::NodeStatus::Pending);
    assert!(feature(&sys.base, "esp8266-424242").await.is_none());

    // Malformed: 422 with the reason, and a dead letter.
    let resp = push(
        &sys.base,
        "esp8266-13597771",
        "{\"esp8266id\": \"13597771\", \"sensordatavalues\": [".into(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let letters = get_json(&format!(
        "{}/api/v1/dead-letters?reason=malformed_json",
        sys.base
    ))
    .await;
    assert_eq!(letters["dead_letters"].as_array().unwrap().len(), 1);

    sys.running.shutdown().await.unwrap();
}

async fn bad_inputs_are_dead_lettered_and_nothing_else_is_lost(setup: Setup) {
    let sys = start(setup, UnknownNodePolicy::Reject).await;
    let publisher = Publisher::connect(sys.mqtt_port, &unique("node")).await;
    let now = Utc::now();
    let t = topic("s6-test-1");
    let good = |seq: u64, secs: i64| {
        payload(
            "s6-test-1",
            seq,
            now - chrono::Duration::seconds(secs),
            r#"{"pm10":20.5,"laeq":55.0}"#,
        )
    };
    let sends: Vec<(String, String)> = vec![
        (t.clone(), good(1, 30)),
        (t.clone(), r#"{"node":"s6-test-1","ts":"#.to_owned()),
        (
            t.clone(),
            r#"{"node":"s6-test-1","ts":12345,"seq":"two","values":{"pm10":1}}"#.to_owned(),
        ),
        (
            t.clone(),
            payload(
                "s6-test-1",
                3,
                now - chrono::Duration::seconds(25),
                r#"{"pm2_5":NaN,"pm10":21.5}"#,
            ),
        ),
        (
            t.clone(),
            format!(
                r#"{{"node":"s6-test-1","pad":"{}"}}"#,
                "x".repeat(100 * 1024)
            ),
        ),
        (
            topic("ghost-9"),
            payload("ghost-9", 1, now, r#"{"pm10":1}"#),
        ),
        (t.clone(), good(1, 30)),
        (
            t.clone(),
            payload(
                "s6-test-1",
                4,
                now + chrono::Duration::hours(1),
                r#"{"pm10":1}"#,
            ),
        ),
        // PostgreSQL text cannot hold NUL: the dead letter must still be storable.
        (
            t.clone(),
            r#"{"node":"s6-test-1\u0000","ts":"2026-01-01T00:00:00Z","values":{"pm10":1}}"#
                .to_owned(),
        ),
        (t.clone(), good(5, 10)),
    ];
    for (topic, body) in &sends {
        publisher.publish(topic, body.clone()).await;
    }
    publisher.wait_acked(sends.len() as u64).await;

    let expected = [
        ("malformed_json", "EOF"),
        ("invalid_field", "`ts`"),
        ("not_finite", "pm2_5"),
        ("payload_too_large", "limit 65536"),
        ("unknown_node", "ghost-9"),
        ("duplicate", "seq 1"),
        ("future_timestamp", "ahead"),
        ("node_mismatch", "s6-test-1\u{FFFD}"),
    ];
    let letters = eventually(Duration::from_secs(10), "eight dead letters", || async {
        let l = get_json(&format!("{}/api/v1/dead-letters?limit=50", sys.base)).await;
        (l["dead_letters"].as_array()?.len() >= expected.len()).then_some(l)
    })
    .await;
    let letters = letters["dead_letters"].as_array().unwrap();
    assert_eq!(letters.len(), expected.len(), "{letters:#?}");
    for (reason, detail) in expected {
        let found = letters
            .iter()
            .find(|l| l["reason"] == reason)
            .unwrap_or_else(|| panic!("no {reason} dead letter in {letters:#?}"));
        assert!(
            found["detail"].as_str().unwrap().contains(detail),
            "{reason}: {found}"
        );
    }
    // Good messages on both sides of the bad ones: seq 1, 3 (pm10 only) and 5.
    let id = NodeId::new("s6-test-1").unwrap();
    assert_eq!(sys.running.store.count_readings(&id).await.unwrap(), 5);
    assert_eq!(
        sys.running
            .store
            .count_readings(&NodeId::new("ghost-9").unwrap())
            .await
            .unwrap(),
        0
    );
    let metrics = get_text(&format!("{}/metrics", sys.base)).await;
    assert!(
        metrics.contains(r#"veghe_ingest_rejected_total{reason="duplicate"} 1"#),
        "{metrics}"
    );
    sys.running.shutdown().await.unwrap();
}

async fn open_data_is_served_to_anyone_without_private_nodes(setup: Setup) {
    let sys = start(setup, UnknownNodePolicy::Register).await;
    let publisher = Publisher::connect(sys.mqtt_port, &unique("node")).await;
    let ts = Utc::now() - chrono::Duration::seconds(60);
    for (node, seq, values) in [
        ("s6-test-1", 1, r#"{"pm2_5":12.5,"pm10":20.25,"pressure":1007.5,"laeq":58.4}"#),
        ("s6-private", 1, r#"{"pm2_5":99.0}"#),
    ] {
        publisher.publish(&topic(node), payload(node, seq, ts, values)).await;
    }
    publisher.wait_acked(2).await;

    // A Sensor.Community-style data.json of the last five minutes.
    let data = eventually(Duration::from_secs(10), "the node in data.json", || async {
        let resp = reqwest::get(format!("{}/data.json", sys.base)).await.ok()?;
        assert_eq!(resp.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("*"));
        let v: Value = resp.json().await.ok()?;
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
    let record = &data[0];
    assert_eq!(record["id"], "s6-test-1", "private nodes stay out: {data}");
    assert_eq!(record["location"]["latitude"], "44.4300");
    let value = |t: &str| {
        record["sensordatavalues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["value_type"] == t)
            .map(|v| v["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(value("P2").as_deref(), Some("12.50"));
    assert_eq!(value("P1").as_deref(), Some("20.25"));
    assert_eq!(value("noise_LAeq").as_deref(), Some("58.40"));
    assert_eq!(value("pressure").as_deref(), Some("100750.00"), "pressure in Pa, as Sensor.Community");

    // One node's day as CSV.
    let day = ts.date_naive();
    let resp = reqwest::get(format!("{}/api/v1/sensors/s6-test-1/days/{day}.csv", sys.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "timestamp,quantity,value,unit");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines.iter().any(|l| l.ends_with(",pm2_5,12.5,µg/m³")), "{csv}");
    for (path, status) in [
        (format!("/api/v1/sensors/s6-private/days/{day}.csv"), 404),
        ("/api/v1/sensors/s6-test-1/days/yesterday.csv".to_owned(), 400),
    ] {
        let r = reqwest::get(format!("{}{path}", sys.base)).await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    sys.running.shutdown().await.unwrap();
}

macro_rules! both_setups {
    ($($name:ident),* $(,)?) => {
        mod embedded_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Setup::EmbeddedSqlite).await })*
        }
        mod mosquitto_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Setup::MosquittoPostgres).await })*
        }
    };
}

both_setups!(
    mqtt_reading_reaches_the_api,
    airrohr_push_is_ingested,
    bad_inputs_are_dead_lettered_and_nothing_else_is_lost,
    open_data_is_served_to_anyone_without_private_nodes,
);
