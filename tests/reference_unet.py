"""A hand-written PyTorch U-Net, the reference of examples/unet.lego and
examples/unet_bilinear.lego.

Written from the published structure of milesial/Pytorch-UNet
(github.com/milesial/Pytorch-UNet, unet/unet_parts.py and
unet/unet_model.py): DoubleConv is (3x3 convolution without bias, batch
norm, ReLU) twice in one nn.Sequential `double_conv`, its middle width
`mid_channels` (the output width unless given); Down is a 2x2 max pool then
a DoubleConv, in one nn.Sequential `maxpool_conv`; Up doubles the size with
a 2x2 stride-2 transposed convolution to in_channels // 2 channels (or, with
bilinear=True, bilinear upsampling with align_corners=True and no weights,
its DoubleConv then narrowing through in_channels // 2), pads the result to
the skip tensor's size, joins [skip, x] on channels and applies a
DoubleConv `conv`; OutConv is a 1x1 convolution `conv`. UNet has inc,
down1..down4, up1..up4, outc, its deepest widths halved (`factor = 2`) when
bilinear. Attribute names are milesial's, so the state_dict keys are
theirs (inc.double_conv.0.weight, down1.maxpool_conv.1.double_conv.0.weight,
up1.up.weight, up1.conv.double_conv.0.weight, outc.conv.weight).

31,037,698 parameters with bilinear=False, 17,263,042 with bilinear=True.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    """(conv 3x3 without bias, batch norm, ReLU) twice, through mid_channels."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        super().__init__()
        mid = out_channels if mid_channels is None else mid_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """A 2x2 max pool (half the size), then a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Double the size of x, pad it to the skip's size, cat [skip, x], DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        dy = skip.shape[2] - x.shape[2]
        dx = skip.shape[3] - x.shape[3]
        x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Module):
    """A 1x1 convolution to the classes."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """milesial's UNet(n_channels, n_classes, bilinear)."""

    def __init__(self, n_channels: int = 3, n_classes: int = 2, bilinear: bool = False):
        super().__init__()
        self.n_channels, self.n_classes, self.bilinear = n_channels, n_classes, bilinear
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(n_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        self.down4 = Down(512, 1024 // factor)
        self.up1 = Up(1024, 512 // factor, bilinear)
        self.up2 = Up(512, 256 // factor, bilinear)
        self.up3 = Up(256, 128 // factor, bilinear)
        self.up4 = Up(128, 64, bilinear)
        self.outc = OutConv(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)
