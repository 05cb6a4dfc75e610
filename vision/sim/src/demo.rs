//! The demo's cameras: N simulated cameras placed over Bucharest's Sector 6, mostly
//! quiet streets with one in eight showing a scene, and for each the vision camera
//! config (position, optics, snapshot URL, zone and a rule matching its scene) so that
//! the demo raises real alerts. Both lists come from one plan, so they always match.

use std::time::Duration;

use veghe_vision::camera::{CameraConfig, SourceConfig, ZoneConfig};
use veghe_vision::rules::RuleConfig;
use veghe_vision::{LatLon, Polygon, RuleKind};

use crate::background::{hash, VARIANTS};
use crate::camera::SimCamera;
use crate::scene::Scene;

/// Neighbourhood centres of Sector 6 (as in the sensor fleet simulator's district).
const HOODS: [(&str, f64, f64); 12] = [
    ("Drumul Taberei", 44.4218, 26.0290),
    ("Militari", 44.4351, 26.0145),
    ("Crângași", 44.4522, 26.0490),
    ("Giulești", 44.4601, 26.0400),
    ("Ghencea", 44.4140, 26.0420),
    ("Lujerului", 44.4340, 26.0330),
    ("Politehnica", 44.4385, 26.0495),
    ("Gorjului", 44.4330, 26.0050),
    ("Pacii", 44.4345, 25.9930),
    ("Parcul Drumul Taberei", 44.4265, 26.0220),
    ("Lacul Morii", 44.4470, 26.0300),
    ("Valea Cascadelor", 44.4300, 26.0100),
];

/// The id of demo camera `i`.
pub fn demo_id(i: usize) -> String {
    format!("cam-{i:04}")
}

/// Which scene demo camera `i` shows: the first four show one active scene each, then
/// one camera in eight does.
fn demo_scene(i: usize) -> Scene {
    let active = if i < 4 {
        Some(i)
    } else if i % 8 == 4 {
        Some((i / 8) % 4)
    } else {
        None
    };
    match active {
        Some(0) => Scene::walker(),
        Some(1) => Scene::loiterer(),
        Some(2) => Scene::crowd(),
        Some(3) => Scene::parked(),
        _ => Scene::Static,
    }
}

/// A value in [0, 1) drawn from camera `i` and a salt (deterministic placement).
fn unit(i: usize, salt: u64) -> f64 {
    (hash((i as u64) << 8 ^ salt) % 1_000_000) as f64 / 1_000_000.0
}

/// The simulated side of the demo: `count` 640x360 cameras at 1 frame/s.
pub fn demo_sim_cameras(count: usize) -> Vec<SimCamera> {
    (0..count)
        .map(|i| {
            let scene = demo_scene(i);
            let period = scene.period();
            let (hood, ..) = HOODS[i % HOODS.len()];
            SimCamera {
                name: format!("{hood} {:02}", i / HOODS.len() + 1),
                background: i as u32 % VARIANTS,
                // Cameras of one scene do not all act in step.
                offset: period.mul_f64(unit(i, 1)),
                ..SimCamera::new(demo_id(i), scene)
            }
        })
        .collect()
}

/// The rule that fits a scene, on a zone with id `scene` (the scene's [`Scene::zone`];
/// the walker's zone for a static street, where it never fires), with the score and
/// frame count the model meets on the simulator's sprites.
pub fn suggested_rule(scene: &Scene) -> RuleConfig {
    let rule = |id: &str, kind| RuleConfig {
        id: id.into(),
        zone: "scene".into(),
        kind,
        classes: vec!["person".into()],
        min_score: 0.5,
        min_frames: 2,
        after: None,
        count: None,
    };
    match scene {
        Scene::Static | Scene::Walker { .. } => rule("person-enters", RuleKind::ZoneEnter),
        Scene::Loiterer { .. } => RuleConfig {
            after: Some(Duration::from_secs(20)),
            ..rule("loitering", RuleKind::Loiter)
        },
        Scene::Crowd { people, .. } => RuleConfig {
            count: Some(people.saturating_sub(1)),
            ..rule("crowd", RuleKind::Crowd)
        },
        Scene::Parked { sprite, .. } => RuleConfig {
            classes: vec![sprite.class_name().into()],
            after: Some(Duration::from_secs(20)),
            ..rule("no-stopping", RuleKind::NoStopping)
        },
    }
}

