//! The dispatcher's API against a running veghe: log-in, roles and police data on every
//! alert route, CSRF, rate limiting, transitions and the audit log; concurrent raises of
//! one key; and the live stream, from a simulated camera through the real model to a
//! WebSocket client, resumable without gaps.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use veghe::Config;
use veghe_alerts::{AlertKey, AlertKind, RaisedEvent, Role, Severity, Source};

struct System {
    running: veghe::Running,
    base: String,
}

async fn start(cameras: usize) -> System {
    start_on(cameras, None).await
}

async fn start_on(cameras: usize, store_url: Option<String>) -> System {
    let mut config = Config::default();
    config.store.url = store_url;
    config.data_dir = temp_dir("veghe_alerts");
    config.http.listen = free_addr();
    config.broker.embedded = true;
    config.broker.listen = free_addr();
    config.mqtt.client_id = unique("alerts-ingest");
    config.camera_simulator.enabled = cameras > 0;
    config.camera_simulator.count = cameras;
    config.camera_simulator.listen = free_addr();
    config.vision.pipeline.workers = 2;
    if let Some(lib) = std::env::var_os("VEGHE_ORT_LIB") {
        config.vision.runtime_library = lib.into();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    config.vision.model.path = root.join("models/nanodet_m_416_coco.onnx");
    if config.vision.runtime_library.is_relative() {
        config.vision.runtime_library = root.join(&config.vision.runtime_library);
    }
    let running = veghe::start(config).await.expect("system starts");
    let base = format!("http://{}", running.http_addr);
    System { running, base }
}

fn event(source: Source, kind: AlertKind, rule: &str, severity: Severity, with_frame: bool) -> RaisedEvent {
    RaisedEvent {
        key: AlertKey {
            source,
            rule: rule.into(),
            scope: "zone-a".into(),
        },
        kind,
        severity,
        title: format!("{rule} fired"),
        position: Some(veghe_alerts::Position { lat: 44.43, lon: 26.03 }),
        at: Utc::now(),
        score: Some(0.8),
        class_name: Some("person".into()),
        bbox: Some([10.0, 10.0, 50.0, 90.0]),
        details: json!({}),
        evidence_jpeg: with_frame.then(|| Arc::new(vec![0xff, 0xd8, 0xff, 0xd9])),
    }
}

/// A logged-in client: cookie jar plus the CSRF token.
struct Client {
    http: reqwest::Client,
    csrf: String,
    cookie: String,
}

async fn login(base: &str, user: &str, password: &str) -> Client {
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "login {user}");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    Client {
        http,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        cookie,
    }
}

