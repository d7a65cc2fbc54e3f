"""The weight-sharing network: one set of tensors from which every candidate of a space takes its own.

The supernet's tensors are a `GoogLeNet` of the layout's widest config, with the first module of each
stage and the classifier widened to take the layout's input. A candidate inherits, for every tensor
of its own `GoogLeNet`, the supernet tensor of the same name cut to its shape: the first channels of
each output, and of each input but a module's (and the classifier's), whose input is the concatenation
of the previous module's branches: there each incoming branch gives the first channels it kept, at
that branch's offset in the layout.

Running a candidate is running its own `GoogLeNet` (built once on the meta device, no memory) with the
inherited tensors (`torch.func.functional_call`): the cuts are differentiable, so a training step's
gradients land in the supernet's tensors, and the logits are those `build(arch)` loaded with
`inherit(arch)` gives, by construction.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.func import functional_call

from inas.model.blocks import INPUT_UNITS, conv_unit
from inas.model.config import ArchConfig, module_name
from inas.model.network import GoogLeNet
from inas.supernet.layout import SupernetLayout, Widths, out_widths

CLASSIFIER = "fc"
_META_CACHE = 64  # candidate networks kept built on the meta device


def _offsets(layout: Widths) -> list[int]:
    starts = [0]
    for w in layout[:-1]:
        starts.append(starts[-1] + w)
    return starts


def input_index(layout: Widths, kept: Widths) -> torch.Tensor:
    """The supernet's input channels a candidate's concatenated input maps to: for each branch, the
    first `kept[b]` channels of the branch's block in `layout`."""
    if len(kept) != len(layout) or any(k > w for k, w in zip(kept, layout, strict=True)):
        raise ValueError(f"a candidate's input {kept} does not fit the supernet's {layout}")
    return torch.cat([torch.arange(s, s + k) for s, k in zip(_offsets(layout), kept, strict=True)])


class Supernet(nn.Module):
    """Every candidate of a layout's space in one network; `forward(x, arch)` runs one of them, where
    `arch` is a candidate at the layout's width (`layout.trained(full)`)."""

    def __init__(self, layout: SupernetLayout):
        super().__init__()
        self.layout = layout
        net = GoogLeNet(layout.widest)
        for i in range(len(layout.widest.stages)):
            # A stage's first module takes the widest input any predecessor gives: widen its input convs.
            block = getattr(net.features, f"inception{module_name(i, 0)}")
            for path in INPUT_UNITS:
                parent, unit = _unit(block, path)
                conv = unit[0]
                parent[int(path.rsplit(".", 1)[1])] = conv_unit(
                    sum(layout.inputs[i][0]),
                    conv.out_channels,
                    conv.kernel_size,
                    norm=any(isinstance(m, nn.BatchNorm2d) for m in unit),
                    relu=any(isinstance(m, nn.ReLU) for m in unit),
                )
        net.fc = nn.Linear(sum(layout.head), layout.widest.num_classes)
        self.net = net
        self._meta: OrderedDict[str, GoogLeNet] = OrderedDict()

    # -- what a candidate takes ------------------------------------------------------------
    def _indices(self, arch: ArchConfig) -> dict[str, torch.Tensor]:
        """Input-channel indices of the tensors whose input is a concatenation, by tensor name."""
        out: dict[str, torch.Tensor] = {}
        previous: Widths = self.layout.inputs[0][0]
        for i, stage in enumerate(arch.stages):
            for j, m in enumerate(stage.modules):
                index = input_index(self.layout.inputs[i][j], previous)
                for path in INPUT_UNITS:
                    out[f"features.inception{module_name(i, j)}.{path}.0.weight"] = index
                previous = out_widths(m)
        out[f"{CLASSIFIER}.weight"] = input_index(self.layout.head, previous)
        return out

    def inherit(self, arch: ArchConfig, buffers: bool = True) -> dict[str, torch.Tensor]:
        """The tensors `build(arch)` loads to be this candidate (its state dict), cut from the
        supernet's; views or index copies that keep the supernet's autograd history."""
        target = self.candidate_net(arch)
        own = dict(self.net.named_parameters())
        if buffers:
            own.update(self.net.named_buffers())
        wanted = dict(target.named_parameters())
        if buffers:
            wanted.update(target.named_buffers())
        index = self._indices(arch)
        out: dict[str, torch.Tensor] = {}
        for name, t in wanted.items():
            source = own.get(name)
            if source is None or source.dim() != t.dim():
                raise ValueError(
                    f"the supernet holds no tensor {name} of {tuple(t.shape)}; is this a candidate of its space?"
                )
            if name in index:
                source = source[: t.shape[0]].index_select(1, index[name].to(source.device))
            cut = source[tuple(slice(0, n) for n in t.shape)]
            if cut.shape != t.shape:
                raise ValueError(f"{name}: the candidate asks {tuple(t.shape)} of the supernet's {tuple(source.shape)}")
            out[name] = cut
        return out

    def candidate_net(self, arch: ArchConfig) -> GoogLeNet:
        """Candidate `arch`'s network on the meta device (no memory): the structure `forward` runs
        with inherited tensors; kept for the last few candidates."""
        key = arch.hash()
        net = self._meta.pop(key, None)
        if net is None:
            with torch.device("meta"):
                net = GoogLeNet(arch)
        self._meta[key] = net
        while len(self._meta) > _META_CACHE:
            self._meta.popitem(last=False)
        return net

    # -- running one -----------------------------------------------------------------------
    def forward(
        self, x: torch.Tensor, arch: ArchConfig, tensors: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits of candidate `arch` (at the layout's width) on `x`, in this module's train/eval mode;
        `tensors` overrides inherited ones (BatchNorm statistics recalibrated for the candidate)."""
        net = self.candidate_net(arch)
        net.train(self.training)
        inherited = self.inherit(arch)
        if tensors:
            inherited.update(tensors)
        return functional_call(net, inherited, (x,), strict=True)

    def candidate(self, arch: ArchConfig) -> GoogLeNet:
        """A stand-alone network of candidate `arch` with the weights it inherits (copies)."""
        net = GoogLeNet(arch)
        with torch.no_grad():
            net.load_state_dict({k: v.detach().clone() for k, v in self.inherit(arch).items()})
        return net.to(next(self.net.parameters()).device)


def _unit(block: nn.Module, path: str) -> tuple[nn.Sequential, nn.Sequential]:
    """The Sequential holding a module's input conv unit at `path` (`b4.1.0`), and that unit."""
    parent: nn.Module = block
    parts = path.split(".")
    for p in parts[:-1]:
        parent = parent[int(p)] if p.isdigit() else getattr(parent, p)
    assert isinstance(parent, nn.Sequential)
    unit = parent[int(parts[-1])]
    assert isinstance(unit, nn.Sequential)
    return parent, unit