/// The vision side of the demo: camera `i` of [`demo_sim_cameras`] as a vision camera
/// fetching snapshots from the simulator at `base_url` (e.g. `http://127.0.0.1:8090`).
pub fn demo_cameras(count: usize, base_url: &str) -> Vec<CameraConfig> {
    let base = base_url.trim_end_matches('/');
    demo_sim_cameras(count)
        .into_iter()
        .enumerate()
        .map(|(i, sim)| {
            let (_, lat, lon) = HOODS[i % HOODS.len()];
            // Quiet streets watch the walker's zone: a rule that never fires there.
            let zone = sim
                .scene
                .zone(sim.width, sim.height)
                .or_else(|| Scene::walker().zone(sim.width, sim.height))
                .unwrap_or_else(|| Polygon::new(Vec::new()));
            CameraConfig {
                name: sim.name.clone(),
                location: LatLon::new(
                    ((lat + (unit(i, 2) - 0.5) * 0.009) * 1e6).round() / 1e6,
                    ((lon + (unit(i, 3) - 0.5) * 0.013) * 1e6).round() / 1e6,
                ),
                height_m: 5.0 + (unit(i, 4) * 40.0).round() / 10.0,
                bearing_deg: (unit(i, 5) * 360.0).round(),
                tilt_deg: 15.0 + (unit(i, 6) * 10.0).round(),
                fov_deg: 70.0 + (unit(i, 7) * 30.0).round(),
                calibration: Vec::new(),
                source: SourceConfig::Snapshot { url: format!("{base}/cameras/{}/snapshot.jpg", sim.id) },
                fps: sim.fps,
                zones: vec![ZoneConfig { id: "scene".into(), polygon: zone }],
                masks: Vec::new(),
                rules: vec![suggested_rule(&sim.scene)],
                enabled: true,
                offline_after: Duration::from_secs(30),
                id: sim.id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_configs_are_valid_and_match_the_simulator() {
        let sims = demo_sim_cameras(200);
        let cams = demo_cameras(200, "http://127.0.0.1:8090/");
        assert_eq!(sims.len(), cams.len());
        let mut active = 0;
        for (s, c) in sims.iter().zip(&cams) {
            s.validate().expect("sim camera valid");
            c.validate().unwrap_or_else(|e| panic!("{e}"));
            for r in &c.rules {
                r.validate().unwrap_or_else(|e| panic!("{e}"));
            }
            assert_eq!(s.id, c.id);
            assert_eq!(c.source, SourceConfig::Snapshot { url: format!("http://127.0.0.1:8090/cameras/{}/snapshot.jpg", s.id) });
            assert!((44.40..44.47).contains(&c.location.lat) && (25.98..26.06).contains(&c.location.lon), "{:?}", c.location);
            if s.scene != Scene::Static {
                active += 1;
                assert_eq!(Some(&c.zones[0].polygon), s.scene.zone(s.width, s.height).as_ref());
            }
        }
        // One of each active scene first, then one in eight.
        assert_eq!(sims[..4].iter().map(|s| s.scene.kind()).collect::<Vec<_>>(), ["walker", "loiterer", "crowd", "parked"]);
        assert!((20..=35).contains(&active), "{active} active of 200");
        assert_eq!(demo_cameras(5, "http://x")[4].id, "cam-0004");
        // The parked scene is a car, and its no-stopping rule watches cars.
        let rule = suggested_rule(&Scene::parked());
        assert_eq!((rule.kind, rule.classes.as_slice()), (RuleKind::NoStopping, &["car".to_owned()][..]));
    }
}
