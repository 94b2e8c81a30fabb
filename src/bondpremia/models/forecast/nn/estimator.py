"""The scikit-learn estimator :class:`SeedEnsembleNet`: input checks, MinMax scaling, every seed's grid search,
the ensemble of the seeds with the lowest validation loss, warm-started refits, prediction and input gradients.

Random numbers come from a NumPy PCG64 generator seeded by ``seed`` (initial weights from one torch generator per
seed); global random states are never touched.

Where this follows the authors' Keras 2.2 code exactly (public copies of their ``NNFuncBib.py``; Keras'
``training.py`` of version 2.2):

* ``validation_split`` keeps the first ``int(n * 0.85)`` rows for training;
* the grid point chosen by ``NNGridSearchWrapper`` is fitted again from the seed's initial weights (Keras seeded
  with ``no``) and that fit is used;
* warm-started refits (``warm_start=True, retune=False``) start from each seed's best weights and batch-norm
  statistics of the last **re-tuning** fit with a fresh optimizer (iteration count and momentum at zero), as the
  authors' code reloads the model saved at the last re-tuning and compiles it with a new SGD; the inputs are
  re-scaled on the new training window. ``train_refits=False`` instead keeps the re-tuned networks and only
  re-scales the inputs (the authors' sample code);
* every seed draws the same initial weights at every fit (their seeds ``no = 0..99``).

Deviation (also stated where it applies):

* with ``retune=True`` every grid point of a seed starts from the same initial weights, drawn from that seed.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import torch

from bondpremia.errors import ConvergenceError, InputError
from bondpremia.models.forecast.estimators import _Base, validation_split
from bondpremia.models.forecast.nn.kernels import _forward, _Views
from bondpremia.models.forecast.nn.layout import _Arch, _build_arch, _init_stats, _init_theta
from bondpremia.models.forecast.nn.training import _Config, _Data, _Result, _torch_mode, _train

__all__ = ["SeedEnsembleNet"]

FloatArray = np.ndarray
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")  # set by scikit-learn's validate_data


class SeedEnsembleNet(_Base):
    """Seed ensemble of feed-forward networks, all seeds and hyper-parameters trained as one batched model.

    The networks, training recipe and ensemble of Bianchi, Buechner and Tamoni (2021, RFS 34(2), Section 2.3 and
    Internet Appendix); see the docstrings of the package :mod:`bondpremia.models.forecast.nn` and of its
    modules for the batched implementation and every deviation from their Keras code.

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
        ``validation_split``; BBT: 15%). A fit needs at least two training rows and one validation row.
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

    The estimator follows scikit-learn's contract as the other forecast models do (their base class; scikit-learn's
    ``check_estimator`` in ``tests/models/forecast/test_estimators.py``): ``X`` and ``y`` are checked by
    scikit-learn's ``validate_data``, and a refused input is an :class:`InputError` with scikit-learn's message that
    names ``X`` or ``y`` and the row (and column) of the first value that is not finite; values that are not numbers
    and sparse input are a ``TypeError``. A refused fit leaves a fitted model as it was.
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

    def _prepare(self, X: Any, y: Any) -> tuple[FloatArray, FloatArray, _Arch]:
        self._check_params()
        Xa, Y = self._check_xy(X, y)
        n_feat = Xa.shape[1]
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
        arch = _build_arch(int(n_fwd), n_macro, Y.shape[1], fwd_hidden, macro_hidden, codes,
                           self._layers(self.group_hidden, "group_hidden"), bool(self.batch_norm))
        return Xa, Y, arch

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
        before = {k: v for k, v in self.__dict__.items() if k in _INPUT_ATTRS}
        try:
            Xa, Y, arch = self._prepare(X, y)
            n = len(Xa)
            n_train = validation_split(n, float(self.val_fraction), keras=True)
            warm = (not self.retune) and hasattr(self, "_theta_")
            if warm and (self._arch_.key != arch.key or len(self._theta_) != self.n_seeds
                         or self.y_scale_ != float(self.y_scale)):
                raise InputError("the architecture, the number of columns, n_seeds or y_scale changed since the "
                                 "last fit; refit with retune=True", column="retune")
        except Exception:  # a refused fit leaves the model as it was (validate_data has reset n_features_in_)
            for k in _INPUT_ATTRS:
                self.__dict__.pop(k, None)
            self.__dict__.update(before)
            raise
        Y = Y * float(self.y_scale)
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
        self.y_scale_ = float(self.y_scale)
        self._remember_shape(y)
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

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_theta_")

    def _members(self, Xs: torch.Tensor, which: np.ndarray) -> torch.Tensor:
        """Evaluation-mode outputs (k, n, m) of the seeds ``which`` for scaled inputs Xs (n, F)."""
        sel = torch.as_tensor(which, dtype=torch.int64)
        return _forward(self._arch_, _Views(self._arch_, self._theta_[sel]), Xs, rs=self._rs_[sel])

    def predict_members(self, X: Any, kept_only: bool = True) -> FloatArray:
        """Forecasts of the individual seeds (evaluation mode): (n_keep, n, m), or (n_seeds, n, m) with
        ``kept_only=False`` in seed order; the last axis is dropped when ``y`` was 1-D."""
        Xs = self._scale(self._check(X))
        which = self.kept_ if kept_only else np.arange(len(self._theta_))
        with _torch_mode():
            out = self._members(Xs, which).double().numpy() / self.y_scale_
        return self._out(out)

    def predict(self, X: Any) -> FloatArray:
        """Ensemble forecast: the mean of the ``n_keep`` kept seeds, (n, m) or (n,) when ``y`` was 1-D."""
        return self.predict_members(X).mean(axis=0)

    def input_gradients(self, X: Any) -> FloatArray:
        """Gradient of the ensemble forecast with respect to the raw (unscaled) inputs, (n, m, n_features).

        By automatic differentiation through the evaluation-mode networks and the MinMax scaling; evaluate at the
        sample means of the predictors for BBT's variable-importance measure. Constant training columns have a
        zero gradient.
        """
        Xa = self._check(X)
        n_out = self._arch_.n_out
        with _torch_mode(grad=True):
            Xs = self._scale(Xa).requires_grad_(True)
            pred = self._members(Xs, self.kept_).mean(dim=0)  # (n, m)
            grads = [torch.autograd.grad(pred[:, j].sum(), Xs, retain_graph=j < n_out - 1)[0]
                     for j in range(n_out)]
        g = torch.stack(grads, dim=1).double().numpy()  # (n, m, F) w.r.t. the scaled inputs
        return g * (self.x_scale_[None, None, :] / self.y_scale_)
