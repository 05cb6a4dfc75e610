//! Per-camera zone rules over tracked objects: zone entry, loitering, crowding and
//! stopping in a no-stopping zone, with per-rule class filters and a minimum score held
//! over several frames to suppress one-frame false positives. Pure logic.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::camera::ZoneConfig;
use crate::event::{DetectionEvent, LatLon, RuleKind};
use crate::geometry::{BBox, Polygon};
use crate::tracker::{Track, SCORE_HISTORY};

/// One rule of a camera, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub id: String,
    /// The zone (by id) the rule watches.
    pub zone: String,
    pub kind: RuleKind,
    /// Class names the rule applies to; empty means every class.
    #[serde(default)]
    pub classes: Vec<String>,
    /// A detection counts only at or above this score.
    #[serde(default = "default_min_score")]
    pub min_score: f32,
    /// ... and only once its track has counted in this many frames.
    #[serde(default = "default_min_frames")]
    pub min_frames: u32,
    /// Loiter and no-stopping: how long before the rule fires.
    #[serde(default, with = "humantime_serde")]
    pub after: Option<Duration>,
    /// Crowd: fires when more than this many objects are in the zone.
    #[serde(default)]
    pub count: Option<u32>,
}

fn default_min_score() -> f32 {
    0.5
}
fn default_min_frames() -> u32 {
    2
}

impl RuleConfig {
    /// Checks what serde cannot: the settings each kind needs, and ranges.
    pub fn validate(&self) -> Result<(), String> {
        let ctx = |m: &str| format!("rule {}: {m}", self.id);
        if self.id.is_empty() {
            return Err("rule id must not be empty".into());
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(ctx(&format!("min_score {} not in [0, 1]", self.min_score)));
        }
        if self.min_frames as usize > SCORE_HISTORY {
            return Err(ctx(&format!("min_frames {} above {SCORE_HISTORY}", self.min_frames)));
        }
        match self.kind {
            RuleKind::Loiter | RuleKind::NoStopping if self.after.is_none() => {
                Err(ctx("loiter and no_stopping rules need `after`"))
            }
            RuleKind::Crowd if self.count.is_none() => Err(ctx("crowd rules need `count`")),
            _ => Ok(()),
        }
    }
}

/// A rule that fired, for one track (or, for a crowd, the track that tipped the count).
/// The pipeline adds the camera, class name, position, time and evidence frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    pub rule_id: String,
    pub rule_kind: RuleKind,
    pub zone_id: String,
    pub track_id: u64,
    pub class_id: u32,
    pub score: f32,
    pub bbox: BBox,
    /// Qualifying objects in the zone (crowd rules; 1 otherwise).
    pub count: u32,
}

/// What a rule remembers about one track.
#[derive(Debug, Clone, Copy)]
struct TrackState {
    /// When the track was last seen entering the zone; None while outside.
    inside_since: Option<DateTime<Utc>>,
    /// zone_enter: fired for the current visit.
    entered_fired: bool,
    /// loiter / no_stopping: fired for this track (once per track).
    fired: bool,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    cfg: RuleConfig,
    polygon: Polygon,
    /// Class ids the rule applies to; None means all.
    classes: Option<Vec<u32>>,
    states: HashMap<u64, TrackState>,
    /// crowd: may fire (re-armed when the count drops to <= count).
    crowd_armed: bool,
}

impl CompiledRule {
    fn applies_to(&self, t: &Track) -> bool {
        self.classes.as_ref().is_none_or(|c| c.contains(&t.class_id))
            && t.counted(self.cfg.min_score, self.cfg.min_frames)
    }
}

/// The rules of one camera, with the per-track state they need between frames.
#[derive(Debug, Clone)]
pub struct RuleEngine {
    camera_id: String,
    class_names: Vec<String>,
    rules: Vec<CompiledRule>,
    seen: HashSet<u64>,
}

