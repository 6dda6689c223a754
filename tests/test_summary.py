"""`legoc summary` as a user runs it: the table, --input, --batch, --depth,
JSON, errors, and no torch. (tests/test_summary_torchinfo.py checks the
figures against torchinfo.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

LEGOC = [sys.executable, "-m", "legoc"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*LEGOC, *args], input=stdin, capture_output=True, text=True, cwd=tempfile.gettempdir())


def summary_json(*args: str) -> dict:
    result = run("summary", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_summary_imports_no_torch():
    code = (
        "import sys\n"
        "from legoc.cli import main\n"
        f"status = main(['summary', {str(EXAMPLES / 'resnet50.lego')!r}, '--depth', 'all'])\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'black', 'jinja2')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 []"


def test_resnet50_table_and_totals():
    out = run("summary", str(EXAMPLES / "resnet50.lego")).stdout
    assert out.startswith("ResNet50: input x [1, 3, 224, 224] (batch 1, float32)\n")
    assert re.search(r"^conv1 +Conv2d +\[1, 64, 112, 112\] +9,408 +118,013,952 +0$", out, re.M)
    assert re.search(r"^  layer1\.0 +Bottleneck +\[1, 256, 56, 56\] +75,008 ", out, re.M)
    assert re.search(r"^    layer1\.0\.conv1 +Conv2d ", out, re.M)  # depth 3 by default
    assert not re.search(r"layer1\.0\.downsample\.0", out)  # depth 4 is folded
    assert re.search(r"^Total params: +25,557,032$", out, re.M)
    assert re.search(r"^Mult-adds: +4,089,238,376 +\(4\.09 G, as torchinfo counts them\)$", out, re.M)
    assert re.search(r"^Params size \(MB\): +102\.23$", out, re.M)


def test_rows_of_a_module_add_up_to_the_totals():
    doc = summary_json(str(EXAMPLES / "resnet18.lego"), "--depth", "all")
    top = [r for r in doc["rows"] if r["depth"] == 1]
    for field in ("params", "mult_adds", "other_ops"):
        assert sum(r[field] for r in top) == doc["totals"][field]
    leaves = [r for r in doc["rows"] if r["leaf"]]
    assert sum(r["params"] for r in leaves) == doc["totals"]["params"] == 11_689_512


def test_depth_chooses_the_rows():
    one = summary_json(str(EXAMPLES / "resnet18.lego"), "--depth", "1")
    assert [r["path"] for r in one["rows"]] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]
    everything = summary_json(str(EXAMPLES / "resnet18.lego"), "--depth", "all")
    assert max(r["depth"] for r in everything["rows"]) == 4
    assert one["totals"] == everything["totals"]


def test_batch_scales_compute_and_activations_not_parameters():
    one = summary_json(str(EXAMPLES / "resnet18.lego"))["totals"]
    eight = summary_json(str(EXAMPLES / "resnet18.lego"), "--batch", "8")["totals"]
    assert eight["params"] == one["params"]
    assert eight["mult_adds"] == 8 * one["mult_adds"]
    assert eight["other_ops"] == 8 * one["other_ops"]
    assert eight["forward_backward_mb"] == pytest.approx(8 * one["forward_backward_mb"])


def test_symbolic_input_gives_symbolic_shapes_and_unknown_compute():
    doc = summary_json(str(EXAMPLES / "unet.lego"))
    assert doc["inputs"] == [{"name": "x", "shape": [1, 3, "H", "W"]}]
    first = doc["rows"][0]
    assert first["path"] == "inc" and first["output_shape"] == [1, 64, "H", "W"]
    assert first["params"] == 38_848 and first["mult_adds"] is None
    assert doc["totals"]["params"] == 31_037_698 and doc["totals"]["mult_adds"] is None
    text = run("summary", str(EXAMPLES / "unet.lego")).stdout
    assert "give it with --input" in text


def test_input_binds_the_symbolic_sizes():
    doc = summary_json(str(EXAMPLES / "unet.lego"), "--input", "3,256,256")
    assert doc["inputs"] == [{"name": "x", "shape": [1, 3, 256, 256]}]
    assert doc["rows"][-1]["output_shape"] == [1, 2, 256, 256]
    assert doc["totals"]["mult_adds"] > 0


@pytest.mark.parametrize(
    "given, message",
    [
        ("3,250,256", "multiple of 16"),
        ("4,256,256", "axis 1 must be 3, not 4"),
        ("3,256", "3 sizes, no batch axis"),
        ("3,0,256", "not positive"),
        ("y=3,256,256", "no input `y`"),
        ("three", "is not an input size"),
    ],
)
def test_a_bad_input_is_a_usage_error(given, message):
    result = run("summary", str(EXAMPLES / "unet.lego"), "--input", given)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_named_inputs():
    doc = summary_json(str(EXAMPLES / "multitask.lego"), "--input", "image=3,64,64")
    assert doc["inputs"] == [{"name": "image", "shape": [1, 3, 64, 64]}]
    result = run("summary", str(EXAMPLES / "multitask.lego"), "--input", "3,64,64", "--input", "3,64,64")
    assert result.returncode == 2 and "1 input(s)" in result.stderr


def test_token_ids_are_int64_in_the_input_size():
    doc = summary_json(str(EXAMPLES / "rnn_lm.lego"), "--input", "35", "--batch", "20")
    # the token ids int64; the LSTM's initial state h0, c0 ([20, 2, 200] each) float32
    assert doc["totals"]["input_mb"] == pytest.approx((20 * 35 * 8 + 2 * 20 * 2 * 200 * 4) / 1e6)


def test_a_spec_with_errors_is_reported_like_legoc_file(tmp_path):
    spec = tmp_path / "bad.lego"
    spec.write_text("model M():\n    input [3, 2, 2]\n    conv 8 kernel_size=3 padding=0\n")
    result = run("summary", str(spec))
    assert result.returncode == 1
    assert re.search(r"bad\.lego:3:\d+: error: ", result.stderr)
    assert result.stdout == ""


def test_several_models_need_a_choice(tmp_path):
    spec = tmp_path / "two.lego"
    spec.write_text("model A():\n    input [3]\n    linear 2\n\nmodel B():\n    input [3]\n    linear 4\n")
    result = run("summary", str(spec))
    assert result.returncode == 2 and "--model" in result.stderr
    assert summary_json(str(spec), "--model", "B")["totals"]["params"] == 16


def test_readme_shows_the_real_resnet50_summary():
    """The README's ResNet-50 table is what the command prints now."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n\$ legoc summary examples/resnet50.lego --depth 1\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == run("summary", str(EXAMPLES / "resnet50.lego"), "--depth", "1").stdout


