"""`legoc graph` for papers (legoc/tools/diagram.py): --direction and --dpi,
hyperparameters in the labels, repeated blocks folded as `x N`, and the
U-Net drawn as a U. Asserted on the DOT and Mermaid texts (DOT parsed by
pydot), so no Graphviz is needed."""

from __future__ import annotations

import functools
import re

import pydot
import pytest

from conftest import EXAMPLES
from legoc.cli import main
from legoc.tools.diagram import to_dot, to_mermaid
from test_diagram import _instance as _build
from test_diagram import parse_dot, parse_mermaid

UNET = str(EXAMPLES / "unet.lego")


@functools.cache
def _instance(name: str, model: str | None = None, input: tuple[int, ...] | None = None):
    """An example's model (built once per test session: instances are immutable)."""
    return _build(name, model, input)


def _graph(text: str) -> pydot.Dot:
    (graph,) = pydot.graph_from_dot_data(text)
    return graph


# ---------------------------------------------------------------- --direction and --dpi


def test_direction_sets_mermaids_flowchart_and_dots_rankdir():
    instance = _instance("resnet18")
    assert to_mermaid(instance, 1).startswith("flowchart TD\n")
    assert to_mermaid(instance, 1, direction="LR").startswith("flowchart LR\n")
    assert parse_mermaid(to_mermaid(instance, 1, direction="LR")) == parse_mermaid(to_mermaid(instance, 1))
    for direction in ("TB", "LR"):
        assert _graph_attributes(to_dot(instance, 1, direction=direction))["rankdir"] == direction
    with pytest.raises(ValueError, match="direction"):
        to_dot(instance, 1, direction="BT")


def _graph_attributes(text: str) -> dict:
    """The `graph [...]` defaults of a DOT text, as pydot reads them."""
    graph = _graph(text)
    (defaults,) = [n for n in graph.get_nodes() if n.get_name() == "graph"]
    return defaults.get_attributes()


def test_dpi_is_a_graph_attribute_of_the_dot_text_only():
    instance = _instance("resnet18")
    assert "dpi" not in _graph_attributes(to_dot(instance, 1))
    assert _graph_attributes(to_dot(instance, 1, dpi=300))["dpi"] == "300"
    assert _graph_attributes(to_dot(instance, 1, direction="LR", dpi=150)) | {"dpi": None} == _graph_attributes(to_dot(instance, 1, direction="LR")) | {"dpi": None}
    with pytest.raises(ValueError, match="dpi"):
        to_dot(instance, 1, dpi=0)