impl RuleEngine {
    /// Compiles a camera's rules: validates them and resolves zone ids and class names
    /// (a class id is its index in `class_names`).
    pub fn new(
        camera_id: &str,
        zones: &[ZoneConfig],
        rules: &[RuleConfig],
        class_names: &[String],
    ) -> Result<RuleEngine, String> {
        let ctx = |m: String| format!("camera {camera_id}: {m}");
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            r.validate().map_err(ctx)?;
            if rules[..i].iter().any(|o| o.id == r.id) {
                return Err(ctx(format!("duplicate rule id {}", r.id)));
            }
            let zone = zones
                .iter()
                .find(|z| z.id == r.zone)
                .ok_or_else(|| ctx(format!("rule {} refers to unknown zone {}", r.id, r.zone)))?;
            if zone.polygon.points.len() < 3 {
                return Err(ctx(format!("zone {} needs at least 3 points", zone.id)));
            }
            let classes = if r.classes.is_empty() {
                None
            } else {
                let mut ids = Vec::with_capacity(r.classes.len());
                for name in &r.classes {
                    let id = class_names
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| ctx(format!("rule {} refers to unknown class {name}", r.id)))?;
                    ids.push(id as u32);
                }
                Some(ids)
            };
            compiled.push(CompiledRule {
                cfg: r.clone(),
                polygon: zone.polygon.clone(),
                classes,
                states: HashMap::new(),
                crowd_armed: true,
            });
        }
        Ok(RuleEngine {
            camera_id: camera_id.to_string(),
            class_names: class_names.to_vec(),
            rules: compiled,
            seen: HashSet::new(),
        })
    }

    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The configured name of a class id, or its number when the model has more classes
    /// than names.
    pub fn class_name(&self, class_id: u32) -> String {
        self.class_names
            .get(class_id as usize)
            .cloned()
            .unwrap_or_else(|| class_id.to_string())
    }

    /// The event for a hit, once the pipeline knows where and when.
    pub fn event(&self, hit: &RuleHit, position: Option<LatLon>, time: DateTime<Utc>) -> DetectionEvent {
        DetectionEvent {
            camera_id: self.camera_id.clone(),
            rule_id: hit.rule_id.clone(),
            rule_kind: hit.rule_kind,
            zone_id: hit.zone_id.clone(),
            class_name: self.class_name(hit.class_id),
            class_id: hit.class_id,
            score: hit.score,
            bbox: hit.bbox,
            track_id: hit.track_id,
            count: hit.count,
            position,
            time,
            evidence_jpeg: None,
        }
    }

    /// Applies every rule to the current tracks (the tracker's output for this frame,
    /// scored or coasted) and returns what fired. Call it once per frame.
    pub fn evaluate(&mut self, tracks: &[Track], now: DateTime<Utc>) -> Vec<RuleHit> {
        let mut hits = Vec::new();
        for rule in &mut self.rules {
            // Presence is geometric and recorded for every track, qualifying or not:
            // a loiterer's time counts from when it entered, even if the detector needed
            // a few frames to be sure of it.
            let mut crowd: Vec<(&Track, DateTime<Utc>)> = Vec::new();
            for t in tracks {
                let inside = t.bbox.is_finite() && rule.polygon.contains(t.bbox.ground_point());
                let qualifies = rule.applies_to(t);
                let st = rule.states.entry(t.id).or_insert(TrackState {
                    inside_since: None,
                    entered_fired: false,
                    fired: false,
                });
                if !inside {
                    st.inside_since = None;
                    st.entered_fired = false;
                    continue;
                }
                let since = *st.inside_since.get_or_insert(now);
                if !qualifies {
                    continue;
                }
                let after = rule.cfg.after.unwrap_or(Duration::ZERO);
                let fire = match rule.cfg.kind {
                    RuleKind::ZoneEnter => !std::mem::replace(&mut st.entered_fired, true),
                    RuleKind::Loiter => !st.fired && elapsed(since, now) >= after,
                    RuleKind::NoStopping => {
                        // Stationary inside the zone: from the later of stopping and
                        // entering.
                        let still = t.stationary_since.map(|s| s.max(since));
                        !st.fired && still.is_some_and(|s| elapsed(s, now) >= after)
                    }
                    RuleKind::Crowd => {
                        crowd.push((t, since));
                        false
                    }
                };
                if fire {
                    st.fired = true;
                    hits.push(hit(&rule.cfg, t, 1));
                }
            }
            if rule.cfg.kind == RuleKind::Crowd {
                let limit = rule.cfg.count.unwrap_or(u32::MAX);
                let n = crowd.len() as u32;
                if n <= limit {
                    rule.crowd_armed = true;
                } else if rule.crowd_armed {
                    rule.crowd_armed = false;
                    // The track that tipped the count: the latest to enter.
                    if let Some((t, _)) = crowd.iter().max_by_key(|(t, since)| (*since, t.id)) {
                        hits.push(hit(&rule.cfg, t, n));
                    }
                }
            }
        }
        // Forget tracks the tracker dropped.
        self.seen.clear();
        self.seen.extend(tracks.iter().map(|t| t.id));
        for rule in &mut self.rules {
            let seen = &self.seen;
            rule.states.retain(|id, _| seen.contains(id));
        }
        hits
    }

    /// Per-track states held (for tests and metrics).
    pub fn tracked_states(&self) -> usize {
        self.rules.iter().map(|r| r.states.len()).sum()
    }
}

