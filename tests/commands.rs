//! The `veghe` commands as a user runs them: `demo` on free ports with a fresh data
//! directory (the simulated fleet shows up on the map, the simulated cameras raise
//! detection events, Ctrl-C stops it cleanly),
//! `migrate`, and `config check`.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_the_simulated_fleet_and_stops_on_ctrl_c() {
    let data = temp_dir("veghe_demo");
    let (http, mqtt, cameras) = (free_addr(), free_addr(), free_addr());
    let mut demo = Command::new(env!("CARGO_BIN_EXE_veghe"));
    if let Some(lib) = std::env::var_os("VEGHE_ORT_LIB") {
        demo.env("VEGHE_VISION__RUNTIME_LIBRARY", format!("{:?}", lib.to_string_lossy()));
    }
    let mut demo = demo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo", "--sensors", "50", "--interval", "500ms", "--cameras", "8"])
        .args(["--http", &http.to_string(), "--mqtt", &mqtt.to_string()])
        .args(["--camera-sim", &cameras.to_string()])
        .arg("--data")
        .arg(&data)
        // Broker errors included: a panicking broker thread must show up here.
        .env("VEGHE_LOG", "warn,rumqttd=error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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

    // The simulated cameras go through the real model: their scripted scenes raise
    // detection events (the first four cameras each play one scene).
    eventually(Duration::from_secs(90), "vision events on /metrics", || async {
        let text = reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok()?;
        let value = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        };
        (value("veghe_vision_frames_scored_total")? > 0 && value("veghe_vision_events_total")? >= 1).then_some(())
    })
    .await;

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
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut demo.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The first start printed the demo dispatcher's login, once.
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut demo.stdout.take().unwrap(), &mut stdout).unwrap();
    let login = stdout
        .lines()
        .find_map(|l| l.split_once("log in as dispatcher / "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no demo login in {stdout}"));
    assert_eq!(login.len(), 16, "{stdout}");
    assert!(stdout.contains(&format!("{base}/wall")), "{stdout}");
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

#[test]
fn migrate_creates_the_embedded_store_and_is_idempotent() {
    let data = temp_dir("veghe_migrate");
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_veghe"))
            .args(["migrate", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
    assert!(data.join("veghe.db").exists());
}

#[test]
fn config_check_accepts_the_example_and_names_what_is_wrong() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/veghe.example.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_veghe"))
        .args(["config", "check", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is valid"));

    let bad = temp_dir("veghe_bad_config").join("veghe.toml");
    std::fs::write(
        &bad,
        "[ingest]\nbatch_rows = 5000\nbatch_intreval = \"1s\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_veghe"))
        .arg("config")
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("batch_intreval"), "{stderr}");

    // Environment overrides are checked as well.
    let out = Command::new(env!("CARGO_BIN_EXE_veghe"))
        .args(["config", "check", example])
        .env("VEGHE_HTTP__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("VEGHE_HTTP__LISTEN"));
}
