"""Batched seed-ensemble networks (BBT 2021): the batched passes against single models and autograd, the group
layer against a loop over groups, Keras early-stopping semantics, learning known truths, the ensemble, warm starts,
input gradients, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy import sparse as scipy_sparse  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from bondpremia.errors import ConvergenceError, InputError  # noqa: E402
from bondpremia.models.forecast.nn import SeedEnsembleNet, kernels, layout, training  # noqa: E402

# unit-scale synthetic targets: trained as they are (y_scale=1)
FAST = dict(n_seeds=4, n_keep=2, dropout_grid=(0.1,), penalty_grid=(0.001,), max_epochs=60, patience=5, y_scale=1.0)


def make_arch(groups=None, fwd_hidden=(4, 2), macro_hidden=(3,), group_hidden=(2, 1), n_fwd=3, n_macro=5, m=2,
              bn=True):
    codes = None if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    return layout._build_arch(n_fwd, n_macro, m, fwd_hidden, () if groups is not None else macro_hidden, codes,
                              group_hidden, bn)


def random_state(arch, b, seed=0):
    """Random weights (masked entries zero), batch-norm parameters and moving statistics for b models."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.stack([layout._init_theta(arch, g) for _ in range(b)])
    k = arch.width
    theta[:, arch.gamma_off:arch.gamma_off + k] = 0.5 + torch.rand(b, k, generator=g)
    theta[:, arch.beta_off:arch.beta_off + 2 * k] += 0.1 * torch.randn(b, 2 * k, generator=g)  # beta, output W
    for d in arch.layers:
        theta[:, d.b_off:d.b_off + d.n_out] = 0.1 * torch.randn(b, d.n_out, generator=g)
    rs = torch.cat([0.1 * torch.randn(b, k, generator=g), 0.5 + torch.rand(b, k, generator=g)], dim=1)
    return theta, rs


def reference(arch, th, x, keep_row=None, keep_col=None, rs=None):
    """One model written out plainly (rows x units), differentiable by autograd: the network of BBT."""
    nf, k = arch.n_fwd, arch.width

    def w(d):
        if d.hidden:
            kernel = th[d.w_off:d.b_off].view(d.n_out, d.n_in)
            return (kernel if d.mask is None else kernel * d.mask).T
        return th[d.w_off:d.b_off].view(d.n_in, d.n_out)

    def bias(d):
        return th[d.b_off:d.b_off + d.n_out]

    train = keep_col is not None
    xd = x.clone()
    if train and keep_row is not None:
        xd[:, arch.row_lo:arch.row_hi] = x[:, arch.row_lo:arch.row_hi] * keep_row

    def branch(layers, h):
        for j, d in enumerate(layers):
            if train and j:
                h = h * keep_col[d.drop_col:d.drop_col + d.n_in].T
            h = torch.relu(h @ w(d) + bias(d))
        return h

    hf = branch(arch.fwd, xd[:, :nf] if arch.fwd else x[:, :nf])
    parts = [hf]
    if arch.n_macro:
        parts.insert(0, branch(arch.macro, xd[:, nf:] if arch.macro else x[:, nf:]))
    z = torch.cat(parts, dim=1)
    gamma, beta = th[arch.gamma_off:arch.gamma_off + k], th[arch.beta_off:arch.beta_off + k]
    if train:
        z = z * keep_col[arch.out_drop_col:arch.out_drop_col + k].T
        mean, var = z.mean(0), z.var(0, unbiased=False)
    else:
        mean, var = rs[:k], rs[k:]
    zn = (z - mean) / torch.sqrt(var + kernels._BN_EPS) * gamma + beta if arch.bn else z
    return zn @ w(arch.out) + bias(arch.out)


