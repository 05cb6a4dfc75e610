//! Multi-object tracking for one camera: turns per-frame detections into tracks with
//! stable ids, so that the zone rules can reason about "the same object" over time
//! (how long it stayed, whether it stopped, whether it was seen often enough to be
//! trusted). Owns association (greedy IoU, same class only, against a constant-velocity
//! prediction of each box), track lifetime (missed frames, maximum age), the per-track
//! score history the rules' "min score over several frames" test needs, and
//! stationary-object detection. Pure logic: no IO, no clock (the caller passes `now`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::detection::Detection;
use crate::geometry::{BBox, Point};

/// How many of a track's best scores are remembered. A rule can ask for at most this
/// many frames (`RuleConfig::validate` enforces it); keeping the best ones (rather than
/// the latest) makes "has been seen at >= s in >= n frames" monotonic: once a track
/// qualifies it stays qualified.
pub const SCORE_HISTORY: usize = 32;

/// Tracker settings for one camera.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// Minimum IoU between a track's predicted box and a detection to match them.
    pub iou_match: f32,
    /// A track unmatched in more than this many consecutive scored frames is dropped.
    pub max_missed_frames: u32,
    /// A track not matched for this long is dropped, scored frames or not.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// The box centre must stay within the tolerance this long before the track is
    /// stationary.
    #[serde(with = "humantime_serde")]
    pub stationary_after: Duration,
    /// How far (pixels) the box centre may wander and still count as not moving
    /// (detector jitter).
    pub stationary_tolerance_px: f32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            iou_match: 0.3,
            max_missed_frames: 5,
            // The pipeline should score a frame at least this often even when the
            // motion gate sees nothing, or parked objects age out.
            max_age: Duration::from_secs(120),
            stationary_after: Duration::from_secs(10),
            stationary_tolerance_px: 8.0,
        }
    }
}

/// One tracked object.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Unique per tracker, increasing in creation order, never reused.
    pub id: u64,
    /// Fixed at creation: detections of another class never continue this track.
    pub class_id: u32,
    /// The last matched box (not the prediction).
    pub bbox: BBox,
    /// Score of the last match.
    pub score: f32,
    pub best_score: f32,
    /// Scored frames in which the track was matched.
    pub hits: u32,
    /// Consecutive scored frames without a match (0 when matched in the latest frame).
    pub missed: u32,
    pub first_seen: DateTime<Utc>,
    /// Time of the last match.
    pub last_seen: DateTime<Utc>,
    /// When the object stopped moving; set once it has stayed within the tolerance for
    /// `stationary_after`, cleared as soon as it moves.
    pub stationary_since: Option<DateTime<Utc>>,
    /// Pixels per second, smoothed; zero while the scene is still.
    velocity: (f32, f32),
    /// Where and since when the centre has stayed within the tolerance.
    anchor: Point,
    anchor_time: DateTime<Utc>,
    /// The best `SCORE_HISTORY` scores, highest first.
    top_scores: Vec<f32>,
}

impl Track {
    /// A new track from its first detection (the tracker assigns ids; this is public so
    /// that rule tests and replays can build tracks directly).
    pub fn new(id: u64, det: &Detection, now: DateTime<Utc>) -> Track {
        let score = sane_score(det.score);
        let mut t = Track {
            id,
            class_id: det.class_id,
            bbox: det.bbox,
            score,
            best_score: score,
            hits: 1,
            missed: 0,
            first_seen: now,
            last_seen: now,
            stationary_since: None,
            velocity: (0.0, 0.0),
            anchor: det.bbox.centre(),
            anchor_time: now,
            top_scores: Vec::with_capacity(SCORE_HISTORY),
        };
        t.record_score(score);
        t
    }

    /// Number of matched frames with a score >= `min_score`, exact up to
    /// `SCORE_HISTORY` (larger counts are reported as `SCORE_HISTORY`).
    pub fn frames_at_or_above(&self, min_score: f32) -> u32 {
        // top_scores is sorted descending: count the prefix.
        self.top_scores.iter().take_while(|&&s| s >= min_score).count() as u32
    }

    /// Has the track been seen at >= `min_score` in >= `min_frames` frames?
    pub fn counted(&self, min_score: f32, min_frames: u32) -> bool {
        self.frames_at_or_above(min_score) >= min_frames
    }

    /// How long the object has been standing still (zero when it is not stationary).
    pub fn stationary_for(&self, now: DateTime<Utc>) -> Duration {
        self.stationary_since.map_or(Duration::ZERO, |s| elapsed(s, now))
    }

