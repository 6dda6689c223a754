"""The Swin Transformer's layers (Liu et al. 2021, "Swin Transformer:
Hierarchical Vision Transformer using Shifted Windows", Sec. 3.2) as source
text, which a generated file defines when a spec uses `patch_merging` or
`shifted_window_attention` (codegen/helpers.py adds them to its HELPERS,
each definition under its name, and `NEEDS` says which functions each
class calls).

The code is legoc's own, written from the paper: window attention (W-MSA)
with a relative position bias, the cyclic shift and the mask that keeps a
shifted window's regions apart (SW-MSA), patch merging. It behaves as
torchvision's `ShiftedWindowAttention` and `PatchMerging`
(torchvision/models/swin_transformer.py, V1), which the tests compare it
with: the same constructor arguments, the same parameters and buffers in
the same order and with the same names, shapes and values
(`relative_position_bias_table`, `relative_position_index`, `qkv`,
`proj`; `reduction`, `norm`), so torchvision's state_dict loads strictly,
and the same function: the map padded to whole windows, the shift 0 along
an axis that one window covers, -100 added between positions of different
regions, the four neighbours of patch merging joined in torchvision's
order. The attention applies its `qkv` and `proj` weights with
`torch.nn.functional.linear`, as torchvision's does, so torchinfo sees the
same calls (tools/summary.py counts them so). Generated files import
nothing but torch, hence `torch.nn.functional.` in full. The attention's
computation is a function, `shifted_window_attention`, which the file
passes to `torch.fx.wrap` as torchvision does: its padding and shift depend
on the map's size, so `torch.fx.symbolic_trace` keeps it as one call.
"""

RELATIVE_POSITION_INDEX = '''def relative_position_index(window_size):
    """The bias table's row for each pair (i, j) of positions in a [Wh, Ww]
    window (positions in row-major order): [Wh * Ww * Wh * Ww], int64. The
    row is that of i's offset from j, (dy, dx) with -Wh < dy < Wh and
    -Ww < dx < Ww: (dy + Wh - 1) * (2 Ww - 1) + dx + Ww - 1."""
    height, width = window_size
    rows = torch.arange(height).repeat_interleave(width)  # [N]
    cols = torch.arange(width).repeat(height)  # [N]
    dy = rows[:, None] - rows[None, :] + height - 1  # [N, N]
    dx = cols[:, None] - cols[None, :] + width - 1  # [N, N]
    return (dy * (2 * width - 1) + dx).flatten()'''
"""The relative position index, which ShiftedWindowAttention registers as a buffer."""

SHIFTED_WINDOW_MASK = '''def shifted_window_mask(height, width, window_size, shift_size, like):
    """SW-MSA's additive mask on a [height, width] map (whole windows) rolled
    by -shift_size: [nW, N, N], -100 between two positions of a window that
    come from different regions of the map (one wrapped around, the other
    not), 0 otherwise, in the dtype and on the device of the tensor `like`.
    Along each axis, the last `shift` positions wrapped around; they share
    a window only with the last positions that did not."""
    wrapped_rows = torch.arange(height, device=like.device) >= height - shift_size[0]
    wrapped_cols = torch.arange(width, device=like.device) >= width - shift_size[1]
    region = 2 * wrapped_rows[:, None].long() + wrapped_cols[None, :].long()
    region = split_windows(region[None, :, :, None], window_size)[0, :, :, 0]
    apart = region[:, :, None] != region[:, None, :]  # [nW, N, N]
    return apart.to(like.dtype) * -100.0'''
"""The shifted windows' mask, which ShiftedWindowAttention adds to its bias."""

SPLIT_WINDOWS = '''def split_windows(x, window_size):
    """[B, H, W, C] (H and W multiples of the window [Wh, Ww]) to its
    windows: [B, nW, N, C], windows and their N = Wh * Ww positions in
    row-major order."""
    b, h, w, c = x.shape
    wh, ww = window_size
    x = x.view(b, h // wh, wh, w // ww, ww, c).transpose(2, 3)
    return x.reshape(b, -1, wh * ww, c)'''
"""Window partition, which ShiftedWindowAttention and shifted_window_mask call."""

JOIN_WINDOWS = '''def join_windows(x, window_size, height, width):
    """split_windows reversed: [B, nW, N, C] to [B, height, width, C]."""
    b, _, _, c = x.shape
    wh, ww = window_size
    x = x.view(b, height // wh, width // ww, wh, ww, c).transpose(2, 3)
    return x.reshape(b, height, width, c)'''
"""Window merging, which ShiftedWindowAttention calls."""

