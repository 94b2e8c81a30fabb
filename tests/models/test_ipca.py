"""IPCA: bad input, look-ahead of the out-of-sample fits, bootstrap tests on simulated truths, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bondpremia.cli import main
from bondpremia.errors import InputError
from bondpremia.models import IPCA


def simulate(n=150, t=60, n_chars=4, k=1, alpha=None, seed=0, noise=0.1):
    """r_{i,t} = z_{i,t}'(Gamma_alpha + Gamma_beta f_t) + e: known truth for the tests."""
    rng = np.random.default_rng(seed)
    gamma = rng.standard_normal((n_chars, k))
    f = 0.05 * rng.standard_normal((t, k)) + 0.02
    z = rng.standard_normal((t, n, n_chars))
    a = np.zeros(n_chars) if alpha is None else np.asarray(alpha)
    r = np.einsum("tnl,tl->tn", z, f @ gamma.T + a) + noise * rng.standard_normal((t, n))
    chars = [f"c{j}" for j in range(n_chars)]
    df = pd.DataFrame(z.reshape(-1, n_chars), columns=chars)
    df["ret"] = r.ravel()
    df["id"] = np.tile(np.arange(n), t)
    df["date"] = np.repeat(pd.date_range("2000-01-31", periods=t, freq="ME"), n)
    return df, chars, gamma, f


def test_nan_characteristics_dropped_and_counted_or_raised():
    df, chars, _, _ = simulate()
    df.loc[[5, 17], "c2"] = np.nan
    m = IPCA(1).fit(df, chars=chars)
    assert m.n_dropped_ == 2
    full = IPCA(1).fit(df.drop(index=[5, 17]), chars=chars)
    np.testing.assert_allclose(m.gamma_.to_numpy(), full.gamma_.to_numpy(), atol=1e-12)
    with pytest.raises(InputError) as err:
        IPCA(1, missing="raise").fit(df, chars=chars)
    assert err.value.column == "c2" and err.value.row == 5


def test_months_with_too_few_bonds_are_dropped():
    df, chars, _, _ = simulate()
    first = df["date"].min()
    thin = df[(df["date"] != first) | (df["id"] < 1)]  # the first month keeps a single bond
    m = IPCA(1).fit(thin, chars=chars)
    assert first not in m.factors_.index and m.n_dropped_ == 1


def test_collinear_characteristics_are_named():
    df, chars, _, _ = simulate()
    df["const"] = 1.0
    with pytest.raises(InputError, match="const") as err:
        IPCA(1, intercept=False).fit(df.assign(const2=2.0), chars=[*chars, "const", "const2"])
    assert err.value.column == "chars"
    df["twice"] = 2 * df["c1"]
    with pytest.raises(InputError, match="c1"):
        IPCA(1).fit(df, chars=[*chars, "twice"])


def test_missing_column_is_named():
    df, chars, _, _ = simulate()
    with pytest.raises(InputError) as err:
        IPCA(1).fit(df, chars=[*chars, "spread"])
    assert err.value.column == "spread"


def test_out_of_sample_fit_uses_no_future_data():
    df, chars, _, _ = simulate(t=48)
    start = pd.Timestamp("2002-06-30")
    base = IPCA(1).fit_oos(df, start=start, chars=chars)
    # perturb every month after 2003-03: the out-of-sample factors and fits up to 2003-03 must not move
    cut = pd.Timestamp("2003-03-31")
    late = df["date"] > cut
    shocked = df.copy()
    shocked.loc[late, "ret"] += np.random.default_rng(1).standard_normal(late.sum())
    shocked.loc[late, chars] *= 3.0
    moved = IPCA(1).fit_oos(shocked, start=start, chars=chars)
    early = base.factors.index <= cut
    np.testing.assert_allclose(moved.factors[early].to_numpy(), base.factors[early].to_numpy(), atol=1e-12)
    assert not np.allclose(moved.factors[~early].to_numpy(), base.factors[~early].to_numpy())


def test_out_of_sample_names_a_characteristic_without_data_in_the_first_window():
    """A characteristic that is zero in every month before the out-of-sample start (a rolling measure whose window
    has not filled, ranked with missing -> 0) makes the first window's Z'Z singular: an InputError names it and
    the start, instead of numpy's 'Singular matrix'."""
    df, chars, _, _ = simulate(t=48)
    start = pd.Timestamp("2002-06-30")
    df.loc[df["date"] < start, "c2"] = 0.0
    IPCA(1).fit(df, chars=chars)  # the full sample has the data
    with pytest.raises(InputError, match=r"c2.*start the out-of-sample period later") as err:
        IPCA(1).fit_oos(df, start=start, chars=chars)
    assert err.value.column == "start"
    assert "2002-06-30" in str(err.value)
    IPCA(1).fit_oos(df, start=pd.Timestamp("2002-09-30"), chars=chars)  # three months of data are enough