@pytest.mark.parametrize("groups, bn", [(None, True), ([0, 0, 1, 1, 1], True), (None, False)])
def test_batched_pass_equals_single_models_and_autograd(groups, bn):
    arch = make_arch(groups, bn=bn)
    b, n, F = 4, 9, arch.n_fwd + arch.n_macro
    theta, rs = random_state(arch, b)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, n, F, generator=g)
    y = torch.randn(b, n, arch.n_out, generator=g)
    keep_row = (torch.rand(b, n, arch.row_hi - arch.row_lo, generator=g) > 0.3).float() / 0.7
    keep_col = (torch.rand(b, arch.n_col_drop, n, generator=g) > 0.3).float() / 0.7

    def batched(th, rs_, sel):
        C = kernels._Cache(len(arch.layers))
        k = arch.width
        moving = (rs_[:, :k].clone(), rs_[:, k:].clone())
        out = kernels._forward(arch, kernels._Views(arch, th), x[sel].clone(), keep=(keep_row[sel], keep_col[sel]),
                               cache=C, zbuf=torch.ones(len(sel), k + 1, n), moving=moving)
        grad = kernels._backward(arch, kernels._Views(arch, th), C, (out - y[sel]) * (2.0 / (n * arch.n_out)),
                                 keep_col[sel])
        return out, grad, torch.cat(moving, dim=1)

    out_b, grad_b, moving_b = batched(theta, rs, list(range(b)))
    for i in range(b):
        out_1, grad_1, moving_1 = batched(theta[i:i + 1], rs[i:i + 1], [i])
        torch.testing.assert_close(out_b[i], out_1[0], rtol=0, atol=1e-6)
        torch.testing.assert_close(grad_b[i], grad_1[0], rtol=0, atol=1e-6)
        torch.testing.assert_close(moving_b[i], moving_1[0], rtol=0, atol=1e-6)
        # a separately written single model, differentiated by autograd
        th = theta[i].clone().requires_grad_(True)
        out_r = reference(arch, th, x[i], keep_row[i], keep_col[i])
        ((out_r - y[i]) ** 2).mean().backward()
        torch.testing.assert_close(out_b[i], out_r.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad_b[i], th.grad, rtol=1e-4, atol=1e-6)
    # evaluation mode on shared rows equals the reference with moving statistics
    xs = x[0]
    out_e = kernels._forward(arch, kernels._Views(arch, theta), xs, rs=rs)
    for i in range(b):
        torch.testing.assert_close(out_e[i], reference(arch, theta[i], xs, rs=rs[i]), rtol=1e-5, atol=1e-6)


def test_branch_layout_of_dropout_and_penalties():
    """Which dropout rows and penalised kernels belong to the forward-rate branch, laid out by hand."""
    arch = make_arch()  # forwards 3 -> 4 -> 2, macro 5 -> 3; joint block (3 macro units, then 2 forward units)
    np.testing.assert_array_equal(arch.fwd_row, [True] * 3 + [False] * 5)  # data columns: forwards, then macro
    # column layout: the input of the second forward layer (4 units), then the joint block
    np.testing.assert_array_equal(arch.fwd_col, [True] * 4 + [False] * 3 + [True] * 2)
    fwd1, fwd2, mac = arch.fwd[0], arch.fwd[1], arch.macro[0]
    pen_f = arch.pen_fwd.numpy().astype(bool)
    assert pen_f[fwd1.w_off:fwd1.b_off].all() and pen_f[fwd2.w_off:fwd2.b_off].all()
    assert pen_f.sum() == 3 * 4 + 4 * 2
    assert not pen_f[mac.w_off:mac.b_off].any() and arch.pen_mask[mac.w_off:mac.b_off].bool().all()
    # a forward-rate rate of 0 and a macro rate of 0.5: forward rows always kept (threshold at the lowest draw),
    # macro rows kept with probability one half and scaled by 2
    hyper = np.array([[0.5, 0.0, 0.0, 0.0, 0.0, 0.0]])
    thr_r, inv_r, thr_c, inv_c = training._branch_thresholds(arch, hyper)
    np.testing.assert_array_equal(thr_r[0, 0], np.where(arch.fwd_row, -32768, 0))
    np.testing.assert_array_equal(inv_r[0, 0], np.where(arch.fwd_row, 1.0, 2.0))
    np.testing.assert_array_equal(thr_c[0, :, 0], np.where(arch.fwd_col, -32768, 0))
    np.testing.assert_array_equal(inv_c[0, :, 0], np.where(arch.fwd_col, 1.0, 2.0))


