"""`legoc graph` (legoc/tools/diagram.py): every example's Mermaid is well formed
(checked by a small parser here) and its DOT parses, with pydot always and
with Graphviz's own `dot` where it is installed; depth, shapes, escaping and
the command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field

import pydot
import pyparsing
import pytest

from conftest import EXAMPLES, example_names
from legoc.cli import main
from legoc.compiler import check_source
from legoc.tools.diagram import dot_string, mermaid_string, to_dot, to_mermaid
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import Instance, instantiate, model_names

with warnings.catch_warnings():  # pydot's parser uses pyparsing names that newer pyparsing deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    import pydot.dot_parser  # noqa: F401

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
DEPTHS = (None, 1, 2)


def _instance(name: str, model: str | None = None, input: tuple[int, ...] | None = None) -> Instance:
    path = EXAMPLES / f"{name}.lego"
    analysis = check_source(path.read_text(), str(path))
    model = model or model_names(analysis)[0]
    ir = next(c for c in analysis.classes if c.name == model)
    return instantiate(analysis, model, bind_inputs(ir, [(None, input)] if input else []))


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name in example_names():
        path = EXAMPLES / f"{name}.lego"
        cases += [(name, model) for model in model_names(check_source(path.read_text(), str(path)))]
    return cases


# ---------------------------------------------------------------- a Mermaid parser


@dataclass
class Diagram:
    """A parsed diagram: node id -> (label, enclosing subgraph id or None),
    subgraph id -> (label, enclosing subgraph id or None), and edges."""

    nodes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    subgraphs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def incoming(self, node: str) -> list[tuple[str, str, str]]:
        return [e for e in self.edges if e[1] == node]

    def label(self, text: str) -> str:
        """The id of the one node with this label."""
        (node,) = [n for n, (label, _) in self.nodes.items() if label == text]
        return node


_QUOTED = r'"(?P<label>[^"]*)"'
_SHAPES = {"([": "])", "((": "))", "[[": "]]", "[": "]"}
_NODE = re.compile(rf"(?P<id>[a-z]+\d+)(?P<open>\(\[|\(\(|\[\[|\[){_QUOTED}(?P<close>\]\)|\)\)|\]\]|\])")
_EDGE = re.compile(rf"(?P<a>[a-z]+\d+) -->\|{_QUOTED}\| (?P<b>[a-z]+\d+)")
_SUBGRAPH = re.compile(rf"subgraph (?P<id>s\d+) \[{_QUOTED}\]")


def parse_mermaid(text: str) -> Diagram:
    """Check the flowchart's structure line by line: a header, then node and
    subgraph definitions (labels quoted, shapes closed, every id once,
    subgraphs nested and closed), then edges between defined nodes."""
    lines = text.splitlines()
    assert text.endswith("\n") and lines[0] in ("flowchart TD", "flowchart LR")
    diagram, stack = Diagram(), []
    for line in lines[1:]:
        assert line.startswith("    ") and line == line.rstrip(), repr(line)
        line = line.strip()
        if m := _EDGE.fullmatch(line):
            diagram.edges.append((m["a"], m["b"], m["label"]))
            continue
        assert not diagram.edges, f"a definition after the edges: {line!r}"
        if m := _SUBGRAPH.fullmatch(line):
            assert m["id"] not in diagram.subgraphs and m["id"] not in diagram.nodes
            diagram.subgraphs[m["id"]] = (m["label"], stack[-1] if stack else None)
            stack.append(m["id"])
        elif line == "end":
            assert stack, "an `end` without a subgraph"
            stack.pop()
        else:
            m = _NODE.fullmatch(line)
            assert m and _SHAPES[m["open"]] == m["close"], f"not a node, subgraph or edge: {line!r}"
            assert m["id"] not in diagram.nodes and m["id"] not in diagram.subgraphs, m["id"]
            diagram.nodes[m["id"]] = (m["label"], stack[-1] if stack else None)
    assert not stack, f"subgraphs left open: {stack}"
    for a, b, _ in diagram.edges:
        assert a in diagram.nodes and b in diagram.nodes, (a, b)
    return diagram


# pydot's grammar backtracks a lot: memoising it (packrat) halves the parse
# of the largest examples' diagrams (DenseNet-121's: 19 s to 9 s).
pyparsing.ParserElement.enable_packrat()


def parse_dot(text: str) -> Diagram:
    """The same structure from pydot's parse of the DOT text."""
    # pyparsing (pydot's parser) with its memo: the same parse, about ten
    # times quicker on the larger examples' graphs (EfficientNet-B0's
    # 46 kB took 45 s without it).
    pyparsing.ParserElement.enable_packrat()
    (graph,) = pydot.graph_from_dot_data(text)
    diagram = Diagram()

    def unquote(s: str) -> str:
        assert s.startswith('"') and s.endswith('"'), s
        return re.sub(r"\\(.)", r"\1", s[1:-1])

    def walk(g, parent: str | None) -> None:
        for node in g.get_nodes():
            if node.get_name() not in ("node", "edge", "graph"):
                assert node.get_name() not in diagram.nodes
                diagram.nodes[node.get_name()] = (unquote(node.get("label")), parent)
        for sub in g.get_subgraphs():
            name = sub.get_name().removeprefix("cluster_")
            assert sub.get_name().startswith("cluster_")
            diagram.subgraphs[f"s{name}"] = (unquote(sub.get("label")), parent)
            walk(sub, f"s{name}")
        for edge in g.get_edges():
            diagram.edges.append((edge.get_source(), edge.get_destination(), unquote(edge.get("label"))))

    walk(graph, None)
    for a, b, _ in diagram.edges:
        assert a in diagram.nodes and b in diagram.nodes, (a, b)
    return diagram


