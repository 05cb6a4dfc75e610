//! Where the vision tests find the real ONNX Runtime library, the shipped model and the
//! fixture photos.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `VEGHE_ORT_LIB`, or where tools/fetch-onnxruntime.sh puts the library.
pub fn runtime_library() -> PathBuf {
    std::env::var_os("VEGHE_ORT_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("vendor/onnxruntime/libonnxruntime.so.1.31.1"))
}

pub fn model_path() -> PathBuf {
    root().join("models/nanodet_m_416_coco.onnx")
}

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(root().join("vision/assets/photos").join(name)).expect("fixture photo")
}
