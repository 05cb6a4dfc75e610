//! NanoDet decoding: per stride, sigmoid class scores and a discrete distribution over
//! `reg_max + 1` bins for each of the four distances from the cell centre (GFL), whose
//! expectation times the stride gives left, top, right and bottom.

use crate::detection::Detection;
use crate::error::VisionError;
use crate::geometry::BBox;
use crate::model::{STRIDES, dims3, layout_error, DecodeParams, OutputView};

/// Decodes one batch item. Outputs are matched by shape, not name: a score tensor has
/// `num_classes` columns, a distribution tensor `4 * bins`; the stride follows from the
/// number of cells.
pub fn decode_nanodet(
    outputs: &[OutputView<'_>],
    batch: usize,
    params: &DecodeParams,
    out: &mut Vec<Detection>,
) -> Result<(), VisionError> {
    let err = |m: String| layout_error("nanodet", m);
    for stride in STRIDES {
        let gw = params.input_width.div_ceil(stride) as usize;
        let gh = params.input_height.div_ceil(stride) as usize;
        let cells = gw * gh;
        let mut scores = None;
        let mut dists = None;
        for view in outputs {
            let [b, n, c] = dims3(view).map_err(err)?;
            if n != cells {
                continue;
            }
            if batch >= b {
                return Err(err(format!("batch item {batch} of {b}")));
            }
            if c == params.num_classes {
                scores = Some((view.data, c));
            } else if c % 4 == 0 && c >= 8 {
                dists = Some((view.data, c));
            }
        }
        let (Some((scores, nc)), Some((dists, dc))) = (scores, dists) else {
            return Err(err(format!(
                "no score [B, {cells}, {}] and distribution [B, {cells}, 4*bins] outputs for stride {stride}",
                params.num_classes
            )));
        };
        let bins = dc / 4;
        let scores = &scores[batch * cells * nc..(batch + 1) * cells * nc];
        let dists = &dists[batch * cells * dc..(batch + 1) * cells * dc];
        for cell in 0..cells {
            let row = &scores[cell * nc..(cell + 1) * nc];
            // The distribution is only worth decoding for cells with a candidate.
            if !row.iter().any(|&s| s >= params.score_threshold) {
                continue;
            }
            let s = stride as f32;
            let cx = ((cell % gw) as f32 + 0.5) * s;
            let cy = ((cell / gw) as f32 + 0.5) * s;
            let d = &dists[cell * dc..(cell + 1) * dc];
            let mut dist = [0.0f32; 4];
            for (side, value) in dist.iter_mut().enumerate() {
                *value = expected_bin(&d[side * bins..(side + 1) * bins]) * s;
            }
            let bbox = BBox::new(cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]);
            if !bbox.is_finite() {
                continue;
            }
            for (class_id, &score) in row.iter().enumerate() {
                if score >= params.score_threshold && score.is_finite() {
                    out.push(Detection {
                        class_id: class_id as u32,
                        score,
                        bbox,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The expectation of the bin index under softmax(logits).
fn expected_bin(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    let mut weighted = 0.0;
    for (i, &l) in logits.iter().enumerate() {
        let e = (l - max).exp();
        sum += e;
        weighted += e * i as f32;
    }
    if sum > 0.0 {
        weighted / sum
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_bin_table() {
        let cases: [(&[f32], f32); 4] = [
            (&[0.0, 0.0, 0.0], 1.0),
            (&[100.0, 0.0, 0.0], 0.0),
            (&[0.0, 0.0, 100.0], 2.0),
            (&[0.0, 100.0, 100.0], 1.5),
        ];
        for (logits, want) in cases {
            assert!((expected_bin(logits) - want).abs() < 1e-4, "{logits:?}");
        }
    }

    /// A 32x32 input, 2 classes, 3 bins: strides 8/16/32 give 16, 4 and 1 cells.
    #[test]
    fn one_candidate_decoded_at_its_cell() {
        let params = DecodeParams {
            input_width: 32,
            input_height: 32,
            num_classes: 2,
            score_threshold: 0.3,
        };
        let bins = 3;
        let mut tensors = Vec::new();
        for cells in [16usize, 4, 1] {
            tensors.push((vec![1i64, cells as i64, 2], vec![0.01f32; cells * 2]));
            // Strongly peaked at bin 1 everywhere: distances of 1 stride.
            let mut d = vec![-50.0f32; cells * 4 * bins];
            for k in 0..cells * 4 {
                d[k * bins + 1] = 50.0;
            }
            tensors.push((vec![1, cells as i64, (4 * bins) as i64], d));
        }
        // Class 1 at stride 8, cell (x=2, y=1) -> index 1*4+2 = 6.
        tensors[0].1[6 * 2 + 1] = 0.9;
        let views: Vec<OutputView> = tensors
            .iter()
            .map(|(s, d)| OutputView { name: "t", shape: s, data: d })
            .collect();
        let mut out = Vec::new();
        decode_nanodet(&views, 0, &params, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let d = out[0];
        assert_eq!(d.class_id, 1);
        assert!((d.score - 0.9).abs() < 1e-6);
        // Centre (2.5*8, 1.5*8) = (20, 12), one stride (8) each side.
        let want = BBox::new(12.0, 4.0, 28.0, 20.0);
        assert!((d.bbox.x1 - want.x1).abs() < 1e-3 && (d.bbox.y2 - want.y2).abs() < 1e-3, "{:?}", d.bbox);

        // Batch item out of range and a missing stride are layout errors.
        assert!(decode_nanodet(&views, 1, &params, &mut out).is_err());
        assert!(decode_nanodet(&views[..4], 0, &params, &mut out).is_err());
    }
}
