"""The COCO teacher: rebuild an ultralytics YOLOv8n checkpoint and an ONNX release from a TFLite file.

tflite_graph   read the flatbuffer (ops, tensors, dequantised weights); rewrite it with float weights
tflite_run     run the original graph or its float re-run in the LiteRT interpreter
conv_match     pair the TFLite convs with the ultralytics model's convs
rebuild        build the checkpoint: weights, BatchNorm recalibration, names
parity         raw-output and detection agreement between two models
yolox          the independent YOLOX-Nano reference and the agreement measure
release        export the ONNX release, manifest and model card
"""