impl Client {
    async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).header("cookie", &self.cookie).send().await.unwrap()
    }

    async fn post(&self, url: &str, body: Value, csrf: bool) -> reqwest::Response {
        let mut req = self.http.post(url).header("cookie", &self.cookie).json(&body);
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        req.send().await.unwrap()
    }
}

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_route_with_every_role_and_anonymously() {
    let sys = start(0).await;
    let store = &sys.running.store;
    for role in Role::ALL {
        veghe::users::add(store, role.as_str(), role, PASSWORD).await.unwrap();
    }
    let hub = &sys.running.alerts;
    let camera = hub
        .raise(&event(Source::Camera("cam-1".into()), AlertKind::CameraRule, "person-enters", Severity::Major, true), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let sensor = hub
        .raise(&event(Source::Node("s6-1".into()), AlertKind::SensorThreshold, "pm2_5_eaqi_poor", Severity::Minor, false), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let base = &sys.base;
    let anon = reqwest::Client::new();

    // Anonymous: nothing.
    for path in [
        "/api/v1/alerts".to_owned(),
        format!("/api/v1/alerts/{}", camera.id),
        format!("/api/v1/alerts/{}/evidence", camera.id),
        format!("/api/v1/alerts/{}", sensor.id),
        "/api/v1/cameras".to_owned(),
        "/api/v1/audit".to_owned(),
        "/api/v1/session".to_owned(),
    ] {
        let status = anon.get(format!("{base}{path}")).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous GET {path}");
    }
    let status = anon
        .post(format!("{base}/api/v1/alerts/{}/transitions", camera.id))
        .json(&json!({ "to": "acknowledged" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Per role: (sees camera alerts, may read the audit log).
    let table = [
        (Role::Dispatcher, true, false),
        (Role::Supervisor, true, true),
        (Role::Environment, false, false),
        (Role::Admin, true, true),
    ];
    for (role, police, audit) in table {
        let c = login(base, role.as_str(), PASSWORD).await;
        let list: Value = c.get(&format!("{base}/api/v1/alerts")).await.json().await.unwrap();
        let ids: Vec<i64> = list["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.contains(&camera.id), police, "{role}: {list}");
        assert!(ids.contains(&sensor.id), "{role}");
        let want = if police { StatusCode::OK } else { StatusCode::NOT_FOUND };
        assert_eq!(c.get(&format!("{base}/api/v1/alerts/{}", camera.id)).await.status(), want, "{role}");
        let frame = c.get(&format!("{base}/api/v1/alerts/{}/evidence", camera.id)).await;
        assert_eq!(frame.status(), want, "{role} evidence");
        if police {
            assert_eq!(frame.headers()["content-type"], "image/jpeg");
            assert_eq!(frame.bytes().await.unwrap().len(), 4);
        }
        let want = if police { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(c.get(&format!("{base}/api/v1/cameras")).await.status(), want, "{role} cameras");
        let forbidden_kind = c.get(&format!("{base}/api/v1/alerts?kind=camera_rule")).await.status();
        assert_eq!(forbidden_kind, if police { StatusCode::OK } else { StatusCode::FORBIDDEN }, "{role}");
        let want = if audit { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(c.get(&format!("{base}/api/v1/audit")).await.status(), want, "{role} audit");
        // A transition without the CSRF header is refused whoever asks.
        let r = c.post(&format!("{base}/api/v1/alerts/{}/transitions", sensor.id), json!({ "to": "acknowledged" }), false).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role} without CSRF");
        // Environment staff cannot act on camera alerts (not even see them).
        if !police {
            let r = c.post(&format!("{base}/api/v1/alerts/{}/transitions", camera.id), json!({ "to": "acknowledged" }), true).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
    }

    // A dispatcher works the camera alert through its lifecycle.
    let d = login(base, "dispatcher", PASSWORD).await;
    let url = format!("{base}/api/v1/alerts/{}/transitions", camera.id);
    let r = d.post(&url, json!({ "to": "resolved" }), true).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "new -> resolved skips acknowledging");
    assert!(r.text().await.unwrap().contains("cannot go from new to resolved"));
    for (to, note) in [("acknowledged", None), ("dispatched", Some("patrol 12 on its way")), ("resolved", None)] {
        let r = d.post(&url, json!({ "to": to, "note": note, "assignee": "patrol-12" }), true).await;
        assert_eq!(r.status(), StatusCode::OK, "{to}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["alert"]["state"], to);
    }
    let detail: Value = d.get(&format!("{base}/api/v1/alerts/{}", camera.id)).await.json().await.unwrap();
    let timeline = detail["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 4, "{detail}");
    assert_eq!(timeline[2]["note"], "patrol 12 on its way");
    assert_eq!(timeline[3]["by"], "dispatcher");
    assert_eq!(detail["alert"]["assignee"], "patrol-12");
    // Closed alerts leave the default (open) list.
    let list: Value = d.get(&format!("{base}/api/v1/alerts")).await.json().await.unwrap();
    assert!(list["alerts"].as_array().unwrap().iter().all(|a| a["id"] != camera.id));
    let list: Value = d.get(&format!("{base}/api/v1/alerts?state=resolved")).await.json().await.unwrap();
    assert_eq!(list["alerts"][0]["id"], camera.id);
    assert_eq!(d.get(&format!("{base}/api/v1/alerts?state=bogus")).await.status(), StatusCode::BAD_REQUEST);

    // The audit log has the evidence views and the transitions, with who.
    let s = login(base, "supervisor", PASSWORD).await;
    let audit: Value = s.get(&format!("{base}/api/v1/audit")).await.json().await.unwrap();
    let entries = audit["audit"].as_array().unwrap();
    let count = |action: &str, actor: &str| entries.iter().filter(|e| e["action"] == action && e["actor"] == actor).count();
    assert_eq!(count("view_evidence", "dispatcher"), 1, "{audit}");
    assert_eq!(count("view_evidence", "admin"), 1);
    assert_eq!(count("alert_transition", "dispatcher"), 3);

    // Citizens' routes show no police data.
    for path in ["/api/v1/sensors", "/api/v1/quantities", "/healthz"] {
        let text = anon.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains("cam-1") && !text.contains("person-enters"), "{path}: {text}");
    }

    // Log-out ends the session.
    let r = d.http.delete(format!("{base}/api/v1/session")).header("cookie", &d.cookie).header("x-csrf-token", &d.csrf).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(d.get(&format!("{base}/api/v1/alerts")).await.status(), StatusCode::UNAUTHORIZED);
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_then_rate_limited() {
    let sys = start(0).await;
    veghe::users::add(&sys.running.store, "ana", Role::Dispatcher, PASSWORD).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/session", sys.base);
    for i in 0..5 {
        let r = http.post(&url).json(&json!({ "username": "ana", "password": format!("guess {i}") })).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Now even the right password waits.
    let r = http.post(&url).json(&json!({ "username": "ana", "password": PASSWORD })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    // Unknown users get the same answer as wrong passwords.
    let r = http.post(&url).json(&json!({ "username": "nobody", "password": PASSWORD })).send().await;
    assert!(matches!(r.unwrap().status(), StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS));
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_workers_raising_one_key_at_once_make_one_alert() {
    let sys = start(0).await;
    let hub = sys.running.alerts.clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (hub, barrier) = (hub.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                hub.raise(&event(Source::Camera("cam-9".into()), AlertKind::CameraRule, "crowd", Severity::Major, true), Duration::ZERO)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let alerts = sys.running.store.alerts(&Default::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].count, 8);
    sys.running.shutdown().await.unwrap();
}

async fn ws_connect(base: &str, cookie: &str, since: Option<i64>) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!(
        "{}/api/v1/alerts/stream{}",
        base.replacen("http", "ws", 1),
        since.map(|s| format!("?since={s}")).unwrap_or_default()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("stream connects");
    ws
}

async fn next_json(ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin), within: Duration) -> Value {
    loop {
        let msg = tokio::time::timeout(within, ws.next()).await.expect("a message in time").expect("open").expect("ok");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "ping" {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_camera_alert_reaches_the_stream_and_resumes_without_gaps() {
    // Camera cam-0000 of the demo plan walks a person into its zone.
    let sys = start(1).await;
    veghe::users::add(&sys.running.store, "dispatcher", Role::Dispatcher, PASSWORD).await.unwrap();
    veghe::users::add(&sys.running.store, "eco", Role::Environment, PASSWORD).await.unwrap();
    let d = login(&sys.base, "dispatcher", PASSWORD).await;
    let e = login(&sys.base, "eco", PASSWORD).await;
    // The camera is in the registry the map reads.
    let cameras: Value = d.get(&format!("{}/api/v1/cameras", sys.base)).await.json().await.unwrap();
    let list = cameras["cameras"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{cameras}");
    assert_eq!(list[0]["id"], "cam-0000");
    assert!(list[0]["lat"].as_f64().unwrap() > 44.0 && list[0]["fov_deg"].as_f64().unwrap() > 1.0);
    let anon = tokio_tungstenite::connect_async(format!("{}/api/v1/alerts/stream", sys.base.replacen("http", "ws", 1))).await;
    assert!(anon.is_err(), "anonymous stream refused");

    let mut ws = ws_connect(&sys.base, &d.cookie, None).await;
    let mut eco = ws_connect(&sys.base, &e.cookie, None).await;
    let snapshot = next_json(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(next_json(&mut eco, Duration::from_secs(5)).await["type"], "snapshot");

    // From the camera through the real model to the dispatcher's stream.
    let change = next_json(&mut ws, Duration::from_secs(90)).await;
    assert_eq!(change["type"], "change", "{change}");
    assert_eq!(change["event"], "new");
    let alert = &change["alert"];
    assert_eq!(alert["kind"], "camera_rule");
    assert_eq!(alert["source"]["id"], "cam-0000");
    assert_eq!(alert["class_name"], "person");
    assert!(alert["position"]["lat"].as_f64().is_some());
    assert_eq!(alert["has_evidence"], true);
    let id = alert["id"].as_i64().unwrap();
    let seq = change["seq"].as_i64().unwrap();
    let frame = d.get(&format!("{}/api/v1/alerts/{id}/evidence", sys.base)).await;
    assert_eq!(frame.status(), StatusCode::OK);
    assert!(veghe_vision::jpeg::JpegDecoder::new().unwrap().decode(&frame.bytes().await.unwrap()).is_ok());

    // Environment staff's stream carries no camera alert.
    let quiet = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let v = next_json(&mut eco, Duration::from_secs(2)).await;
            if v["type"] == "change" {
                return v;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "environment stream got {quiet:?}");

    // Disconnect, act meanwhile, resume after the last seen seq: the change arrives.
    ws.close(None).await.ok();
    drop(ws);
    let r = d.post(&format!("{}/api/v1/alerts/{id}/transitions", sys.base), json!({ "to": "acknowledged" }), true).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut ws = ws_connect(&sys.base, &d.cookie, Some(seq)).await;
    let replayed = loop {
        let v = next_json(&mut ws, Duration::from_secs(5)).await;
        if v["type"] == "change" && v["alert"]["id"] == id && v["alert"]["state"] == "acknowledged" {
            break v;
        }
        assert_eq!(v["type"], "change", "resume replays changes, no snapshot: {v}");
    };
    assert!(replayed["seq"].as_i64().unwrap() > seq);
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polluted_hour_from_a_sensor_becomes_an_alert_for_environment_staff() {
    let sys = start(0).await;
    veghe::users::add(&sys.running.store, "eco", Role::Environment, PASSWORD).await.unwrap();
    let port = veghe_ingest::mqtt::parse_broker_url(&sys.running.mqtt_url).unwrap().1;
    let publisher = Publisher::connect(port, &unique("node")).await;
    // Unknown nodes are registered as pending on first contact; values far above the
    // EAQI "moderate" band's upper edge (50 µg/m³ PM2.5).
    let now = Utc::now();
    for (i, pm) in [120.0, 135.0].iter().enumerate() {
        let ts = now - chrono::Duration::seconds(60 - 20 * i as i64);
        let body = payload("s6-smog-1", i as u64 + 1, ts, &format!(r#"{{"pm2_5":{pm},"pm10":60.0}}"#));
        publisher.publish(&topic("s6-smog-1"), body).await;
    }
    publisher.wait_acked(2).await;
    let alert = eventually(Duration::from_secs(20), "a sensor alert", || async {
        let alerts = sys.running.store.alerts(&Default::default()).await.ok()?;
        alerts.into_iter().find(|a| a.kind == AlertKind::SensorThreshold)
    })
    .await;
    assert_eq!(alert.source, Source::Node("s6-smog-1".into()));
    assert_eq!(alert.rule, "pm2_5_eaqi_poor");
    assert!(alert.details["mean"].as_f64().unwrap() > 50.0, "{:?}", alert.details);
    // Environment staff see it.
    let e = login(&sys.base, "eco", PASSWORD).await;
    let list: Value = e.get(&format!("{}/api/v1/alerts", sys.base)).await.json().await.unwrap();
    assert!(list["alerts"].as_array().unwrap().iter().any(|a| a["id"] == alert.id), "{list}");
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_raisers_reach_the_stream_in_order_without_gaps() {
    // PostgreSQL: raisers commit concurrently, so the order of commits and of the
    // raise calls' returns differ; the stream must follow the store's order.
    let sys = start_on(0, Some(postgres_url().await)).await;
    veghe::users::add(&sys.running.store, "dispatcher", Role::Dispatcher, PASSWORD).await.unwrap();
    let d = login(&sys.base, "dispatcher", PASSWORD).await;
    let mut ws = ws_connect(&sys.base, &d.cookie, None).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(5)).await["type"], "snapshot");
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let hub = sys.running.alerts.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..20 {
                    let source = Source::Camera(format!("cam-{}", (w * 20 + i) % 25));
                    let alert = hub
                        .raise(&event(source, AlertKind::CameraRule, "person-enters", Severity::Major, i % 3 == 0), Duration::ZERO)
                        .await
                        .unwrap()
                        .unwrap();
                    seqs.push(alert.seq);
                }
                seqs
            })
        })
        .collect();
    let mut raised = Vec::new();
    for t in tasks {
        raised.extend(t.await.unwrap());
    }
    raised.sort();
    let mut received = Vec::new();
    while received.len() < raised.len() {
        let v = next_json(&mut ws, Duration::from_secs(10)).await;
        assert_eq!(v["type"], "change", "{v}");
        received.push(v["seq"].as_i64().unwrap());
    }
    assert!(received.windows(2).all(|w| w[0] < w[1]), "out of order: {received:?}");
    assert_eq!(received, raised, "every change once, in sequence order");
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_go_out_on_mqtt_and_between_processes_sharing_a_database() {
    let mosquitto = Mosquitto::start();
    let db = postgres_url().await;
    let system = |name: &'static str| {
        let (url, db) = (mosquitto.url(), db.clone());
        async move {
            let mut config = Config::default();
            config.data_dir = temp_dir(name);
            config.http.listen = free_addr();
            config.mqtt.url = url;
            config.mqtt.client_id = unique(name);
            config.store.url = Some(db);
            let running = veghe::start(config).await.expect("system starts");
            let base = format!("http://{}", running.http_addr);
            System { running, base }
        }
    };
    let a = system("veghe-a").await;
    let b = system("veghe-b").await;

    // A city system listening to the alert topics.
    let mut opts = rumqttc::MqttOptions::new(unique("city"), "127.0.0.1", mosquitto.port);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 100);
    client.subscribe("veghe/v1/alerts/+", rumqttc::QoS::AtLeastOnce).await.unwrap();
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = ev {
                let _ = tx.send((p.topic.clone(), serde_json::from_slice::<Value>(&p.payload).unwrap_or_default()));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    veghe::users::add(&b.running.store, "dispatcher", Role::Dispatcher, PASSWORD).await.unwrap();
    let d = login(&b.base, "dispatcher", PASSWORD).await;
    let mut ws = ws_connect(&b.base, &d.cookie, None).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(5)).await["type"], "snapshot");

    // Raised in process A ...
    let alert = a
        .running
        .alerts
        .raise(&event(Source::Camera("cam-7".into()), AlertKind::CameraRule, "loitering", Severity::Minor, true), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    // ... published once on its topic ...
    let (topic, msg) = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("published").unwrap();
    assert_eq!(topic, "veghe/v1/alerts/camera_rule");
    assert_eq!((msg["event"].as_str(), msg["alert"]["id"].as_i64()), (Some("new"), Some(alert.id)), "{msg}");
    // ... and on process B's wall.
    let change = next_json(&mut ws, Duration::from_secs(5)).await;
    assert_eq!((change["event"].as_str(), change["alert"]["id"].as_i64()), (Some("new"), Some(alert.id)), "{change}");

    // Resolved in process B: "end" on MQTT, published by B (not again by A).
    for to in ["acknowledged", "resolved"] {
        let r = d.post(&format!("{}/api/v1/alerts/{}/transitions", b.base, alert.id), json!({ "to": to }), true).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut events_seen = Vec::new();
    while let Ok(Some((_, msg))) = tokio::time::timeout(Duration::from_secs(3), heard.recv()).await {
        events_seen.push(msg["event"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(events_seen, vec!["update", "end"], "each change once on MQTT");
    a.running.shutdown().await.unwrap();
    b.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_routes_that_exist() {
    let sys = start(0).await;
    let doc = get_json(&format!("{}/api/v1/openapi.json", sys.base)).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in ["/api/v1/alerts", "/api/v1/alerts/stream", "/api/v1/session", "/data.json", "/api/v1/sensors/{id}/days/{file}"] {
        assert!(paths.contains_key(p), "{p} undocumented");
    }
    // Every documented GET without path parameters answers something other than 404.
    for (path, ops) in paths {
        if ops.get("get").is_none() || path.contains('{') {
            continue;
        }
        let status = reqwest::get(format!("{}{path}", sys.base)).await.unwrap().status();
        assert_ne!(status, StatusCode::NOT_FOUND, "{path}");
    }
    sys.running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_from_a_sequence_number_this_store_never_issued_gets_a_snapshot() {
    let sys = start(0).await;
    veghe::users::add(&sys.running.store, "dispatcher", Role::Dispatcher, PASSWORD).await.unwrap();
    sys.running
        .alerts
        .raise(&event(Source::Camera("cam-3".into()), AlertKind::CameraRule, "crowd", Severity::Major, false), Duration::ZERO)
        .await
        .unwrap();
    let d = login(&sys.base, "dispatcher", PASSWORD).await;
    // A client that followed another database (or one since reset) is far ahead.
    let mut ws = ws_connect(&sys.base, &d.cookie, Some(1_000_000)).await;
    let first = next_json(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(first["type"], "snapshot", "{first}");
    assert_eq!(first["alerts"].as_array().unwrap().len(), 1);
    sys.running.shutdown().await.unwrap();
}
