//! Noise: A-weighting of microphone samples and the sound levels a node reports.

pub mod a_weighting;
pub mod level_meter;

pub use a_weighting::AWeighting;
pub use level_meter::{LevelMeter, MicCalibration, NoiseReport};