SHIFTED_WINDOW_ATTENTION_FUNCTION = '''def shifted_window_attention(
    x,
    qkv_weight,
    qkv_bias,
    proj_weight,
    proj_bias,
    bias,
    window_size,
    shift_size,
    num_heads,
    attention_dropout,
    dropout,
    training,
):
    """ShiftedWindowAttention's computation on x [B, H, W, C], with the
    relative position bias [heads, N, N] already gathered from its table. A
    function that torch.fx keeps as one call (`torch.fx.wrap` below, as
    torchvision does): the padding and the shift depend on H and W."""
    _, h, w, c = x.shape
    wh, ww = window_size
    x = torch.nn.functional.pad(x, (0, 0, 0, -w % ww, 0, -h % wh))
    height, width = x.shape[1], x.shape[2]
    dy = shift_size[0] if wh < height else 0
    dx = shift_size[1] if ww < width else 0
    if dy or dx:
        x = torch.roll(x, (-dy, -dx), dims=(1, 2))
    windows = split_windows(x, window_size)  # [B, nW, N, C]
    qkv = torch.nn.functional.linear(windows, qkv_weight, qkv_bias)
    qkv = qkv.unflatten(-1, (3, num_heads, c // num_heads))
    q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # [B, nW, heads, N, C/heads]
    q = q * (c // num_heads) ** -0.5
    if dy or dx:
        mask = shifted_window_mask(height, width, window_size, (dy, dx), x)
        bias = bias + mask[:, None]  # [nW, heads, N, N]
    attn = torch.matmul(q, k.transpose(-2, -1)) + bias  # [B, nW, heads, N, N]
    attn = torch.softmax(attn, dim=-1)
    attn = torch.nn.functional.dropout(attn, attention_dropout, training)
    y = torch.matmul(attn, v)  # [B, nW, heads, N, C/heads]
    y = y.transpose(2, 3).flatten(3)  # [B, nW, N, C]
    y = torch.nn.functional.linear(y, proj_weight, proj_bias)
    y = torch.nn.functional.dropout(y, dropout, training)
    x = join_windows(y, window_size, height, width)
    if dy or dx:
        x = torch.roll(x, (dy, dx), dims=(1, 2))
    return x[:, :h, :w].contiguous()


torch.fx.wrap("shifted_window_attention")'''
"""Window attention's computation, which ShiftedWindowAttention calls; FX
traces it as one call."""

PATCH_MERGING = '''class PatchMerging(nn.Module):
    """Swin's patch merging, equivalent to torchvision's PatchMerging:
    [B, H, W, C] to [B, ceil(H/2), ceil(W/2), 2C]. An odd H or W is padded
    with zeros; the four vectors of each 2 x 2 neighbourhood are joined on
    the channels, (row, column) (0, 0), (1, 0), (0, 1), (1, 1), then
    normalized over 4C and projected to 2C without bias."""

    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        b, height, width, c = x.shape
        x = torch.nn.functional.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        h, w = (height + 1) // 2, (width + 1) // 2
        x = x.view(b, h, 2, w, 2, c)  # [B, H/2, row, W/2, column, C]
        x = x.permute(0, 1, 3, 4, 2, 5).reshape(b, h, w, 4 * c)  # [B, H/2, W/2, 4C]
        return self.reduction(self.norm(x))'''
"""Patch merging, torchvision's PatchMerging's equivalent."""

SHIFTED_WINDOW_ATTENTION = '''class ShiftedWindowAttention(nn.Module):
    """Swin's window attention, equivalent to torchvision's
    ShiftedWindowAttention: [B, H, W, C] to [B, H, W, C]. Multi-head self
    attention within windows of window_size [Wh, Ww] (W-MSA),
    softmax(q k^T / sqrt(d) + bias) v, the bias learned for each relative
    position (a table, (2 Wh - 1) (2 Ww - 1) x num_heads, and its index, a
    buffer); with a shift, the map is rolled
    by -shift_size first and back after, and a mask keeps apart the
    positions a window gathers from both ends of the map (SW-MSA). The map
    is padded to whole windows (bottom, right); along an axis that one
    window covers, the shift is 0."""

    # A buffer, typed as torch's own modules type theirs.
    relative_position_index: torch.Tensor

    def __init__(
        self,
        dim,
        window_size,
        shift_size,
        num_heads,
        qkv_bias=True,
        proj_bias=True,
        attention_dropout=0.0,
        dropout=0.0,
    ):
        super().__init__()
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        offsets = (2 * window_size[0] - 1) * (2 * window_size[1] - 1)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(offsets, num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        index = relative_position_index(window_size)
        self.register_buffer("relative_position_index", index)

    def forward(self, x):
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        bias = bias.view(n, n, self.num_heads).permute(2, 0, 1)  # [heads, N, N]
        return shifted_window_attention(
            x,
            self.qkv.weight,
            self.qkv.bias,
            self.proj.weight,
            self.proj.bias,
            bias,
            self.window_size,
            self.shift_size,
            self.num_heads,
            self.attention_dropout,
            self.dropout,
            self.training,
        )'''
"""Window attention, torchvision's ShiftedWindowAttention's equivalent."""

NEEDS: dict[str, tuple[str, ...]] = {
    "ShiftedWindowAttention": ("relative_position_index", "shifted_window_attention", "shifted_window_mask", "split_windows", "join_windows"),
}
"""The functions each class calls, which the file defines with it."""