    /// Where the tracker expects the box at `now`.
    fn predicted(&self, now: DateTime<Utc>) -> BBox {
        let dt = elapsed(self.last_seen, now).as_secs_f32();
        let (dx, dy) = (self.velocity.0 * dt, self.velocity.1 * dt);
        if !(dx.is_finite() && dy.is_finite()) {
            return self.bbox;
        }
        BBox::new(self.bbox.x1 + dx, self.bbox.y1 + dy, self.bbox.x2 + dx, self.bbox.y2 + dy)
    }

    fn record_score(&mut self, score: f32) {
        let pos = self.top_scores.partition_point(|&s| s >= score);
        if pos < SCORE_HISTORY {
            if self.top_scores.len() == SCORE_HISTORY {
                self.top_scores.pop();
            }
            self.top_scores.insert(pos, score);
        }
    }

    fn matched(&mut self, det: &Detection, now: DateTime<Utc>, cfg: &TrackerConfig) {
        let dt = elapsed(self.last_seen, now).as_secs_f32();
        let (old, new) = (self.bbox.centre(), det.bbox.centre());
        if dt > 0.0 {
            // Exponential smoothing: detector boxes jitter; a raw difference would make
            // the prediction overshoot.
            let v = ((new.x - old.x) / dt, (new.y - old.y) / dt);
            self.velocity = (0.5 * self.velocity.0 + 0.5 * v.0, 0.5 * self.velocity.1 + 0.5 * v.1);
        }
        let score = sane_score(det.score);
        self.bbox = det.bbox;
        self.score = score;
        self.best_score = self.best_score.max(score);
        self.hits = self.hits.saturating_add(1);
        self.missed = 0;
        self.last_seen = now;
        self.record_score(score);
        self.update_stationary(now, cfg);
    }

    /// Stationary bookkeeping from the current box: moving beyond the tolerance from
    /// the anchor restarts the clock there.
    fn update_stationary(&mut self, now: DateTime<Utc>, cfg: &TrackerConfig) {
        let c = self.bbox.centre();
        let moved = (c.x - self.anchor.x).hypot(c.y - self.anchor.y);
        // `!(moved <= tol)` also treats NaN as moved.
        if !(moved <= cfg.stationary_tolerance_px) {
            self.anchor = c;
            self.anchor_time = now;
            self.stationary_since = None;
        } else if self.stationary_since.is_none() && elapsed(self.anchor_time, now) >= cfg.stationary_after {
            self.stationary_since = Some(self.anchor_time);
        }
    }
}

