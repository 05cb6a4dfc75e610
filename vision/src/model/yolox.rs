//! YOLOX decoding: one `[B, N, 5 + classes]` tensor over the grids of strides 8, 16
//! and 32 in order; box regression relative to the grid cell (offsets, log sizes),
//! objectness and class scores with sigmoid applied; score = objectness x class.

use crate::detection::Detection;
use crate::error::VisionError;
use crate::geometry::BBox;
use crate::model::{STRIDES, layout_error, single_output, DecodeParams, OutputView};

pub fn decode_yolox(
    outputs: &[OutputView<'_>],
    batch: usize,
    params: &DecodeParams,
    out: &mut Vec<Detection>,
) -> Result<(), VisionError> {
    let err = |m: String| layout_error("yolox", m);
    let (view, [_, n, cols], data) = single_output("yolox", outputs, batch)?;
    if cols != 5 + params.num_classes {
        return Err(err(format!(
            "output {} has {cols} columns, expected 5 + {} classes",
            view.name, params.num_classes
        )));
    }
    let grids: Vec<(u32, usize)> = STRIDES
        .iter()
        .map(|&s| (s, params.input_width.div_ceil(s) as usize))
        .collect();
    let expected: usize = STRIDES
        .iter()
        .map(|&s| (params.input_width.div_ceil(s) * params.input_height.div_ceil(s)) as usize)
        .sum();
    if n != expected {
        return Err(err(format!(
            "{n} candidates, but a {}x{} input has {expected} grid cells",
            params.input_width, params.input_height
        )));
    }
    let mut index = 0;
    for (stride, gw) in grids {
        let gh = params.input_height.div_ceil(stride) as usize;
        let s = stride as f32;
        for cell in 0..gw * gh {
            let row = &data[index * cols..(index + 1) * cols];
            index += 1;
            let objectness = row[4];
            if !(objectness >= params.score_threshold) {
                continue;
            }
            let cx = (row[0] + (cell % gw) as f32) * s;
            let cy = (row[1] + (cell / gw) as f32) * s;
            let (hw, hh) = (row[2].exp() * s * 0.5, row[3].exp() * s * 0.5);
            let bbox = BBox::new(cx - hw, cy - hh, cx + hw, cy + hh);
            if !bbox.is_finite() {
                continue;
            }
            for (class_id, &cls) in row[5..].iter().enumerate() {
                let score = objectness * cls;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_grid_offsets() {
        // A 64x32 input: strides 8/16/32 give 8x4 + 4x2 + 2x1 = 42 cells; 1 class.
        let params = DecodeParams {
            input_width: 64,
            input_height: 32,
            num_classes: 1,
            score_threshold: 0.5,
        };
        let cols = 6;
        let mut data = vec![0.0f32; 42 * cols];
        // Stride 16 level starts at 32; its cell (x=1, y=1) is 32 + 1*4 + 1 = 37.
        let r = 37 * cols;
        data[r..r + 6].copy_from_slice(&[0.5, 0.5, 0.0, (2.0f32).ln(), 0.9, 0.8]);
        let shape = [1i64, 42, cols as i64];
        let views = [OutputView { name: "output", shape: &shape, data: &data }];
        let mut out = Vec::new();
        decode_yolox(&views, 0, &params, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let d = out[0];
        assert!((d.score - 0.72).abs() < 1e-6);
        // Centre ((0.5+1)*16, (0.5+1)*16) = (24, 24); size 16 x 32.
        let want = BBox::new(16.0, 8.0, 32.0, 40.0);
        for (g, w) in [(d.bbox.x1, want.x1), (d.bbox.y1, want.y1), (d.bbox.x2, want.x2), (d.bbox.y2, want.y2)] {
            assert!((g - w).abs() < 1e-4, "{:?}", d.bbox);
        }
        // A 640x640 input does not have 42 cells.
        let wrong = DecodeParams { input_width: 640, input_height: 640, ..params };
        assert!(decode_yolox(&views, 0, &wrong, &mut out).is_err());
    }
}
