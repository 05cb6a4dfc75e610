//! Noise: A-weighting of microphone samples and the sound levels a node reports. The
//! meter is two stages: the signal stage (`level_meter`) and the statistics stage
//! (`stats`), which any `LevelSource` feeds.

pub mod a_weighting;
pub mod level_meter;
pub mod stats;

pub use a_weighting::AWeighting;
pub use level_meter::{FastDetector, LevelMeter, MicCalibration, Microphone};
pub use stats::{LevelSource, LevelStats, NoiseReport};