def test_columns_and_dtype_options():
    out = run("summary", str(EXAMPLES / "resnet18.lego"), "--columns", "kernel_size,num_params,trainable", "--dtype", "float16", "--depth", "1").stdout
    assert out.startswith("ResNet18: input x [1, 3, 224, 224] (batch 1, float16)\n")
    assert re.search(r"^conv1 +Conv2d +\[7, 7\] +9,408 +True$", out, re.M)
    assert re.search(r"^maxpool +MaxPool2d +3 +-- +--$", out, re.M)
    assert re.search(r"^layer1 +Stage +-- +147,968 +True$", out, re.M)  # the deepest row shown: its whole count
    assert re.search(r"^Params size \(MB\): +23\.38$", out, re.M)  # 2 bytes a parameter
    assert summary_json(str(EXAMPLES / "resnet18.lego"), "--dtype", "float64")["totals"]["params_mb"] == pytest.approx(11_689_512 * 8 / 1e6)
    bad = run("summary", str(EXAMPLES / "resnet18.lego"), "--columns", "params,kernel_size")
    assert bad.returncode == 2 and "'params' is not a column; the columns are input_size, output_size" in bad.stderr


def test_input_may_replace_a_fixed_size_the_model_takes():
    """ResNet-18's adaptive pooling takes any size: `--input` in place of the
    spec's [3, 224, 224] (tests/test_summary_columns.py runs it in torch)."""
    doc = summary_json(str(EXAMPLES / "resnet18.lego"), "--input", "3,160,160")
    assert doc["inputs"] == [{"name": "x", "shape": [1, 3, 160, 160]}]
    assert doc["rows"][0]["output_shape"] == [1, 64, 80, 80]
    assert doc["totals"]["params"] == 11_689_512  # the same layers


def test_input_refused_where_the_analysis_fails_at_that_size():
    """ViT's position embedding has 197 tokens: at 160x160 the patches are 101."""
    result = run("summary", str(EXAMPLES / "vit_b_16.lego"), "--input", "3,160,160")
    assert result.returncode == 1 and result.stdout == ""
    assert re.search(r"vit_b_16\.lego:39:35: error: `add` needs tensors of one shape: \[101, hidden_dim\] and \[197, hidden_dim\] \[LG301\]", result.stderr)
    assert "note: the model was checked with input `x` as [3, 160, 160] (--input) in place of the spec's [3, 224, 224]" in result.stderr


def test_input_refused_where_a_layer_is_sized_by_it():
    """ConvNet's first linear layer reads the flattened map: another input
    size builds another layer, which the generated module does not have."""
    result = run("summary", str(EXAMPLES / "convnet.lego"), "--input", "1,32,32")
    assert result.returncode == 2 and result.stdout == ""
    assert re.search(r"input `x` is \[1, 28, 28\] in the spec, so axis 2 must be 28, not 32: at these sizes `linear1` \(\S*convnet\.lego:16:5\) would be nn\.Linear\(500, 50\), but the spec's input size makes it nn\.Linear\(320, 50\)", result.stderr)
    # a size written as a model parameter is still its default (--set changes it)
    result = run("summary", str(EXAMPLES / "mixer_b16.lego"), "--input", "4,224,224")
    assert result.returncode == 2 and "axis 1 must be 3, not 4" in result.stderr


def test_api_input_in_place_of_a_fixed_size():
    import legoc

    result = legoc.summary(EXAMPLES / "resnet18.lego", input=(3, 160, 160))
    assert result.inputs == (("x", (1, 3, 160, 160)),) and result.totals.params == 11_689_512
    with pytest.raises(legoc.SpecError) as caught:
        legoc.summary(EXAMPLES / "vit_b_16.lego", input=(3, 160, 160))
    (error,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert error.code == "LG301" and (error.span.line, error.span.column) == (39, 35)
    assert error.notes[-1].message == "the model was checked with input `x` as [3, 160, 160] (--input) in place of the spec's [3, 224, 224]"
    with pytest.raises(ValueError, match="at these sizes `linear1`"):
        legoc.summary(EXAMPLES / "convnet.lego", input=(1, 32, 32))
