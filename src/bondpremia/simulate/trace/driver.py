"""The driver of the simulated TRACE market: bonds are generated in blocks (CUSIP order), each from its own random
stream ``(seed, block index)``; :func:`simulate_trace` collects the blocks in memory, :func:`write_simulated_trace`
streams them to parquet files."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bondpremia.errors import InputError
from bondpremia.simulate.trace.codes import _STREAM_ABSENT, _STREAM_BLOCK, _STREAM_ELN, _STREAM_FISD
from bondpremia.simulate.trace.dates import _month, _on_day
from bondpremia.simulate.trace.market import _Market, _market
from bondpremia.simulate.trace.messages import NoiseRates, _simulate_block
from bondpremia.simulate.trace.truth import _calendar, _monthly_block, _with_weights
from bondpremia.simulate.trace.universe import _FRAMES, _bond_universe, _Bonds, simulated_tbill

_BLOCK_BONDS = 256  # at most this many bonds per generation block (a block's random stream: (seed, block index))
_BLOCK_MESSAGES = 500_000  # ... and about this many messages


@dataclass(frozen=True)
class SimulatedTrace:
    """A simulated TRACE market: FISD rows, raw messages and the truth (see the package docstring)."""

    fisd: pl.DataFrame
    messages: pl.DataFrame
    truth_trades: pl.DataFrame
    truth_monthly: pl.DataFrame
    rates: pl.DataFrame
    amount_outstanding: pl.DataFrame  # FISD-like amount-outstanding history (AMOUNT_SCHEMA)


def _universe(n_bonds: int, seed: int, start_mi: int, n_months: int, nz: NoiseRates) -> _Bonds:
    """FISD bonds plus the bonds absent from FISD, sorted by CUSIP (absent ones last: they start with 9). A share
    ``nz.eln`` of the FISD bonds that pass every screen and trade at least a year before maturity (at least one)
    are equity-linked notes (``sub_prdct = ELN``)."""
    a = _bond_universe(n_bonds, np.random.default_rng([seed, _STREAM_FISD]), start_mi, n_months, absent=False,
                       fisd_fail=nz.fisd_fail, amount_actions=nz.amount_actions)
    n_abs = max(1, int(round(nz.absent * n_bonds))) if nz.absent > 0 else 0
    parts = [a]
    if n_abs:
        g = _bond_universe(n_abs, np.random.default_rng([seed, _STREAM_ABSENT]), start_mi, n_months, absent=True,
                           fisd_fail=0.0, amount_actions=0.0)
        parts.append(_Bonds(**{**{f.name: getattr(g, f.name) for f in fields(g)}, "fisd": g.fisd.clear(),
                               "amounts": g.amounts.clear()}))
    arrays = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(a) if f.name not in _FRAMES}
    order = np.argsort(arrays["cusip"], kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    if nz.eln > 0:
        first, end = _on_day(np.array([start_mi, start_mi + n_months]), np.array([1, 1]))
        trades = arrays["maturity"] - np.maximum(arrays["start"], first) > 730
        candidates = np.flatnonzero(arrays["eligible"] & trades & (arrays["start"] < end - 180))
        if candidates.size == 0:
            candidates = np.flatnonzero(arrays["eligible"])
        k = min(max(1, int(round(nz.eln * n_bonds))), candidates.size)
        eln = np.random.default_rng([seed, _STREAM_ELN]).choice(candidates, k, replace=False)
        arrays["eln"][eln] = True
        arrays["eligible"][eln] = False
    return _Bonds(**arrays, fisd=a.fisd.sort("complete_cusip"),
                  amounts=a.amounts.sort("complete_cusip", "effective_date"))


def _check(n_bonds: int, n_months: int, trades_per_bond_month: float) -> None:
    if n_bonds < 1:
        raise InputError("n_bonds must be positive", column="n_bonds")
    if n_months < 1:
        raise InputError("n_months must be positive", column="n_months")
    if not trades_per_bond_month > 0:
        raise InputError("trades_per_bond_month must be positive", column="trades_per_bond_month")


def _block_bonds(n_months: int, trades_per_bond_month: float) -> int:
    """Bonds per block: about ``_BLOCK_MESSAGES`` messages (1.6 per genuine trade at most), 8 to 256 bonds."""
    return int(np.clip(_BLOCK_MESSAGES / (1.6 * trades_per_bond_month * n_months), 8, _BLOCK_BONDS))


@dataclass(frozen=True)
class _Run:
    """Everything the blocks of one simulation share."""

    bonds: _Bonds
    market: _Market
    rates: pl.DataFrame
    calendar: pl.DataFrame
    block_bonds: int
    seed: int
    trades_per_bond_month: float
    noise: NoiseRates

    @property
    def fisd(self) -> pl.DataFrame:
        return self.bonds.fisd


def _setup(n_bonds: int, n_months: int, seed: int, start: str, trades_per_bond_month: float,
           noise: NoiseRates | None) -> _Run:
    _check(n_bonds, n_months, trades_per_bond_month)
    nz = noise or NoiseRates()
    start_mi = _month(start, "start")
    mk = _market(seed, start_mi, n_months)
    months = np.arange(start_mi, start_mi + n_months).astype("datetime64[M]").astype(str)
    return _Run(bonds=_universe(n_bonds, seed, start_mi, n_months, nz), market=mk, rates=simulated_tbill(months),
                calendar=_calendar(mk), block_bonds=_block_bonds(n_months, trades_per_bond_month), seed=seed,
                trades_per_bond_month=trades_per_bond_month, noise=nz)


def _blocks(run: _Run) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]:
    """Yield ``(messages, truth_trades, monthly without mv_weight)`` block by block, in CUSIP order."""
    u, size = run.bonds, run.block_bonds
    for k, lo in enumerate(range(0, u.n, size)):
        b = u.take(np.arange(lo, min(lo + size, u.n)))
        rng = np.random.default_rng([run.seed, _STREAM_BLOCK, k])
        msgs = _simulate_block(b, run.market, rng, run.trades_per_bond_month, run.noise)
        truth = msgs.filter(pl.col("_truth")).drop("_truth").sort(
            "cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb")
        eligible = b.fisd.filter(pl.col("complete_cusip").is_in(pl.Series(b.cusip[b.eligible]).implode()))
        yield msgs.drop("_truth"), truth, _monthly_block(truth, eligible, run.calendar, run.rates, b.amounts)


def simulate_trace(n_bonds: int = 200, n_months: int = 24, seed: int = 0, start: str = "2011-06",
                   trades_per_bond_month: float = 8.0, noise: NoiseRates | None = None) -> SimulatedTrace:
    """Simulate an Enhanced TRACE market with known truth, in memory (see the package docstring).

    ``n_bonds`` FISD bonds (plus ``noise.absent * n_bonds`` bonds absent from FISD) over ``n_months`` months from
    ``start`` (``YYYY-MM``; the default sample straddles the 2012-02-06 format change); each bond trades
    ``trades_per_bond_month`` genuine trades per month alive on average (bonds differ in liquidity). ``noise``
    sets the rates of every reporting error and filtered trade (:class:`NoiseRates`). Returns the FISD rows, the
    messages, the truth (trades and bond-months), the T-bill returns and the amount-outstanding history.
    Deterministic given the arguments. For large samples use :func:`write_simulated_trace`, whose memory does not
    grow with the size.
    """
    run = _setup(n_bonds, n_months, seed, start, trades_per_bond_month, noise)
    parts = list(_blocks(run))
    messages, truth, monthly = (pl.concat([p[i] for p in parts]) for i in range(3))
    return SimulatedTrace(fisd=run.fisd, messages=messages, truth_trades=truth,
                          truth_monthly=_with_weights(monthly), rates=run.rates, amount_outstanding=run.bonds.amounts)


def write_simulated_trace(out_dir: str | Path, n_bonds: int = 200, n_months: int = 24, seed: int = 0,
                          start: str = "2011-06", trades_per_bond_month: float = 8.0,
                          noise: NoiseRates | None = None) -> dict[str, Any]:
    """Simulate like :func:`simulate_trace` and write ``trace.parquet`` (the messages), ``fisd.parquet``,
    ``fisd_amt_out.parquet`` (the amount-outstanding history), ``truth_trades.parquet``, ``truth_monthly.parquet``
    and ``rates.parquet`` to ``out_dir``.

    Bonds are generated in blocks of 256 (CUSIP order), each from its own random stream derived from ``(seed,
    block index)``, and streamed to the parquet files, so memory stays flat whatever the size (20M messages:
    see ``benchmarks/``). The files are byte-identical for the same arguments. Returns counts and paths.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    monthly_parts: list[pl.DataFrame] = []
    n_msgs = n_truth = 0
    run = _setup(n_bonds, n_months, seed, start, trades_per_bond_month, noise)

    def write(frames: tuple[tuple[str, pl.DataFrame], ...]) -> None:
        for name, frame in frames:
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if name not in writers:  # times in microseconds: the parquet TIME type every reader knows
                schema = pa.schema([pa.field(f.name, pa.time64("us")) if pa.types.is_time(f.type) else f
                                    for f in table.schema])
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", schema, compression="zstd")
            writers[name].write_table(table.cast(writers[name].schema))

    # one writer thread: block k is compressed and written while block k + 1 is generated (two blocks in memory)
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            for msgs, truth, monthly in _blocks(run):
                if pending is not None:
                    pending.result()
                pending = pool.submit(write, (("trace", msgs), ("truth_trades", truth)))
                n_msgs += msgs.height
                n_truth += truth.height
                monthly_parts.append(monthly)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                pending.exception()  # wait for the last write before closing the files
            for w in writers.values():
                w.close()
    monthly_all = _with_weights(pl.concat(monthly_parts))
    run.fisd.write_parquet(out / "fisd.parquet")
    run.bonds.amounts.write_parquet(out / "fisd_amt_out.parquet")
    monthly_all.write_parquet(out / "truth_monthly.parquet")
    run.rates.write_parquet(out / "rates.parquet")
    return {"messages": n_msgs, "truth_trades": n_truth, "bond_months": monthly_all.height,
            "bonds": run.fisd.height, "out_dir": str(out)}