def _check_against(diagram: Diagram, instance: Instance, depth: int | None) -> None:
    """The nodes, subgraphs and edges `instance` calls for at `depth`."""
    visible = [op for op in instance.ops if depth is None or op.depth <= depth]
    expanded = {op.parent for op in visible if op.parent is not None}
    assert set(diagram.subgraphs) == {f"s{i}" for i in expanded}
    drawn = [op for op in visible if op.id not in expanded]
    ports = [f"in{k}" for k in range(len(instance.inputs))] + [f"out{k}" for k in range(len(instance.outputs))]
    assert set(diagram.nodes) == {f"n{op.id}" for op in drawn} | set(ports)
    for op in visible:
        where = diagram.subgraphs if op.id in expanded else diagram.nodes
        assert where[f"{'s' if op.id in expanded else 'n'}{op.id}"][1] == (None if op.parent is None else f"s{op.parent}")
    for op in drawn:
        if op.kind == "Parameter":  # a learned tensor is a source, as an input is: it flows out
            assert not diagram.incoming(f"n{op.id}") and any(e[0] == f"n{op.id}" for e in diagram.edges), op.path
            continue
        assert diagram.incoming(f"n{op.id}"), f"nothing flows into {op.path or op.kind}"
    for k in range(len(instance.outputs)):
        assert len(diagram.incoming(f"out{k}")) == 1
    for k in range(len(instance.inputs)):
        assert any(e[0] == f"in{k}" for e in diagram.edges)
    assert all(a != b for a, b, _ in diagram.edges)
    # With every level shown, each input of each call is one edge.
    everything = sum(len(op.inputs) for op in instance.ops if op.leaf) + len(instance.outputs)
    assert len(diagram.edges) == everything if depth is None else len(diagram.edges) <= everything


# ---------------------------------------------------------------- every example


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("name", "model"), _cases())
def test_every_example_gives_well_formed_mermaid_and_dot(name, model, depth):
    instance = _instance(name, model)
    mermaid, dot = to_mermaid(instance, depth), to_dot(instance, depth)
    assert to_mermaid(instance, depth) == mermaid and to_dot(instance, depth) == dot
    from_mermaid, from_dot = parse_mermaid(mermaid), parse_dot(dot)
    _check_against(from_mermaid, instance, depth)
    assert from_dot == from_mermaid  # same nodes, labels, nesting and edges, in order


@needs_dot
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("name", "model"), _cases())
def test_graphviz_reads_every_example_without_a_warning(name, model, depth):
    text = to_dot(_instance(name, model), depth)
    for fmt in ("canon", "svg"):
        done = subprocess.run(["dot", f"-T{fmt}"], input=text, capture_output=True, text=True)
        assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "<svg" in done.stdout


