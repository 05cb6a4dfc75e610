"""A Python camera-detection pipeline in the style of Frigate, for comparison with
veghe's: Pillow decode (with its JPEG draft mode, libjpeg's reduced-scale decoding),
Pillow resize, numpy normalisation, onnxruntime, numpy NanoDet decoding and per-class
NMS. Same model, same frames, same thresholds.

    peer_vision.py MODEL THREADS ITERATIONS FRAME.jpg...

Prints one JSON object: mean milliseconds per stage and frames per second end to end,
and the detections of the last frame (to check both pipelines see the same objects).
"""
import io
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

SIZE = 416
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32).reshape(3, 1, 1)
STRIDES = (8, 16, 32)
SCORE = 0.35
IOU = 0.5


def preprocess(img):
    img = img.resize((SIZE, SIZE), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)[:, :, ::-1].transpose(2, 0, 1)  # HWC RGB -> CHW BGR
    return ((x - MEAN) / STD)[None].astype(np.float32)


def decode(outputs, width, height):
    by_cells = {}
    for o in outputs:
        by_cells.setdefault(o.shape[1], []).append(o[0])
    boxes, scores, classes = [], [], []
    for s in STRIDES:
        g = SIZE // s
        pair = by_cells[g * g]
        cls = next(a for a in pair if a.shape[1] == 80)
        dist = next(a for a in pair if a.shape[1] == 44)
        keep = cls.max(axis=1) >= SCORE
        if not keep.any():
            continue
        idx = np.nonzero(keep)[0]
        d = dist[idx].reshape(-1, 4, 11)
        d = np.exp(d - d.max(axis=2, keepdims=True))
        d = (d / d.sum(axis=2, keepdims=True)) @ np.arange(11, dtype=np.float32) * s
        cx = (idx % g + 0.5) * s
        cy = (idx // g + 0.5) * s
        b = np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], axis=1)
        ci, cj = np.nonzero(cls[idx] >= SCORE)
        boxes.append(b[ci])
        scores.append(cls[idx][ci, cj])
        classes.append(cj)
    if not boxes:
        return []
    boxes = np.concatenate(boxes) * np.array([width / SIZE, height / SIZE] * 2, dtype=np.float32)
    scores = np.concatenate(scores)
    classes = np.concatenate(classes)
    return nms(boxes, scores, classes)


def nms(boxes, scores, classes):
    order = np.argsort(-scores)
    kept = []
    while order.size:
        i = order[0]
        kept.append(i)
        rest = order[1:]
        x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        iou = inter / (area(boxes[i]) + area(boxes[rest]) - inter + 1e-9)
        order = rest[(iou <= IOU) | (classes[rest] != classes[i])]
    return [
        {"class_id": int(classes[i]), "score": round(float(scores[i]), 3),
         "box": [round(float(v), 1) for v in boxes[i]]}
        for i in kept[:100]
    ]


def main():
    model, threads, iterations, *files = sys.argv[1:]
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    frames = [open(f, "rb").read() for f in files]
    stages = dict(decode=0.0, preprocess=0.0, infer=0.0, post=0.0)
    session.run(None, {name: preprocess(Image.new("RGB", (SIZE, SIZE)))})  # warm-up
    n = 0
    last = []
    start = time.perf_counter()
    for _ in range(int(iterations)):
        for jpeg in frames:
            t0 = time.perf_counter()
            img = Image.open(io.BytesIO(jpeg))
            img.draft("RGB", (SIZE, SIZE))
            img = img.convert("RGB")
            width, height = Image.open(io.BytesIO(jpeg)).size
            t1 = time.perf_counter()
            x = preprocess(img)
            t2 = time.perf_counter()
            outputs = session.run(None, {name: x})
            t3 = time.perf_counter()
            last = decode(outputs, width, height)
            t4 = time.perf_counter()
            stages["decode"] += t1 - t0
            stages["preprocess"] += t2 - t1
            stages["infer"] += t3 - t2
            stages["post"] += t4 - t3
            n += 1
    elapsed = time.perf_counter() - start
    result = {k + "_ms": v * 1000 / n for k, v in stages.items()}
    result["frames"] = n
    result["fps"] = n / elapsed
    result["detections"] = last
    print(json.dumps(result))


if __name__ == "__main__":
    main()
