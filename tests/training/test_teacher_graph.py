"""Reading the teacher's TFLite file, pairing its convs with YOLOv8n's, and refusing other files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from teacher_support import teacher_tflite as _teacher_tflite

from streetwatch.cli import main
from streetwatch.errors import ModelError


@pytest.fixture(scope="module")
def teacher_tflite(shared_data: Path) -> Path:
    return _teacher_tflite(shared_data)


def _variant(src: Path, dst: Path, mutate: Callable[[object], None]) -> Path:
    """A copy of the TFLite file with its graph changed by `mutate(ModelT)`, metadata zip re-appended."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    mutate(model)
    builder = flatbuffers.Builder(1 << 22)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with zipfile.ZipFile(src) as archive:
        metadata = archive.read("metadata.json")
    tail = io.BytesIO()
    with zipfile.ZipFile(tail, "w") as archive:
        archive.writestr("metadata.json", metadata)
    dst.write_bytes(bytes(builder.Output()) + tail.getvalue())
    return dst


def test_reads_the_documented_facts(teacher_tflite: Path) -> None:
    from streetwatch.training.teacher.conv_match import tflite_convs
    from streetwatch.training.teacher.tflite_graph import read_tflite
    from streetwatch.training.teacher.tflite_meta import read_export_metadata

    graph = read_tflite(teacher_tflite)
    assert graph.tensor(graph.inputs[0]).shape == (1, 640, 640, 3)
    assert graph.tensor(graph.outputs[0]).shape == (1, 84, 8400)
    convs = tflite_convs(graph)
    assert len(convs) == 64
    assert [c.op_index for c in convs if not c.quantised] == [convs[0].op_index, convs[-1].op_index]  # first, DFL
    weights = [graph.tensor(c.weight_tensor) for c in convs if c.quantised]
    assert all(w.dtype == "int8" and w.scale is not None and w.scale > 0 for w in weights)
    meta = read_export_metadata(teacher_tflite)
    assert (len(meta.names), meta.imgsz, meta.stride, meta.task) == (80, (640, 640), 32, "detect")
    assert meta.names[60] == "dining table"


def _drop_last_conv(model) -> None:
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    last = max(i for i, op in enumerate(graph.operators) if codes[op.opcodeIndex] == 3)  # 3 = CONV_2D
    del graph.operators[last]


def _stride_one_first_conv(model) -> None:
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    first = next(op for op in graph.operators if codes[op.opcodeIndex] == 3)
    first.builtinOptions.strideH = first.builtinOptions.strideW = 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop_last_conv, r"has 63 convs; YOLOv8n has 64"),
        (_stride_one_first_conv, r"padding 1 \(explicit 1, mode 1\)|no TFLite conv matches"),
    ],
    ids=["63-convs", "stride-1-stem"],
)
def test_refuses_a_graph_that_is_not_yolov8n(
    teacher_tflite: Path, tmp_path: Path, mutate: Callable[[object], None], message: str
) -> None:
    pytest.importorskip("ultralytics")
    from streetwatch.training.teacher.rebuild import build_model
    from streetwatch.training.teacher.tflite_graph import read_tflite
    from streetwatch.training.teacher.tflite_meta import read_export_metadata
    from streetwatch.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics()
    path = _variant(teacher_tflite, tmp_path / "variant.tflite", mutate)
    with pytest.raises(ModelError, match=message):
        build_model(read_tflite(path), read_export_metadata(path))


def test_refuses_a_tflite_without_ultralytics_metadata(teacher_tflite: Path, tmp_path: Path) -> None:
    from streetwatch.training.teacher.tflite_graph import dequantised_model_bytes
    from streetwatch.training.teacher.tflite_meta import read_export_metadata

    bare = tmp_path / "bare.tflite"
    bare.write_bytes(dequantised_model_bytes(teacher_tflite))  # a valid graph, no metadata zip
    with pytest.raises(ModelError, match=r"no ultralytics metadata.json"):
        read_export_metadata(bare)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,value\n", r"not a TFLite model \(expected the flatbuffer identifier 'TFL3'"),
        (b"\x00\x00\x00\x00TFL3" + b"\xff" * 64, r"corrupt TFLite flatbuffer|expected one subgraph, got 0"),
        (b"", r"not a TFLite model"),
    ],
    ids=["csv", "bad-flatbuffer", "empty"],
)
def test_cli_says_in_one_line_when_the_file_is_not_a_tflite_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_bytes(content)
    code = main(["teacher", "recover", "--tflite", str(bad), "--out", str(tmp_path / "x.pt")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("streetwatch teacher: error: ")
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "x.pt").exists()


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["teacher", "recover", "--tflite", str(tmp_path / "none.tflite"), "--out", str(tmp_path / "x.pt")])
    assert code == 2
    assert "TFLite file not found" in capsys.readouterr().err