def test_cli_direction_and_dpi(tmp_path, capsys):
    assert main(["graph", UNET, "--direction", "LR", "--format", "dot", "--dpi", "200"]) == 0
    attributes = _graph_attributes(capsys.readouterr().out)
    assert (attributes["rankdir"], attributes["dpi"]) == ("LR", "200")
    assert main(["graph", UNET, "--direction", "LR"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")
    for args in (["--dpi", "300"], ["--dpi", "0", "--format", "dot"], ["--direction", "RL"]):  # Mermaid has no dpi
        with pytest.raises(SystemExit) as exc:
            main(["graph", UNET, *args, "-o", str(tmp_path / "u.mmd")])
        assert exc.value.code == 2
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- hyperparameters in the labels


_NODE = re.compile(r'^ *n\d+ \[label="((?:[^"\\]|\\.)*)"', re.M)


def _labels(text: str) -> list[str]:
    """The labels of the op nodes of a DOT text, in order (a regular
    expression: pydot takes seconds on the largest examples)."""
    return [re.sub(r"\\(.)", r"\1", label) for label in _NODE.findall(text)]


def test_labels_carry_the_key_hyperparameters():
    resnet = _labels(to_dot(_instance("resnet50"), 1, details=True))
    assert resnet == [label for node, (label, _) in parse_dot(to_dot(_instance("resnet50"), 1, details=True)).nodes.items() if node.startswith("n")]
    assert resnet[:4] == ["conv1: Conv2d 7x7/2, 64", "bn1: BatchNorm2d", "relu: ReLU", "maxpool: MaxPool2d 3x3/2"]
    assert resnet[-3:] == ["avgpool: AdaptiveAvgPool2d 1", "flatten: Flatten", "fc: Linear 1000"]
    assert _labels(to_dot(_instance("resnet50"), 1))[:2] == ["conv1: Conv2d", "bn1: BatchNorm2d"]  # without details
    full = set(_labels(to_dot(_instance("resnext50_32x4d"), None, details=True)))
    assert {"conv2: Conv2d 3x3, 128, groups 32", "0: Conv2d 1x1/2, 512", "conv2: Conv2d 3x3/2, 256, groups 32"} <= full
    unet = set(_labels(to_dot(_instance("unet"), None, details=True)))
    assert {"up: ConvTranspose2d 2x2/2, 512", "0: MaxPool2d 2x2/2", "conv: Conv2d 1x1, 2", "0: Conv2d 3x3, 64"} <= unet
    assert "up: Upsample x2 bilinear" in set(_labels(to_dot(_instance("unet_bilinear"), None, details=True)))
    assert "rnn: LSTM 200, 2 layers" in set(_labels(to_mermaid_dot("rnn_lm")))
    inception = set(_labels(to_dot(_instance("inception_v3"), None, details=True)))
    assert {"conv: Conv2d 1x7, 128", "conv: Conv2d 7x1, 192"} <= inception
    vit = set(_labels(to_dot(_instance("vit_b_16"), None, details=True)))
    assert {"conv_proj: Conv2d 16x16/16, 768", "self_attention: MultiheadAttention 768, 12 heads", "head: Linear 1000"} <= vit


def to_mermaid_dot(name: str) -> str:
    """An example's DOT with details, every level; its Mermaid has the same labels."""
    instance = _instance(name)
    dot = to_dot(instance, None, details=True)
    assert parse_dot(dot).nodes == parse_mermaid(to_mermaid(instance, None, details=True)).nodes
    return dot


# ---------------------------------------------------------------- folding repeated blocks as `x N`


def test_resnet50_at_depth_1_counts_the_blocks_of_each_stage():
    folded = _labels(to_dot(_instance("resnet50"), 1, fold=True))
    assert folded[4:8] == ["layer1: Bottleneck x 3", "layer2: Bottleneck x 4", "layer3: Bottleneck x 6", "layer4: Bottleneck x 3"]
    assert _labels(to_dot(_instance("resnet50"), 1))[4:8] == ["layer1: Stage", "layer2: Stage", "layer3: Stage", "layer4: Stage"]
    assert "blocks: MixerBlock x 12" in _labels(to_dot(_instance("mixer_b16"), 1, fold=True))


def test_a_block_holding_one_run_of_identical_blocks_is_one_node():
    # At depth 2, Mixer's `blocks` would be a subgraph around one folded
    # node `0–11: MixerBlock x 12`: it is that node instead.
    mixer = parse_mermaid(to_mermaid(_instance("mixer_b16"), 2, fold=True))
    assert [label for label, _ in mixer.subgraphs.values()] == ["stem: PatchEmbed"]
    blocks = mixer.label("blocks: MixerBlock x 12")
    assert mixer.nodes[blocks][1] is None and [e[2] for e in mixer.incoming(blocks)] == ["[196, 768]"]
    assert "blocks: Sequential" in [label for label, _ in parse_mermaid(to_mermaid(_instance("mixer_b16"), 2)).subgraphs.values()]
    vit = parse_mermaid(to_mermaid(_instance("vit_b_16"), 3, fold=True))
    assert vit.nodes[vit.label("layers: EncoderBlock x 12")][1] == next(s for s, (label, _) in vit.subgraphs.items() if label == "encoder: Encoder")


def test_resnet50_at_depth_2_folds_the_identical_blocks_after_the_first():
    instance = _instance("resnet50")
    plain, folded = parse_mermaid(to_mermaid(instance, 2)), parse_mermaid(to_mermaid(instance, 2, fold=True))
    assert parse_dot(to_dot(instance, 2, fold=True)) == folded
    stages = {label: [folded.nodes[n][0] for n in folded.nodes if folded.nodes[n][1] == s] for s, (label, _) in folded.subgraphs.items()}
    assert stages == {
        "layer1: Stage": ["0: Bottleneck", "1–2: Bottleneck x 2"],
        "layer2: Stage": ["0: Bottleneck", "1–3: Bottleneck x 3"],
        "layer3: Stage": ["0: Bottleneck", "1–5: Bottleneck x 5"],
        "layer4: Stage": ["0: Bottleneck", "1–2: Bottleneck x 2"],
    }
    assert len(plain.nodes) - len(folded.nodes) == 1 + 2 + 4 + 1
    # The folded node takes the first block's output and gives the last one's to the next stage.
    run = folded.label("1–3: Bottleneck x 3")
    assert [(folded.nodes[a][0], label) for a, _, label in folded.incoming(run)] == [("0: Bottleneck", "[512, 28, 28]")]
    assert [(folded.nodes[b][0], label) for a, b, label in folded.edges if a == run] == [("0: Bottleneck", "[512, 28, 28]")]
    layer3 = next(s for s, (label, _) in folded.subgraphs.items() if label == "layer3: Stage")
    assert [folded.nodes[b][1] for a, b, _ in folded.edges if a == run] == [layer3]


def test_blocks_that_differ_are_not_folded():
    # DenseNet's dense layers grow the channels: each reads a different input size.
    assert "denseblock1: DenseLayer x 6" in _labels(to_dot(_instance("densenet121"), 2, fold=True))  # counted, though
    labels = _labels(to_dot(_instance("densenet121"), 3, fold=True))
    assert not any(" x " in label for label in labels if "denselayer" in label)
    assert "denselayer1: DenseLayer" in labels and "denselayer6: DenseLayer" in labels
    # U-Net's levels differ in width: nothing folds.
    assert to_dot(_instance("unet"), 2, fold=True) == to_dot(_instance("unet"), 2)


@pytest.mark.parametrize("depth", (1, 2))
def test_every_example_folded_keeps_its_dataflow(depth):
    """Folding hides the blocks after the first of each run, nothing else:
    the same edges, those inside a run left out and those out of a run's
    last block leaving its first."""
    from legoc.tools.graphplan import make_plan

    from test_diagram import _cases

    for name, model in _cases():
        instance = _instance(name, model)
        plain, folded = make_plan(instance, depth), make_plan(instance, depth, fold=True)
        # A run is drawn as its first block, or, where it is all of a
        # block's calls, as that block (no longer a subgraph).
        runs = {run[0]: run for run in folded.folds.values()}
        runs |= {c: tuple(plain.items[c]) for c in plain.expanded - folded.expanded}
        hidden = {f"n{i}" for rep, run in runs.items() for i in run if i != rep}
        entry = {f"n{run[0]}": f"n{rep}" for rep, run in runs.items()}  # into a run: into its node
        exit = {f"n{run[-1]}": f"n{rep}" for rep, run in runs.items()}  # out of a run: out of its node
        inside = {f"n{i}" for run in runs.values() for i in run[1:]}  # from one block of a run to the next
        expected = [(exit.get(a, a), entry.get(b, b), label) for a, b, label in plain.edges if b not in inside]
        assert folded.edges == expected, name
        assert not any(f"n{i}" in hidden for ids in folded.items.values() for i in ids)
        assert {i for ids in folded.items.values() for i in ids} | {int(n[1:]) for n in hidden} == {i for ids in plain.items.values() for i in ids}
        for run in folded.folds.values():
            assert len(run) >= 2 and len({instance.ops[i].kind for i in run}) == 1
        diagram = parse_mermaid(to_mermaid(instance, depth, details=True, fold=True))  # well formed
        assert len(diagram.edges) == len(folded.edges) and all(" ?" not in label and "?," not in label for label, _ in diagram.nodes.values())


def test_cli_folds_unless_told_not_to(capsys):
    resnet = str(EXAMPLES / "resnet50.lego")
    assert main(["graph", resnet, "--depth", "1"]) == 0
    assert '"layer2: Bottleneck x 4"' in capsys.readouterr().out
    assert main(["graph", resnet, "--depth", "2", "--no-fold"]) == 0
    assert " x " not in capsys.readouterr().out


# ---------------------------------------------------------------- the U of a U-Net


def _u_parts(text: str):
    """(graph defaults, nodes' labels by id, edges as (source, target,
    attributes), the rank=same subgraphs as node id lists) of a DOT text."""
    graph = _graph(text)
    labels, edges, ranks = {}, [], {}

    def walk(g) -> None:
        for node in g.get_nodes():
            if node.get("label"):
                labels[node.get_name()] = re.sub(r"\\(.)", r"\1", node.get("label")[1:-1])
        for edge in g.get_edges():
            edges.append((edge.get_source(), edge.get_destination(), edge.get_attributes()))
        for sub in g.get_subgraphs():
            if sub.get("rank") == "same":
                ranks[sub.get_name()] = [n.get_name() for n in sub.get_nodes() if n.get_name() not in ("graph", "node", "edge")]
            walk(sub)

    walk(graph)
    return _graph_attributes(text), labels, edges, ranks


def _flow(edges) -> list[tuple[str, str, str]]:
    """The edges in the direction the tensors flow (a `dir=back` edge is
    written target first)."""
    return sorted((b, a, attrs["label"]) if attrs.get("dir") == "back" else (a, b, attrs["label"]) for a, b, attrs in edges)


@pytest.mark.parametrize("depth", (1, 2))
def test_unet_is_drawn_as_a_u_with_its_skips_across_its_levels(depth):
    instance = _instance("unet", input=(3, 256, 256))
    plain, u = to_dot(instance, depth, details=True), to_dot(instance, depth, details=True, u_shape=True)
    defaults, labels, edges, ranks = _u_parts(u)
    assert defaults["newrank"] == "true" and "newrank" not in _graph_attributes(plain)
    # The same tensors flow between the same nodes.
    assert _flow(edges) == _flow(_u_parts(plain)[2]) and labels == _u_parts(plain)[1]

    def top(node: str) -> str:
        """The top-level call a node belongs to (`down3`), or the port."""
        if not node.startswith("n"):
            return node
        op = instance.ops[int(node[1:])]
        while op.parent is not None:
            op = instance.ops[op.parent]
        return op.path

    # Each skip goes across, from encoder level i to decoder level i, both on one rank.
    skips = [(top(a), top(b), attrs["label"]) for a, b, attrs in edges if attrs.get("constraint") == "false"]
    assert skips == [("down3", "up1", '"[512, 32, 32]"'), ("down2", "up2", '"[256, 64, 64]"'), ("down1", "up3", '"[128, 128, 128]"'), ("inc", "up4", '"[64, 256, 256]"')]
    assert [[top(n) for n in nodes] for nodes in ranks.values()] == [["inc", "up4"], ["down1", "up3"], ["down2", "up2"], ["down3", "up1"]]
    # The encoder runs down (edges forward), the decoder back up (every edge
    # into it ranked backwards), the bottleneck at the bottom.
    for a, b, attrs in edges:
        if attrs.get("constraint") == "false":
            continue
        source, target = (b, a) if attrs.get("dir") == "back" else (a, b)
        decoder = top(target) in ("up1", "up2", "up3", "up4", "outc", "out0")
        assert (attrs.get("dir") == "back") == decoder, (top(source), top(target))
    # Both edges at the bottleneck are ranked towards it: it is the U's bottom.
    at_bottleneck = [(top(a), top(b), attrs.get("dir")) for a, b, attrs in edges if "down4" in (top(a), top(b))]
    assert at_bottleneck == [("down3", "down4", None), ("up1", "down4", "back")]


def test_only_models_whose_skips_pair_levels_are_drawn_as_a_u():
    from legoc.tools.graphplan import make_plan, u_layout

    from test_diagram import _cases

    found = set()
    for name, model in _cases():
        instance = _instance(name, model)
        for depth in (1, 2):
            if u_layout(instance, make_plan(instance, depth, fold=True)) is not None:
                found.add(name)
            elif depth == 1:
                assert to_dot(instance, depth, u_shape=True) == to_dot(instance, depth), name
    assert found == {"unet", "unet_bilinear"}
    # The same U without input sizes: the skips pair levels symbolically.
    symbolic = u_layout(_instance("unet"), make_plan(_instance("unet"), 1))
    assert symbolic is not None and [_instance("unet").ops[i].path for i in symbolic.bottleneck] == ["down4"]


NESTED_SKIPS = """\
block down(c):
    conv c kernel_size=3 stride=2 padding=1
    relu

block merge(c, stride)(x1, x2):
    return (x1, x2) -> cat -> conv c kernel_size=3 stride=stride padding=1

model Nested(stride=1):
    input x: [3, 64, 64]
    a = x -> down 8
    b = a -> down 16
    c = b -> down 32
    d = c -> relu
    y = (d, c) -> merge 32 stride
    z = y -> upsample 2
    w = (z, b) -> merge 16 stride
    output w = w -> conv 4 kernel_size=1
"""


@pytest.mark.parametrize("stride", (1, 2))
def test_skips_pair_levels_only_where_their_sizes_meet(stride):
    from legoc.compiler import check_source
    from legoc.tools.graphplan import make_plan, u_layout
    from legoc.tools.instance import instantiate

    spec = NESTED_SKIPS.replace("model Nested(stride=1)", f"model Nested(stride={stride})")
    if stride == 2:  # the decoder halves the size again: z = y -> upsample 4 to meet b
        spec = spec.replace("upsample 2", "upsample 4")
    instance = instantiate(check_source(spec, "nested.lego"), "Nested")
    plan = make_plan(instance, 1)
    u = u_layout(instance, plan)
    if stride == 2:  # both skips are nested, but each merge's output is half its skip's size: no level
        assert u is None
        return
    assert [plan.edges[i][2] for i in u.skips] == ["[16, 16, 16]", "[32, 8, 8]"]  # outermost level first
    assert [instance.ops[int(plan.edges[i][1][1:])].kind for i in u.skips] == ["Merge", "Merge"]
    assert [len(u.encoder), len(u.bottleneck), len(u.decoder)] == [3, 1, 4]  # a b c | d | y z w conv


def test_cli_draws_the_u_unless_told_not_to(capsys):
    assert main(["graph", UNET, "--format", "dot", "--depth", "1"]) == 0
    assert "newrank=true" in capsys.readouterr().out
    assert main(["graph", UNET, "--format", "dot", "--depth", "1", "--no-u"]) == 0
    assert "newrank" not in capsys.readouterr().out


# ---------------------------------------------------------------- the rendered pictures

DOCS = EXAMPLES.parent / "docs"
_SVG = "{http://www.w3.org/2000/svg}"


def _svg_nodes(svg: str) -> dict[str, tuple[str, float, float]]:
    """node id -> (label, x, y) of each node Graphviz drew (y grows downwards)."""
    import xml.etree.ElementTree as ET

    nodes = {}
    for g in ET.fromstring(svg).iter(f"{_SVG}g"):
        if g.get("class") == "node":
            text = g.find(f"{_SVG}text")
            nodes[g.find(f"{_SVG}title").text] = (text.text, float(text.get("x")), float(text.get("y")))
    return nodes


def _documented_pictures() -> list[tuple[list[str], str]]:
    """(legoc graph's arguments, the SVG) of each picture docs/graph.md says how it rendered."""
    found = re.findall(r"^    legoc graph (.*) --format dot \| node docs/render-dot\.mjs docs/(\w+\.svg)$", (DOCS / "graph.md").read_text(), re.M)
    return [(args.split(), svg) for args, svg in found]


def test_the_docs_pictures_are_drawn_from_what_legoc_graph_says_now(capsys):
    pictures = _documented_pictures()
    assert [svg for _, svg in pictures] == ["unet.svg", "resnet50.svg", "multitask.svg", "mixer_b16.svg"]
    readme = (EXAMPLES.parent / "README.md").read_text()
    assert "/raw/main/docs/unet.svg)" in readme and "`legoc graph examples/unet.lego --input 3,256,256 --depth 2 -o docs/unet.svg`" in readme
    for args, svg in pictures:
        assert main(["graph", *args, "--format", "dot"]) == 0
        dot = capsys.readouterr().out
        expected = {node: label for node, label in _u_parts(dot)[1].items()}
        drawn = {node: label for node, (label, _, _) in _svg_nodes((DOCS / svg).read_text()).items()}
        assert drawn == expected, f"docs/{svg} is stale: regenerate it with the command in docs/graph.md"


def _render(dot: str) -> str | None:
    """SVG from Graphviz's `dot` if installed, else from Graphviz in
    WebAssembly (node and @hpcc-js/wasm-graphviz in LEGOC_GRAPHVIZ_WASM, a
    folder holding its node_modules); None when neither is here."""
    import os
    import shutil
    import subprocess

    if shutil.which("dot"):
        return subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
    folder = os.environ.get("LEGOC_GRAPHVIZ_WASM")
    if not folder or not shutil.which("node") or not os.path.isdir(os.path.join(folder, "node_modules", "@hpcc-js", "wasm-graphviz")):
        return None
    script = 'import("@hpcc-js/wasm-graphviz").then(async ({Graphviz}) => { const g = await Graphviz.load(); process.stdout.write(g.dot(require("fs").readFileSync(0, "utf8"), "svg")); })'
    return subprocess.run(["node", "-e", script], input=dot, capture_output=True, text=True, check=True, cwd=folder).stdout


@pytest.mark.parametrize("depth", (1, 2))
def test_graphviz_draws_the_unet_as_a_u(depth):
    instance = _instance("unet", input=(3, 256, 256))
    dot = to_dot(instance, depth, details=True, fold=True, u_shape=True)
    svg = _render(dot)
    if svg is None:
        pytest.skip("neither Graphviz's dot nor LEGOC_GRAPHVIZ_WASM (a folder with node_modules/@hpcc-js/wasm-graphviz) is here")
    nodes = _svg_nodes(svg)
    _, _, edges, ranks = _u_parts(dot)
    for a, b in ranks.values():  # each skip's ends side by side, encoder on the left
        assert abs(nodes[a][2] - nodes[b][2]) < 1 and nodes[a][1] < nodes[b][1], (nodes[a], nodes[b])
    left = [nodes[a] for a, _ in ranks.values()]
    right = [nodes[b] for _, b in ranks.values()]
    assert [y for _, _, y in left] == sorted(y for _, _, y in left)  # the levels go down, outermost at the top
    bottleneck = [xy for node, xy in nodes.items() if xy[0].startswith(("down4", "maxpool_conv")) and node not in {a for a, _ in ranks.values()}]
    assert max(y for _, _, y in bottleneck) > max(y for _, _, y in left + right)  # the bottom of the U
    assert nodes["out0"][1] > nodes["in0"][1] and nodes["out0"][2] < min(y for _, _, y in right)  # the output at the top right


def test_outputs_are_labelled_by_their_names():
    instance = _instance("multitask", input=(3, 224, 224))
    for text in (to_dot(instance, 1, details=True, fold=True), to_mermaid(instance, 1, details=True, fold=True)):
        diagram = parse_dot(text) if text.startswith("digraph") else parse_mermaid(text)
        assert [diagram.nodes[f"out{k}"][0] for k in range(2)] == ["label: [10]", "mask: [21, 224, 224]"]
        assert [diagram.nodes[a][0] for a, b, _ in diagram.edges if b.startswith("out")] == ["classifier: Classifier", "segmenter: Segmenter"]