def test_singular_months_are_dropped_on_request_and_named_when_ipca_does_not_converge():
    """Months where a characteristic has no variation of its own (here c2 = 0 for every bond before 2001-01)
    have a singular Z_t'Z_t. With singular_months="drop" the fit equals a fit on the later months alone; with
    the default they are kept and a non-convergence error names them."""
    df, chars, _, _ = simulate(t=48, n_chars=4, k=2)
    early = df["date"] < pd.Timestamp("2001-01-31")
    df.loc[early, "c2"] = 0.0
    dropped = IPCA(2, singular_months="drop").fit(df, chars=chars)
    later = IPCA(2).fit(df[~early], chars=chars)
    assert dropped.n_dropped_ == int(early.sum())
    np.testing.assert_allclose(dropped.gamma_.to_numpy(), later.gamma_.to_numpy(), atol=1e-10)
    assert list(dropped.factors_.index) == list(later.factors_.index)
    from bondpremia.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match=r"12 month\(s\) between 2000-01-31 and 2000-12-31 have.*"
                                               r"singular_months='drop'"):
        IPCA(2, max_iter=2).fit(df, chars=chars)
    with pytest.raises(InputError, match="singular_months"):
        IPCA(1, singular_months="maybe")


def test_out_of_sample_fit_tracks_the_full_sample_fit_on_a_strong_factor():
    df, chars, _, _ = simulate(t=60, noise=0.05)
    start = pd.Timestamp("2003-01-31")
    oos = IPCA(1).fit_oos(df, start=start, chars=chars)
    ins = IPCA(1).fit(df, chars=chars)
    f_in = ins.factors_.loc[oos.factors.index, "f1"].to_numpy()
    assert np.corrcoef(oos.factors["f1"], f_in)[0, 1] > 0.999
    # the full-sample R^2 over the same months, computed from its fitted values
    late = df["date"] >= start
    e = df.loc[late, "ret"] - ins.predict(df[late])
    r2_in = 1 - (e**2).sum() / (df.loc[late, "ret"] ** 2).sum()
    assert oos.r2_total == pytest.approx(r2_in, abs=0.01)
    assert oos.r2_total < r2_in + 1e-3  # estimates from fewer months fit the late months no better


def test_alpha_bootstrap_rejects_a_true_alpha_and_not_a_zero_alpha():
    df, chars, _, _ = simulate(n=200, t=60, alpha=[0.0, 0.03, 0.0, 0.0], seed=3)
    res = IPCA(1, intercept=True).fit(df, chars=chars).test_alpha(n_boot=200, seed=0)
    assert res.pvalue < 0.01
    df0, chars0, _, _ = simulate(n=200, t=60, seed=4)
    res0 = IPCA(1, intercept=True).fit(df0, chars=chars0).test_alpha(n_boot=200, seed=0)
    assert res0.pvalue > 0.05
    again = IPCA(1, intercept=True).fit(df0, chars=chars0).test_alpha(n_boot=200, seed=0)
    np.testing.assert_array_equal(again.draws, res0.draws)  # reproducible from the seed


def test_beta_bootstrap_finds_the_relevant_characteristic():
    df, chars, gamma, _ = simulate(n=200, t=60, n_chars=4, seed=5)
    df["noise"] = np.random.default_rng(9).standard_normal(len(df))
    m = IPCA(1).fit(df, chars=[*chars, "noise"])
    strongest = chars[int(np.argmax(np.abs(gamma[:, 0])))]
    assert m.test_beta(strongest, n_boot=100).pvalue < 0.01
    assert m.test_beta("noise", n_boot=100).pvalue > 0.05


