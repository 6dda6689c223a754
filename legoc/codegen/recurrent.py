"""The call of a recurrent layer that takes or returns its state
(analysis/recurrent.py):

    y, (h, c) = self.rnn(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
    h, c = h.transpose(0, 1), c.transpose(0, 1)  # [B, nlayers, nhid]

legoc's state tensors are batch first, `[B, num_layers * directions,
hidden_size]`; nn.LSTM and nn.GRU take and return theirs batch second even
with `batch_first=True`, so the call transposes them (the inputs made
contiguous, as cuDNN requires of `hx`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir.nodes import Layer, Shape


def is_state_call(node: object) -> bool:
    """Whether `node` is a recurrent layer applied with its state."""
    return isinstance(node, Layer) and node.apply == "state"


def state_call(
    layer: Layer, attr: str, sources: tuple[str, ...], parts: tuple[tuple[str, Shape], ...], target: str, line: Callable[..., None]
) -> None:
    """Write the call of `layer` (self.`attr`) on `sources`, the sequence
    then its initial state (none: the zero state), with `line(code,
    shape)`. With `parts`, (local, shape) of the sequence and each state
    tensor, the results are bound to them; without, the sequence to
    `target` and the final state is dropped."""
    lstm = layer.ctor.target == "nn.LSTM"
    states = [f"{s}.transpose(0, 1).contiguous()" for s in sources[1:]]
    args = [sources[0]]
    if states:
        args.append(f"({', '.join(states)})" if lstm else states[0])
    call = f"self.{attr}({', '.join(args)})"
    if not parts:
        line(f"{target}, _ = {call}", layer.out)
        return
    (y, out), *rest = parts
    codes = [code for code, _ in rest]
    line(f"{y}, {f'({codes[0]}, {codes[1]})' if lstm else codes[0]} = {call}", out)
    line(f"{', '.join(codes)} = {', '.join(f'{c}.transpose(0, 1)' for c in codes)}", rest[0][1])
