//! The demo's cameras raise real alerts: each active scene's frames, at 1 frame/s,
//! through the real detector, vision's tracker and the rules `demo_cameras` configures,
//! fire that scene's rule once; a static street fires nothing.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{decode, detector, start};
use veghe_camera_sim::{demo_cameras, demo_sim_cameras, SimCamera};
use veghe_vision::rules::RuleEngine;
use veghe_vision::tracker::{Tracker, TrackerConfig};
use veghe_vision::RuleKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_scenes_fire_their_rules_and_static_streets_do_not() {
    // Cameras 0-3 show the four active scenes; camera 5 a static street. Each runs from
    // the start of its cycle (the demo staggers them) for as long as its event needs.
    let picks: [(usize, u64, Option<RuleKind>); 5] = [
        (0, 16, Some(RuleKind::ZoneEnter)),
        (1, 75, Some(RuleKind::Loiter)),
        (2, 15, Some(RuleKind::Crowd)),
        (3, 45, Some(RuleKind::NoStopping)),
        (5, 20, None),
    ];
    let sims: Vec<SimCamera> = demo_sim_cameras(6).into_iter().map(|c| SimCamera { offset: Duration::ZERO, ..c }).collect();
    let configs = demo_cameras(6, "http://127.0.0.1:1");
    let (_, sim) = start(sims).await;
    let mut det = detector();
    let names = det.class_names().to_vec();
    let epoch: DateTime<Utc> = DateTime::from_timestamp(1_750_000_000, 0).expect("time");
    for (i, seconds, want) in picks {
        let cfg = &configs[i];
        let mut engine = RuleEngine::new(&cfg.id, &cfg.zones, &cfg.rules, &names).expect("demo rules compile");
        let mut tracker = Tracker::new(TrackerConfig::default());
        let mut fired = Vec::new();
        for t in 0..=seconds {
            let jpeg = sim.jpeg_at(&cfg.id, Duration::from_secs(t)).expect("frame");
            let img = decode(&jpeg);
            let found = tokio::task::block_in_place(|| det.detect(&[&img]).expect("inference").remove(0));
            let now = epoch + chrono::Duration::seconds(t as i64);
            let tracks = tracker.update(&found, now).to_vec();
            fired.extend(engine.evaluate(&tracks, now).into_iter().map(|h| (t, h.rule_kind)));
        }
        let kinds: Vec<RuleKind> = fired.iter().map(|f| f.1).collect();
        assert_eq!(kinds, want.into_iter().collect::<Vec<_>>(), "{} ({}): fired {fired:?}", cfg.id, cfg.name);
    }
}
