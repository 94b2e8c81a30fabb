"""Neural-network seed ensembles for bond excess returns (Bianchi, Buechner and Tamoni 2021, Section 2).

Bianchi, Buechner and Tamoni (2021), "Bond Risk Premia with Machine Learning", Review of Financial Studies 34(2),
1046-1089 (BBT). The networks of their Section 2.3 (and Internet Appendix) forecast the vector of 12-month log
excess returns of Treasury zeros from one-year forward rates and, optionally, FRED-MD macro series:

* **forward-rate networks**: hidden layers on the forwards only (one layer of 3, 5 or 7 nodes; the 5-4-3 pyramid);
* **macro networks**: hidden layers on the macro series whose last hidden layer is concatenated with the
  forwards, either the scaled forwards themselves or the output of a small forward-rate network;
* **group-ensemble networks**: one small sub-network per McCracken-Ng group of macro series, the sub-network
  outputs concatenated and then joined with the forwards as above.

Every hidden layer is ``Dropout(p) -> Dense(relu, he_normal, kernel penalty l1 |w| + l2 w^2)``; the joint block
is ``Dropout(p) -> BatchNormalization -> Dense(linear, he_normal, one unit per maturity)`` (the authors'
forward-rate networks skip the batch normalization: ``batch_norm=False``). Training is mean squared error on the
targets **in percent** (``y_scale=100``: the recipe's penalties, learning rates and ``min_delta`` are set for
returns in percent), Nesterov SGD with momentum 0.9 and Keras' ``decay``, batches of 32 shuffled rows, at most
500 epochs, Keras' EarlyStopping on ``val_loss`` (patience 20, ``min_delta`` 1e-6) with
``ModelCheckpoint(save_best_only=True)`` restoring the best weights; the validation block is Keras'
``validation_split=0.15``, the last rows in time order. Every seed searches a grid of (dropout, L1 penalty), fits
the chosen grid point again, and the forecasts of the 10 seeds with the lowest validation loss are averaged. The
learning rate, decay, grid and initializers of each network family are the authors' (see ``NN_RECIPES`` in
:mod:`bondpremia.models.forecast.estimators`).

**Everything here is one batched model** (no Python loop over seeds or grid points). The ``B = n_seeds x n_grid``
networks (600 in BBT's design) are trained together: the parameters of all models are the rows of one flat
matrix ``theta`` of shape ``(B, P)``, every layer is a view of it of shape ``(B, n_out, n_in)`` applied with one
``torch.bmm``/``baddbmm``, and the forward and backward passes are written out by hand on these batched tensors
(autograd is used only for :meth:`SeedEnsembleNet.input_gradients`; the tests check the hand-written gradient
against autograd). Every model has its own minibatch permutation each epoch, its own dropout masks, dropout rate
and penalty (per-model arrays broadcast against the ``(B, ., .)`` activations), its own batch-normalisation
statistics (PyTorch's fused kernel on a ``(1, B k, rows)`` view: one channel per model and unit), its own
learning-rate schedule and momentum, its own early-stopping counter and its own best-weights snapshot. A model
whose patience is exhausted stops exactly as if its Keras training had ended: it leaves the working batch at the
end of that epoch, so its snapshot is final and the models still running do not pay for it. The group-ensemble
layer is one block-diagonal dense layer (weights times a fixed 0/1 mask; the off-block weights are zero, receive
no gradient and no penalty), not a loop over groups. The validation loss of all models is one batched evaluation
per epoch. Random numbers come from a NumPy PCG64 generator seeded by ``seed`` (initial weights from one torch
generator per seed); global random states are never touched.

Where this follows the authors' Keras 2.2 code exactly (public copies of their ``NNFuncBib.py``; Keras'
``regularizers.py``, ``training.py`` and ``callbacks.py`` of version 2.2):

* ``regularizers.l1_l2(l)`` sets L1 = ``l`` and leaves L2 at its default 0.01 (``l2_penalty=0.01``); the penalty
  enters through its (sub)gradient ``l1 sign(w) + 2 l2 w``, added to the minibatch gradient;
* ``val_loss`` is the evaluation-mode MSE **plus** the weight penalty (Keras adds the regularization losses to the
  total loss of the test function too); EarlyStopping counts epochs without an improvement of more than
  ``min_delta`` and stops when the count reaches ``patience``; ModelCheckpoint saves every strict improvement;
* ``validation_split`` keeps the first ``int(n * 0.85)`` rows for training;
* the grid point chosen by ``NNGridSearchWrapper`` is fitted again from the seed's initial weights (Keras seeded
  with ``no``) and that fit is used;
* warm-started refits (``warm_start=True, retune=False``) start from each seed's best weights and batch-norm
  statistics of the last **re-tuning** fit with a fresh optimizer (iteration count and momentum at zero), as the
  authors' code reloads the model saved at the last re-tuning and compiles it with a new SGD; the inputs are
  re-scaled on the new training window. ``train_refits=False`` instead keeps the re-tuned networks and only
  re-scales the inputs (the authors' sample code);
* every seed draws the same initial weights at every fit (their seeds ``no = 0..99``).

Deviations (each also stated where it applies):

* dropout draws 16-bit random integers: a rate ``p`` is applied as ``round(65536 p) / 65536`` (0.1 becomes
  0.100006), which makes the random numbers, a large part of the cost of the batched loop, cheaper; the random
  streams are not TensorFlow's, so single networks differ from the authors' (the ensemble's statistics do not);
* the best weights are restored also when training reaches ``max_epochs`` (as ModelCheckpoint does);
* with ``retune=True`` every grid point of a seed starts from the same initial weights, drawn from that seed.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from bondpremia.errors import ConvergenceError, InputError

try:
    import torch
except ImportError as exc:  # pragma: no cover - torch is the optional 'nn' extra
    raise ImportError("bondpremia.models.forecast.nn needs PyTorch: pip install 'bondpremia[nn]'") from exc

__all__ = ["SeedEnsembleNet"]

FloatArray = np.ndarray

_BN_MOMENTUM = 0.99  # Keras BatchNormalization defaults
_BN_EPS = 1e-3
_TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2] (Keras VarianceScaling)
_MASK_CHUNK = 4_000_000  # dropout-mask elements generated per call
_MAX_THREADS = 4


# ---------------------------------------------------------------------------------------------------------------
# architecture: the layout of the flat parameter vector
# ---------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------
# the batched forward and backward passes
#
# Data, targets and outputs are in row layout (B, rows, columns) and hidden activations in column layout
# (B, units, rows), so that every elementwise operation runs over contiguous memory (strided elementwise
# operations on these small blocks cost several times more) and every product is one torch.bmm/baddbmm.
# ---------------------------------------------------------------------------------------------------------------

class _Views:
    """Per-layer views into a flat parameter matrix ``theta`` (B, P), which follow its in-place updates: hidden
    kernels (B, n_out, n_in) and biases (B, n_out, 1), the output kernel (B, k, m) and bias (B, 1, m) and both as
    one (B, k + 1, m) matrix, batch-norm gamma and beta (B, k, 1)."""

    def __init__(self, arch: _Arch, theta: torch.Tensor) -> None:
        b = theta.shape[0]
        self.w = [theta[:, d.w_off:d.b_off].view(b, d.n_out, d.n_in) for d in arch.layers[:-1]]
        self.b = [theta[:, d.b_off:d.b_off + d.n_out].unsqueeze(2) for d in arch.layers[:-1]]
        d = arch.out
        self.w_aug = theta[:, d.w_off:d.b_off + d.n_out].view(b, d.n_in + 1, d.n_out)
        self.w.append(self.w_aug[:, :d.n_in])
        self.b.append(self.w_aug[:, d.n_in:])
        self.gamma = theta[:, arch.gamma_off:arch.gamma_off + arch.width].unsqueeze(2)
        self.beta = theta[:, arch.beta_off:arch.beta_off + arch.width].unsqueeze(2)


class _Cache:
    """Intermediate results of a training forward pass, for the hand-written backward pass."""

    __slots__ = ("inp", "out", "w", "bn_in", "bn_mean", "bn_invstd", "gamma")

    def __init__(self, n_layers: int) -> None:
        self.inp: list[Any] = [None] * n_layers  # layer inputs (after dropout)
        self.out: list[Any] = [None] * n_layers  # layer outputs (after relu)
        self.w: list[Any] = [None] * n_layers  # (masked) kernels used
        self.bn_in: Any = None  # joint block entering batch norm (after dropout), (1, B k, n)
        self.bn_mean: Any = None  # its batch mean and 1 / sqrt(biased batch variance + eps), (B k,)
        self.bn_invstd: Any = None
        self.gamma: Any = None  # batch-norm scale (B k,)


def _hidden(d: _Dense, V: _Views, h: torch.Tensor, keep_col: torch.Tensor | None,
            cache: _Cache | None) -> torch.Tensor:
    """``relu(W dropout(h) + b)`` (B, n_out, n) for every model. A first layer takes row-layout data (B, n, n_in)
    or shared (n, n_in), already dropped out; a deeper layer column-layout activations (B, n_in, n)."""
    if d.first:
        hc = h.transpose(-1, -2)
    else:
        if keep_col is not None:
            h = h * keep_col[:, d.drop_col:d.drop_col + d.n_in]
        hc = h
    w = V.w[d.i] if d.mask is None else V.w[d.i] * d.mask  # block-diagonal group layer: weights x 0/1 mask
    z = torch.baddbmm(V.b[d.i], w, hc) if hc.dim() == 3 else torch.matmul(w, hc) + V.b[d.i]
    z = torch.relu(z)
    if cache is not None:
        cache.inp[d.i], cache.out[d.i], cache.w[d.i] = h, z, w
    return z


def _forward(arch: _Arch, V: _Views, x: torch.Tensor, rs: torch.Tensor | None = None,
             keep: tuple[torch.Tensor | None, torch.Tensor] | None = None,
             cache: _Cache | None = None, zbuf: torch.Tensor | None = None,
             moving: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Outputs (B, n, m) of all B models; differentiable by autograd in evaluation mode.

    ``x`` is (B, n, F) (every model its own rows) or shared (n, F). Training mode when ``keep`` is given: the
    dropout masks, already divided by the keep probability, of the data columns ``[row_lo, row_hi)`` (B, n, R),
    applied to ``x`` in place, and of the hidden activations (B, D, n). Batch norm then uses the batch statistics
    (PyTorch's fused kernel on the (1, B k, n) view: one channel per model and unit), ``moving`` = (moving mean,
    moving variance), (B, k) each, are updated in place, and ``zbuf`` (B, k + 1, n) with a last row of ones
    receives the normalised block, so that the output layer is one product with the (k + 1, m) kernel-and-bias
    matrix. Evaluation mode otherwise: no dropout, batch norm with the moving statistics ``rs`` (B, 2 k).
    """
    nf = arch.n_fwd
    keep_col = None
    xf, xm = x[..., :nf], x[..., nf:]
    if keep is not None:
        keep_row, keep_col = keep
        if keep_row is not None:
            xd = x[..., arch.row_lo:arch.row_hi].mul_(keep_row)  # in place: x is the minibatch copy
            if arch.fwd:
                xf = xd[..., :nf]
            if arch.macro:
                xm = xd[..., nf - arch.row_lo:]
    hf = xf.transpose(-1, -2)  # raw forwards join the output block
    for d in arch.fwd:
        hf = _hidden(d, V, xf if d.first else hf, keep_col, cache)
    if arch.n_macro:
        hm = xm.transpose(-1, -2)
        for d in arch.macro:
            hm = _hidden(d, V, xm if d.first else hm, keep_col, cache)
        if hm.dim() != hf.dim():
            b, n = V.gamma.shape[0], x.shape[-2]
            hm, hf = hm.expand(b, hm.shape[-2], n), hf.expand(b, hf.shape[-2], n)
        z = torch.cat([hm, hf], dim=-2)
    else:
        z = hf
    k = arch.width
    if keep_col is not None:
        assert cache is not None
        assert zbuf is not None and moving is not None
        b, n = zbuf.shape[0], zbuf.shape[2]
        z = z * keep_col[:, arch.out_drop_col:arch.out_drop_col + k]
        cache.inp[arch.out.i] = zbuf
        if not arch.bn:
            zbuf[:, :k] = z
            return torch.bmm(zbuf.transpose(1, 2), V.w_aug)  # (B, n, m)
        z = z.reshape(1, b * k, n)
        gamma = V.gamma.reshape(-1)
        zn, mean, invstd = torch.ops.aten.native_batch_norm(z, gamma, V.beta.reshape(-1), None, None, True, 0.0,
                                                            _BN_EPS)
        # Keras' moving averages (momentum 0.99) of the batch mean and the biased batch variance
        moving[0].lerp_(mean.view(b, k), 1.0 - _BN_MOMENTUM)
        moving[1].lerp_(invstd.view(b, k).pow(-2).sub_(_BN_EPS), 1.0 - _BN_MOMENTUM)
        zbuf[:, :k] = zn.view(b, k, n)
        cache.bn_in, cache.bn_mean, cache.bn_invstd, cache.gamma = z, mean, invstd, gamma
        return torch.bmm(zbuf.transpose(1, 2), V.w_aug)  # (B, n, m)
    if not arch.bn:
        return torch.matmul(z.transpose(1, 2), V.w[arch.out.i]) + V.b[arch.out.i]
    assert rs is not None
    scale = V.gamma * torch.rsqrt(rs[:, k:].unsqueeze(2) + _BN_EPS)
    z = torch.addcmul(V.beta - rs[:, :k].unsqueeze(2) * scale, z, scale)
    return torch.matmul(z.transpose(1, 2), V.w[arch.out.i]) + V.b[arch.out.i]