def test_branch_penalties_shrink_only_their_branch():
    rng = np.random.default_rng(14)
    X = rng.uniform(-1, 1, (200, 5))
    y = X[:, 0] - X[:, 3] + 0.05 * rng.standard_normal(200)
    model = SeedEnsembleNet(n_fwd=2, fwd_hidden=(3,), macro_hidden=(3,), n_seeds=3, n_keep=2, dropout_grid=(0.0,),
                            penalty_grid=(0.5,), fwd_penalty=0.0, l2_penalty=0.0, max_epochs=150, patience=150,
                            y_scale=1.0).fit(X, y)
    theta = model._theta_.numpy()
    fwd, mac = model._arch_.fwd[0], model._arch_.macro[0]
    w_fwd = np.abs(theta[:, fwd.w_off:fwd.b_off]).mean()
    w_mac = np.abs(theta[:, mac.w_off:mac.b_off]).mean()
    assert w_mac < 0.1 * w_fwd


def test_moving_statistics_follow_keras():
    arch = make_arch(fwd_hidden=(), macro_hidden=(), n_macro=0)
    b, n = 2, 7
    theta, rs = random_state(arch, b)
    x = torch.randn(b, n, arch.n_fwd)
    keep_col = torch.ones(b, arch.n_col_drop, n)
    k = arch.width
    moving = (rs[:, :k].clone(), rs[:, k:].clone())
    kernels._forward(arch, kernels._Views(arch, theta), x.clone(), keep=(None, keep_col), cache=kernels._Cache(1),
                     zbuf=torch.ones(b, k + 1, n), moving=moving)
    z = x.transpose(1, 2)  # raw forwards feed batch norm
    torch.testing.assert_close(moving[0], 0.99 * rs[:, :k] + 0.01 * z.mean(2))
    torch.testing.assert_close(moving[1], 0.99 * rs[:, k:] + 0.01 * z.var(2, unbiased=False))


def test_group_layer_is_block_diagonal():
    labels = np.array(["out", "prices", "out", "labor", "prices", "prices", "labor"])
    arch = make_arch(labels, fwd_hidden=(3,), group_hidden=(2, 1), n_fwd=2, n_macro=7)
    theta, _ = random_state(arch, 3, seed=4)
    x = torch.randn(11, 2 + 7)
    V = kernels._Views(arch, theta)
    h = x[:, 2:]
    for d in arch.macro:
        h = kernels._hidden(d, V, h, None, None)
    # by hand: one small network per group, in the order of np.unique(labels)
    for b in range(3):
        outs = []
        for gi, g in enumerate(np.unique(labels)):
            cols = np.flatnonzero(labels == g)
            h1 = arch.macro[0]
            w1 = theta[b, h1.w_off:h1.b_off].view(h1.n_out, h1.n_in)[2 * gi:2 * gi + 2][:, cols]
            a1 = torch.relu(x[:, 2:][:, cols] @ w1.T + theta[b, h1.b_off + 2 * gi:h1.b_off + 2 * gi + 2])
            h2 = arch.macro[1]
            w2 = theta[b, h2.w_off:h2.b_off].view(h2.n_out, h2.n_in)[gi:gi + 1, 2 * gi:2 * gi + 2]
            outs.append(torch.relu(a1 @ w2.T + theta[b, h2.b_off + gi]))
        torch.testing.assert_close(h[b].T, torch.cat(outs, dim=1), rtol=1e-5, atol=1e-6)
    # off-block weights start at zero, are not penalised and stay zero in training
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 9))
    y = np.abs(X[:, 3]) + 0.1 * rng.standard_normal(80)
    model = SeedEnsembleNet(n_fwd=2, groups=labels, group_hidden=(2,), lr=0.015, **{**FAST, "max_epochs": 15}).fit(X, y)
    d = model._arch_.macro[0]
    off_block = model._theta_[:, d.w_off:d.b_off].view(-1, d.n_out, d.n_in) * (1 - d.mask)
    assert torch.count_nonzero(off_block) == 0
    assert torch.all(model._arch_.pen_mask[d.w_off:d.b_off] == d.mask.reshape(-1))


