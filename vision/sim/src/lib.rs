//! The camera simulator: N HTTP cameras (JPEG snapshot, MJPEG stream) whose frames are
//! a procedurally drawn street with photo sprites composited on it, moving as scripted
//! scenes that are deterministic functions of a [`SimClock`], so that the real detector
//! finds people where a test (or the demo) expects them. Per-camera faults stand in for
//! the ways real cameras break.

pub mod background;
pub mod camera;
pub mod clock;
pub mod demo;
pub mod error;
pub mod fault;
pub mod http;
mod mjpeg;
pub mod render;
pub mod scene;
pub mod sim;
pub mod sprite;

pub use camera::SimCamera;
pub use clock::SimClock;
pub use demo::{demo_cameras, demo_sim_cameras, suggested_rule};
pub use error::SimError;
pub use fault::Fault;
pub use http::{app, serve};
pub use scene::{Placement, Scene};
pub use sim::CameraSim;
pub use sprite::Sprite;
