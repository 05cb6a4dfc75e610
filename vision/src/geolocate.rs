//! Geolocation of camera detections: an image point (the ground point of a box) to the
//! latitude/longitude where it stands. Owns the two camera models: a homography fitted
//! to the camera's ground control points (four or more pixels with known lat/lon), and,
//! without calibration, a pinhole camera placed by its mounting height, bearing, tilt
//! and field of view over a flat ground. Pure maths, built once per camera.

use geo::{Destination, Haversine};

use crate::camera::CameraConfig;
use crate::event::LatLon;
use crate::geometry::Point;

/// Points farther than this from the camera (or from the calibrated area) are not
/// located: near the horizon a pixel spans hundreds of metres and the answer is noise.
pub const DEFAULT_MAX_RANGE_M: f64 = 500.0;

/// Mean Earth radius (GRS80), the one `geo::Haversine` uses.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Maps image points of one camera to the ground.
#[derive(Debug, Clone, PartialEq)]
pub struct Geolocator {
    model: Model,
    max_range_m: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Model {
    /// Pixels -> east/north metres around `origin` (equirectangular, fine at street
    /// scale).
    Homography {
        h: [f64; 9],
        origin: LatLon,
        cos_lat0: f64,
        /// Sign of the homogeneous w at the control points: the side of the image's
        /// horizon line the ground is on.
        w_sign: f64,
        /// Centroid of the control points (metres) and their largest distance from it.
        centre: (f64, f64),
        spread_m: f64,
        rms_m: f64,
    },
    Pinhole {
        origin: LatLon,
        height_m: f64,
        fx: f64,
        fy: f64,
        cx: f64,
        cy: f64,
        /// Camera axes in (east, north, up): image right, image down, optical axis.
        right: [f64; 3],
        down: [f64; 3],
        forward: [f64; 3],
    },
}

impl Geolocator {
    /// Builds the camera's model: the homography when it has calibration points, the
    /// pinhole model otherwise. Errors on settings that cannot describe a camera and on
    /// degenerate calibrations (fewer than 4 points, collinear points).
    pub fn from_camera(cfg: &CameraConfig, image_width: u32, image_height: u32) -> Result<Geolocator, String> {
        let ctx = |m: String| format!("camera {}: geolocation: {m}", cfg.id);
        if image_width == 0 || image_height == 0 {
            return Err(ctx(format!("image size {image_width}x{image_height}")));
        }
        let model = if cfg.calibration.is_empty() {
            pinhole(cfg, image_width, image_height).map_err(ctx)?
        } else {
            let pairs: Vec<(Point, LatLon)> =
                cfg.calibration.iter().map(|g| (g.pixel, LatLon::new(g.lat, g.lon))).collect();
            fit_homography(&pairs).map_err(ctx)?
        };
        Ok(Geolocator { model, max_range_m: DEFAULT_MAX_RANGE_M })
    }

    /// Changes the range beyond which `locate` answers None.
    pub fn with_max_range(mut self, metres: f64) -> Geolocator {
        if metres.is_finite() && metres > 0.0 {
            self.max_range_m = metres;
        }
        self
    }

    /// Root-mean-square distance (metres) between the calibration points and where the
    /// fitted homography puts their pixels; None for the pinhole model. A large value
    /// means a control point is wrong.
    pub fn calibration_rms_m(&self) -> Option<f64> {
        match &self.model {
            Model::Homography { rms_m, .. } => Some(*rms_m),
            Model::Pinhole { .. } => None,
        }
    }

