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

**Everything here is one batched model** (no Python loop over seeds or grid points): the ``B = n_seeds x n_grid``
networks (600 in BBT's design) are trained together, and the forward and backward passes are written out by hand on
the batched tensors. The modules:

* :mod:`~bondpremia.models.forecast.nn.layout`: the architecture (``_Dense``, ``_Arch``, ``_build_arch``), i.e.
  the layout of every model's parameters as one row of a flat matrix ``theta`` (B, P) and of the dropout masks
  and penalties, and the initialisation (Keras' ``he_normal`` and ``glorot_uniform``, batch-norm statistics);
* :mod:`~bondpremia.models.forecast.nn.kernels`: the hand-written batched forward and backward passes
  (``_Views``, ``_Cache``, ``_hidden``, ``_forward``, ``_backward``), the only module that uses private PyTorch
  operations (``torch.ops.aten``);
* :mod:`~bondpremia.models.forecast.nn.training`: the batched training loop ``_train`` with per-model early
  stopping (``_Config``, ``_Result``, ``_val_mse``), the 16-bit dropout thresholds and ``_torch_mode`` (autograd
  and intra-op threads);
* :mod:`~bondpremia.models.forecast.nn.estimator`: the scikit-learn estimator :class:`SeedEnsembleNet` (input
  checks, scaling, grid search, ensemble, warm starts, prediction and input gradients).

Where this follows the authors' Keras 2.2 code exactly (public copies of their ``NNFuncBib.py``; Keras'
``regularizers.py``, ``training.py`` and ``callbacks.py`` of version 2.2), and every deviation from it, is stated in
the module concerned: the penalties, ``val_loss``, early stopping, 16-bit dropout and restored best weights in
:mod:`~bondpremia.models.forecast.nn.training`; the validation split, the refit of the chosen grid point, warm
starts and the initial weights of every seed in :mod:`~bondpremia.models.forecast.nn.estimator`.

PyTorch is the optional ``nn`` extra; importing this package without it raises an ImportError that says so.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (checked here, before any module of the package imports it)
except ImportError as exc:  # pragma: no cover - torch is the optional 'nn' extra
    raise ImportError("bondpremia.models.forecast.nn needs PyTorch: pip install 'bondpremia[nn]'") from exc

from bondpremia.models.forecast.nn.estimator import SeedEnsembleNet

__all__ = ["SeedEnsembleNet"]
