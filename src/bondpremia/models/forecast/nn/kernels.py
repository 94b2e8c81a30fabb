"""The batched forward and backward passes of all networks, written out by hand.

The forward and backward passes are written out by hand on the batched ``(B, ., .)`` tensors (autograd is used
only for :meth:`~bondpremia.models.forecast.nn.SeedEnsembleNet.input_gradients`; the tests check the hand-written
gradient against autograd): every layer is one ``torch.bmm``/``baddbmm`` on a view of the flat parameter matrix
(:class:`_Views`). Every model has its own dropout masks (per-model arrays broadcast against the ``(B, ., .)``
activations) and its own batch-normalisation statistics (PyTorch's fused kernel on a ``(1, B k, rows)`` view: one
channel per model and unit).

Data, targets and outputs are in row layout (B, rows, columns) and hidden activations in column layout
(B, units, rows), so that every elementwise operation runs over contiguous memory (strided elementwise
operations on these small blocks cost several times more) and every product is one torch.bmm/baddbmm.

This is the only module of the package that uses private PyTorch operations (``torch.ops.aten``:
``native_batch_norm``, ``native_batch_norm_backward``, ``threshold_backward``); keep them here.
"""

from __future__ import annotations

from typing import Any

import torch

from bondpremia.models.forecast.nn.layout import _Arch, _Dense

_BN_MOMENTUM = 0.99  # Keras BatchNormalization defaults
_BN_EPS = 1e-3


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
