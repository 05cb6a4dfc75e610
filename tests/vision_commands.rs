//! `veghe vision detect` as an operator runs it on their own frames.

use std::process::Command;

fn veghe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veghe"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(lib) = std::env::var_os("VEGHE_ORT_LIB") {
        cmd.env("VEGHE_VISION__RUNTIME_LIBRARY", format!("{:?}", lib.to_string_lossy()));
    }
    cmd
}

#[test]
fn detect_prints_json_lines_and_names_bad_files() {
    let dir = std::env::temp_dir().join(format!("veghe-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.jpg");
    std::fs::write(&broken, b"\xff\xd8\xff\xe0 truncated").unwrap();
    let out = veghe()
        .args(["vision", "detect", "vision/assets/photos/astronaut.png", "vision/assets/photos/street.jpg"])
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken file makes the run fail");
    assert!(stderr.contains("broken.jpg"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let astronaut: Vec<_> = lines.iter().filter(|l| l["file"].as_str().unwrap().ends_with("astronaut.png")).collect();
    assert_eq!(astronaut.len(), 1, "{stdout}");
    assert_eq!(astronaut[0]["class"], "person");
    assert_eq!(astronaut[0]["class_id"], 0);
    assert!(astronaut[0]["score"].as_f64().unwrap() > 0.6);
    let b = astronaut[0]["box"].as_array().unwrap();
    assert_eq!(b.len(), 4);
    assert!(b[3].as_f64().unwrap() > 400.0, "{b:?}");
    // The street photo: cars and people.
    let street: Vec<&str> = lines
        .iter()
        .filter(|l| l["file"].as_str().unwrap().ends_with("street.jpg"))
        .map(|l| l["class"].as_str().unwrap())
        .collect();
    assert!(street.iter().filter(|c| **c == "car").count() >= 3, "{street:?}");
    assert!(street.contains(&"person"), "{street:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn detect_with_the_wrong_layout_or_model_says_why() {
    let out = veghe()
        .args(["vision", "detect", "--layout", "yolox", "vision/assets/photos/astronaut.png"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("layout yolox"), "{stderr}");
    let out = veghe()
        .args(["vision", "detect", "--model", "models/missing.onnx", "vision/assets/photos/astronaut.png"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.onnx: file not found"));
}

#[test]
fn simulated_cameras_print_a_configuration_that_checks() {
    let out = veghe()
        .args(["sim", "cameras", "--count", "5", "--listen", "127.0.0.1:18554", "--print-config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let toml = String::from_utf8(out.stdout).unwrap();
    assert_eq!(toml.matches("[[cameras]]").count(), 5, "{toml}");
    assert!(toml.contains("http://127.0.0.1:18554/cameras/cam-0000/snapshot.jpg"));
    let path = std::env::temp_dir().join(format!("veghe-sim-cameras-{}.toml", std::process::id()));
    std::fs::write(&path, &toml).unwrap();
    let check = veghe().arg("config").arg("check").arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let _ = std::fs::remove_file(&path);
}
