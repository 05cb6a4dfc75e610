"""Runs a model with Python onnxruntime on a raw float32 tensor, for comparison with
veghe's Rust pipeline: ort_reference.py MODEL INPUT.f32 B,C,H,W OUTDIR
writes OUTDIR/<index>.f32 per output (in the session's output order) and prints
name and shape per line."""
import sys

import numpy as np
import onnxruntime as ort

model, tensor_path, shape, outdir = sys.argv[1:]
shape = tuple(int(d) for d in shape.split(","))
x = np.fromfile(tensor_path, dtype="<f4").reshape(shape)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
outputs = session.run(names, {session.get_inputs()[0].name: x})
for i, (name, value) in enumerate(zip(names, outputs)):
    np.ascontiguousarray(value, dtype="<f4").tofile(f"{outdir}/{i}.f32")
    print(name, ",".join(str(d) for d in value.shape))