def test_cli_fit_writes_outputs(tmp_path, capsys):
    df, chars, _, _ = simulate(t=40)
    path = tmp_path / "chars.parquet"
    df.to_parquet(path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as done:
        main(["ipca", "fit", str(path), "--factors", "1", "--intercept", "--oos-start", "2002-06", "--bootstrap",
              "20", "--out", str(out)])
    assert done.value.code == 0
    fit = json.loads((out / "fit.json").read_text())
    m = IPCA(1, intercept=True).fit(df, chars=chars)
    assert fit["r2_total"] == pytest.approx(m.r2_total_, abs=1e-12)
    assert {"r2_total_oos", "r2_pred_oos", "w_alpha_pvalue", "tangency_sharpe_oos"} <= set(fit)
    gamma = pd.read_csv(out / "gamma.csv", index_col=0)
    assert list(gamma.index) == [*chars, "constant"] and "alpha" in gamma.columns  # KPS: a constant instrument
    assert len(pd.read_csv(out / "factors.csv")) == 40


def test_cli_no_constant_and_the_kpp_preset(tmp_path, capsys):
    df, chars, _, _ = simulate(t=30)
    df = df.rename(columns={"c0": "spread", "c1": "duration", "c2": "bond_vol", "c3": "not_kpp"})
    df.to_parquet(tmp_path / "chars.parquet")
    with pytest.raises(SystemExit) as done:
        main(["ipca", "fit", str(tmp_path / "chars.parquet"), "--factors", "1", "--chars", "kpp", "--no-constant",
              "--out", str(tmp_path / "out")])
    assert done.value.code == 0
    err = capsys.readouterr().err
    assert "26 of the 29 KPP instruments are not in the panel" in err
    gamma = pd.read_csv(tmp_path / "out" / "gamma.csv", index_col=0)
    assert list(gamma.index) == ["duration", "spread", "bond_vol"]  # KPP's order, no constant
    fit = json.loads((tmp_path / "out" / "fit.json").read_text())
    ref = IPCA(1, constant=False).fit(df, chars=["duration", "spread", "bond_vol"])
    assert fit["r2_total"] == pytest.approx(ref.r2_total_, abs=1e-12) and fit["constant"] is False


def test_kpp_preset_in_python():
    df, _, _, _ = simulate(t=24)
    df = df.rename(columns={"c0": "spread", "c1": "rating", "c2": "bond_vol", "c3": "other"})
    m = IPCA(1).fit(df, chars="kpp")
    assert m.chars_ == ["spread", "rating", "bond_vol", "constant"]  # Table A.I order, then the constant
    with pytest.raises(InputError, match="none of the 29 KPP"):
        IPCA(1).fit(df.drop(columns=["spread", "rating", "bond_vol"]), chars="kpp")


def test_cli_drop_singular_months(tmp_path):
    df, chars, _, _ = simulate(t=30)
    early = df["date"] < pd.Timestamp("2000-07-31")
    df.loc[early, "c1"] = 0.0
    df.to_parquet(tmp_path / "chars.parquet")
    with pytest.raises(SystemExit) as done:
        main(["ipca", "fit", str(tmp_path / "chars.parquet"), "--factors", "1", "--drop-singular-months", "--out",
              str(tmp_path / "out")])
    assert done.value.code == 0
    fit = json.loads((tmp_path / "out" / "fit.json").read_text())
    assert fit["n_dropped"] == int(early.sum()) and fit["n_months"] == 30 - 6


def test_observable_factor_loadings_are_recovered():
    """r = z'(Gamma_beta f_t + Gamma_obs g_t) + e with a known observable g_t (e.g. a bond-market factor)."""
    rng = np.random.default_rng(11)
    n, t, n_chars = 300, 80, 4
    z = rng.standard_normal((t, n, n_chars))
    gb = np.linalg.qr(rng.standard_normal((n_chars, 1)))[0]
    g_obs = np.array([0.5, 0.0, -0.3, 0.2])
    f = 0.05 * rng.standard_normal((t, 1)) + 0.02
    g = 0.04 * rng.standard_normal(t)
    r = np.einsum("tnl,tl->tn", z, f @ gb.T + np.outer(g, g_obs)) + 0.05 * rng.standard_normal((t, n))
    chars = [f"c{j}" for j in range(n_chars)]
    df = pd.DataFrame(z.reshape(-1, n_chars), columns=chars)
    df["ret"], df["id"], df["date"] = r.ravel(), np.tile(np.arange(n), t), np.repeat(np.arange(t), n)
    m = IPCA(1, constant=False).fit(df, chars=chars, factors=pd.DataFrame({"mkt": g}, index=np.arange(t)))
    # identified up to Gamma_beta directions: the estimate is the part of the truth orthogonal to Gamma_beta
    proj = np.eye(n_chars) - gb @ gb.T
    np.testing.assert_allclose(m.gamma_observable_["mkt"].to_numpy(), proj @ g_obs, atol=0.02)
    np.testing.assert_allclose(m.gamma_.to_numpy().T @ m.gamma_observable_.to_numpy(), 0, atol=1e-12)
    assert abs(abs(m.gamma_.to_numpy()[:, 0] @ gb[:, 0]) - 1) < 1e-3


def test_warm_start_reaches_the_same_fit_faster():
    df, chars, _, _ = simulate(n=200, t=60, n_chars=5, k=2, seed=8)
    cold = IPCA(2, tol=1e-12).fit(df, chars=chars)
    warm = IPCA(2, tol=1e-12).fit(df, chars=chars, warm_start=cold)
    np.testing.assert_allclose(warm.predict(df), cold.predict(df), atol=1e-9)
    assert warm.n_iter_ < cold.n_iter_
