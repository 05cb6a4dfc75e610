//! The simulator over real HTTP: the listing, snapshots, the MJPEG stream's parts, 404s
//! for unknown cameras, and each fault as a camera would show it.

mod common;

use std::time::{Duration, Instant};

use common::{decode, start};
use veghe_camera_sim::{Fault, Scene, SimCamera};
use serde::Deserialize;
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::Point;

/// The parts of `GET /cameras` a client relies on.
#[derive(Deserialize)]
struct Listed {
    id: String,
    scene: ListedScene,
    snapshot: String,
    stream: String,
    zone: Option<Vec<Point>>,
}

#[derive(Deserialize)]
struct ListedScene {
    kind: String,
}

async fn get(url: String) -> reqwest::Response {
    reqwest::get(url).await.expect("GET")
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn lists_cameras_and_serves_snapshots() {
    let (base, _) = start(vec![
        SimCamera::new("a", Scene::walker()),
        SimCamera::new("b", Scene::Static).with_size(1280, 720),
    ])
    .await;
    let cams: Vec<Listed> = get(format!("{base}/cameras")).await.json().await.expect("JSON");
    assert_eq!(cams.len(), 2);
    assert_eq!((cams[0].id.as_str(), cams[0].scene.kind.as_str()), ("a", "walker"));
    assert_eq!(cams[0].snapshot, "/cameras/a/snapshot.jpg");
    assert_eq!(cams[0].stream, "/cameras/a/stream.mjpeg");
    assert_eq!(cams[0].zone.as_ref().map(|z| z.len()), Some(4));
    assert!(cams[1].zone.is_none() && cams[1].scene.kind == "static");

    for (id, w, h) in [("a", 640, 360), ("b", 1280, 720)] {
        let r = get(format!("{base}/cameras/{id}/snapshot.jpg")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "image/jpeg");
        let img = decode(&r.bytes().await.expect("body"));
        assert_eq!((img.width, img.height), (w, h));
    }
}

#[tokio::test]
async fn unknown_cameras_and_paths_are_404() {
    let (base, _) = start(vec![SimCamera::new("a", Scene::Static)]).await;
    for path in ["/cameras/nope/snapshot.jpg", "/cameras/nope/stream.mjpeg", "/cameras/a/other.jpg", "/"] {
        assert_eq!(get(format!("{base}{path}")).await.status(), 404, "{path}");
    }
}

/// Reads MJPEG parts from a streaming response until `n` are complete.
async fn read_parts(mut r: reqwest::Response, boundary: &str, n: usize) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    let mut parts = Vec::new();
    let delimiter = format!("--{boundary}\r\n");
    while parts.len() < n {
        let chunk = r.chunk().await.expect("stream").expect("stream ended early");
        buf.extend_from_slice(&chunk);
        loop {
            let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { break };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            assert!(head.starts_with(&delimiter), "part starts with the boundary: {head:?}");
            assert!(head.contains("Content-Type: image/jpeg"), "{head:?}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("Content-Length");
            let body_start = head_end + 4;
            if buf.len() < body_start + len + 2 {
                break;
            }
            assert_eq!(&buf[body_start + len..body_start + len + 2], b"\r\n", "CRLF after the JPEG");
            parts.push(buf[body_start..body_start + len].to_vec());
            buf.drain(..body_start + len + 2);
        }
    }
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_stream_delivers_whole_jpegs_at_the_camera_rate() {
    let (base, sim) = start(vec![SimCamera::new("w", Scene::walker()).with_fps(10.0)]).await;
    // The clock moves with the stream, so the parts show the walker moving.
    let clock = sim.clock().clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            clock.advance(Duration::from_millis(500));
        }
    });
    let started = Instant::now();
    let r = get(format!("{base}/cameras/w/stream.mjpeg")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "multipart/x-mixed-replace; boundary=veghe-frame");
    let parts = read_parts(r, "veghe-frame", 6).await;
    let elapsed = started.elapsed();
    ticker.abort();
    // Six parts at 10 frames/s: the first at once, then one per 100 ms.
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    let mut dec = JpegDecoder::new().expect("decoder");
    for p in &parts {
        let img = dec.decode(p).expect("each part is a whole JPEG");
        assert_eq!((img.width, img.height), (640, 360));
    }
    assert!(parts.windows(2).any(|w| w[0] != w[1]), "frames change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_behave_as_broken_cameras_do() {
    let slow = Duration::from_millis(300);
    let (base, sim) = start(vec![
        SimCamera::new("ok", Scene::walker()),
        SimCamera::new("html", Scene::walker()).with_fault(Fault::ServeHtml),
        SimCamera::new("err", Scene::walker()).with_fault(Fault::ServerError),
        SimCamera::new("cut", Scene::walker()).with_fault(Fault::Truncated),
        SimCamera::new("frozen", Scene::walker()).with_fault(Fault::Frozen),
        SimCamera::new("slow", Scene::walker()).with_fault(Fault::Slow { delay: slow }),
    ])
    .await;
    let snap = |id: &str| get(format!("{base}/cameras/{id}/snapshot.jpg"));
    sim.clock().set(Duration::from_secs(5));

    let r = snap("html").await;
    assert_eq!((r.status().as_u16(), content_type(&r).starts_with("text/html")), (200, true));
    assert!(r.text().await.expect("body").contains("<html"));

    assert_eq!(snap("err").await.status(), 500);

    let whole = snap("ok").await.bytes().await.expect("body");
    let r = snap("cut").await;
    assert_eq!((r.status().as_u16(), content_type(&r)), (200, "image/jpeg".to_owned()));
    let cut = r.bytes().await.expect("body");
    assert_eq!(cut.len(), whole.len() / 2, "the same frame, cut in half");
    assert_eq!(&whole[..cut.len()], &cut[..]);
    assert!(JpegDecoder::new().expect("decoder").decode(&cut).is_err(), "a truncated JPEG does not decode");

    let first = snap("frozen").await.bytes().await.expect("body");
    sim.clock().set(Duration::from_secs(9));
    assert_eq!(first, snap("frozen").await.bytes().await.expect("body"), "frozen: the same bytes");
    assert_ne!(whole, snap("ok").await.bytes().await.expect("body"), "a healthy camera moved on");

    let t0 = Instant::now();
    let r = snap("slow").await;
    assert!(t0.elapsed() >= slow, "{:?}", t0.elapsed());
    assert_eq!(r.status(), 200);
    decode(&r.bytes().await.expect("body"));

    // Streams: a faulty camera answers as for a snapshot.
    let r = get(format!("{base}/cameras/err/stream.mjpeg")).await;
    assert_eq!(r.status(), 500);
    let r = get(format!("{base}/cameras/html/stream.mjpeg")).await;
    assert!(content_type(&r).starts_with("text/html"));

    // Faults change at run time: the camera recovers.
    sim.set_fault("err", None).expect("known camera");
    let r = snap("err").await;
    assert_eq!(r.status(), 200);
    decode(&r.bytes().await.expect("body"));
    sim.set_fault("ok", Some(Fault::ServerError)).expect("known camera");
    assert_eq!(snap("ok").await.status(), 500);
}