# ---------------------------------------------------------------- depth and shapes


def test_resnet18_at_depth_1_is_its_top_level_layers():
    diagram = parse_mermaid(to_mermaid(_instance("resnet18"), 1))
    assert diagram.subgraphs == {}
    layers = [label.split(":")[0] for node, (label, _) in diagram.nodes.items() if node.startswith("n")]
    assert layers == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]
    assert [e[0] for e in diagram.edges] == ["in0"] + [f"n{i}" for i in (0, 1, 2, 3, 4, 21, 41, 61, 81, 82, 83)]


def test_deeper_diagrams_show_more():
    instance = _instance("resnet18")
    counts = [len(parse_mermaid(to_mermaid(instance, d)).nodes) for d in (1, 2, 3, None)]
    assert counts[0] < counts[1] < counts[2] <= counts[3]
    assert len(parse_mermaid(to_mermaid(instance, 2)).subgraphs) == 4  # layer1 to layer4
    with pytest.raises(ValueError, match="at least 1"):
        to_dot(instance, 0)


def test_a_collapsed_block_is_one_node_with_its_inputs_and_output():
    diagram = parse_mermaid(to_mermaid(_instance("unet"), 1))
    up1 = diagram.label("up1: Up")
    assert sorted(e[2] for e in diagram.incoming(up1)) == ["[1024, H // 16, W // 16]", "[512, H // 8, W // 8]"]
    assert [e[2] for e in diagram.edges if e[0] == up1] == ["[512, H // 8, W // 8]"]


def test_edges_carry_the_tensor_shapes():
    diagram = parse_mermaid(to_mermaid(_instance("resnet18")))
    assert [e[2] for e in diagram.incoming(diagram.label("fc: Linear"))] == ["[512]"]
    symbolic = parse_mermaid(to_mermaid(_instance("unet")))
    assert any("H" in label for _, _, label in symbolic.edges)
    concrete = parse_mermaid(to_mermaid(_instance("unet", input=(3, 256, 256))))
    assert all(re.fullmatch(r"\[\d+(, \d+)*\]", label) for _, _, label in concrete.edges)
    assert concrete.incoming("out0")[0][2] == "[2, 256, 256]"


# ---------------------------------------------------------------- escaping


def test_escaping_keeps_any_text_inside_its_string():
    hostile = 'a "b" \\c <d> | e # f; &g `h`\nend'
    assert mermaid_string(hostile) == '"a #quot;b#quot; \\c #lt;d#gt; | e #35; f; #amp;g #96;h#96; end"'
    assert dot_string(hostile) == '"a \\"b\\" \\\\c <d> | e # f; &g `h`\\nend"'
    (graph,) = pydot.graph_from_dot_data(f"digraph {{ n0 [label={dot_string(hostile)}]; }}")
    assert graph.get_nodes()[0].get("label") == dot_string(hostile)


HOSTILE = """\
block end(c):
    subgraph: conv c kernel_size=3 padding=1
    node: relu

model digraph(classes=3):
    input graph: [3, H, W]
    style = graph -> end 8
    o = style -> conv classes kernel_size=1
    output x = o -> flatten
"""


def test_names_that_are_keywords_of_mermaid_or_dot(tmp_path):
    analysis = check_source(HOSTILE, "hostile.lego")
    instance = instantiate(analysis, "digraph")
    for depth in DEPTHS:
        diagram = parse_mermaid(to_mermaid(instance, depth))
        _check_against(diagram, instance, depth)
        assert parse_dot(to_dot(instance, depth)) == diagram
    assert {label for label, _ in diagram.nodes.values()} >= {"graph: [3, H, W]", "subgraph: Conv2d", "node: ReLU", "x: [H * W * 3]"}
    if HAS_DOT:
        done = subprocess.run(["dot", "-Tsvg"], input=to_dot(instance), capture_output=True, text=True)
        assert done.returncode == 0 and done.stderr == "", done.stderr


# ---------------------------------------------------------------- command line

UNET = str(EXAMPLES / "unet.lego")