/// The tracker of one camera.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    /// Scratch for association, kept to avoid allocating per frame.
    pairs: Vec<(f32, usize, usize)>,
    det_taken: Vec<bool>,
    track_taken: Vec<bool>,
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            cfg,
            tracks: Vec::new(),
            next_id: 1,
            pairs: Vec::new(),
            det_taken: Vec::new(),
            track_taken: Vec::new(),
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// The live tracks, in id order.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Feeds the detections of one scored frame. Returns every live track (matched in
    /// this frame or still within its missed-frame allowance), in id order.
    /// Detections with a non-finite or empty box, or a non-finite score, are ignored.
    pub fn update(&mut self, detections: &[Detection], now: DateTime<Utc>) -> &[Track] {
        let valid = |d: &Detection| d.bbox.is_finite() && d.bbox.area() > 0.0 && d.score.is_finite();

        // Greedy association: all same-class pairs above the threshold, best IoU first.
        // With a handful of objects per camera this is as good as Hungarian and simpler.
        self.pairs.clear();
        for (ti, t) in self.tracks.iter().enumerate() {
            let pred = t.predicted(now);
            for (di, d) in detections.iter().enumerate() {
                if d.class_id != t.class_id || !valid(d) {
                    continue;
                }
                // Take the better of the predicted and the last box: prediction helps
                // crossing objects; the last box protects against a bad velocity.
                let iou = pred.iou(&d.bbox).max(t.bbox.iou(&d.bbox));
                if iou > 0.0 && iou >= self.cfg.iou_match {
                    self.pairs.push((iou, ti, di));
                }
            }
        }
        self.pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        self.det_taken.clear();
        self.det_taken.resize(detections.len(), false);
        self.track_taken.clear();
        self.track_taken.resize(self.tracks.len(), false);
        for &(_, ti, di) in &self.pairs {
            if self.track_taken[ti] || self.det_taken[di] {
                continue;
            }
            self.track_taken[ti] = true;
            self.det_taken[di] = true;
            self.tracks[ti].matched(&detections[di], now, &self.cfg);
        }

        // Unmatched tracks are missed this frame; their stationary clock keeps running
        // from their last box (an occluded parked car is still parked).
        for (ti, t) in self.tracks.iter_mut().enumerate() {
            if !self.track_taken[ti] {
                t.missed = t.missed.saturating_add(1);
                t.update_stationary(now, &self.cfg);
            }
        }
        let (max_missed, max_age) = (self.cfg.max_missed_frames, self.cfg.max_age);
        self.tracks
            .retain(|t| t.missed <= max_missed && elapsed(t.last_seen, now) <= max_age);

        // New tracks for the detections nobody claimed, in detection order.
        for (di, d) in detections.iter().enumerate() {
            if !self.det_taken[di] && valid(d) {
                let id = self.next_id;
                self.next_id += 1;
                self.tracks.push(Track::new(id, d, now));
            }
        }
        &self.tracks
    }

    /// A frame the motion gate skipped (nothing moved): tracks stay where they were,
    /// are not counted missed, and keep accruing stationary time; only `max_age` drops
    /// them.
    pub fn coast(&mut self, now: DateTime<Utc>) -> &[Track] {
        for t in &mut self.tracks {
            // Nothing moved, so nothing is moving: a stale velocity would carry the
            // prediction away from the object while the frames are skipped.
            t.velocity = (0.0, 0.0);
            t.update_stationary(now, &self.cfg);
        }
        let max_age = self.cfg.max_age;
        self.tracks.retain(|t| elapsed(t.last_seen, now) <= max_age);
        &self.tracks
    }
}

/// `now - since`, zero when the clock went backwards.
fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