def keras_callbacks(history: np.ndarray, min_delta: float, patience: int) -> tuple[int, int]:
    """Keras 2.2 EarlyStopping and ModelCheckpoint(save_best_only=True) replayed on one model's validation losses:
    (epochs run, epoch of the saved weights). EarlyStopping: an improvement is ``loss < best - min_delta``, stop
    once ``wait >= patience``; ModelCheckpoint saves on every strict improvement ``loss < best``."""
    best_es, best_ck, wait, saved = np.inf, np.inf, 0, 0
    for epoch, loss in enumerate(history):
        if loss < best_ck:
            best_ck, saved = loss, epoch
        if loss < best_es - min_delta:
            best_es, wait = loss, 0
        else:
            wait += 1
            if wait >= patience and epoch > 0:
                return epoch + 1, saved
    return len(history), saved


def penalty(model, l1: np.ndarray) -> np.ndarray:
    """l1 sum |w| + l2 sum w^2 over the hidden kernels of every seed's stored network (Keras' l1_l2)."""
    theta = model._theta_.double().numpy()
    mask = model._arch_.pen_mask.double().numpy().astype(bool)
    w = theta[:, mask]
    return l1 * np.abs(w).sum(1) + model.l2_penalty * (w ** 2).sum(1)


def test_early_stopping_keeps_the_best_epoch():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 4))
    y = X[:, 0] + rng.standard_normal(120)  # noisy: validation loss turns up
    model = SeedEnsembleNet(n_fwd=4, fwd_hidden=(5,), n_seeds=5, n_keep=2, dropout_grid=(0.1,),
                            penalty_grid=(0.001,), max_epochs=400, patience=4, lr=0.05, min_delta=1e-3,
                            y_scale=1.0).fit(X, y)
    h = model.history_
    assert h.shape[1] == 5
    for s in range(5):
        ne, be = model.n_epochs_[s], model.best_epoch_[s]
        assert np.isfinite(h[:ne, s]).all() and np.isnan(h[ne:, s]).all()
        assert (ne, be) == keras_callbacks(h[:ne, s], model.min_delta, model.patience)
        assert h[be, s] == pytest.approx(model.val_loss_[s], rel=1e-12)
        assert model.val_loss_[s] == np.min(h[:ne, s])
    assert (model.n_epochs_ < 400).any()
    # the stored weights are those of the best epoch: their validation MSE plus the weight penalty (Keras' val_loss)
    # is the recorded best
    Xv, yv = X[model.n_train_:], y[model.n_train_:]
    members = model.predict_members(Xv, kept_only=False)
    mse = ((members - yv) ** 2).mean(axis=1)
    np.testing.assert_allclose(mse + penalty(model, 0.001), model.val_loss_, rtol=1e-4)
    assert model.n_val_ == 18


def test_validation_block_is_keras_validation_split():
    """Keras 2.2: ``split_at = int(n * (1 - validation_split))``, the last rows validate."""
    rng = np.random.default_rng(11)
    for n, n_val in [(101, 101 - 85), (20, 3), (47, 47 - 39)]:
        X, y = rng.standard_normal((n, 2)), rng.standard_normal(n)
        model = SeedEnsembleNet(n_fwd=2, **{**FAST, "max_epochs": 1}).fit(X, y)
        assert (model.n_train_, model.n_val_) == (n - n_val, n_val)
        assert model.n_train_ == int(n * 0.85)