def _branch_backward(layers: list[_Dense], dh: torch.Tensor, C: _Cache, keep_col: torch.Tensor,
                     grads: dict[int, torch.Tensor]) -> None:
    for j in range(len(layers) - 1, -1, -1):
        d = layers[j]
        dz = torch.ops.aten.threshold_backward(dh, C.out[d.i], 0.0)  # relu'
        gw = torch.bmm(dz, C.inp[d.i] if d.first else C.inp[d.i].transpose(1, 2))
        grads[d.w_off] = gw if d.mask is None else gw.mul_(d.mask)
        grads[d.b_off] = dz.sum(2)
        if j:
            dh = torch.bmm(C.w[d.i].transpose(1, 2), dz).mul_(keep_col[:, d.drop_col:d.drop_col + d.n_in])


def _backward(arch: _Arch, V: _Views, C: _Cache, dout: torch.Tensor, keep_col: torch.Tensor) -> torch.Tensor:
    """Gradient (B, P) of the training loss given d loss / d output ``dout`` (B, n, m), written out by hand
    (autograd's per-operation overhead costs more than the arithmetic at these sizes; the tests check it against
    autograd)."""
    b, n, _ = dout.shape
    grads: dict[int, torch.Tensor] = {}
    d = arch.out
    grads[d.w_off] = torch.bmm(C.inp[d.i], dout)  # (B, k + 1, m): output kernel and bias
    dzn = torch.bmm(V.w[d.i], dout.transpose(1, 2))  # (B, k, n)
    k = arch.width
    if arch.bn:
        dz, dgamma, dbeta = torch.ops.aten.native_batch_norm_backward(
            dzn.view(1, b * k, n), C.bn_in, C.gamma, None, None, C.bn_mean, C.bn_invstd, True, _BN_EPS,
            [True, True, True])
        grads[arch.gamma_off], grads[arch.beta_off] = dgamma, dbeta
        dz = dz.view(b, k, n)
    else:
        dz = dzn
        grads[arch.gamma_off] = grads[arch.beta_off] = torch.zeros(b, k)
    dz = dz.mul_(keep_col[:, arch.out_drop_col:arch.out_drop_col + k])
    if arch.macro:
        _branch_backward(arch.macro, dz[:, :arch.width_m], C, keep_col, grads)
    if arch.fwd:
        _branch_backward(arch.fwd, dz[:, arch.width_m:], C, keep_col, grads)
    return torch.cat([grads[o].reshape(b, -1) for o in sorted(grads)], dim=1)