    /// Where the image point `p` is on the ground; None for points at or above the
    /// horizon, beyond the maximum range, or not finite.
    pub fn locate(&self, p: Point) -> Option<LatLon> {
        let (x, y) = (p.x as f64, p.y as f64);
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let out = match &self.model {
            Model::Homography { h, origin, cos_lat0, w_sign, centre, spread_m, .. } => {
                let (e, n, w) = apply(h, x, y);
                if w * w_sign <= 1e-12 {
                    return None;
                }
                let (e, n) = (e / w, n / w);
                if (e - centre.0).hypot(n - centre.1) > spread_m + self.max_range_m {
                    return None;
                }
                from_local(*origin, *cos_lat0, e, n)
            }
            Model::Pinhole { origin, height_m, fx, fy, cx, cy, right, down, forward } => {
                let (u, v) = ((x - cx) / fx, (y - cy) / fy);
                let ray: [f64; 3] = std::array::from_fn(|i| u * right[i] + v * down[i] + forward[i]);
                // The ray must go down; at the horizon it never meets the ground.
                if ray[2] >= -1e-9 {
                    return None;
                }
                let s = height_m / -ray[2];
                let (e, n) = (s * ray[0], s * ray[1]);
                let dist = e.hypot(n);
                if !(dist <= self.max_range_m) {
                    return None;
                }
                let bearing = e.atan2(n).to_degrees();
                let d = Haversine.destination(geo::Point::new(origin.lon, origin.lat), bearing, dist);
                LatLon::new(d.y(), d.x())
            }
        };
        (out.lat.is_finite() && out.lon.is_finite()).then_some(out)
    }
}

fn pinhole(cfg: &CameraConfig, w: u32, h: u32) -> Result<Model, String> {
    let finite = [cfg.location.lat, cfg.location.lon, cfg.height_m, cfg.bearing_deg, cfg.tilt_deg, cfg.fov_deg];
    if finite.iter().any(|v| !v.is_finite()) {
        return Err("location, height, bearing, tilt and fov must be finite numbers".into());
    }
    if !(cfg.height_m > 0.0) {
        return Err(format!("height_m {} must be above 0", cfg.height_m));
    }
    if !(cfg.fov_deg > 0.0 && cfg.fov_deg < 180.0) {
        return Err(format!("fov_deg {} not in (0, 180)", cfg.fov_deg));
    }
    if !(-90.0..=90.0).contains(&cfg.tilt_deg) {
        return Err(format!("tilt_deg {} not in [-90, 90]", cfg.tilt_deg));
    }
    let (w, h) = (w as f64, h as f64);
    // Square pixels: the vertical field of view follows from the aspect ratio.
    let fx = (w / 2.0) / (cfg.fov_deg.to_radians() / 2.0).tan();
    let (b, t) = (cfg.bearing_deg.to_radians(), cfg.tilt_deg.to_radians());
    let (sb, cb, st, ct) = (b.sin(), b.cos(), t.sin(), t.cos());
    Ok(Model::Pinhole {
        origin: cfg.location,
        height_m: cfg.height_m,
        fx,
        fy: fx,
        cx: w / 2.0,
        cy: h / 2.0,
        right: [cb, -sb, 0.0],
        down: [-sb * st, -cb * st, -ct],
        forward: [sb * ct, cb * ct, -st],
    })
}

/// East/north metres of `p` from `origin` (equirectangular).
fn to_local(origin: LatLon, cos_lat0: f64, p: LatLon) -> (f64, f64) {
    let k = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    ((p.lon - origin.lon) * k * cos_lat0, (p.lat - origin.lat) * k)
}

fn from_local(origin: LatLon, cos_lat0: f64, e: f64, n: f64) -> LatLon {
    let k = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    LatLon::new(origin.lat + n / k, origin.lon + e / (k * cos_lat0))
}

fn apply(h: &[f64; 9], x: f64, y: f64) -> (f64, f64, f64) {
    (
        h[0] * x + h[1] * y + h[2],
        h[3] * x + h[4] * y + h[5],
        h[6] * x + h[7] * y + h[8],
    )
}

/// Hartley normalisation: translate the centroid to the origin and scale to a mean
/// distance of sqrt(2). Returns the normalised points and (scale, cx, cy).
fn normalise(pts: &[(f64, f64)]) -> Option<(Vec<(f64, f64)>, (f64, f64, f64))> {
    let n = pts.len() as f64;
    let (cx, cy) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let mean = pts.iter().map(|p| (p.0 - cx).hypot(p.1 - cy)).sum::<f64>() / n;
    if !(mean > 1e-9) {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean;
    Some((pts.iter().map(|p| ((p.0 - cx) * s, (p.1 - cy) * s)).collect(), (s, cx, cy)))
}

/// Are (normalised) points too close to a line for a homography? All of them for any
/// count; with exactly four, any three of them.
fn degenerate(pts: &[(f64, f64)]) -> bool {
    // Smallest eigenvalue of the scatter matrix against the largest.
    let n = pts.len() as f64;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for p in pts {
        sxx += p.0 * p.0 / n;
        syy += p.1 * p.1 / n;
        sxy += p.0 * p.1 / n;
    }
    let tr = sxx + syy;
    let disc = ((sxx - syy).powi(2) + 4.0 * sxy * sxy).sqrt();
    let (lmin, lmax) = ((tr - disc) / 2.0, (tr + disc) / 2.0);
    if !(lmin > 1e-6 * lmax) {
        return true;
    }
    if pts.len() == 4 {
        for skip in 0..4 {
            let t: Vec<_> = (0..4).filter(|&i| i != skip).map(|i| pts[i]).collect();
            let area2 = (t[1].0 - t[0].0) * (t[2].1 - t[0].1) - (t[2].0 - t[0].0) * (t[1].1 - t[0].1);
            // Normalised points have a mean radius of sqrt(2): areas are O(1).
            if area2.abs() < 1e-4 {
                return true;
            }
        }
    }
    false
}

/// Direct linear transform with h33 = 1: exact for 4 points, least squares (normal
/// equations) for more, both in Hartley-normalised coordinates.
fn fit_homography(pairs: &[(Point, LatLon)]) -> Result<Model, String> {
    if pairs.len() < 4 {
        return Err(format!("calibration needs at least 4 points, got {}", pairs.len()));
    }
    let origin = pairs[0].1;
    for (px, ll) in pairs {
        let ok = px.x.is_finite()
            && px.y.is_finite()
            && (-90.0..=90.0).contains(&ll.lat)
            && (-180.0..=180.0).contains(&ll.lon);
        if !ok {
            return Err(format!("calibration point {px:?} {ll:?} is not a valid pixel and position"));
        }
    }
    let cos_lat0 = origin.lat.to_radians().cos();
    if cos_lat0 < 1e-6 {
        return Err("calibration at a pole".into());
    }
    let src: Vec<(f64, f64)> = pairs.iter().map(|(p, _)| (p.x as f64, p.y as f64)).collect();
    let dst: Vec<(f64, f64)> = pairs.iter().map(|(_, ll)| to_local(origin, cos_lat0, *ll)).collect();
    let collinear = || "calibration points are collinear (or coincide); pick points spread over the ground".to_string();
    let (ns, (ss, sx, sy)) = normalise(&src).ok_or_else(collinear)?;
    let (nd, (ds, dx, dy)) = normalise(&dst).ok_or_else(collinear)?;
    if degenerate(&ns) || degenerate(&nd) {
        return Err(collinear());
    }

    // Normal equations of the 2n x 8 system (for n = 4 they have the same solution).
    let mut ata = [[0.0f64; 8]; 8];
    let mut atb = [0.0f64; 8];
    for (&(x, y), &(u, v)) in ns.iter().zip(&nd) {
        let rows = [
            ([x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u], u),
            ([0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v], v),
        ];
        for (a, b) in rows {
            for i in 0..8 {
                atb[i] += a[i] * b;
                for j in 0..8 {
                    ata[i][j] += a[i] * a[j];
                }
            }
        }
    }
    let hn = solve8(ata, atb).ok_or_else(collinear)?;
    let hn = [hn[0], hn[1], hn[2], hn[3], hn[4], hn[5], hn[6], hn[7], 1.0];

    // Denormalise: H = Td^-1 * Hn * Ts.
    let ts = [ss, 0.0, -ss * sx, 0.0, ss, -ss * sy, 0.0, 0.0, 1.0];
    let td_inv = [1.0 / ds, 0.0, dx, 0.0, 1.0 / ds, dy, 0.0, 0.0, 1.0];
    let h = mul3(&mul3(&td_inv, &hn), &ts);

    // All control points must lie on the same side of the homography's horizon.
    let ws: Vec<f64> = src.iter().map(|&(x, y)| apply(&h, x, y).2).collect();
    let w_sign = if ws[0] > 0.0 { 1.0 } else { -1.0 };
    if ws.iter().any(|w| !(w * w_sign > 1e-12)) || h.iter().any(|v| !v.is_finite()) {
        return Err("calibration points do not describe a ground plane seen by the camera".into());
    }
    let n = dst.len() as f64;
    let centre = dst.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let spread_m = dst.iter().map(|p| (p.0 - centre.0).hypot(p.1 - centre.1)).fold(0.0, f64::max);
    let sq: f64 = src
        .iter()
        .zip(&dst)
        .map(|(&(x, y), &(e, nn))| {
            let (pe, pn, w) = apply(&h, x, y);
            (pe / w - e).powi(2) + (pn / w - nn).powi(2)
        })
        .sum();
    Ok(Model::Homography { h, origin, cos_lat0, w_sign, centre, spread_m, rms_m: (sq / n).sqrt() })
}

fn mul3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    std::array::from_fn(|k| {
        let (r, c) = (k / 3, k % 3);
        (0..3).map(|i| a[r * 3 + i] * b[i * 3 + c]).sum()
    })
}

/// Gaussian elimination with partial pivoting; None when (numerically) singular.
fn solve8(mut a: [[f64; 8]; 8], mut b: [f64; 8]) -> Option<[f64; 8]> {
    let scale = a.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    if !(scale > 0.0) || !scale.is_finite() {
        return None;
    }
    for col in 0..8 {
        let piv = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if !(a[piv][col].abs() > 1e-12 * scale) {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..8 {
            let f = a[r][col] / a[col][col];
            if f != 0.0 {
                for c in col..8 {
                    a[r][c] -= f * a[col][c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = [0.0; 8];
    for r in (0..8).rev() {
        let s: f64 = (r + 1..8).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::{GroundControlPoint, SourceConfig};
    use geo::{Bearing, Distance};
    use std::time::Duration;

    const HOME: LatLon = LatLon::new(44.4355, 26.0360);

    fn camera(height_m: f64, bearing_deg: f64, tilt_deg: f64, fov_deg: f64) -> CameraConfig {
        CameraConfig {
            id: "cam-1".into(),
            name: String::new(),
            location: HOME,
            height_m,
            bearing_deg,
            tilt_deg,
            fov_deg,
            calibration: vec![],
            source: SourceConfig::Snapshot { url: "http://127.0.0.1/snap.jpg".into() },
            fps: 1.0,
            zones: vec![],
            masks: vec![],
            rules: vec![],
            enabled: true,
            offline_after: Duration::from_secs(30),
        }
    }

    fn gp(ll: LatLon) -> geo::Point<f64> {
        geo::Point::new(ll.lon, ll.lat)
    }

    /// Distance (m) and bearing (deg, 0..360) from `a` to `b`.
    fn dist_bearing(a: LatLon, b: LatLon) -> (f64, f64) {
        (Haversine.distance(gp(a), gp(b)), Haversine.bearing(gp(a), gp(b)).rem_euclid(360.0))
    }

    fn angle_diff(a: f64, b: f64) -> f64 {
        ((a - b + 540.0).rem_euclid(360.0) - 180.0).abs()
    }

    #[test]
    fn pinhole_image_centre_at_45_degrees_is_height_away() {
        for bearing in [0.0, 90.0, 200.0, 359.0] {
            let g = Geolocator::from_camera(&camera(10.0, bearing, 45.0, 90.0), 640, 360).expect("valid");
            let p = g.locate(Point::new(320.0, 180.0)).expect("on the ground");
            let (d, b) = dist_bearing(HOME, p);
            assert!((d - 10.0).abs() < 1e-6, "bearing {bearing}: {d} m");
            assert!(angle_diff(b, bearing) < 1e-6, "bearing {bearing}: {b}");
        }
    }

    #[test]
    fn pinhole_rows_and_columns_table() {
        // 640x360, 90 deg horizontal: fx = fy = 320; half the height is atan(180/320)
        // = 29.358 deg. Camera 10 m up, looking north, tilted 45 deg down.
        let g = Geolocator::from_camera(&camera(10.0, 0.0, 45.0, 90.0), 640, 360).expect("valid");
        let half_v = (180.0f64 / 320.0).atan().to_degrees();
        let along = |depression_deg: f64| 10.0 / depression_deg.to_radians().tan();
        // (pixel, distance m, bearing deg)
        let cases = [
            (Point::new(320.0, 360.0), along(45.0 + half_v), 0.0), // bottom row: nearer
            (Point::new(320.0, 0.0), along(45.0 - half_v), 0.0),   // top row: farther
            // Right edge of the centre row: ray = right + forward; 14.142 m out along
            // the axis direction, 14.142 * 1 east, 10 north.
            (Point::new(640.0, 180.0), 200.0f64.sqrt().hypot(10.0), 200.0f64.sqrt().atan2(10.0).to_degrees()),
            (Point::new(0.0, 180.0), 200.0f64.sqrt().hypot(10.0), 360.0 - 200.0f64.sqrt().atan2(10.0).to_degrees()),
        ];
        assert!(cases[0].1 < 3.0 && cases[1].1 > 30.0);
        for (p, want_d, want_b) in cases {
            let ll = g.locate(p).expect("on the ground");
            let (d, b) = dist_bearing(HOME, ll);
            assert!((d - want_d).abs() < 1e-6, "{p:?}: {d} != {want_d}");
            assert!(angle_diff(b, want_b) < 1e-6, "{p:?}: {b} != {want_b}");
        }
    }

    #[test]
    fn pinhole_horizon_and_range() {
        // Tilted only 10 deg: the horizon is at y = 180 - 320 tan(10 deg) = 123.6.
        let g = Geolocator::from_camera(&camera(10.0, 0.0, 10.0, 90.0), 640, 360).expect("valid");
        let cases = [
            (0.0, false),   // sky
            (123.0, false), // just above the horizon
            (130.0, false), // ground, but 511 m away: beyond the 500 m range
            (140.0, true),  // 199 m
            (360.0, true),
        ];
        for (y, want) in cases {
            assert_eq!(g.locate(Point::new(320.0, y)).is_some(), want, "y {y}");
        }
        let far = g.clone().with_max_range(1000.0);
        assert!(far.locate(Point::new(320.0, 130.0)).is_some());
        // Looking up: nothing is on the ground above the horizon.
        let up = Geolocator::from_camera(&camera(10.0, 0.0, -30.0, 60.0), 640, 360).expect("valid");
        assert!(up.locate(Point::new(320.0, 180.0)).is_none());
        for p in [Point::new(f32::NAN, 1.0), Point::new(1.0, f32::INFINITY)] {
            assert!(g.locate(p).is_none());
        }
    }

    #[test]
    fn pinhole_refuses_impossible_cameras() {
        let cases = [
            (camera(0.0, 0.0, 45.0, 90.0), 640, 360),
            (camera(f64::NAN, 0.0, 45.0, 90.0), 640, 360),
            (camera(10.0, f64::INFINITY, 45.0, 90.0), 640, 360),
            (camera(10.0, 0.0, 45.0, 180.0), 640, 360),
            (camera(10.0, 0.0, 45.0, 0.0), 640, 360),
            (camera(10.0, 0.0, 95.0, 90.0), 640, 360),
            (camera(10.0, 0.0, 45.0, 90.0), 0, 360),
            (camera(10.0, 0.0, 45.0, 90.0), 640, 0),
        ];
        for (cam, w, h) in cases {
            assert!(Geolocator::from_camera(&cam, w, h).is_err(), "{cam:?} {w}x{h}");
        }
    }

    fn calibrated(points: &[(f32, f32, LatLon)]) -> Result<Geolocator, String> {
        let mut cam = camera(10.0, 0.0, 45.0, 90.0);
        cam.calibration = points
            .iter()
            .map(|&(x, y, ll)| GroundControlPoint { pixel: Point::new(x, y), lat: ll.lat, lon: ll.lon })
            .collect();
        Geolocator::from_camera(&cam, 640, 360)
    }

    /// An affine layout: lat falls with y, lon grows with x and a little with y.
    fn affine(x: f32, y: f32) -> LatLon {
        let (x, y) = (x as f64, y as f64);
        LatLon::new(HOME.lat - 2e-6 * y, HOME.lon + 3e-6 * x + 0.5e-6 * y)
    }

    #[test]
    fn homography_four_points_affine_layout() {
        let pixels = [(100.0, 100.0), (500.0, 120.0), (520.0, 340.0), (80.0, 330.0)];
        let pts: Vec<_> = pixels.iter().map(|&(x, y)| (x, y, affine(x, y))).collect();
        let g = calibrated(&pts).expect("valid calibration");
        assert!(g.calibration_rms_m().is_some_and(|r| r < 1e-6));
        for &(x, y, ll) in &pts {
            let got = g.locate(Point::new(x, y)).expect("located");
            assert!((got.lat - ll.lat).abs() < 1e-6 && (got.lon - ll.lon).abs() < 1e-6, "{x},{y}");
        }
        // Fifth points, never seen by the fit.
        for (x, y) in [(300.0, 200.0), (0.0, 0.0), (640.0, 360.0), (123.0, 321.0)] {
            let want = affine(x, y);
            let got = g.locate(Point::new(x, y)).expect("located");
            assert!((got.lat - want.lat).abs() < 1e-8 && (got.lon - want.lon).abs() < 1e-8, "{x},{y}: {got:?} != {want:?}");
        }
    }

    /// Ground truth from a perspective camera: the pinhole model of a camera 8 m up
    /// looking east-north-east, 20 deg down (its horizon is at row 41).
    fn truth() -> Geolocator {
        Geolocator::from_camera(&camera(8.0, 70.0, 20.0, 80.0), 640, 360).expect("valid")
    }

    #[test]
    fn homography_matches_a_perspective_camera() {
        let t = truth();
        let pixels = [(40.0, 300.0), (600.0, 310.0), (420.0, 120.0), (200.0, 110.0)];
        let pts: Vec<_> = pixels
            .iter()
            .map(|&(x, y)| (x, y, t.locate(Point::new(x, y)).expect("ground")))
            .collect();
        let g = calibrated(&pts).expect("valid calibration");
        for (x, y) in [(320.0, 180.0), (10.0, 350.0), (630.0, 100.0), (300.0, 90.0)] {
            let want = t.locate(Point::new(x, y)).expect("ground");
            let got = g.locate(Point::new(x, y)).expect("located");
            let (d, _) = dist_bearing(want, got);
            assert!(d < 0.01, "{x},{y}: {d} m off");
        }
        // Above the horizon (row 41): None, not a point behind the camera.
        assert!(t.locate(Point::new(320.0, 0.0)).is_none());
        assert!(g.locate(Point::new(320.0, 0.0)).is_none());
    }

    #[test]
    fn homography_least_squares_with_noisy_points() {
        let t = truth();
        let pixels = [(40.0, 300.0), (600.0, 310.0), (420.0, 120.0), (200.0, 110.0), (320.0, 200.0), (100.0, 180.0)];
        // Half-pixel clicking errors, fixed so the test is repeatable.
        let noise = [(0.4, -0.3), (-0.5, 0.2), (0.3, 0.5), (-0.2, -0.4), (0.5, 0.1), (-0.4, 0.3)];
        let pts: Vec<_> = pixels
            .iter()
            .zip(noise)
            .map(|(&(x, y), (nx, ny))| (x + nx, y + ny, t.locate(Point::new(x, y)).expect("ground")))
            .collect();
        let g = calibrated(&pts).expect("valid calibration");
        let rms = g.calibration_rms_m().expect("homography");
        assert!(rms > 1e-4 && rms < 0.5, "rms {rms}");
        for (x, y) in [(320.0, 250.0), (150.0, 330.0), (500.0, 200.0)] {
            let want = t.locate(Point::new(x, y)).expect("ground");
            let (d, _) = dist_bearing(want, g.locate(Point::new(x, y)).expect("located"));
            assert!(d < 0.3, "{x},{y}: {d} m off");
        }
    }

    #[test]
    fn homography_refuses_degenerate_calibrations() {
        let a = |x: f32, y: f32| (x, y, affine(x, y));
        let cases: Vec<(&str, Vec<(f32, f32, LatLon)>)> = vec![
            ("three points", vec![a(0.0, 0.0), a(100.0, 0.0), a(0.0, 100.0)]),
            ("all on a line", vec![a(0.0, 0.0), a(100.0, 50.0), a(200.0, 100.0), a(300.0, 150.0)]),
            ("five on a line", (0..5).map(|i| a(50.0 * i as f32, 20.0 * i as f32)).collect()),
            ("three of four on a line", vec![a(0.0, 0.0), a(100.0, 0.0), a(200.0, 0.0), a(50.0, 100.0)]),
            ("coincident", vec![a(10.0, 10.0); 4]),
            (
                "ground points on a line",
                vec![
                    (0.0, 0.0, HOME),
                    (100.0, 0.0, LatLon::new(HOME.lat + 1e-5, HOME.lon)),
                    (0.0, 100.0, LatLon::new(HOME.lat + 2e-5, HOME.lon)),
                    (100.0, 100.0, LatLon::new(HOME.lat + 3e-5, HOME.lon)),
                ],
            ),
            ("NaN pixel", vec![a(0.0, 0.0), a(100.0, 0.0), a(0.0, 100.0), (f32::NAN, 5.0, HOME)]),
            ("latitude out of range", vec![a(0.0, 0.0), a(100.0, 0.0), a(0.0, 100.0), (5.0, 5.0, LatLon::new(91.0, 0.0))]),
        ];
        for (name, pts) in cases {
            assert!(calibrated(&pts).is_err(), "{name}");
        }
        // The control: a proper quadrilateral, and five points with three on a line.
        assert!(calibrated(&[a(0.0, 0.0), a(100.0, 0.0), a(100.0, 100.0), a(0.0, 100.0)]).is_ok());
        assert!(calibrated(&[a(0.0, 0.0), a(50.0, 0.0), a(100.0, 0.0), a(100.0, 100.0), a(0.0, 100.0)]).is_ok());
    }

    #[test]
    fn solver_table() {
        // Identity-like system and a singular one.
        let mut eye = [[0.0; 8]; 8];
        for (i, row) in eye.iter_mut().enumerate() {
            row[i] = 2.0;
        }
        let b = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0];
        assert_eq!(solve8(eye, b), Some([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]));
        // Needs pivoting: a zero on the diagonal.
        let mut p = eye;
        p.swap(0, 1);
        assert_eq!(solve8(p, b).map(|x| (x[0], x[1])), Some((2.0, 1.0)));
        let mut s = eye;
        s[7] = s[6];
        assert_eq!(solve8(s, b), None);
        assert_eq!(solve8([[0.0; 8]; 8], b), None);
        assert_eq!(solve8([[f64::NAN; 8]; 8], b), None);
    }
}