def test_predictions_do_not_depend_on_the_units_of_y():
    """Decimals in (y_scale=100 trains in percent), decimals out; the same as passing percent with y_scale=1."""
    rng = np.random.default_rng(12)
    X = rng.uniform(-1, 1, (150, 4))
    y_dec = 0.02 * X[:, :2] @ np.array([[1.0, 0.5], [-0.5, 1.0]]) + 0.01 * rng.standard_normal((150, 2))
    opts = dict(n_fwd=4, fwd_hidden=(3,), n_seeds=3, n_keep=2, max_epochs=40, seed=5)
    dec = SeedEnsembleNet(**opts).fit(X, y_dec)
    pct = SeedEnsembleNet(**opts, y_scale=1.0).fit(X, 100.0 * y_dec)
    np.testing.assert_allclose(100.0 * dec.predict(X), pct.predict(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(100.0 * dec.predict_members(X), pct.predict_members(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(100.0 * dec.input_gradients(X[:3]), pct.input_gradients(X[:3]), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(dec.val_loss_, pct.val_loss_)  # losses are in the training units (percent)
    # trained in decimals the penalty swamps the data loss: the fit is much worse than in percent
    raw = SeedEnsembleNet(**opts, y_scale=1.0).fit(X, y_dec)
    truth = 0.02 * X[:, :2] @ np.array([[1.0, 0.5], [-0.5, 1.0]])
    assert r2(dec.predict(X), truth) > 0.5
    assert r2(raw.predict(X), truth) < r2(dec.predict(X), truth) - 0.3


def test_divergence_is_an_error_not_a_forecast():
    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((80, 3)), rng.standard_normal(80)  # unit-scale targets times 100
    with pytest.raises(ConvergenceError, match="y_scale"):
        SeedEnsembleNet(n_fwd=3, lr=0.5, **{**FAST, "y_scale": 100.0}).fit(X, y)


def r2(pred, truth):
    return 1 - ((truth - pred) ** 2).sum() / ((truth - truth.mean(0)) ** 2).sum()


def test_learns_linear_forward_rate_truth():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (300, 5))
    beta = rng.standard_normal((5, 3))
    truth = X @ beta
    y = truth + 0.05 * rng.standard_normal(truth.shape)
    model = SeedEnsembleNet(n_fwd=5, fwd_hidden=(5,), **{**FAST, "max_epochs": 150, "patience": 10}).fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (300, 3)
    assert r2(pred, truth) > 0.9


def test_learns_nonlinear_macro_truth():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.standard_normal(300), rng.uniform(-1, 1, (300, 2))])  # one forward, two macro
    truth = np.abs(X[:, 1])
    y = truth + 0.03 * rng.standard_normal(300)
    model = SeedEnsembleNet(n_fwd=1, fwd_hidden=(), macro_hidden=(8,),
                            **{**FAST, "max_epochs": 200, "patience": 10}).fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (300,)
    assert r2(pred, truth) > 0.8
    # out of sample on the validation-free truth
    Xn = np.column_stack([rng.standard_normal(200), rng.uniform(-1, 1, (200, 2))])
    assert r2(model.predict(Xn), np.abs(Xn[:, 1])) > 0.8


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((90, 6))
    y = np.column_stack([X[:, :2].sum(1), X[:, 2] - X[:, 0]]) + 0.2 * rng.standard_normal((90, 2))
    model = SeedEnsembleNet(n_fwd=3, fwd_hidden=(3,), macro_hidden=(4,), n_seeds=6, n_keep=3,
                            dropout_grid=(0.1, 0.3), penalty_grid=(0.01, 0.001), max_epochs=40, patience=5, seed=3,
                            y_scale=1.0)
    return model.fit(X, y), X, y


def test_grid_choice_and_top_k_ensemble(fitted):
    model, X, y = fitted
    assert model.grid_val_loss_.shape == (6, 4)
    grid = np.array([[0.1, 0.01], [0.1, 0.001], [0.3, 0.01], [0.3, 0.001]])
    np.testing.assert_array_equal(model.chosen_params_, grid[model.grid_val_loss_.argmin(axis=1)])
    # the chosen grid point of every seed was trained again from the seed's initial weights (BBT's
    # NNGridSearchWrapper): its own losses, one network per seed
    assert model.history_.shape[1] == 6
    np.testing.assert_array_equal(model.val_loss_, np.nanmin(model.history_, axis=0))
    assert not np.array_equal(model.val_loss_, model.grid_val_loss_.min(axis=1))
    kept = np.argsort(model.val_loss_)[:3]
    np.testing.assert_array_equal(model.kept_, kept)
    members = model.predict_members(X, kept_only=False)
    assert members.shape == (6, 90, 2)
    np.testing.assert_allclose(model.predict(X), members[kept].mean(axis=0), rtol=1e-6, atol=1e-7)
    # without the re-training the grid fit is kept: its losses are the grid minima
    grid_fit = SeedEnsembleNet(**{**model.get_params(), "retrain_best": False}).fit(X, y)
    np.testing.assert_array_equal(grid_fit.val_loss_, grid_fit.grid_val_loss_.min(axis=1))
    np.testing.assert_array_equal(grid_fit.grid_val_loss_, model.grid_val_loss_)
    assert grid_fit.history_.shape[1] == 24


def test_deterministic_given_seed(fitted):
    model, X, y = fitted
    again = SeedEnsembleNet(**model.get_params()).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.val_loss_, model.val_loss_)
    other = SeedEnsembleNet(**{**model.get_params(), "seed": 4}).fit(X, y)
    assert not np.allclose(other.predict(X), model.predict(X))


def test_global_random_state_and_threads_untouched():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    torch_state, np_state, threads = torch.get_rng_state(), np.random.get_state(), torch.get_num_threads()  # noqa: NPY002
    SeedEnsembleNet(n_fwd=3, **{**FAST, "max_epochs": 3}).fit(X, y).predict(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()  # noqa: NPY002
    assert torch.get_num_threads() == threads


def test_warm_start_refit_keeps_hyper_parameters(fitted):
    model, X, y = fitted
    rng = np.random.default_rng(6)
    X2 = np.vstack([X, rng.standard_normal((6, 6))])
    y2 = np.vstack([y, rng.standard_normal((6, 2))])
    warm = SeedEnsembleNet(**model.get_params())
    warm.fit(X, y)
    chosen, iters, theta = warm.chosen_params_.copy(), warm.iterations_.copy(), warm._theta_.clone()
    warm.set_params(warm_start=True, retune=False)
    warm.fit(X2, y2)
    np.testing.assert_array_equal(warm.chosen_params_, chosen)
    assert warm.history_.shape[1] == 6  # only the chosen network of every seed is trained
    assert not torch.equal(warm._theta_, theta)
    assert np.isfinite(warm.predict(X2)).all()
    # BBT: every refit reloads the weights saved at the last re-tuning and compiles a fresh optimizer, so the
    # refits are not chained: a second refit on the same data repeats the first exactly, with a fresh step count
    once = warm._theta_.clone()
    warm.fit(X2, y2)
    assert torch.equal(warm._theta_, once)
    n_batches = -(-warm.n_train_ // FAST.get("batch_size", 32))
    assert (warm.iterations_ <= n_batches * warm.history_.shape[0]).all()
    assert iters.max() > 0
    # the authors' sample code between re-tunings: no training, the inputs re-scaled on the new rows
    frozen = SeedEnsembleNet(**{**model.get_params(), "train_refits": False}).fit(X, y)
    tune_theta, tune_loss, tune_kept = frozen._theta_.clone(), frozen.val_loss_.copy(), frozen.kept_.copy()
    X3 = X2 * 2.0
    frozen.set_params(retune=False).fit(X3, y2)
    assert torch.equal(frozen._theta_, tune_theta)
    np.testing.assert_array_equal(frozen.val_loss_, tune_loss)
    np.testing.assert_array_equal(frozen.kept_, tune_kept)
    np.testing.assert_allclose(frozen.x_mid_, 0.5 * (X3.max(0) + X3.min(0)))
    # the same networks fed inputs scaled on the new rows: map X3 through the new scaling back to the raw inputs
    # that the re-tuning scaling (fitted on X) sends to the same point, and predict with a copy fitted on X only
    tuned = SeedEnsembleNet(**{**model.get_params(), "train_refits": False}).fit(X, y)
    lo, hi, lo3, hi3 = X.min(0), X.max(0), X3.min(0), X3.max(0)
    scaled = (X3 - 0.5 * (hi3 + lo3)) * 2.0 / (hi3 - lo3)
    x_equiv = scaled * (hi - lo) / 2.0 + 0.5 * (hi + lo)
    np.testing.assert_allclose(frozen.predict(X3), tuned.predict(x_equiv), rtol=1e-5, atol=1e-6)
    assert not np.allclose(frozen.predict(X3), tuned.predict(X3))
    # a cold refit with retune=False trains from fresh weights at the chosen grid points
    cold = SeedEnsembleNet(**{**model.get_params(), "retune": False}).fit(X, y)
    assert cold.grid_val_loss_.shape == (6, 4)  # no previous fit: re-tunes
    cold.fit(X2, y2)
    assert cold.history_.shape[1] == 6
    np.testing.assert_array_equal(cold.chosen_params_, chosen)
    # the architecture may not change under a warm start
    warm.set_params(fwd_hidden=(4,))
    with pytest.raises(InputError, match="refit with retune=True"):
        warm.fit(X2, y2)


def test_unbatched_loop_gives_the_same_kind_of_result(fitted):
    model, X, y = fitted
    loop = SeedEnsembleNet(**{**model.get_params(), "batched": False}).fit(X, y)
    assert loop.history_.shape[1] == 6
    assert loop.grid_val_loss_.shape == (6, 4)


def test_unbatched_loop_trains_to_the_same_fit():
    """Trained to convergence, the per-network loop and the batched model reach the same fit: the same initial
    weights, different dropout/shuffle streams. y = (x0 + x1, x2 - x0) + N(0, 0.2^2): the attainable R^2 is
    1 - 0.04 / 2.04 = 0.98 per output; both must be above 0.95 in sample and their median validation losses
    within 25% of each other (a loop stopped after a few epochs reaches R^2 < 0.4)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((90, 6))
    y = np.column_stack([X[:, :2].sum(1), X[:, 2] - X[:, 0]]) + 0.2 * rng.standard_normal((90, 2))
    kw = dict(n_fwd=3, fwd_hidden=(3,), macro_hidden=(4,), n_seeds=4, n_keep=2, dropout_grid=(0.0, 0.1),
              penalty_grid=(0.001,), max_epochs=400, patience=20, seed=3, y_scale=1.0)
    fits = [SeedEnsembleNet(**kw, batched=b).fit(X, y) for b in (True, False)]
    for m in fits:
        e = y - m.predict(X)
        r2 = 1 - (e**2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        assert (r2 > 0.95).all(), (m.batched, r2)
    ratio = np.median(fits[1].val_loss_) / np.median(fits[0].val_loss_)
    assert 0.8 < ratio < 1.25, ratio


@pytest.mark.parametrize("fwd_hidden", [(), (4,)])
def test_input_gradients_match_finite_differences(fwd_hidden):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((70, 5)) * np.array([1.0, 0.01, 5.0, 1.0, 2.0]) + 3.0
    X[:, 3] = 1.5  # a constant column: scaled to 0, zero gradient
    y = np.column_stack([X[:, 0] - X[:, 2], np.sin(X[:, 4])]) + 0.1 * rng.standard_normal((70, 2))
    model = SeedEnsembleNet(n_fwd=2, fwd_hidden=fwd_hidden, macro_hidden=(4,), **{**FAST, "max_epochs": 30})
    model.fit(X, y)
    x0 = X.mean(axis=0, keepdims=True)
    grad = model.input_gradients(x0)
    assert grad.shape == (1, 2, 5)
    assert np.all(grad[:, :, 3] == 0)
    span = X.max(0) - X.min(0)
    for j in [0, 1, 2, 4]:
        h = 1e-3 * span[j]  # small enough not to cross a relu kink
        up, dn = x0.copy(), x0.copy()
        up[0, j] += h
        dn[0, j] -= h
        fd = (model.predict(up) - model.predict(dn)) / (2 * h)
        np.testing.assert_allclose(grad[0, :, j], fd[0], rtol=1e-3, atol=1e-3 * np.abs(grad).max())
    assert np.isfinite(model.predict(X)).all()


def test_one_row_last_minibatch_and_constant_target_column():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((40, 3))  # 34 training rows, batches of 11: the last minibatch has one row
    y = np.column_stack([X[:, 0], np.zeros(40)])
    model = SeedEnsembleNet(n_fwd=3, batch_size=11, **{**FAST, "max_epochs": 10}).fit(X, y)
    assert model.n_train_ == 34
    assert np.isfinite(model._rs_.numpy()).all() and np.isfinite(model.predict(X)).all()


def test_bad_input():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)
    Xnan = X.copy()
    Xnan[3, 1] = np.nan
    cases = [
        (dict(n_fwd=2), Xnan, y, "X"),
        (dict(n_fwd=2), X[:, :, None], y, "X"),
        (dict(n_fwd=2), X, y[:30], "y"),
        (dict(n_fwd=2), X, np.where(np.arange(40) == 5, np.inf, y), "y"),
        (dict(n_fwd=2), X, np.zeros((40, 0)), "y"),
        (dict(n_fwd=2), X, None, "y"),
        (dict(n_fwd=0), X, y, "n_fwd"),
        (dict(n_fwd=6), X, y, "n_fwd"),
        (dict(n_fwd=2, groups=[0, 1]), X, y, "groups"),
        (dict(n_fwd=2, groups=[0, 1, 1], macro_hidden=(2,)), X, y, "macro_hidden"),
        (dict(n_fwd=5, macro_hidden=(2,)), X, y, "macro_hidden"),
        (dict(n_fwd=2, n_seeds=3, n_keep=4), X, y, "n_keep"),
        (dict(n_fwd=2, fwd_hidden=(0,)), X, y, "fwd_hidden"),
        (dict(n_fwd=2, dropout_grid=(1.0,)), X, y, "dropout_grid"),
        (dict(n_fwd=2, val_fraction=0.0), X, y, "val_fraction"),
        (dict(n_fwd=2), X[:2], y[:2], "val_fraction"),  # int(0.85 * 2) = 1 training row
    ]
    for params, Xc, yc, column in cases:
        with pytest.raises(InputError) as err:
            SeedEnsembleNet(**params).fit(Xc, yc)
        assert err.value.column == column, (params, err.value)
    # scikit-learn's messages, with the row (and column) of the first value that is not finite
    with pytest.raises(InputError, match=r"^'X', row 3: Input X contains NaN\. The first is in column 1\.") as err:
        SeedEnsembleNet(n_fwd=2).fit(Xnan, y)
    assert err.value.row == 3
    with pytest.raises(InputError, match=r"^'y', row 5: Input y contains infinity"):
        SeedEnsembleNet(n_fwd=2).fit(X, np.where(np.arange(40) == 5, np.inf, y))
    with pytest.raises(InputError, match="n_samples = 2 training rows are too few"):
        SeedEnsembleNet(n_fwd=2).fit(X[:2], y[:2])
    # values that are not numbers and sparse input are TypeErrors, as in scikit-learn
    Xobj = X.astype(object)
    Xobj[0, 0] = {"a": 1}
    with pytest.raises(TypeError):
        SeedEnsembleNet(n_fwd=2).fit(Xobj, y)
    with pytest.raises(TypeError, match="[Ss]parse"):
        SeedEnsembleNet(n_fwd=2).fit(scipy_sparse.csr_matrix(X), y)
    with pytest.raises(NotFittedError):
        SeedEnsembleNet(n_fwd=2).predict(X)
    model = SeedEnsembleNet(n_fwd=2, **{**FAST, "max_epochs": 2}).fit(X, y)
    with pytest.raises(InputError, match="X has 4 features, but SeedEnsembleNet is expecting 5"):
        model.predict(X[:, :4])
    with pytest.raises(InputError, match=r"^'X', row 3: Input X contains NaN"):
        model.input_gradients(Xnan)
    # a refused refit leaves the fitted model as it was
    pred = model.predict(X)
    model.set_params(retune=False, warm_start=True)
    with pytest.raises(InputError, match="refit with retune=True"):
        model.fit(X[:, :4], y)
    assert model.n_features_in_ == 5
    np.testing.assert_array_equal(model.predict(X), pred)
