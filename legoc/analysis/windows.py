"""The arithmetic of windowed layers (conv, maxpool, avgpool): output sizes,
their keep/stride effects and checks, automatic padding, and arguments
given per spatial axis (`kernel_size=(1, 7)`, an `ir.nodes.Sizes`).

Windowed layers pad by `dilation * (kernel_size - 1) // 2` per axis unless
`padding=` is given: "same" for odd kernels at stride 1. With a pool's
`ceil_mode` the output size is rounded up as torch does.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..core.diagnostics import error
from ..ir.nodes import Sizes
from ..ir.symbolic import Expr
from .signature import Call, PrimOut, show_shape


def per_axis(value, n: int) -> list[Expr]:
    """A windowed layer's argument for each of `n` spatial axes: the items
    of a tuple (`kernel_size=(1, 7)`), or the one value for every axis."""
    return list(value.items) if isinstance(value, Sizes) else [value] * n


def spatial(call: Call, key: str, n: int):
    """`call[key]`, a size or a tuple of `n` sizes (one per spatial axis).

    Raises:
        SpecError: LG401, a tuple of another length.
    """
    value = call.args[key]
    if isinstance(value, Sizes) and len(value.items) != n:
        raise error("LG401", call.span_of(key), f"`{key}` of `{call.name}` has {len(value.items)} sizes, but its input has {n} spatial axes: {show_shape(call.shape)}")
    return value if isinstance(value, Sizes) else call[key]


def window(call: Call, kernel, stride, padding, dilation, out: PrimOut, ceil: Expr = sy.FALSE) -> list[Expr]:
    """Spatial sizes after a conv or pooling window, with keep/stride effects.

    kernel, stride, padding, dilation: each a size, or a tuple of sizes
    (`Sizes`), one per spatial axis.
    ceil: a pool's `ceil_mode` (a bool expression): the output size is
    rounded up, as torch does, except that the last window must start
    inside the input or its left padding (else it is left out).
    """
    n = len(call.shape) - 1
    axes = list(zip(per_axis(kernel, n), per_axis(stride, n), per_axis(padding, n), per_axis(dilation, n)))
    sizes = []
    # What does not depend on the axis is worked out once per distinct window.
    common: dict[tuple, tuple] = {}
    for axis, (kernel, stride, padding, dilation) in enumerate(axes, start=1):
        if (kernel, stride, padding, dilation) not in common:
            span = sy.mul(dilation, sy.sub(kernel, 1))
            both_sides = sy.mul(2, padding)
            unit_stride = sy.eq(stride, 1)
            keep = sy.both(unit_stride, sy.eq(both_sides, span))
            gap = sy.maximum(sy.ZERO, sy.sub(sy.sub(stride, span), 1))
            common[kernel, stride, padding, dilation] = (span, both_sides, unit_stride, keep, gap)
        span, both_sides, unit_stride, keep, gap = common[kernel, stride, padding, dilation]
        size = call.shape[axis]
        padded = sy.add(size, both_sides)
        reach = sy.sub(sy.sub(padded, span), 1)
        new = sy.add(sy.floordiv(reach, stride), 1)
        if ceil != sy.FALSE:
            up = sy.add(sy.floordiv(sy.add(reach, sy.sub(stride, 1)), stride), 1)
            # torch's rule: a last window starting in the right padding goes.
            # It can start there only when the stride is over the kernel's
            # reach past the left padding (never with torch's pools at
            # stride <= kernel_size - padding).
            if sy.compare(">", stride, sy.sub(sy.add(span, 1), padding)) != sy.FALSE:
                up = sy.cond(sy.compare(">=", sy.mul(sy.sub(up, 1), stride), sy.add(size, padding)), sy.sub(up, 1), up)
            new = sy.cond(ceil, up, new)
        sizes.append(new)
        out.keep[axis] = keep
        out.stride[axis] = stride
        out.checks.append(
            call.check(
                sy.compare(">=", new, 1),
                "kernel_size",
                f"`{call.name}` window (kernel_size ",
                kernel,
                ", dilation ",
                dilation,
                ") does not fit its input ",
                call.shape,
                " with padding ",
                padding,
                code="LG303",
            )
        )
        if unit_stride == sy.TRUE or ceil == sy.TRUE:  # at stride 1 (or rounding up) no row is left out
            continue
        # LG508: the output size is floored, so the last window may stop
        # short of the input's end. The rows after it are dropped when they
        # are more than the padding covers and more than the gap the stride
        # leaves between windows anyway (a 1x1 conv at stride 2 skips every
        # other row by design).
        left = sy.mod(sy.sub(padded, sy.add(span, 1)), stride)
        dropped = sy.sub(left, padding)
        out.checks.append(
            call.check(
                sy.either(unit_stride, ceil, sy.compare("<=", dropped, gap)),
                "stride",
                f"`{call.name}` with stride ",
                stride,
                " never reaches the last ",
                dropped,
                " row(s) or column(s) of its input size ",
                size,
                " (kernel_size ",
                kernel,
                ", padding ",
                padding,
                "): the output size is floored and they are dropped",
                code="LG508",
                severity="warning",
                hint="pad the input, change the stride or kernel_size, or give the model an input size the windows tile",
            )
        )
    if not call.given("padding"):
        # Automatic padding is (k - 1) // 2 per side: with an even kernel the
        # window is not centred and the output is shifted by half a pixel.
        for span, kernel in dict.fromkeys((common[a][0], a[0]) for a in axes):
            out.checks.append(
                call.check(
                    sy.either(sy.eq(sy.mod(span, 2), 0), sy.eq(sy.floordiv(span, 2), 0)),
                    "kernel_size",
                    f"`{call.name}` has an even kernel_size ",
                    kernel,
                    ' with automatic "same" padding ',
                    sy.floordiv(span, 2),
                    ": the output is shifted by half a pixel (and one smaller at stride 1)",
                    code="LG505",
                    severity="warning",
                    hint="use an odd kernel_size, or give `padding=` explicitly",
                )
            )
    return sizes


def auto_padding(call: Call, kernel, dilation):
    if call.given("padding"):
        return spatial(call, "padding", len(call.shape) - 1)
    if isinstance(kernel, Sizes) or isinstance(dilation, Sizes):
        n = len(call.shape) - 1
        return Sizes(tuple(sy.floordiv(sy.mul(d, sy.sub(k, 1)), 2) for k, d in zip(per_axis(kernel, n), per_axis(dilation, n))))
    return sy.floordiv(sy.mul(dilation, sy.sub(kernel, 1)), 2)
