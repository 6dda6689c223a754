"""`legoc graph` for papers (legoc/tools/diagram.py): --direction and --dpi,
hyperparameters in the labels, repeated blocks folded as `x N`, and the
U-Net drawn as a U. Asserted on the DOT and Mermaid texts (DOT parsed by
pydot), so no Graphviz is needed."""

from __future__ import annotations

import pydot
import pytest

from conftest import EXAMPLES
from legoc.cli import main
from legoc.tools.diagram import to_dot, to_mermaid
from test_diagram import _instance, parse_dot, parse_mermaid

UNET = str(EXAMPLES / "unet.lego")


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
