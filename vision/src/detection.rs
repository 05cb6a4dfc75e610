//! One object found in one frame, in image pixels, and the class vocabulary.

use serde::{Deserialize, Serialize};

use crate::geometry::BBox;

/// What a model decoder and NMS produce.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class_id: u32,
    pub score: f32,
    pub bbox: BBox,
}
