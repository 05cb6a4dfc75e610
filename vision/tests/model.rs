//! The shipped NanoDet model through the whole Rust pipeline (decode -> preprocess ->
//! ONNX Runtime -> decode -> NMS), checked on real photos and against Python
//! onnxruntime on the same input tensor; bad models are clear errors.

mod support;

use std::process::Command;

use veghe_vision::image::decode_png;
use veghe_vision::jpeg::{JpegDecoder, JpegEncoder};
use veghe_vision::model::OutputLayout;
use support::{model_path, photo, root, runtime_library};
use veghe_vision::{init_runtime, Detector, Device, ModelConfig, VisionError};

fn detector() -> Detector {
    let env = init_runtime(&runtime_library()).expect("ONNX Runtime (run tools/fetch-onnxruntime.sh)");
    Detector::load(&env, &ModelConfig::nanodet(model_path()), 1, Device::Cpu).expect("model loads")
}

#[test]
fn finds_the_astronaut() {
    let mut det = detector();
    let img = decode_png(&photo("astronaut.png")).unwrap();
    let found = det.detect(&[&img]).unwrap().remove(0);
    let names = det.class_names().to_vec();
    let people: Vec<_> = found.iter().filter(|d| names[d.class_id as usize] == "person").collect();
    assert_eq!(people.len(), 1, "{found:?}");
    let p = people[0];
    assert!(p.score > 0.6, "person score {}", p.score);
    // The astronaut fills most of the 512x512 portrait: a tall box over the middle.
    assert!(p.bbox.height() > 300.0 && p.bbox.width() > 200.0, "{:?}", p.bbox);
    assert!(p.bbox.x1 < 150.0 && p.bbox.x2 > 350.0, "{:?}", p.bbox);
}

#[test]
fn same_result_through_jpeg_and_a_batch() {
    let mut det = detector();
    let png = decode_png(&photo("astronaut.png")).unwrap();
    let jpeg = JpegEncoder::new(92).unwrap().encode(&png).unwrap();
    let from_jpeg = JpegDecoder::new().unwrap().decode(&jpeg).unwrap();
    let cat = decode_png(&photo("chelsea.png")).unwrap();
    let batch = det.detect(&[&from_jpeg, &cat, &png]).unwrap();
    assert_eq!(batch.len(), 3);
    let single = det.detect(&[&png]).unwrap().remove(0);
    // Batch item 3 equals the single-frame run.
    assert_eq!(batch[2].len(), single.len());
    for (a, b) in batch[2].iter().zip(&single) {
        assert_eq!(a.class_id, b.class_id);
        assert!((a.score - b.score).abs() < 1e-4);
    }
    // The JPEG round trip still finds the person.
    assert!(batch[0].iter().any(|d| d.class_id == 0 && d.score > 0.5), "{:?}", batch[0]);
    // The cat is found as a cat (class 15).
    assert!(batch[1].iter().any(|d| d.class_id == 15), "{:?}", batch[1]);
}

#[test]
fn outputs_match_python_onnxruntime() {
    let python = std::env::var("VEGHE_TEST_PYTHON")
        .unwrap_or_else(|_| root().join("target/py-venv/bin/python").display().to_string());
    let mut det = detector();
    let img = decode_png(&photo("astronaut.png")).unwrap();
    det.prepare(&[&img]).unwrap();
    let input = det.prepared_input().to_vec();
    let ours = det.run_raw(&input, 1).unwrap();

    let dir = std::env::temp_dir().join(format!("veghe-ort-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tensor_path = dir.join("input.f32");
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&tensor_path, bytes).unwrap();
    let out = Command::new(&python)
        .arg(root().join("vision/tests/ort_reference.py"))
        .arg(model_path())
        .arg(&tensor_path)
        .arg("1,3,416,416")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (tools/test-deps.sh makes the venv)"));
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8_lossy(&out.stdout);
    let theirs: Vec<(String, Vec<f32>)> = listing
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let name = line.split_whitespace().next().unwrap_or_default().to_owned();
            let raw = std::fs::read(dir.join(format!("{i}.f32"))).unwrap();
            let values = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (name, values)
        })
        .collect();
    assert_eq!(theirs.len(), 6);
    assert_eq!(ours.len(), theirs.len());
    for (name, values) in &theirs {
        let mine = ours.iter().find(|o| &o.name == name).unwrap_or_else(|| panic!("no output {name}"));
        assert_eq!(mine.data.len(), values.len(), "{name}");
        let max_diff = mine
            .data
            .iter()
            .zip(values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-4, "{name}: max difference {max_diff}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_models_are_clear_errors() {
    let env = init_runtime(&runtime_library()).unwrap();
    let missing = ModelConfig::nanodet(root().join("models/no-such-model.onnx"));
    let err = Detector::load(&env, &missing, 1, Device::Cpu).err().expect("missing model");
    assert!(matches!(err, VisionError::Model { .. }) && err.to_string().contains("not found"), "{err}");

    let dir = std::env::temp_dir().join(format!("veghe-bad-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"this is not an onnx file").unwrap();
    let err = Detector::load(&env, &ModelConfig::nanodet(&junk), 1, Device::Cpu).err().expect("junk model");
    assert!(err.to_string().contains("junk.onnx"), "{err}");

    // The right file with the wrong layout is refused at load, naming the layout.
    let mut wrong = ModelConfig::nanodet(model_path());
    wrong.layout = OutputLayout::Yolov8;
    let err = Detector::load(&env, &wrong, 1, Device::Cpu).err().expect("wrong layout");
    assert!(err.to_string().contains("yolov8"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_runtime_library_is_an_error_not_a_panic() {
    // Once a runtime is loaded the process keeps it, so this only checks the path test
    // when it runs first; either way it must not panic.
    match init_runtime(std::path::Path::new("/nonexistent/libonnxruntime.so")) {
        Ok(_) => {}
        Err(e) => assert!(e.to_string().contains("not found"), "{e}"),
    }
}

#[test]
fn cuda_falls_back_to_cpu_without_a_gpu() {
    // No GPU here: asking for CUDA (with or without the `cuda` feature) still gives a
    // working detector on the CPU.
    let env = init_runtime(&runtime_library()).unwrap();
    let mut det = Detector::load(&env, &ModelConfig::nanodet(model_path()), 1, Device::Cuda).expect("falls back");
    let img = decode_png(&photo("astronaut.png")).unwrap();
    let found = det.detect(&[&img]).unwrap().remove(0);
    assert!(found.iter().any(|d| d.class_id == 0 && d.score > 0.6), "{found:?}");
}