def test_cli_prints_mermaid_by_default(capsys):
    assert main(["graph", UNET]) == 0
    out = capsys.readouterr().out
    assert out == to_mermaid(_instance("unet"), details=True)
    assert main(["graph", UNET, "--format", "dot", "--depth", "2", "--input", "3,64,64"]) == 0
    assert capsys.readouterr().out == to_dot(_instance("unet", input=(3, 64, 64)), 2, details=True, fold=True, u_shape=True)
    assert main(["graph", UNET, "--no-hyperparameters"]) == 0
    assert capsys.readouterr().out == to_mermaid(_instance("unet"))


def test_cli_writes_text_files_by_their_suffix(tmp_path):
    assert main(["graph", UNET, "-o", str(tmp_path / "u.dot")]) == 0
    assert (tmp_path / "u.dot").read_text().startswith("digraph ")
    assert main(["graph", UNET, "-o", str(tmp_path / "u.mmd")]) == 0
    assert (tmp_path / "u.mmd").read_text().startswith("flowchart TD\n")
    assert main(["graph", UNET, "--format", "mermaid", "-o", str(tmp_path / "u.gv")]) == 0
    assert (tmp_path / "u.gv").read_text().startswith("flowchart TD\n")


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_cli_renders_images_with_dot(tmp_path, fmt):
    out = tmp_path / f"u.{fmt}"
    assert main(["graph", UNET, "--depth", "2", "-o", str(out)]) == 0
    data = out.read_bytes()
    assert b"<svg" in data if fmt == "svg" else data.startswith(b"\x89PNG")
    assert os.listdir(tmp_path) == [out.name]


def test_cli_without_dot_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    assert main(["graph", UNET, "-o", str(tmp_path / "u.svg")]) == 2
    err = capsys.readouterr().err
    for hint in ("Graphviz's `dot`", "apt install graphviz", "brew install graphviz", "https://graphviz.org/download/", "--format dot -o model.dot"):
        assert hint in err
    assert os.listdir(tmp_path) == []
    assert main(["graph", UNET, "-o", str(tmp_path / "u.dot")]) == 0  # text needs no dot


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_cli_reports_a_failing_dot_and_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf partial\necho "Error: out of cheese" >&2\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: str(fake))
    out = tmp_path / "u.svg"
    out.write_text("old")
    assert main(["graph", UNET, "-o", str(out)]) == 2
    assert "out of cheese" in capsys.readouterr().err
    assert out.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["bin", "u.svg"]


def test_cli_spec_errors_and_usage_errors_write_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.lego"
    bad.write_text("model M():\n    input [3, H, W]\n    nosuchlayer 3\n")
    assert main(["graph", str(bad), "-o", str(tmp_path / "m.dot")]) == 1
    assert "nosuchlayer" in capsys.readouterr().err
    for args in (["--format", "mermaid", "-o", str(tmp_path / "m.svg")], ["--depth", "0", "-o", str(tmp_path / "m.mmd")]):
        with pytest.raises(SystemExit) as exc:
            main(["graph", UNET, *args])
        assert exc.value.code == 2
    assert main(["graph", UNET, "--input", "3,100,100", "-o", str(tmp_path / "m.mmd")]) == 2  # not a multiple of 16
    assert sorted(os.listdir(tmp_path)) == ["bad.lego"]


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_cli_writes_what_dot_renders_on_its_standard_output(tmp_path, monkeypatch):
    # The image goes through the same writer as every output (legoc/tools/files.py):
    # `dot -Tsvg` renders to its standard output, and OUT is written from that.
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf "<svg format=%s>" "$1"\ncat\n')
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: str(fake))
    (tmp_path / "real").mkdir()
    (tmp_path / "u.svg").symlink_to(os.path.join("real", "u.svg"))
    assert main(["graph", UNET, "--depth", "2", "-o", str(tmp_path / "u.svg")]) == 0
    dot = to_dot(_instance("unet"), 2, details=True, fold=True, u_shape=True)
    assert (tmp_path / "real" / "u.svg").read_text() == f"<svg format=-Tsvg>{dot}"
    assert (tmp_path / "u.svg").is_symlink() and os.listdir(tmp_path / "real") == ["u.svg"]