fn hit(cfg: &RuleConfig, t: &Track, count: u32) -> RuleHit {
    RuleHit {
        rule_id: cfg.id.clone(),
        rule_kind: cfg.kind,
        zone_id: cfg.zone.clone(),
        track_id: t.id,
        class_id: t.class_id,
        score: t.score,
        bbox: t.bbox,
        count,
    }
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Detection;
    use crate::geometry::Point;
    use crate::tracker::{Tracker, TrackerConfig};
    use chrono::TimeZone;

    const PERSON: u32 = 0;
    const CAR: u32 = 2;

    fn at(secs: f64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 5, 1, 12, 0, 0).single().expect("valid time")
            + chrono::Duration::milliseconds((secs * 1000.0) as i64)
    }

    fn names() -> Vec<String> {
        ["person", "bicycle", "car"].iter().map(|s| s.to_string()).collect()
    }

    /// The zone: x and y in 100..300.
    fn zones() -> Vec<ZoneConfig> {
        let sq = |x1: f32, y1: f32, x2: f32, y2: f32| {
            Polygon::new(vec![Point::new(x1, y1), Point::new(x2, y1), Point::new(x2, y2), Point::new(x1, y2)])
        };
        vec![
            ZoneConfig { id: "square".into(), polygon: sq(100.0, 100.0, 300.0, 300.0) },
            ZoneConfig { id: "tiny".into(), polygon: Polygon::new(vec![Point::new(0.0, 0.0), Point::new(1.0, 1.0)]) },
        ]
    }

    fn rule(kind: RuleKind, classes: &[&str], after: Option<u64>, count: Option<u32>) -> RuleConfig {
        RuleConfig {
            id: format!("{kind:?}").to_lowercase(),
            zone: "square".into(),
            kind,
            classes: classes.iter().map(|s| s.to_string()).collect(),
            min_score: 0.5,
            min_frames: 2,
            after: after.map(Duration::from_secs),
            count,
        }
    }

    /// A box whose ground point (bottom centre) is at (gx, gy).
    fn at_ground(class_id: u32, gx: f32, gy: f32, score: f32) -> Detection {
        Detection { class_id, score, bbox: BBox::new(gx - 20.0, gy - 80.0, gx + 20.0, gy) }
    }

    /// Runs a scripted scene (one frame per entry, 1 frame/s) through a tracker and the
    /// rules; returns (frame index, rule kind, track id, count) for every hit.
    fn run(rules: &[RuleConfig], frames: &[Vec<Detection>]) -> (Vec<(usize, RuleKind, u64, u32)>, RuleEngine) {
        let mut tracker = Tracker::new(TrackerConfig {
            iou_match: 0.3,
            max_missed_frames: 1,
            max_age: Duration::from_secs(60),
            stationary_after: Duration::from_secs(3),
            stationary_tolerance_px: 4.0,
        });
        let mut engine = RuleEngine::new("cam-1", &zones(), rules, &names()).expect("valid rules");
        let mut out = Vec::new();
        for (i, dets) in frames.iter().enumerate() {
            let tracks = tracker.update(dets, at(i as f64));
            for h in engine.evaluate(tracks, at(i as f64)) {
                out.push((i, h.rule_kind, h.track_id, h.count));
            }
        }
        (out, engine)
    }

    /// A person walking along y = 250 through x positions.
    fn walk(xs: impl Iterator<Item = f32>) -> Vec<Vec<Detection>> {
        xs.map(|x| vec![at_ground(PERSON, x, 250.0, 0.8)]).collect()
    }

    #[test]
    fn validate_table() {
        let ok = rule(RuleKind::Loiter, &[], Some(5), None);
        let cases: Vec<(RuleConfig, bool)> = vec![
            (ok.clone(), true),
            (RuleConfig { after: None, ..ok.clone() }, false),
            (rule(RuleKind::NoStopping, &[], None, None), false),
            (rule(RuleKind::NoStopping, &[], Some(30), None), true),
            (rule(RuleKind::Crowd, &[], None, None), false),
            (rule(RuleKind::Crowd, &[], None, Some(3)), true),
            (rule(RuleKind::ZoneEnter, &[], None, None), true),
            (RuleConfig { min_score: 1.5, ..ok.clone() }, false),
            (RuleConfig { min_score: -0.1, ..ok.clone() }, false),
            (RuleConfig { min_score: f32::NAN, ..ok.clone() }, false),
            (RuleConfig { min_score: 0.0, ..ok.clone() }, true),
            (RuleConfig { min_score: 1.0, ..ok.clone() }, true),
            (RuleConfig { min_frames: 1000, ..ok.clone() }, false),
            (RuleConfig { id: String::new(), ..ok.clone() }, false),
        ];
        for (r, want) in cases {
            assert_eq!(r.validate().is_ok(), want, "{r:?}");
        }
    }

    #[test]
    fn engine_new_refuses_bad_references() {
        let good = rule(RuleKind::ZoneEnter, &["person"], None, None);
        let cases: Vec<(Vec<RuleConfig>, Option<&str>)> = vec![
            (vec![good.clone()], None),
            (vec![RuleConfig { zone: "nowhere".into(), ..good.clone() }], Some("unknown zone")),
            (vec![rule(RuleKind::ZoneEnter, &["dragon"], None, None)], Some("unknown class")),
            (vec![good.clone(), good.clone()], Some("duplicate")),
            (vec![RuleConfig { zone: "tiny".into(), ..good.clone() }], Some("3 points")),
            (vec![rule(RuleKind::Crowd, &[], None, None)], Some("count")),
        ];
        for (rules, want_err) in cases {
            match (RuleEngine::new("cam-1", &zones(), &rules, &names()), want_err) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w) && e.contains("cam-1"), "{e}"),
                (r, w) => panic!("{rules:?}: got {:?}, want error {w:?}", r.map(|_| ())),
            }
        }
    }

    #[test]
    fn zone_enter_fires_once_per_entry() {
        let rules = [rule(RuleKind::ZoneEnter, &["person"], None, None)];
        // In from the left (x 45..=165, frames 0-12), back out (165..=45, frames 13-25),
        // in again (frames 26-38). Inside from x=105: frames 6 and 26+6.
        let xs = (0..=12).map(|i| 45.0 + 10.0 * i as f32)
            .chain((0..=12).map(|i| 165.0 - 10.0 * i as f32))
            .chain((0..=12).map(|i| 45.0 + 10.0 * i as f32));
        let (hits, _) = run(&rules, &walk(xs));
        assert_eq!(hits, vec![(6, RuleKind::ZoneEnter, 1, 1), (32, RuleKind::ZoneEnter, 1, 1)]);
    }

    #[test]
    fn one_frame_and_low_score_and_wrong_class_never_fire() {
        let rules = [rule(RuleKind::ZoneEnter, &["person"], None, None)];
        let inside = |class, score| vec![at_ground(class, 200.0, 200.0, score)];
        let cases: Vec<(&str, Vec<Vec<Detection>>, usize)> = vec![
            ("one frame", vec![inside(PERSON, 0.95), vec![], vec![], vec![]], 0),
            ("low score", vec![inside(PERSON, 0.4); 10], 0),
            ("one good frame among low", [vec![inside(PERSON, 0.9)], vec![inside(PERSON, 0.4); 9]].concat(), 0),
            ("wrong class", vec![inside(CAR, 0.9); 10], 0),
            // The control: two frames at score suffice, firing on the second.
            ("two frames", vec![inside(PERSON, 0.6), inside(PERSON, 0.6)], 1),
        ];
        for (name, frames, want) in cases {
            let (hits, _) = run(&rules, &frames);
            assert_eq!(hits.len(), want, "{name}: {hits:?}");
        }
        let (hits, _) = run(&rules, &[inside(PERSON, 0.6), inside(PERSON, 0.6)]);
        assert_eq!(hits[0].0, 1);
    }

    #[test]
    fn loiter_fires_once_after_continuous_presence() {
        let rules = [rule(RuleKind::Loiter, &[], Some(10), None)];
        let stand = |n: usize| vec![vec![at_ground(PERSON, 200.0, 200.0, 0.8)]; n];
        // (scene, expected hit frames)
        let cases: Vec<(&str, Vec<Vec<Detection>>, Vec<usize>)> = vec![
            ("stays 30 s", stand(30), vec![10]),
            ("stays 9 s", stand(10), vec![]),
            // Walking through the zone at 10 px/s takes 20 s: loiters, counted from the
            // entry at frame 6 (x=105), before the track qualified.
            ("walks through slowly", walk((0..40).map(|i| 45.0 + 10.0 * i as f32)), vec![6 + 10]),
            // At 20 px/s it is inside only 10 frames (x 105..285): 9 s, no hit.
            ("walks through", walk((0..25).map(|i| 45.0 + 20.0 * i as f32)), vec![]),
        ];
        for (name, frames, want) in cases {
            let (hits, _) = run(&rules, &frames);
            let got: Vec<usize> = hits.iter().map(|h| h.0).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn crowd_fires_once_and_rearms() {
        let rules = [rule(RuleKind::Crowd, &["person"], None, Some(2))];
        let p = |k: usize| at_ground(PERSON, 120.0 + 50.0 * k as f32, 200.0, 0.8);
        // Number of people present per frame.
        let counts = [1, 1, 2, 2, 3, 3, 3, 4, 4, 2, 2, 3, 3, 3, 1];
        let frames: Vec<Vec<Detection>> = counts.iter().map(|&n| (0..n).map(p).collect()).collect();
        let (hits, _) = run(&rules, &frames);
        // The third person appears at frame 4 and qualifies at frame 5 (two frames);
        // after the drop to 2 at frame 9, person 3 returns as a new track at frame 11
        // and qualifies at 12. Track ids: 1, 2, 3, 4 (frame 7), 5 (frame 11). Tracks
        // missed for one frame still count (frame 9), so the re-arming is at frame 10.
        assert_eq!(hits, vec![(5, RuleKind::Crowd, 3, 3), (12, RuleKind::Crowd, 5, 3)]);
        // Cars do not count towards a person crowd.
        let frames: Vec<Vec<Detection>> = (0..5)
            .map(|_| vec![p(0), p(1), at_ground(CAR, 280.0, 280.0, 0.9)])
            .collect();
        assert!(run(&rules, &frames).0.is_empty());
    }

    #[test]
    fn no_stopping_fires_for_stopped_vehicle_only() {
        // After 5 s stationary; the tracker calls a track stationary after 3 s.
        let rules = [rule(RuleKind::NoStopping, &["car"], Some(5), None)];
        let car = |x: f32| vec![at_ground(CAR, x, 200.0, 0.9)];
        // Drives in (x 40..=140 over 11 frames), stops at 150 for 20 frames, drives off.
        let parks: Vec<Vec<Detection>> = (0..=10)
            .map(|i| car(40.0 + 10.0 * i as f32))
            .chain((0..20).map(|_| car(150.0)))
            .chain((1..=5).map(|i| car(150.0 + 10.0 * i as f32)))
            .collect();
        // Stationary since frame 11 (first at 150): set at 14, fires at 11 + 5 = 16.
        let (hits, engine) = run(&rules, &parks);
        assert_eq!(hits, vec![(16, RuleKind::NoStopping, 1, 1)]);
        assert_eq!(engine.tracked_states(), 1);

        let cases: Vec<(&str, Vec<Vec<Detection>>)> = vec![
            ("drives through", (0..30).map(|i| car(40.0 + 10.0 * i as f32)).collect()),
            ("person stands", vec![vec![at_ground(PERSON, 150.0, 200.0, 0.9)]; 20]),
            // Parked outside the zone (ground y 350).
            ("parked outside", vec![vec![at_ground(CAR, 150.0, 350.0, 0.9)]; 20]),
            ("stops 4 s", (0..=10).map(|i| car(40.0 + 10.0 * i as f32))
                .chain((0..5).map(|_| car(150.0)))
                .chain((1..=5).map(|i| car(150.0 + 10.0 * i as f32))).collect()),
        ];
        for (name, frames) in cases {
            let (hits, _) = run(&rules, &frames);
            assert!(hits.is_empty(), "{name}: {hits:?}");
        }
    }

    #[test]
    fn state_is_forgotten_when_tracks_vanish() {
        let rules = [
            rule(RuleKind::ZoneEnter, &[], None, None),
            rule(RuleKind::Loiter, &[], Some(60), None),
        ];
        let mut frames = vec![vec![at_ground(PERSON, 200.0, 200.0, 0.9)]; 5];
        let (_, engine) = run(&rules, &frames);
        assert_eq!(engine.tracked_states(), 2);
        frames.extend(vec![vec![]; 3]); // max_missed_frames 1: dropped
        let (_, engine) = run(&rules, &frames);
        assert_eq!(engine.tracked_states(), 0);
    }

    #[test]
    fn garbage_tracks_do_not_panic() {
        let rules = [rule(RuleKind::ZoneEnter, &[], None, None), rule(RuleKind::Crowd, &[], None, Some(0))];
        let mut engine = RuleEngine::new("cam-1", &zones(), &rules, &names()).expect("valid");
        let nan = Detection { class_id: 99, score: f32::NAN, bbox: BBox::new(f32::NAN, 0.0, 1.0, f32::INFINITY) };
        let t = Track::new(1, &nan, at(0.0));
        assert!(engine.evaluate(&[t.clone(), t], at(0.0)).is_empty());
        assert_eq!(engine.class_name(99), "99");
        assert_eq!(engine.class_name(2), "car");
    }

    #[test]
    fn event_carries_camera_and_class_name() {
        let rules = [rule(RuleKind::ZoneEnter, &["car"], None, None)];
        let engine = RuleEngine::new("cam-7", &zones(), &rules, &names()).expect("valid");
        let h = RuleHit {
            rule_id: "r".into(),
            rule_kind: RuleKind::ZoneEnter,
            zone_id: "square".into(),
            track_id: 9,
            class_id: CAR,
            score: 0.7,
            bbox: BBox::new(1.0, 2.0, 3.0, 4.0),
            count: 1,
        };
        let e = engine.event(&h, Some(LatLon::new(44.4, 26.0)), at(1.0));
        assert_eq!((e.camera_id.as_str(), e.class_name.as_str(), e.track_id, e.time), ("cam-7", "car", 9, at(1.0)));
    }
}