# ---------------------------------------------------------------------------------------------------------------
# the batched training loop
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class _Config:
    lr: float
    momentum: float
    decay: float
    batch_size: int
    max_epochs: int
    patience: int
    min_delta: float
    val_penalty: bool  # the monitored validation loss includes the weight penalty (Keras' val_loss)


# columns of the per-model hyper-parameter matrix (B, 6) passed to _train
_DROP_M, _DROP_F, _L1_M, _L1_F, _L2_M, _L2_F = range(6)


@dataclass
class _Result:
    best_loss: np.ndarray  # (B,) best monitored validation loss (MSE, plus the penalty if cfg.val_penalty)
    theta: torch.Tensor  # (B, P) weights of the best epoch
    rs: torch.Tensor  # (B, 2k) batch-norm moving statistics of the best epoch
    iterations: np.ndarray  # (B,) optimizer steps taken (until the model stopped)
    n_epochs: np.ndarray  # (B,) epochs trained
    best_epoch: np.ndarray  # (B,) epoch (0-based) of the best weights
    history: np.ndarray  # (epochs run, B) monitored validation loss, NaN once a model has stopped


def _val_mse(arch: _Arch, theta: torch.Tensor, rs: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Validation MSE (B,) of every model in evaluation mode; x (n, F), y (n, m)."""
    pred = _forward(arch, _Views(arch, theta), x, rs=rs)
    return (pred - y).square_().mean(dim=(1, 2))


_Data = tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]


def _dropout_thresholds(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16-bit thresholds and keep-scales of dropout ``rates``: a unit is dropped when its draw in
    [-32768, 32768) is below the threshold, i.e. with probability round(65536 p) / 65536."""
    thr_int = np.round(np.asarray(rates, dtype=np.float64) * 65536.0)
    return (thr_int - 32768.0).astype(np.int16), (65536.0 / (65536.0 - thr_int)).astype(np.float32)


def _branch_thresholds(arch: _Arch, hyper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-model, per-branch dropout thresholds and keep-scales: row layout (B, 1, R), column layout (B, D, 1);
    a forward-rate row takes the forward-rate rate ``hyper[:, _DROP_F]``, every other row the macro rate."""
    thr_m, keep_m = _dropout_thresholds(hyper[:, _DROP_M])
    thr_f, keep_f = _dropout_thresholds(hyper[:, _DROP_F])
    thr_r = np.where(arch.fwd_row[None, None, :], thr_f[:, None, None], thr_m[:, None, None])
    inv_r = np.where(arch.fwd_row[None, None, :], keep_f[:, None, None], keep_m[:, None, None])
    thr_c = np.where(arch.fwd_col[None, :, None], thr_f[:, None, None], thr_m[:, None, None])
    inv_c = np.where(arch.fwd_col[None, :, None], keep_f[:, None, None], keep_m[:, None, None])
    return thr_r, inv_r, thr_c, inv_c


def _train(arch: _Arch, data: _Data, theta0: torch.Tensor, rs0: torch.Tensor, it0: np.ndarray, hyper: np.ndarray,
           cfg: _Config, seq: np.random.SeedSequence) -> _Result:
    """Train B independent networks as one batched model with per-model early stopping (Keras semantics).

    ``data`` holds the scaled training rows (n_train, F) and targets (n_train, m) as float32 arrays, and the
    validation rows and targets as tensors. ``theta0`` (B, P), ``rs0`` (B, 2 k) and ``it0`` (B,) are the initial
    weights, batch-norm moving statistics and optimizer iteration counts; ``hyper`` (B, 6) the dropout rates, L1
    and L2 penalties of every model's macro part and forward-rate part (columns ``_DROP_M .. _L2_F``). A dropout
    layer takes the rate of the branch its input comes from; the penalty of a hidden kernel is
    ``l1 sum |w| + l2 sum w^2`` with its branch's factors (Keras ``regularizers.l1_l2``).

    Keras semantics: the monitored validation loss is the evaluation-mode MSE plus, if ``cfg.val_penalty``, the
    weight penalty (Keras adds the regularization losses to ``val_loss``); ``ModelCheckpoint(save_best_only=True)``
    keeps the weights of every strict improvement, ``EarlyStopping`` counts epochs without an improvement of more
    than ``min_delta`` and stops after ``patience`` of them.
    """
    x_tr, y_tr, x_va, y_va = data
    n_b = theta0.shape[0]
    n_tr = len(x_tr)
    k, m = arch.width, arch.n_out
    n_row, n_colm = arch.row_hi - arch.row_lo, arch.n_col_drop
    rng = np.random.Generator(np.random.PCG64(seq))  # minibatch permutations and dropout masks
    bs = cfg.batch_size
    n_full, rem = divmod(n_tr, bs)
    sizes = [bs] * n_full + ([rem] if rem else [])  # rows of every minibatch
    n_steps = len(sizes)
    steps = torch.arange(n_steps, dtype=torch.float64)
    mom = cfg.momentum

    # working state of the models still running (rows are dropped when models stop)
    idx = torch.arange(n_b)
    theta = theta0.clone()
    vel = torch.zeros_like(theta)
    it = torch.as_tensor(np.asarray(it0, dtype=np.float64)).unsqueeze(1)
    hyper = np.asarray(hyper, dtype=np.float64).reshape(n_b, 6)
    thr_r, inv_r, thr_c, inv_c = _branch_thresholds(arch, hyper)
    # per-model L1 and L2 factors on every parameter (zero off the hidden kernels)
    pen_f = arch.pen_fwd.unsqueeze(0)
    pen_m = (arch.pen_mask - arch.pen_fwd).unsqueeze(0)
    hp = torch.as_tensor(hyper, dtype=torch.float32)
    lam1 = hp[:, _L1_M:_L1_M + 1] * pen_m + hp[:, _L1_F:_L1_F + 1] * pen_f
    lam2 = hp[:, _L2_M:_L2_M + 1] * pen_m + hp[:, _L2_F:_L2_F + 1] * pen_f
    base = np.broadcast_to(np.arange(n_tr, dtype=np.int64), (n_b, n_tr)).copy()

    # bookkeeping of all models
    best = torch.full((n_b,), math.inf, dtype=torch.float64)  # ModelCheckpoint: best loss so far
    best_es = best.clone()  # EarlyStopping's reference loss (moves only by more than min_delta)
    best_theta, best_rs = theta0.clone(), rs0.clone()
    iters = np.asarray(it0, dtype=np.float64).copy()
    n_epochs = np.zeros(n_b, dtype=np.int64)
    best_epoch = np.zeros(n_b, dtype=np.int64)
    history = np.full((cfg.max_epochs, n_b), np.nan)
    wait = torch.zeros(n_b, dtype=torch.int64)

    V = _Views(arch, theta)
    rm, rv = rs0[:, :k].contiguous(), rs0[:, k:].contiguous()  # batch-norm moving statistics
    n_layers = len(arch.layers)
    epoch = 0
    for epoch in range(cfg.max_epochs):
        b = theta.shape[0]
        perm = rng.permuted(base[:b], axis=1)  # every model its own shuffle
        # minibatches (b, rows, .) as contiguous blocks: one gather per epoch in step-major order
        xs, ys = [], []
        if n_full:
            pf = perm[:, :n_full * bs].reshape(b, n_full, bs).transpose(1, 0, 2)
            xs = list(torch.from_numpy(np.take(x_tr, pf, axis=0)).unbind(0))
            ys = list(torch.from_numpy(np.take(y_tr, pf, axis=0)).unbind(0))
        if rem:
            xs.append(torch.from_numpy(np.take(x_tr, perm[:, n_full * bs:], axis=0)))
            ys.append(torch.from_numpy(np.take(y_tr, perm[:, n_full * bs:], axis=0)))
        zbufs = {r: torch.ones(b, k + 1, r) for r in sizes}
        lrs = (cfg.lr / (1.0 + cfg.decay * (it + steps))).float().T.unsqueeze(2).unbind(0)  # Keras decay, (b, 1)
        q = max(1, _MASK_CHUNK // max(b * bs * (n_row + n_colm), 1))  # minibatches per chunk of dropout masks
        keep_rows: list[torch.Tensor | None] = []
        keep_cols: list[torch.Tensor] = []
        for s in range(n_steps):
            n = sizes[s]
            if s % q == 0:  # dropout masks of the next q minibatches (the last one padded to bs rows)
                nq = min(q, n_steps - s)
                if n_row:
                    bits = rng.integers(-32768, 32768, size=(nq, b, bs, n_row), dtype=np.int16)
                    keep_rows = list(torch.from_numpy(np.multiply(bits >= thr_r, inv_r, dtype=np.float32)).unbind(0))
                bits = rng.integers(-32768, 32768, size=(nq, b, n_colm, bs), dtype=np.int16)
                keep_cols = list(torch.from_numpy(np.multiply(bits >= thr_c, inv_c, dtype=np.float32)).unbind(0))
            kc = keep_cols[s % q]
            kr = keep_rows[s % q] if n_row else None
            if n < bs:
                kc = kc[:, :, :n]
                kr = None if kr is None else kr[:, :n]
            C = _Cache(n_layers)
            out = _forward(arch, V, xs[s], keep=(kr, kc), cache=C, zbuf=zbufs[n], moving=(rm, rv))
            dout = out.sub_(ys[s]).mul_(2.0 / (n * m))  # d MSE / d output
            g = _backward(arch, V, C, dout, kc)
            g.addcmul_(lam1, torch.sign(theta)).addcmul_(lam2, theta, value=2.0)  # d/dw (l1 |w| + l2 w^2)
            g.mul_(lrs[s])
            vel.mul_(mom).sub_(g)  # Keras SGD: v = momentum v - lr g
            theta.add_(vel, alpha=mom).sub_(g)  # Nesterov: w += momentum v - lr g
        it += n_steps
        # validation MSE of every model (evaluation mode) and Keras EarlyStopping bookkeeping
        rs = torch.cat([rm, rv], dim=1)
        vl = _val_mse(arch, theta, rs, x_va, y_va).double()
        if cfg.val_penalty:
            vl += (lam1 * theta.abs()).sum(1).double() + (lam2 * theta.square()).sum(1).double()
        gi = idx.numpy()
        history[epoch, gi] = vl.numpy()
        n_epochs[gi] = epoch + 1
        iters[gi] = it[:, 0].numpy()
        saved = vl < best[idx]  # ModelCheckpoint(save_best_only=True): a strict improvement
        if bool(saved.any()):
            imp = idx[saved]
            best[imp] = vl[saved]
            best_theta[imp] = theta[saved]
            best_rs[imp] = rs[saved]
            best_epoch[imp.numpy()] = epoch
        improved = vl < best_es[idx] - cfg.min_delta  # EarlyStopping: an improvement of more than min_delta
        best_es[idx[improved]] = vl[improved]
        w = torch.where(improved, 0, wait[idx] + 1)
        wait[idx] = w
        stop = (w >= cfg.patience) & (epoch > 0)  # Keras: wait >= patience and epoch > 0
        if bool(stop.all()):
            break
        if bool(stop.any()):  # stopped models leave the working batch; their snapshots are final
            run = ~stop
            idx, theta, vel, rm, rv, it = idx[run], theta[run], vel[run], rm[run], rv[run], it[run]
            lam1, lam2 = lam1[run], lam2[run]
            rn = run.numpy()
            thr_r, inv_r, thr_c, inv_c = thr_r[rn], inv_r[rn], thr_c[rn], inv_c[rn]
            V = _Views(arch, theta)
    return _Result(best.numpy(), best_theta, best_rs, iters, n_epochs, best_epoch, history[:epoch + 1])


@contextlib.contextmanager
def _torch_mode(grad: bool = False) -> Iterator[None]:
    """Autograd off unless ``grad``, and at most ``_MAX_THREADS`` intra-op threads: the operations are small, more
    threads only add synchronisation. The batched kernels split work across models, so results do not depend on
    the thread count (checked for 1 and 2 threads). Previous settings are restored."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(min(n_threads, _MAX_THREADS))
    try:
        with torch.inference_mode(False), torch.set_grad_enabled(grad):
            yield
    finally:
        torch.set_num_threads(n_threads)


# ---------------------------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------------------------

class SeedEnsembleNet(RegressorMixin, BaseEstimator):
    """Seed ensemble of feed-forward networks, all seeds and hyper-parameters trained as one batched model.

    The networks, training recipe and ensemble of Bianchi, Buechner and Tamoni (2021, RFS 34(2), Section 2.3 and
    Internet Appendix); see the module docstring for the batched implementation and every deviation from their
    Keras code.

    Parameters
    ----------
    n_fwd:
        The first ``n_fwd`` columns of ``X`` are the forward rates, the remaining columns macro series.
    fwd_hidden:
        Hidden layers of the forward-rate network, e.g. ``(3,)`` or ``(5, 4, 3)``; ``()`` lets the scaled forwards
        join the output block directly (BBT's macro networks "with forwards").
    macro_hidden:
        Hidden layers of the macro network (dense on all macro columns). ``()`` without macro columns gives a
        forward-rate-only network; ``()`` with macro columns (and no ``groups``) lets the scaled macro series join
        the output block directly.
    groups:
        Group label of every macro column (length ``n_macro``), e.g. the 8 McCracken-Ng groups: builds the
        group-ensemble network, one sub-network with hidden layers ``group_hidden`` per group (BBT: a single
        layer of one node per group), realised as block-diagonal masked layers. Excludes ``macro_hidden``.
    group_hidden:
        Hidden layers of every group sub-network.
    n_seeds, n_keep:
        Networks trained (BBT: 100, seeds 0..99) and kept for the ensemble forecast (BBT: 10), those with the
        lowest validation loss (authors' replication code, ``nMC = 100``, ``nAvg = 10``).
    dropout_grid, penalty_grid:
        Grid of dropout rates and L1 penalties searched for every seed (authors' replication code:
        ``{'Dropout': [0.1, 0.3, 0.5], 'l1l2': [0.01, 0.001]}``).
    l2_penalty:
        L2 factor of every hidden kernel. BBT's code calls Keras' ``regularizers.l1_l2(l1l2penal)``, whose second
        argument keeps its Keras 2 default ``l2=0.01``: the grid value is the L1 factor and L2 is 0.01 throughout
        (default). ``None`` sets L2 equal to the L1 factor (``l1_l2(l, l)``).
    fwd_dropout, fwd_penalty, fwd_l2_penalty:
        Dropout rate, L1 and L2 factors of the forward-rate branch (its inputs, deeper layers and its units in the
        joint block) instead of the grid's values (and ``l2_penalty``); ``None`` (default) uses the same values as
        the rest of the network. :func:`~bondpremia.models.forecast.estimators.make_model` sets the values of
        BBT's forward-rate networks.
    y_scale:
        The networks are trained on ``y * y_scale``; forecasts, member forecasts and input gradients are divided by
        it again, so the caller's units go in and come out. The recipe (penalties, learning rate, ``min_delta``) is
        not scale-free: it was set by BBT for excess returns in percent, so with targets in decimals (the library's
        unit) the default 100 trains in percent. With decimal targets and no scaling the data loss (about 4e-3)
        is tens of times smaller than the weight penalty and the networks do not fit.
    lr, momentum, decay, batch_size:
        Nesterov SGD with the Keras learning-rate decay ``lr / (1 + decay * iterations)`` (authors' code: 0.01,
        0.9, 0.01, 32; :func:`~bondpremia.models.forecast.estimators.make_model` sets each network's own rate).
    max_epochs, patience, min_delta:
        Early stopping on the validation loss (BBT: 500 epochs, patience 20, ``min_delta`` 1e-6 in the squared
        units of ``y * y_scale``); the weights of the best epoch (``ModelCheckpoint(save_best_only=True)``) are
        restored.
    val_penalty:
        The monitored validation loss includes the weight penalty, as Keras' ``val_loss`` does (default); ``False``
        monitors the plain validation MSE.
    val_fraction:
        Validation block: the last ``n - int((1 - val_fraction) n)`` rows in time order (Keras'
        ``validation_split``; BBT: 15%).
    output_init:
        Initializer of the output kernel: ``"he_normal"`` (authors' code) or ``"glorot_uniform"`` (Keras' default).
    bias_init:
        Initializer of the biases: ``"zeros"`` (Keras' default; the authors' group-ensemble networks) or
        ``"he_normal"`` (the authors' forward-rate networks draw every bias he_normal).
    batch_norm:
        Batch-normalise the joint block before the output layer (the authors' macro and group-ensemble networks).
        ``False`` gives ``Dropout -> Dense(linear)`` after the last hidden layer, as in the authors' forward-rate
        networks (their batch normalization is commented out).
    retrain_best:
        After a re-tuning grid search, train every seed's chosen grid point again from its initial weights and use
        that fit (the authors' ``NNGridSearchWrapper`` fits the best model again). ``False`` keeps the grid fit.
    train_refits:
        ``False``: a fit with ``retune=False`` trains nothing; it re-fits the input scaling on the new rows and keeps
        the networks, validation losses and ensemble of the last re-tuning (the authors' sample code: "to ease the
        computational burden the model weights as per the last hyper-parameter search are used").
    warm_start, retune:
        ``retune=True`` trains every seed on every grid point from fresh initial weights and chooses the
        hyper-parameters. ``retune=False`` on a fitted model trains only the ``n_seeds`` networks with each seed's
        previously chosen (dropout, lambda): from the weights of the last re-tuning fit if ``warm_start`` (BBT
        continue training the model saved at the last re-tuning), else from fresh initial weights. Without a
        previous fit ``retune=False`` behaves as ``retune=True``.
    seed:
        Seed of every random number (initial weights, shuffling, dropout); the global RNGs are not touched. Seed
        ``s`` of the ensemble draws the same initial weights at every fit, as BBT's seeds ``no = 0..99`` do.
    batched:
        ``False`` trains the networks one at a time (a Python loop of batch-size-one models): only for measuring
        the speed-up of the batched loop; results are of the same kind but not identical.

    Attributes
    ----------
    val_loss_ : ndarray (n_seeds,)
        Best monitored validation loss of every seed's final fit, in the units of ``y * y_scale``.
    chosen_params_ : ndarray (n_seeds, 2)
        Chosen (dropout, L1 penalty) of every seed.
    kept_ : ndarray (n_keep,)
        Seeds in the ensemble, by increasing validation loss.
    grid_val_loss_ : ndarray (n_seeds, n_grid)
        Best validation loss of every seed and grid point ``itertools.product(dropout_grid, penalty_grid)``, from
        the grid search of the last re-tuning fit.
    history_ : ndarray (epochs run, n_models)
        Validation loss of every model trained in the last run per epoch (NaN after it stopped): the re-training of
        the chosen grid points (model ``s`` is seed ``s``), or with ``retrain_best=False`` the grid search (model
        ``s * n_grid + j`` is seed ``s`` at grid point ``j``), or a refit (model ``s`` is seed ``s``).
    n_epochs_, best_epoch_ : ndarray (n_models,)
        Epochs trained and epoch (0-based) of the restored weights of every model of ``history_``.
    iterations_ : ndarray (n_seeds,)
        Optimizer steps taken by every seed's network so far (drives the decay schedule of warm-started refits).
    n_train_, n_val_ : int
        Rows used for training and for validation.

    Notes
    -----
    :meth:`predict_members` returns the forecasts of the individual seeds and :meth:`input_gradients` the
    gradients of the ensemble forecast with respect to the raw inputs. Fitting and prediction use at most four
    intra-op threads (restored afterwards). BBT's headline design, one hidden layer of 3 nodes on 10 forwards and 7
    targets, 100 seeds keeping 10, takes about 2.5 s per re-tuning fit (600 networks) and 0.2-1.5 s per
    warm-started refit on 400 rows of a 2-core CPU.
    """

    _arch_: _Arch
    _theta_: torch.Tensor  # (n_seeds, P) best weights of every seed's chosen network
    _rs_: torch.Tensor  # (n_seeds, 2 k) their batch-norm moving statistics
    _theta_tune_: torch.Tensor  # the same at the last re-tuning fit: the start of warm refits
    _rs_tune_: torch.Tensor
    iterations_: np.ndarray
    chosen_params_: np.ndarray
    y_scale_: float
    _val_loss_tune_: np.ndarray

    def __init__(
        self,
        n_fwd: int,
        fwd_hidden: tuple[int, ...] = (3,),
        macro_hidden: tuple[int, ...] = (),
        groups: Any = None,
        group_hidden: tuple[int, ...] = (1,),
        n_seeds: int = 100,
        n_keep: int = 10,
        dropout_grid: tuple[float, ...] = (0.1, 0.3, 0.5),
        penalty_grid: tuple[float, ...] = (0.01, 0.001),
        l2_penalty: float | None = 0.01,
        fwd_dropout: float | None = None,
        fwd_penalty: float | None = None,
        fwd_l2_penalty: float | None = None,
        y_scale: float = 100.0,
        lr: float = 0.01,
        momentum: float = 0.9,
        decay: float = 0.01,
        batch_size: int = 32,
        max_epochs: int = 500,
        patience: int = 20,
        min_delta: float = 1e-6,
        val_penalty: bool = True,
        val_fraction: float = 0.15,
        output_init: str = "he_normal",
        bias_init: str = "zeros",
        batch_norm: bool = True,
        retrain_best: bool = True,
        train_refits: bool = True,
        warm_start: bool = False,
        retune: bool = True,
        seed: int = 0,
        batched: bool = True,
    ) -> None:
        self.n_fwd = n_fwd
        self.fwd_hidden = fwd_hidden
        self.macro_hidden = macro_hidden
        self.groups = groups
        self.group_hidden = group_hidden
        self.n_seeds = n_seeds
        self.n_keep = n_keep
        self.dropout_grid = dropout_grid
        self.penalty_grid = penalty_grid
        self.l2_penalty = l2_penalty
        self.fwd_dropout = fwd_dropout
        self.fwd_penalty = fwd_penalty
        self.fwd_l2_penalty = fwd_l2_penalty
        self.y_scale = y_scale
        self.lr = lr
        self.momentum = momentum
        self.decay = decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.val_penalty = val_penalty
        self.val_fraction = val_fraction
        self.output_init = output_init
        self.bias_init = bias_init
        self.batch_norm = batch_norm
        self.retrain_best = retrain_best
        self.train_refits = train_refits
        self.warm_start = warm_start
        self.retune = retune
        self.seed = seed
        self.batched = batched

    # -- validation ---------------------------------------------------------------------------------------------

    @staticmethod
    def _layers(value: Any, name: str, allow_empty: bool = True) -> tuple[int, ...]:
        try:
            sizes = tuple(int(h) for h in value)
        except (TypeError, ValueError):
            raise InputError("must be a tuple of layer sizes, e.g. (3,) or (5, 4, 3)", column=name) from None
        if any(h < 1 for h in sizes) or (not allow_empty and not sizes):
            raise InputError(f"layer sizes must be positive integers, got {value!r}", column=name)
        return sizes

    def _check_params(self) -> None:
        def positive_int(name: str, minimum: int = 1) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < minimum:
                raise InputError(f"must be an integer >= {minimum}, got {v!r}", column=name)

        for name in ("n_seeds", "n_keep", "batch_size", "max_epochs"):
            positive_int(name)
        positive_int("patience", 0)
        positive_int("seed", 0)
        if self.n_keep > self.n_seeds:
            raise InputError(f"n_keep={self.n_keep} exceeds n_seeds={self.n_seeds}", column="n_keep")
        if not 0.0 < float(self.val_fraction) < 1.0:
            raise InputError(f"must lie in (0, 1), got {self.val_fraction!r}", column="val_fraction")
        for name in ("lr", "momentum", "decay", "min_delta"):
            try:
                v = float(getattr(self, name))
            except (TypeError, ValueError):
                raise InputError(f"must be a number, got {getattr(self, name)!r}", column=name) from None
            if not np.isfinite(v) or v < 0 or (name == "lr" and v == 0) or (name == "momentum" and v >= 1):
                raise InputError(f"must be finite and {'positive' if name == 'lr' else 'non-negative'}"
                                 f"{' and below 1' if name == 'momentum' else ''}, got {v!r}", column=name)
        grid_d = np.asarray(self.dropout_grid, dtype=float).reshape(-1)
        grid_p = np.asarray(self.penalty_grid, dtype=float).reshape(-1)
        if grid_d.size == 0 or not ((grid_d >= 0) & (grid_d < 1)).all():
            raise InputError("dropout rates must lie in [0, 1)", column="dropout_grid")
        if grid_p.size == 0 or not (np.isfinite(grid_p) & (grid_p >= 0)).all():
            raise InputError("penalties must be finite and non-negative", column="penalty_grid")
        for name, upper in (("l2_penalty", math.inf), ("fwd_penalty", math.inf), ("fwd_l2_penalty", math.inf),
                            ("fwd_dropout", 1.0)):
            v = getattr(self, name)
            if v is None:
                continue
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise InputError(f"must be a number or None, got {v!r}", column=name) from None
            if not (np.isfinite(fv) and 0.0 <= fv < upper):
                raise InputError(f"must be finite, non-negative{' and below 1' if upper == 1.0 else ''}, got {v!r}",
                                 column=name)
        try:
            ys = float(self.y_scale)
        except (TypeError, ValueError):
            raise InputError(f"must be a positive number, got {self.y_scale!r}", column="y_scale") from None
        if not (np.isfinite(ys) and ys > 0):
            raise InputError(f"must be a positive number, got {self.y_scale!r}", column="y_scale")
        if self.output_init not in ("he_normal", "glorot_uniform"):
            raise InputError(f"must be 'he_normal' or 'glorot_uniform', got {self.output_init!r}",
                             column="output_init")
        if self.bias_init not in ("zeros", "he_normal"):
            raise InputError(f"must be 'zeros' or 'he_normal', got {self.bias_init!r}", column="bias_init")

    def _check_X(self, X: Any, n_features: int | None = None) -> FloatArray:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("X must be numeric", column="X") from None
        if arr.ndim != 2:
            raise InputError(f"X must be 2-D (rows x features), got shape {arr.shape}", column="X")
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(f"X holds a missing or infinite value in column {int(col)}", column="X", row=int(row))
        if n_features is not None and arr.shape[1] != n_features:
            raise InputError(f"X has {arr.shape[1]} columns, the model was fitted on {n_features}", column="X")
        return arr

    def _prepare(self, X: Any, y: Any) -> tuple[FloatArray, FloatArray, _Arch]:
        self._check_params()
        Xa = self._check_X(X)
        n, n_feat = Xa.shape
        try:
            Y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("y must be numeric", column="y") from None
        if Y.ndim not in (1, 2) or len(Y) != n:
            raise InputError(f"y must be (n,) or (n, m) with n = {n} rows like X, got shape {Y.shape}", column="y")
        if not np.isfinite(Y).all():
            raise InputError("y holds a missing or infinite value", column="y",
                             row=int(np.argwhere(~np.isfinite(Y))[0][0]))
        if n < 20:
            raise InputError(f"{n} rows are too few to train and validate a network (at least 20)", column="X")
        n_fwd = self.n_fwd
        if isinstance(n_fwd, bool) or not isinstance(n_fwd, int | np.integer) or not 1 <= n_fwd <= n_feat:
            raise InputError(f"must be an integer between 1 and the {n_feat} columns of X, got {n_fwd!r}",
                             column="n_fwd")
        n_macro = n_feat - int(n_fwd)
        fwd_hidden = self._layers(self.fwd_hidden, "fwd_hidden")
        macro_hidden = self._layers(self.macro_hidden, "macro_hidden")
        codes = None
        if self.groups is not None:
            labels = np.asarray(self.groups).reshape(-1)
            if labels.size != n_macro:
                raise InputError(f"has {labels.size} labels for the {n_macro} macro columns of X", column="groups")
            if n_macro == 0:
                raise InputError("a group-ensemble network needs macro columns", column="groups")
            if macro_hidden:
                raise InputError("give either groups (group-ensemble network) or macro_hidden, not both",
                                 column="macro_hidden")
            codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
            self._layers(self.group_hidden, "group_hidden", allow_empty=False)
        elif macro_hidden and n_macro == 0:
            raise InputError("macro_hidden is given but X has no macro columns (n_fwd = all columns)",
                             column="macro_hidden")
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        if Y2.shape[1] == 0:
            raise InputError("y has no columns", column="y")
        arch = _build_arch(int(n_fwd), n_macro, Y2.shape[1], fwd_hidden, macro_hidden, codes,
                           self._layers(self.group_hidden, "group_hidden"), bool(self.batch_norm))
        return Xa, Y2, arch

    # -- fitting ------------------------------------------------------------------------------------------------

    def _scale(self, X: FloatArray) -> torch.Tensor:
        return torch.from_numpy(((X - self.x_mid_) * self.x_scale_).astype(np.float32))

    def _config(self) -> _Config:
        return _Config(float(self.lr), float(self.momentum), float(self.decay), int(self.batch_size),
                       int(self.max_epochs), int(self.patience), float(self.min_delta), bool(self.val_penalty))

    def _hyper(self, dropout: np.ndarray, l1: np.ndarray) -> np.ndarray:
        """Per-model hyper-parameter matrix (B, 6) for :func:`_train` from the grid values of every model."""
        dropout, l1 = np.asarray(dropout, dtype=np.float64), np.asarray(l1, dtype=np.float64)
        drop_f = dropout if self.fwd_dropout is None else np.full_like(dropout, float(self.fwd_dropout))
        l1_f = l1 if self.fwd_penalty is None else np.full_like(l1, float(self.fwd_penalty))
        if self.l2_penalty is None:  # l1_l2(l, l)
            l2_m, l2_f = l1, l1_f
        else:  # l1_l2(l): Keras' default l2 = 0.01 (or the given value) on every hidden kernel
            l2_m = l2_f = np.full_like(l1, float(self.l2_penalty))
        if self.fwd_l2_penalty is not None:
            l2_f = np.full_like(l1, float(self.fwd_l2_penalty))
        return np.column_stack([dropout, drop_f, l1, l1_f, l2_m, l2_f])

    def fit(self, X: Any, y: Any) -> SeedEnsembleNet:
        """Fit the ensemble on ``X`` (n, n_fwd + n_macro) and ``y`` (n,) or (n, m), rows in time order.

        The last ``n_val = n - int((1 - val_fraction) n)`` rows are the validation block (Keras'
        ``validation_split``). Inputs are MinMax-scaled to [-1, 1] on all ``n`` rows (BBT scale before Keras splits
        off the validation block); constant columns are scaled to 0; targets are multiplied by ``y_scale``. With
        ``retune=True`` (or on a first fit) every seed is trained at every grid point, chooses the grid point with
        the lowest validation loss and (``retrain_best``) trains it again from its initial weights; with
        ``retune=False`` only each seed's chosen network is trained, warm-started if ``warm_start``.
        """
        Xa, Y, arch = self._prepare(X, y)
        Y = Y * float(self.y_scale)
        n = len(Xa)
        n_train = int(n * (1.0 - float(self.val_fraction)))
        if n_train < 2 or n - n_train < 1:
            raise InputError(f"{n} rows leave no room for a validation block of {self.val_fraction:.0%}",
                             column="val_fraction")
        warm = (not self.retune) and hasattr(self, "_theta_")
        if warm and (self._arch_.key != arch.key or len(self._theta_) != self.n_seeds
                     or self.y_scale_ != float(self.y_scale)):
            raise InputError("the architecture, the number of columns, n_seeds or y_scale changed since the last "
                             "fit; refit with retune=True", column="retune")
        lo, hi = Xa.min(axis=0), Xa.max(axis=0)
        rng_ = hi - lo
        self.x_mid_ = 0.5 * (hi + lo)
        self.x_scale_ = np.divide(2.0, rng_, out=np.zeros_like(rng_), where=rng_ > 0)
        Xs = self._scale(Xa)
        if warm and not self.train_refits:
            # the authors' sample code between re-tunings: the weights of the last re-tuning, inputs re-scaled
            self._theta_, self._rs_ = self._theta_tune_, self._rs_tune_
            self.val_loss_ = self._val_loss_tune_
            self.kept_ = np.argsort(self.val_loss_, kind="stable")[:int(self.n_keep)]
            self.n_train_, self.n_val_ = n_train, n - n_train
            return self
        Yt = torch.from_numpy(Y.astype(np.float32))
        data = (Xs[:n_train].numpy(), Yt[:n_train].numpy(), Xs[n_train:], Yt[n_train:])
        cfg = self._config()
        seq = np.random.SeedSequence(int(self.seed))
        n_s = int(self.n_seeds)

        if warm:
            params = np.asarray(self.chosen_params_, dtype=np.float64)
            if self.warm_start:
                # BBT's code reloads the model saved at the last re-tuning and compiles it with a new optimizer
                theta0, rs0, it0 = self._theta_tune_.clone(), self._rs_tune_.clone(), np.zeros(n_s)
            else:
                theta0, rs0, it0 = self._fresh(arch, seq, n_s), _init_stats(arch, n_s), np.zeros(n_s)
            res = self._run(arch, data, theta0, rs0, it0, self._hyper(params[:, 0], params[:, 1]), cfg, seq, 1)
            chosen = np.arange(n_s)
        else:
            grid = np.array(list(itertools.product(np.asarray(self.dropout_grid, dtype=float).reshape(-1),
                                                   np.asarray(self.penalty_grid, dtype=float).reshape(-1))))
            n_g = len(grid)
            init = self._fresh(arch, seq, n_s)
            res = self._run(arch, data, init.repeat_interleave(n_g, dim=0), _init_stats(arch, n_s * n_g),
                            np.zeros(n_s * n_g), self._hyper(np.tile(grid[:, 0], n_s), np.tile(grid[:, 1], n_s)),
                            cfg, seq, 1)
            self.grid_val_loss_ = res.best_loss.reshape(n_s, n_g)
            pick = np.argmin(self.grid_val_loss_, axis=1)
            chosen = np.arange(n_s) * n_g + pick
            self.chosen_params_ = grid[pick]
            if self.retrain_best and n_g > 1:
                # the authors' NNGridSearchWrapper fits the best grid point again from the seed's initial weights
                # (with its own random stream here) and uses that fit
                res = self._run(arch, data, init, _init_stats(arch, n_s), np.zeros(n_s),
                                self._hyper(grid[pick, 0], grid[pick, 1]), cfg, seq, 2)
                chosen = np.arange(n_s)
        self._arch_ = arch
        self._theta_ = res.theta[chosen].clone()
        self._rs_ = res.rs[chosen].clone()
        if not warm:
            self._theta_tune_, self._rs_tune_ = self._theta_, self._rs_
        self.iterations_ = res.iterations[chosen]
        self.val_loss_ = res.best_loss[chosen]
        self.kept_ = np.argsort(self.val_loss_, kind="stable")[:int(self.n_keep)]
        if not warm:
            self._val_loss_tune_ = self.val_loss_
        if not np.isfinite(self.val_loss_[self.kept_]).all():
            bad = int((~np.isfinite(self.val_loss_)).sum())
            raise ConvergenceError(
                f"training diverged: the validation loss of {bad} of {n_s} seeds is not finite. The recipe expects "
                f"targets of the size of excess returns in percent: pass y in decimals with y_scale=100 (the "
                f"default), y in percent with y_scale=1, or lower lr (now {self.lr})")
        self.history_ = res.history
        self.n_epochs_ = res.n_epochs
        self.best_epoch_ = res.best_epoch
        self.n_train_, self.n_val_ = n_train, n - n_train
        self.n_features_in_ = Xa.shape[1]
        self.y_scale_ = float(self.y_scale)
        self._y1d = np.asarray(y).ndim == 1
        return self

    def _fresh(self, arch: _Arch, seq: np.random.SeedSequence, n_s: int) -> torch.Tensor:
        """Initial weights of every seed (n_seeds, P), each from its own generator (independent of n_seeds)."""
        out = torch.empty(n_s, arch.n_params)
        for s in range(n_s):
            child = np.random.SeedSequence(seq.entropy, spawn_key=(0, s))
            gen = torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0] >> 1))
            out[s] = _init_theta(arch, gen, self.output_init, self.bias_init)
        return out

    def _run(self, arch: _Arch, data: _Data, theta0: torch.Tensor, rs0: torch.Tensor, it0: np.ndarray,
             hyper: np.ndarray, cfg: _Config, seq: np.random.SeedSequence, stream: int) -> _Result:
        with _torch_mode():
            if self.batched:
                return _train(arch, data, theta0, rs0, it0, hyper, cfg,
                              np.random.SeedSequence(seq.entropy, spawn_key=(stream,)))
            parts = [_train(arch, data, theta0[i:i + 1], rs0[i:i + 1], it0[i:i + 1], hyper[i:i + 1], cfg,
                            np.random.SeedSequence(seq.entropy, spawn_key=(stream, i)))
                     for i in range(len(theta0))]
        n_ep = max(len(r.history) for r in parts)
        hist = np.full((n_ep, len(parts)), np.nan)
        for i, r in enumerate(parts):
            hist[:len(r.history), i] = r.history[:, 0]
        return _Result(np.concatenate([r.best_loss for r in parts]), torch.cat([r.theta for r in parts]),
                       torch.cat([r.rs for r in parts]), np.concatenate([r.iterations for r in parts]),
                       np.concatenate([r.n_epochs for r in parts]), np.concatenate([r.best_epoch for r in parts]),
                       hist)

    # -- prediction ---------------------------------------------------------------------------------------------

    def _members(self, Xs: torch.Tensor, which: np.ndarray) -> torch.Tensor:
        """Evaluation-mode outputs (k, n, m) of the seeds ``which`` for scaled inputs Xs (n, F)."""
        sel = torch.as_tensor(which, dtype=torch.int64)
        return _forward(self._arch_, _Views(self._arch_, self._theta_[sel]), Xs, rs=self._rs_[sel])

    def predict_members(self, X: Any, kept_only: bool = True) -> FloatArray:
        """Forecasts of the individual seeds (evaluation mode): (n_keep, n, m), or (n_seeds, n, m) with
        ``kept_only=False`` in seed order; the last axis is dropped when ``y`` was 1-D."""
        check_is_fitted(self, "_theta_")
        Xs = self._scale(self._check_X(X, self.n_features_in_))
        which = self.kept_ if kept_only else np.arange(len(self._theta_))
        with _torch_mode():
            out = self._members(Xs, which).double().numpy() / self.y_scale_
        return out[..., 0] if self._y1d else out

    def predict(self, X: Any) -> FloatArray:
        """Ensemble forecast: the mean of the ``n_keep`` kept seeds, (n, m) or (n,) when ``y`` was 1-D."""
        return self.predict_members(X).mean(axis=0)

    def input_gradients(self, X: Any) -> FloatArray:
        """Gradient of the ensemble forecast with respect to the raw (unscaled) inputs, (n, m, n_features).

        By automatic differentiation through the evaluation-mode networks and the MinMax scaling; evaluate at the
        sample means of the predictors for BBT's variable-importance measure. Constant training columns have a
        zero gradient.
        """
        check_is_fitted(self, "_theta_")
        Xa = self._check_X(X, self.n_features_in_)
        n_out = self._arch_.n_out
        with _torch_mode(grad=True):
            Xs = self._scale(Xa).requires_grad_(True)
            pred = self._members(Xs, self.kept_).mean(dim=0)  # (n, m)
            grads = [torch.autograd.grad(pred[:, j].sum(), Xs, retain_graph=j < n_out - 1)[0]
                     for j in range(n_out)]
        g = torch.stack(grads, dim=1).double().numpy()  # (n, m, F) w.r.t. the scaled inputs
        return g * (self.x_scale_[None, None, :] / self.y_scale_)
