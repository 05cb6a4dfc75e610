//! Measures what the simulator's numbers rest on: the smallest person sprite the shipped
//! model finds in a 640x360 frame, the scores of each scene, and the cost of rendering
//! and encoding one frame.
//!
//! `cargo run --release -p veghe-camera-sim --example probe` (`-- frames DIR` writes a
//! frame of each scene to DIR instead, to look at; `-- vehicles` measures only the
//! vehicle sprites' "car" scores by height and position in the near lane).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use veghe_camera_sim::render::{encode, render, render_into, Look};
use veghe_camera_sim::{demo_sim_cameras, CameraSim, Placement, Scene, SimClock, Sprite};
use veghe_vision::jpeg::JpegDecoder;
use veghe_vision::{init_runtime, Detector, Device, ModelConfig, RgbImage};

/// COCO's "car".
const CAR: u32 = 2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, cmd, dir] = &args[..] {
        if cmd == "frames" {
            let look = Look { width: 640, height: 360, variant: 0, quality: 80 };
            let taxi = Scene::Parked { sprite: Sprite::Taxi, drive: Duration::from_secs(10), stay: Duration::from_secs(60), pause: Duration::from_secs(20) };
            let frames = [("static", Scene::Static, 0), ("walker", Scene::walker(), 9), ("crowd", Scene::crowd(), 25), ("parked", Scene::parked(), 40), ("taxi", taxi, 40)];
            for (name, scene, t) in frames {
                let img = render(look, &scene.objects(Duration::from_secs(t)), t)?;
                std::fs::write(PathBuf::from(dir).join(format!("{name}.jpg")), encode(&img, 80)?)?;
            }
            return Ok(());
        }
    }
    let vehicles_only = args.get(1).is_some_and(|a| a == "vehicles");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lib = std::env::var_os("VEGHE_ORT_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("vendor/onnxruntime/libonnxruntime.so.1.31.1"));
    let env = init_runtime(&lib)?;
    let mut det = Detector::load(&env, &ModelConfig::nanodet(root.join("models/nanodet_m_416_coco.onnx")), 2, Device::Cpu)?;
    let mut dec = JpegDecoder::new()?;
    let mut best = |img: &RgbImage, class: u32| -> Result<f32, Box<dyn std::error::Error>> {
        let jpeg = encode(img, 80)?;
        let back = dec.decode(&jpeg)?;
        let found = det.detect(&[&back])?.remove(0);
        Ok(found.iter().filter(|d| d.class_id == class).map(|d| d.score).fold(0.0, f32::max))
    };

    let look = Look { width: 640, height: 360, variant: 0, quality: 80 };
    // Vehicles stand on the near lane (the parked scene's ground line) and move along it.
    for &s in Sprite::ALL.iter().filter(|s| s.class_name() == "car") {
        println!("{s:?} height (fraction) -> min / {{each street: u = 0.15 0.35 0.55 0.75 0.9}} car score");
        for h in [0.16f32, 0.2, 0.24, 0.27, 0.3, 0.33, 0.36, 0.4] {
            let mut row = Vec::new();
            for variant in 0..4 {
                for u in [0.15, 0.35, 0.55, 0.75, 0.9] {
                    let p = Placement { sprite: s, u, v: veghe_camera_sim::scene::ROAD_GROUND, height: h };
                    row.push(best(&render(Look { variant, ..look }, &[p], 1)?, CAR)?);
                }
            }
            let min = row.iter().cloned().fold(1.0, f32::min);
            println!("{h:.2} ({:3} px) min {min:.2}  {:?}", (h * 360.0) as u32, row.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>());
        }
    }
    if vehicles_only {
        return Ok(());
    }
    println!("person height (px) -> best person score at u = 0.2 / 0.5 / 0.8, 4 streets");
    for h in (24..=200).step_by(8) {
        let mut row = Vec::new();
        for variant in 0..4 {
            for u in [0.2, 0.5, 0.8] {
                let p = Placement { sprite: Sprite::Person, u, v: 0.95, height: h as f32 / 360.0 };
                row.push(best(&render(Look { variant, ..look }, &[p], 1)?, 0)?);
            }
        }
        let min = row.iter().cloned().fold(1.0, f32::min);
        println!("{h:4} min {min:.2}  {:?}", row.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>());
    }
    for &s in Sprite::ALL {
        let p = Placement { sprite: s, u: 0.5, v: 0.95, height: s.nominal_height() };
        let class = match s.class_name() { "person" => 0, "car" => CAR, "cat" => 15, _ => 0 };
        println!("{s:?} at nominal height: {:.2}", best(&render(look, &[p], 1)?, class)?);
    }
    for scene in [Scene::Static, Scene::walker(), Scene::loiterer(), Scene::crowd(), Scene::parked()] {
        let mut scores = Vec::new();
        for t in (0..scene.period().as_secs().max(1)).step_by(2) {
            let objs = scene.objects(Duration::from_secs(t));
            let class = objs.first().map_or(0, |o| if o.sprite.class_name() == "car" { CAR } else { 0 });
            scores.push(format!("{}:{:.2}", objs.len(), best(&render(look, &objs, t)?, class)?));
        }
        println!("{}: {}", scene.kind(), scores.join(" "));
    }

    for (w, h) in [(640, 360), (1280, 720), (1920, 1080)] {
        let look = Look { width: w, height: h, ..look };
        let objs = Scene::walker().objects(Duration::from_secs(6));
        let mut img = RgbImage::default();
        render_into(look, &objs, 0, &mut img)?; // warm the caches
        encode(&img, 80)?;
        let n = 200;
        let (mut t_render, mut t_encode, mut size) = (Duration::ZERO, Duration::ZERO, 0);
        for i in 0..n {
            let t0 = Instant::now();
            render_into(look, &objs, i, &mut img)?;
            let t1 = Instant::now();
            size += encode(&img, 80)?.len();
            t_render += t1 - t0;
            t_encode += t1.elapsed();
        }
        println!(
            "{w}x{h}: render {:.2} ms + encode {:.2} ms per frame, {} KB",
            t_render.as_secs_f64() * 1e3 / n as f64,
            t_encode.as_secs_f64() * 1e3 / n as f64,
            size / n as usize / 1024
        );
    }
    // The demo at scale: 1,000 cameras (one in eight active), 10 s of frames, one thread.
    let sim = CameraSim::new(demo_sim_cameras(1000), SimClock::manual())?;
    let ids: Vec<String> = sim.cameras().map(|c| c.id.clone()).collect();
    let t0 = Instant::now();
    for t in 0..10 {
        for id in &ids {
            sim.jpeg_at(id, Duration::from_secs(t))?;
        }
    }
    println!("1000 demo cameras: {:.3} ms per camera-frame on one thread", t0.elapsed().as_secs_f64() * 1e3 / 10_000.0);
    Ok(())
}
