"""The batched training loop: B independent networks trained as one model, with per-model early stopping.

The ``B = n_seeds x n_grid`` networks (600 in BBT's design) are trained together (no Python loop over seeds or
grid points). Every model has its own minibatch permutation each epoch, its own dropout masks, dropout rate and
penalty (per-model arrays broadcast against the ``(B, ., .)`` activations), its own batch-normalisation
statistics, its own learning-rate schedule and momentum, its own early-stopping counter and its own best-weights
snapshot. A model whose patience is exhausted stops exactly as if its Keras training had ended: it leaves the
working batch at the end of that epoch, so its snapshot is final and the models still running do not pay for it.
The validation loss of all models is one batched evaluation per epoch. The minibatch permutations and dropout
masks come from a NumPy PCG64 generator seeded by the caller's seed sequence; global random states are never
touched. :func:`_torch_mode` sets autograd and the intra-op threads around training and prediction.

Where this follows the authors' Keras 2.2 code exactly (public copies of their ``NNFuncBib.py``; Keras'
``regularizers.py``, ``training.py`` and ``callbacks.py`` of version 2.2):

* ``regularizers.l1_l2(l)`` sets L1 = ``l`` and leaves L2 at its default 0.01 (``l2_penalty=0.01``); the penalty
  enters through its (sub)gradient ``l1 sign(w) + 2 l2 w``, added to the minibatch gradient;
* ``val_loss`` is the evaluation-mode MSE **plus** the weight penalty (Keras adds the regularization losses to the
  total loss of the test function too); EarlyStopping counts epochs without an improvement of more than
  ``min_delta`` and stops when the count reaches ``patience``; ModelCheckpoint saves every strict improvement.

Deviations (each also stated where it applies):

* dropout draws 16-bit random integers: a rate ``p`` is applied as ``round(65536 p) / 65536`` (0.1 becomes
  0.100006), which makes the random numbers, a large part of the cost of the batched loop, cheaper; the random
  streams are not TensorFlow's, so single networks differ from the authors' (the ensemble's statistics do not);
* the best weights are restored also when training reaches ``max_epochs`` (as ModelCheckpoint does).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bondpremia.models.forecast.nn.kernels import _backward, _Cache, _forward, _Views
from bondpremia.models.forecast.nn.layout import _Arch

_MASK_CHUNK = 4_000_000  # dropout-mask elements generated per call
_MAX_THREADS = 4


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
