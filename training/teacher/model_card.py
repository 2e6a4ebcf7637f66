"""The release's README.md, written from its manifest so that the figures cannot drift from it."""

from __future__ import annotations

from typing import Any


def _diff_row(label: str, d: dict[str, Any]) -> str:
    return (
        f"| {label} | {d['max_abs_box_px']:.3g} | {d['max_abs_score']:.3g} | "
        f"{d['min_cosine']:.7f} | {d['mean_cosine']:.7f} |"
    )


def _agreement_rows(rows: list[dict[str, Any]] | None) -> list[str]:
    if not rows:
        return []
    return [
        f"| {r['class']} | {r['ours']} | {r['yolox']} | {r['matched']} | {r['precision']:.3f} | {r['recall']:.3f} |"
        for r in rows
    ]


def render_model_card(m: dict[str, Any]) -> str:
    p = m["metrics"]["parity"]
    a = m["metrics"]["yolox_nano_agreement"]
    src = m["source"]
    dp, di = p["detections_pt_vs_float_tflite"], p["detections_pt_vs_interpreter"]
    lines = [
        f"# {m['name']} {m['version']}: YOLOv8n COCO-80 (rebuilt from TFLite)",
        "",
        "The default detector for vehicles and persons until the trained taxonomy-v1 model ships, and the",
        "teacher for pseudo-labelling. 80 COCO classes; COCO's `dining table` is spelled `dining_table`",
        "(the taxonomy's name); the other 79 names are COCO's.",
        "",
        "| file | what | sha256 |",
        "|---|---|---|",
        f"| `{m['file']}` | ONNX fp32, input [1,3,640,640] RGB 0-1, raw output [1,84,8400], "
        f"opset 19, ultralytics metadata + `taxonomy_version`, `model_name`, `model_version` | `{m['sha256']}` |",
        f"| `{m['checkpoint']['file']}` | ultralytics checkpoint (float32) for fine-tuning: `YOLO(path)` | "
        f"`{m['checkpoint']['sha256']}` |",
        "",
        "## Provenance",
        "",
        f"- Source: `{src['file']}` (sha256 `{src['sha256']}`), {src['origin']}; exported by {src['exported_by']}.",
        f"- The file holds dynamic-range int8 weights ({src['int8_convs']} of {src['convs']} convs, one scale per",
        "  tensor; the first conv and the DFL conv are float32) with BatchNorm folded into the conv biases.",
        "  There is no float original: these weights are the dequantised int8 ones (weight SNR 17.5-40 dB,",
        "  median 32, estimated as mean(w^2) / (scale^2 / 12) per tensor).",
        "- Rebuild: the 64 TFLite convs are paired with the ultralytics `yolov8n.yaml` convs by (out, in,",
        "  kernel, stride, output size) and execution order, each weight and bias used exactly once, with",
        "  padding and SiLU placement checked.",
        f"- BatchNorm recalibrated from the conv outputs' real statistics on {src['bn_calibration_images']} "
        "street images: running mean/var = measured mean/var, gamma = sqrt(var + eps), beta = folded bias +",
        f"  mean. Eval output is unchanged (max change {src['eval_change_after_bn_calibration']:.2g} px on raw "
        "boxes). In training mode (BatchNorm on the statistics of a batch of 8 street images) the head",
        f"  output differs from eval by {p['train_vs_eval_error']:.1%} (relative L2), against "
        f"{p['train_vs_eval_error_identity_bn']:.1%} for an",
        "  identity BatchNorm holding the folded bias: fine-tuning starts from the teacher's function.",
        f"- Training data: {m['training_data']}.",
        "",
        "## Licence",
        "",
        "AGPL-3.0: these are Ultralytics' YOLOv8n COCO weights (https://ultralytics.com/license). Anything",
        "distributed with them, or a model fine-tuned from them, carries the AGPL-3.0 obligations.",
        "",
        "## Parity (raw outputs, 640x640 letterboxed images)",
        "",
        f"Images: {len(p['images'])} (ultralytics' bundled `bus.jpg` and `zidane.jpg`, then street images",
        "not used for calibration). Boxes in input pixels, scores are sigmoid class scores.",
        "The float TFLite re-run is the same graph with dequantised float32 weights, run by LiteRT's",
        "built-in kernels; the interpreter runs the shipped int8 file (activations quantised on the fly).",
        "",
        "| comparison | max abs box (px) | max abs score | min cosine | mean cosine |",
        "|---|---|---|---|---|",
        _diff_row("rebuilt .pt vs float TFLite re-run", p["pt_vs_float_tflite"]),
        _diff_row("rebuilt .pt vs TFLite interpreter", p["pt_vs_interpreter"]),
        _diff_row("float TFLite re-run vs interpreter", p["float_tflite_vs_interpreter"]),
        _diff_row("ONNX release vs rebuilt .pt", p["onnx_vs_pt"]),
        "",
        f"Detections (conf > 0.25, NMS 0.7; matched = same class, IoU > 0.9): rebuilt vs float re-run "
        f"{dp['matched']}/{dp['a_boxes']} of ours, {dp['matched']}/{dp['b_boxes']} of theirs; rebuilt vs "
        f"interpreter {di['matched']}/{di['a_boxes']} and {di['matched']}/{di['b_boxes']}.",
        "",
        "## Agreement with YOLOX-Nano (an independent COCO detector)",
        "",
        f"{a['images']} {a['source']}, both at conf > {a['conf']}, matched one-to-one by class at IoU > {a['iou']}.",
        "Precision = share of our boxes YOLOX-Nano also finds; recall = share of YOLOX-Nano's boxes we find.",
        "Neither model is ground truth (published COCO mAP50-95: YOLOX-Nano 25.8, YOLOv8n 37.3).",
        "",
        "| class | ours | YOLOX-Nano | matched | precision | recall |",
        "|---|---|---|---|---|---|",
        *_agreement_rows(a["ours"]),
    ]
    if a.get("baseline_tflite_interpreter"):
        lines += [
            "",
            "The shipped TFLite file (interpreter) on the same images, for comparison:",
            "",
            "| class | TFLite | YOLOX-Nano | matched | precision | recall |",
            "|---|---|---|---|---|---|",
            *_agreement_rows(a["baseline_tflite_interpreter"]),
        ]
    lines += [
        "",
        "## Known limits",
        "",
        "- Per-tensor int8 weights cost accuracy against the original float YOLOv8n (no float original",
        "  exists to measure it); fine-tuning on our data recovers it.",
        "- COCO has no garbage, bins, fire, smoke or vending stalls; `umbrella` and `dining_table` are only",
        "  proxies for stalls. Chinese street scenes (tricycles, e-bikes, vans) are outside COCO's mix.",
        "- Fine-tuning with another class count rebuilds the class branch (`cv3`): YOLOv8's class-branch",
        "  width is max(64, min(nc, 100)), so for nc < 80 ultralytics transfers 319 of 355 tensors (backbone,",
        "  neck, box branch), as with any YOLOv8n checkpoint.",
        "",
        "## Reproduce",
        "",
        "```bash",
        m["command"],
        "```",
        "",
        "It needs `../shared/data` (or `--shared-data` / `STREETWATCH_SHARED_DATA`): the TFLite file, the",
        "YOLOX-Nano ONNX file and the garbage-cn street images. Weights are reproduced exactly; the sha256",
        "of the files changes with the export date written into them.",
        "",
        f"Created {m['created']}.",
        "",
    ]
    return "\n".join(lines)
