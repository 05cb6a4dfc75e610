//! `veghe demo` as a user runs it: the real binary on free ports with a fresh data
//! directory; the simulated fleet shows up on the map, and Ctrl-C stops it cleanly.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_the_simulated_fleet_and_stops_on_ctrl_c() {
    let data = temp_dir("veghe_demo");
    let (http, mqtt) = (free_addr(), free_addr());
    let mut demo = Command::new(env!("CARGO_BIN_EXE_veghe"))
        .args(["demo", "--sensors", "50", "--interval", "500ms"])
        .args(["--http", &http.to_string(), "--mqtt", &mqtt.to_string()])
        .arg("--data")
        .arg(&data)
        .env("VEGHE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://{http}");

    let map = eventually(
        Duration::from_secs(30),
        "50 nodes with values on the map",
        || async {
            let map: serde_json::Value = reqwest::get(format!("{base}/api/v1/sensors"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let features = map["features"].as_array()?;
            let with_values = features
                .iter()
                .filter(|f| f["properties"]["values"].get("pm2_5").is_some())
                .count();
            (features.len() == 50 && with_values == 50).then_some(map)
        },
    )
    .await;
    // Placed over Bucharest Sector 6, with plausible values.
    for f in map["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!(
            (44.40..44.47).contains(&lat) && (25.98..26.06).contains(&lon),
            "{f}"
        );
        let pm = f["properties"]["values"]["pm2_5"]["value"]
            .as_f64()
            .unwrap();
        assert!((0.5..300.0).contains(&pm), "{f}");
    }
    assert!(
        data.join("veghe.db").exists(),
        "the embedded store lives under --data"
    );

    let status = Command::new("kill")
        .args(["-INT", &demo.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = demo.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "demo did not stop within 20 s of Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "demo exited with {exit}");
}

#[test]
fn demo_says_clearly_when_the_mqtt_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_veghe"))
        .args(["demo", "--mqtt", &taken.local_addr().unwrap().to_string()])
        .args(["--http", &free_addr().to_string()])
        .arg("--data")
        .arg(temp_dir("veghe_demo_taken"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already in use") && stderr.contains("--mqtt"),
        "{stderr}"
    );
}
