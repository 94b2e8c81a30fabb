"""Architecture, parameter layout and initialisation of the batched networks.

The ``B = n_seeds x n_grid`` networks (600 in BBT's design) are one batched model: the parameters of all models are
the rows of one flat matrix ``theta`` of shape ``(B, P)``, and every layer is a view of it of shape
``(B, n_out, n_in)`` (the views are :class:`~bondpremia.models.forecast.nn.kernels._Views`, applied with one
``torch.bmm``/``baddbmm``). :func:`_build_arch` lays out the ``P`` parameters of one model (every dense layer, the
batch-normalisation gamma and beta of the joint block) together with the rows of the dropout masks and the entries
penalised by each branch. The group-ensemble layer is one block-diagonal dense layer (weights times a fixed 0/1
mask; the off-block weights are zero, receive no gradient and no penalty), not a loop over groups.

:func:`_init_theta` draws one model's initial parameters as Keras 2 does (``he_normal``, ``glorot_uniform``);
:func:`_init_stats` gives the initial batch-normalisation moving statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

_TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2] (Keras VarianceScaling)


@dataclass(frozen=True)
class _Dense:
    """A dense layer of every model. Hidden kernels are stored (n_out, n_in); the output kernel is stored
    (n_in, n_out) followed by its bias, so that kernel and bias form one (k + 1, m) matrix."""

    i: int  # position in _Arch.layers
    w_off: int
    b_off: int
    n_in: int
    n_out: int
    hidden: bool  # dropout on the input, relu, penalised he_normal kernel; else the linear output layer
    first: bool = False  # first hidden layer of a branch: its input is the (row-layout) data
    mask: torch.Tensor | None = None  # (n_out, n_in) 0/1 block-diagonal mask of the group layers
    fan_in: np.ndarray | None = None  # (n_out,) fan-in of every unit (he_normal)
    drop_col: int = 0  # deeper hidden layers: first row of the input's dropout mask in the column-layout mask


@dataclass
class _Arch:
    n_fwd: int
    n_macro: int
    n_out: int
    fwd: list[_Dense]
    macro: list[_Dense]
    out: _Dense
    width: int  # width k of the joint block (batch norm): macro part first, then the forward-rate part
    width_m: int  # width of its macro part
    gamma_off: int
    beta_off: int
    n_params: int
    row_lo: int  # input columns [row_lo, row_hi) feed a first hidden layer: dropout in row layout
    row_hi: int
    n_col_drop: int  # rows of the column-layout dropout mask: deeper hidden inputs, then the joint block
    out_drop_col: int
    pen_mask: torch.Tensor = field(repr=False)  # (P,) 1 on penalised kernel entries
    pen_fwd: torch.Tensor = field(repr=False)  # (P,) 1 on penalised kernel entries of the forward-rate branch
    fwd_row: np.ndarray = field(repr=False)  # (R,) True where a row-layout dropout column is a forward rate
    fwd_col: np.ndarray = field(repr=False)  # (D,) True where a column-layout dropout row comes from the forwards
    bn: bool = True  # batch normalization of the joint block (else gamma and beta stay unused at 1 and 0)

    @property
    def layers(self) -> list[_Dense]:
        return [*self.fwd, *self.macro, self.out]

    @property
    def key(self) -> tuple[Any, ...]:
        """Identifies the parameter layout (a warm start needs the same)."""
        return (self.n_fwd, self.n_macro, self.n_out, self.n_params, self.width, self.bn,
                tuple((d.n_in, d.n_out) for d in self.fwd),
                tuple((d.n_in, d.n_out, None if d.mask is None else tuple(d.mask.nonzero().flatten().tolist()))
                      for d in self.macro))


def _build_arch(n_fwd: int, n_macro: int, n_out: int, fwd_hidden: Sequence[int], macro_hidden: Sequence[int],
                group_codes: np.ndarray | None, group_hidden: Sequence[int], bn: bool = True) -> _Arch:
    off = 0
    drop = 0
    layers: list[_Dense] = []

    def dense(n_in: int, n_out_: int, first: bool = False, mask: np.ndarray | None = None,
              fan_in: np.ndarray | None = None) -> _Dense:
        nonlocal off, drop
        hidden = fan_in is not None
        deep = hidden and not first
        d = _Dense(len(layers), off, off + n_in * n_out_, n_in, n_out_, hidden, first,
                   None if mask is None else torch.as_tensor(mask.T.copy(), dtype=torch.float32), fan_in,
                   drop if deep else 0)
        off = d.b_off + n_out_
        drop += n_in if deep else 0
        layers.append(d)
        return d

    fwd = []
    width_f = n_fwd
    for j, h in enumerate(fwd_hidden):
        fwd.append(dense(width_f, h, j == 0, fan_in=np.full(h, float(width_f))))
        width_f = h
    macro = []
    width_m = n_macro
    if group_codes is not None:  # block-diagonal layers: unit u of layer l belongs to group u // h_l
        n_groups = int(group_codes.max()) + 1
        in_group = group_codes
        fan = np.bincount(group_codes, minlength=n_groups).astype(float)
        for j, h in enumerate(group_hidden):
            out_group = np.repeat(np.arange(n_groups), h)
            mask = (in_group[:, None] == out_group[None, :]).astype(np.float32)  # (n_in, n_out)
            macro.append(dense(width_m, n_groups * h, j == 0, mask, fan[out_group]))
            width_m, in_group, fan = n_groups * h, out_group, np.full(n_groups, float(h))
    else:
        for j, h in enumerate(macro_hidden):
            macro.append(dense(width_m, h, j == 0, fan_in=np.full(h, float(width_m))))
            width_m = h
    width = width_m + width_f
    gamma_off, beta_off = off, off + width
    off += 2 * width
    out_drop_col = drop
    drop += width
    out = dense(width, n_out)
    pen_mask = torch.zeros(off)
    for d in [*fwd, *macro]:
        pen_mask[d.w_off:d.b_off] = 1.0 if d.mask is None else d.mask.reshape(-1)
    pen_fwd = torch.zeros(off)
    for d in fwd:
        pen_fwd[d.w_off:d.b_off] = 1.0
    row_lo = 0 if fwd else n_fwd
    row_hi = n_fwd + n_macro if macro else n_fwd
    # which dropout rows belong to the forward-rate branch: the data columns of the forwards, the inputs of deeper
    # forward-rate layers and the forward-rate part of the joint block (its last width_f rows)
    fwd_row = np.arange(row_lo, row_hi) < n_fwd
    fwd_col = np.zeros(drop, dtype=bool)
    for d in fwd:
        if not d.first:
            fwd_col[d.drop_col:d.drop_col + d.n_in] = True
    fwd_col[out_drop_col + width_m:out_drop_col + width] = True
    return _Arch(n_fwd, n_macro, n_out, fwd, macro, out, width, width_m, gamma_off, beta_off, off, row_lo, row_hi,
                 drop, out_drop_col, pen_mask, pen_fwd, fwd_row, fwd_col, bn)


def _he_normal(shape: tuple[int, ...], fan_in: np.ndarray | float, gen: torch.Generator) -> torch.Tensor:
    """Keras 2 ``he_normal``: a normal truncated at two standard deviations, rescaled to variance ``2 / fan_in``."""
    lo = 0.5 * (1.0 + math.erf(-2.0 / math.sqrt(2.0)))  # Phi(-2)
    u = lo + (1.0 - 2.0 * lo) * torch.rand(shape, generator=gen, dtype=torch.float64)
    z = math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)  # standard normal truncated to [-2, 2]
    return z * torch.as_tensor(np.sqrt(2.0 / np.asarray(fan_in, dtype=np.float64)) / _TRUNC_STD)


def _init_theta(arch: _Arch, gen: torch.Generator, output_init: str = "he_normal",
                bias_init: str = "zeros") -> torch.Tensor:
    """One model's initial parameters (P,): he_normal hidden kernels, an output kernel ``output_init``
    (``he_normal`` as in BBT's code, or Keras' default ``glorot_uniform``), biases ``bias_init`` (zeros, or
    Keras 2's he_normal of a 1-D shape (n,), whose fan-in is ``sqrt(n)``), batch-norm gamma 1 and beta 0. Kernels
    are drawn in Keras' (n_in, n_out) shape; hidden kernels are stored transposed."""
    theta = torch.zeros(arch.n_params, dtype=torch.float64)
    for d in [*arch.fwd, *arch.macro]:
        assert d.fan_in is not None
        w = _he_normal((d.n_in, d.n_out), d.fan_in, gen).T
        if d.mask is not None:
            w = w * d.mask
        theta[d.w_off:d.b_off] = w.reshape(-1)
    d = arch.out
    if output_init == "he_normal":
        w = _he_normal((d.n_in, d.n_out), float(d.n_in), gen)
    else:
        limit = math.sqrt(6.0 / (d.n_in + d.n_out))
        w = (2.0 * torch.rand((d.n_in, d.n_out), generator=gen, dtype=torch.float64) - 1.0) * limit
    theta[d.w_off:d.b_off] = w.reshape(-1)
    if bias_init == "he_normal":
        for d in arch.layers:
            theta[d.b_off:d.b_off + d.n_out] = _he_normal((d.n_out,), math.sqrt(d.n_out), gen)
    theta[arch.gamma_off:arch.gamma_off + arch.width] = 1.0
    return theta.float()


def _init_stats(arch: _Arch, b: int) -> torch.Tensor:
    """Batch-norm moving statistics (b, 2 k): moving mean 0 and moving variance 1 (Keras)."""
    rs = torch.zeros(b, 2 * arch.width)
    rs[:, arch.width:] = 1.0
    return rs
