//! Non-maximum suppression per class: of overlapping boxes of one class, keep the best.

use crate::detection::Detection;

/// Keeps, per class, the highest-scoring boxes whose IoU with every kept box of that
/// class is at most `iou_threshold`; at most `max_detections` overall, best first.
pub fn nms(mut candidates: Vec<Detection>, iou_threshold: f32, max_detections: usize) -> Vec<Detection> {
    candidates.retain(|d| d.score.is_finite() && d.bbox.is_finite());
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for c in candidates {
        if kept.len() >= max_detections {
            break;
        }
        let suppressed = kept
            .iter()
            .any(|k| k.class_id == c.class_id && k.bbox.iou(&c.bbox) > iou_threshold);
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;

    fn det(class_id: u32, score: f32, x: f32) -> Detection {
        Detection {
            class_id,
            score,
            bbox: BBox::new(x, 0.0, x + 10.0, 10.0),
        }
    }

    #[test]
    fn nms_table() {
        let cases: Vec<(Vec<Detection>, Vec<(u32, f32)>)> = vec![
            // Two overlapping of one class: the better stays.
            (vec![det(0, 0.6, 0.0), det(0, 0.9, 1.0)], vec![(0, 0.9)]),
            // Overlapping, different classes: both stay.
            (vec![det(0, 0.6, 0.0), det(1, 0.9, 1.0)], vec![(1, 0.9), (0, 0.6)]),
            // Disjoint, same class: both stay.
            (vec![det(0, 0.6, 0.0), det(0, 0.9, 50.0)], vec![(0, 0.9), (0, 0.6)]),
            // NaN scores are dropped.
            (vec![det(0, f32::NAN, 0.0), det(0, 0.5, 0.0)], vec![(0, 0.5)]),
            (vec![], vec![]),
        ];
        for (input, want) in cases {
            let got: Vec<(u32, f32)> = nms(input.clone(), 0.5, 100).iter().map(|d| (d.class_id, d.score)).collect();
            assert_eq!(got, want, "{input:?}");
        }
        let many: Vec<Detection> = (0..10).map(|i| det(0, 0.5, i as f32 * 100.0)).collect();
        assert_eq!(nms(many, 0.5, 3).len(), 3);
    }
}
