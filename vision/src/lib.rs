//! Vision: frame sources, decode, motion gate, ONNX inference, tracking and zone rules
//! for the city's cameras.
//!
//! Not built yet (see README, Status).