fn sane_score(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 5, 1, 12, 0, 0).single().expect("valid time")
    }

    fn at(secs: f64) -> DateTime<Utc> {
        t0() + chrono::Duration::milliseconds((secs * 1000.0) as i64)
    }

    fn det(class_id: u32, x: f32, y: f32, w: f32, h: f32, score: f32) -> Detection {
        Detection { class_id, score, bbox: BBox::new(x, y, x + w, y + h) }
    }

    fn cfg() -> TrackerConfig {
        TrackerConfig {
            iou_match: 0.3,
            max_missed_frames: 3,
            max_age: Duration::from_secs(60),
            stationary_after: Duration::from_secs(5),
            stationary_tolerance_px: 4.0,
        }
    }

    fn ids(tracks: &[Track]) -> Vec<u64> {
        tracks.iter().map(|t| t.id).collect()
    }

    /// Id of the track whose box is `b` (the one matched this frame).
    fn id_at(tracks: &[Track], b: BBox) -> Option<u64> {
        tracks.iter().find(|t| t.bbox == b && t.missed == 0).map(|t| t.id)
    }

    #[test]
    fn ids_stable_for_moving_boxes() {
        // Per-frame steps (px, 1 frame/s) of a 40 px wide box. The last case moves
        // 35 px a frame, IoU 0.06 with its previous box: only the constant-velocity
        // prediction, built up while it was slower, keeps it.
        let ramp: Vec<f32> = [10.0f32; 4].into_iter().chain([20.0, 28.0, 35.0, 35.0, 35.0]).collect();
        let cases: [(&str, Vec<f32>); 4] = [
            ("slow", vec![2.0; 20]),
            ("walk", vec![10.0; 20]),
            ("fast", vec![-19.0; 15]),
            ("accelerating", ramp),
        ];
        for (name, steps) in cases {
            let mut tr = Tracker::new(cfg());
            let mut first = None;
            let mut x = 400.0;
            for (i, dx) in std::iter::once(0.0).chain(steps).enumerate() {
                x += dx;
                let d = det(0, x, 50.0, 40.0, 80.0, 0.8);
                let tracks = tr.update(&[d], at(i as f64));
                assert_eq!(tracks.len(), 1, "{name} frame {i}: {tracks:?}");
                let id = id_at(tracks, d.bbox).expect("matched");
                assert_eq!(*first.get_or_insert(id), id, "{name} frame {i}");
                assert_eq!(tracks[0].hits, i as u32 + 1);
            }
        }
    }

    #[test]
    fn crossing_objects_keep_their_ids() {
        // Two people walking towards each other along the same line; at the crossing
        // their boxes overlap almost fully. The prediction keeps them apart.
        let mut tr = Tracker::new(cfg());
        let (mut a_id, mut b_id) = (None, None);
        for i in 0..12 {
            let a = det(0, 20.0 + 15.0 * i as f32, 100.0, 40.0, 80.0, 0.9);
            let b = det(0, 200.0 - 15.0 * i as f32, 110.0, 40.0, 80.0, 0.9);
            let tracks = tr.update(&[a, b], at(i as f64));
            assert_eq!(tracks.len(), 2, "frame {i}: {tracks:?}");
            let (ia, ib) = (id_at(tracks, a.bbox).expect("a"), id_at(tracks, b.bbox).expect("b"));
            assert_eq!(*a_id.get_or_insert(ia), ia, "a switched at frame {i}");
            assert_eq!(*b_id.get_or_insert(ib), ib, "b switched at frame {i}");
        }
        assert_ne!(a_id, b_id);
    }

    #[test]
    fn new_object_gets_new_increasing_id() {
        let mut tr = Tracker::new(cfg());
        let a = det(0, 0.0, 0.0, 50.0, 50.0, 0.9);
        let b = det(0, 300.0, 0.0, 50.0, 50.0, 0.9);
        assert_eq!(ids(tr.update(&[a], at(0.0))), vec![1]);
        assert_eq!(ids(tr.update(&[a, b], at(1.0))), vec![1, 2]);
        // A dropped track's id is never reused.
        let mut c = cfg();
        c.max_missed_frames = 0;
        let mut tr = Tracker::new(c);
        tr.update(&[a], at(0.0));
        assert!(tr.update(&[], at(1.0)).is_empty());
        assert_eq!(ids(tr.update(&[a], at(2.0))), vec![2]);
    }

    #[test]
    fn dropped_after_max_missed_or_max_age() {
        let a = det(0, 0.0, 0.0, 50.0, 50.0, 0.9);
        // (max_missed_frames, max_age s, empty frames times, expect alive after each)
        let cases: [(u32, u64, &[f64], &[bool]); 3] = [
            (3, 60, &[1.0, 2.0, 3.0, 4.0], &[true, true, true, false]),
            (0, 60, &[1.0], &[false]),
            (100, 10, &[5.0, 10.0, 10.5], &[true, true, false]),
        ];
        for (max_missed, max_age, times, alive) in cases {
            let mut c = cfg();
            c.max_missed_frames = max_missed;
            c.max_age = Duration::from_secs(max_age);
            let mut tr = Tracker::new(c);
            tr.update(&[a], at(0.0));
            for (t, want) in times.iter().zip(alive) {
                let n = tr.update(&[], at(*t)).len();
                assert_eq!(n == 1, *want, "missed {max_missed} age {max_age} t {t}");
            }
        }
        // A track seen again within the allowance resets its missed count.
        let mut tr = Tracker::new(cfg());
        tr.update(&[a], at(0.0));
        tr.update(&[], at(1.0));
        tr.update(&[], at(2.0));
        let tracks = tr.update(&[a], at(3.0));
        assert_eq!((ids(tracks), tracks[0].missed), (vec![1], 0));
    }

    #[test]
    fn class_never_switches() {
        let mut tr = Tracker::new(cfg());
        let car = det(2, 100.0, 100.0, 80.0, 60.0, 0.9);
        tr.update(&[car], at(0.0));
        // The same box now reported as a truck: a new track, the car track is missed.
        let truck = Detection { class_id: 7, ..car };
        let tracks = tr.update(&[truck], at(1.0));
        assert_eq!(tracks.len(), 2);
        let by_class: Vec<(u64, u32, u32)> = tracks.iter().map(|t| (t.id, t.class_id, t.missed)).collect();
        assert_eq!(by_class, vec![(1, 2, 1), (2, 7, 0)]);
    }

    #[test]
    fn stationary_set_then_reset_when_moving() {
        let mut tr = Tracker::new(cfg());
        // (time s, x, want stationary_since in seconds)
        let steps: [(f64, f32, Option<f64>); 9] = [
            (0.0, 100.0, None),
            (2.0, 102.0, None), // jitter within 4 px
            (4.0, 99.0, None),
            (5.0, 101.0, Some(0.0)), // 5 s within tolerance since t=0
            (8.0, 100.0, Some(0.0)),
            (9.0, 130.0, None), // drove off: reset, anchor moves to t=9
            (12.0, 131.0, None),
            (14.0, 129.0, Some(9.0)),
            (15.0, 100.0, None),
        ];
        for (t, x, want) in steps {
            let tracks = tr.update(&[det(2, x, 200.0, 80.0, 60.0, 0.9)], at(t));
            assert_eq!(tracks.len(), 1, "t {t}");
            assert_eq!(tracks[0].stationary_since, want.map(at), "t {t}");
        }
    }

    #[test]
    fn coast_keeps_parked_car_alive_and_stationary_accrues() {
        let mut c = cfg();
        c.max_missed_frames = 1;
        c.max_age = Duration::from_secs(30);
        let mut tr = Tracker::new(c);
        let car = det(2, 100.0, 200.0, 80.0, 60.0, 0.9);
        tr.update(&[car], at(0.0));
        tr.update(&[car], at(1.0));
        // Many skipped frames: more than max_missed_frames, not missed, still there.
        for s in 2..=20 {
            let tracks = tr.coast(at(s as f64));
            assert_eq!(tracks.len(), 1, "s {s}");
            assert_eq!(tracks[0].missed, 0);
        }
        assert_eq!(tr.tracks()[0].stationary_since, Some(at(0.0)));
        assert_eq!(tr.tracks()[0].stationary_for(at(20.0)), Duration::from_secs(20));
        assert_eq!(tr.tracks()[0].hits, 2);
        // A scored frame finds it again: same id.
        assert_eq!(ids(tr.update(&[car], at(21.0))), vec![1]);
        // max_age still applies to coasting.
        assert_eq!(tr.coast(at(51.0)).len(), 1);
        assert!(tr.coast(at(51.5)).is_empty());
    }

    #[test]
    fn score_history_counts_frames_at_or_above() {
        let mut tr = Tracker::new(cfg());
        let scores = [0.4f32, 0.9, 0.6, 0.55, 0.3];
        for (i, s) in scores.iter().enumerate() {
            tr.update(&[det(0, 10.0, 10.0, 40.0, 40.0, *s)], at(i as f64));
        }
        let t = &tr.tracks()[0];
        for (min, want) in [(0.0f32, 5u32), (0.5, 3), (0.55, 3), (0.6, 2), (0.91, 0)] {
            assert_eq!(t.frames_at_or_above(min), want, "min {min}");
        }
        assert!(t.counted(0.5, 3) && !t.counted(0.5, 4));
        assert_eq!((t.score, t.best_score, t.hits), (0.3, 0.9, 5));
        // The history is bounded and keeps the best scores.
        let mut tr = Tracker::new(cfg());
        for i in 0..(SCORE_HISTORY as u32 + 10) {
            let s = if i < 5 { 0.95 } else { 0.2 };
            tr.update(&[det(0, 10.0, 10.0, 40.0, 40.0, s)], at(i as f64 * 0.1));
        }
        let t = &tr.tracks()[0];
        assert_eq!(t.frames_at_or_above(0.9), 5);
        assert_eq!(t.frames_at_or_above(0.0), SCORE_HISTORY as u32);
    }

    #[test]
    fn bad_detections_are_ignored_without_panic() {
        let mut tr = Tracker::new(cfg());
        let bad = [
            Detection { class_id: 0, score: 0.9, bbox: BBox::new(f32::NAN, 0.0, 10.0, 10.0) },
            Detection { class_id: 0, score: f32::NAN, bbox: BBox::new(0.0, 0.0, 10.0, 10.0) },
            Detection { class_id: 0, score: 0.9, bbox: BBox::new(5.0, 5.0, 5.0, 5.0) },
            Detection { class_id: 0, score: 0.9, bbox: BBox::new(0.0, 0.0, f32::INFINITY, 10.0) },
        ];
        assert!(tr.update(&bad, at(0.0)).is_empty());
        // A live track meeting garbage stays intact; a clock going backwards is harmless.
        let good = det(0, 0.0, 0.0, 10.0, 10.0, 0.8);
        tr.update(&[good], at(10.0));
        let tracks = tr.update(&bad, at(5.0));
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].bbox, good.bbox);
        // Scores out of range are clamped.
        let mut tr = Tracker::new(cfg());
        let t = &tr.update(&[det(0, 0.0, 0.0, 10.0, 10.0, 7.0)], at(0.0))[0];
        assert_eq!(t.score, 1.0);
    }
}
