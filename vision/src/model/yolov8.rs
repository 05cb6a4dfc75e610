//! YOLOv8 / YOLO11 decoding: one `[B, 4 + classes, N]` tensor, each column a candidate
//! box (centre x, centre y, width, height in input pixels) followed by its class scores.

use crate::detection::Detection;
use crate::error::VisionError;
use crate::geometry::BBox;
use crate::model::{layout_error, single_output, DecodeParams, OutputView};

pub fn decode_yolov8(
    outputs: &[OutputView<'_>],
    batch: usize,
    params: &DecodeParams,
    out: &mut Vec<Detection>,
) -> Result<(), VisionError> {
    let (view, [_, rows, n], data) = single_output("yolov8", outputs, batch)?;
    if rows != 4 + params.num_classes {
        return Err(layout_error(
            "yolov8",
            format!("output {} has {rows} rows, expected 4 + {} classes", view.name, params.num_classes),
        ));
    }
    let row = |k: usize| &data[k * n..(k + 1) * n];
    let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
    for i in 0..n {
        for c in 0..params.num_classes {
            let score = data[(4 + c) * n + i];
            if score >= params.score_threshold && score.is_finite() {
                let (hw, hh) = (w[i] * 0.5, h[i] * 0.5);
                let bbox = BBox::new(cx[i] - hw, cy[i] - hh, cx[i] + hw, cy[i] + hh);
                if bbox.is_finite() {
                    out.push(Detection {
                        class_id: c as u32,
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
    fn decodes_columns() {
        // 2 classes, 3 candidates, batch of 2 (the second item holds the candidate).
        let (nc, n) = (2usize, 3usize);
        let mut data = vec![0.0f32; 2 * (4 + nc) * n];
        let item = (4 + nc) * n;
        let set = |d: &mut Vec<f32>, k: usize, i: usize, v: f32| d[item + k * n + i] = v;
        // Candidate 1: centre (50, 40), 20 x 10, class 0 at 0.8 and class 1 at 0.6.
        set(&mut data, 0, 1, 50.0);
        set(&mut data, 1, 1, 40.0);
        set(&mut data, 2, 1, 20.0);
        set(&mut data, 3, 1, 10.0);
        set(&mut data, 4, 1, 0.8);
        set(&mut data, 5, 1, 0.6);
        // Candidate 2 below threshold.
        set(&mut data, 4, 2, 0.2);
        let shape = [2i64, (4 + nc) as i64, n as i64];
        let views = [OutputView { name: "output0", shape: &shape, data: &data }];
        let params = DecodeParams {
            input_width: 640,
            input_height: 640,
            num_classes: nc,
            score_threshold: 0.5,
        };
        let mut out = Vec::new();
        decode_yolov8(&views, 1, &params, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].bbox, BBox::new(40.0, 35.0, 60.0, 45.0));
        assert_eq!((out[0].class_id, out[1].class_id), (0, 1));
        out.clear();
        decode_yolov8(&views, 0, &params, &mut out).unwrap();
        assert!(out.is_empty());
        // Wrong class count is a layout error.
        let wrong = DecodeParams { num_classes: 80, ..params };
        assert!(decode_yolov8(&views, 0, &wrong, &mut out).is_err());
    }
}
