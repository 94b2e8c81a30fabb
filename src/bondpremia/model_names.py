"""The Treasury forecast models' names with one line each: the help of ``bondpremia treasury forecast --models``
and :data:`bondpremia.models.forecast.MODEL_HELP`. A module of its own, free of heavy imports, so that the command
line starts without loading scikit-learn and PyTorch."""

MODEL_HELP = """\
hm            historical mean (the benchmark)
ols           OLS on all predictors
cp            Cochrane-Piazzesi factor (forwards 1-5)
ln            Ludvigson-Ng: CP factor + BIC-selected macro PCs (needs --macro)
pcr<k>        PCR on k components; pcrsq<k> adds their squares
pls<k>        PLS with k components
ridge, lasso, enet       validated penalized regressions
tree, rf, et, gbrt       regression tree, random forest, extremely randomized trees, boosted trees
nn<L>_<widths>           forward-rate network: nn1_3, nn1_5, nn1_7, nn2_3 (3-3), nn3_543 (5-4-3 pyramid)
nn_macro<L>[_fwd|_fwdnet]  macro network 32 / 32-16 / 32-16-8; forwards joined directly (_fwd, default) or
                           through their own 3-3 network (_fwdnet)
nn_group<L>[_fwd|_fwdnet]  group-ensemble network: one sub-network per McCracken-Ng group (1 node per
                           group for L=1; 2-1 for L=2; 3-2-1 for L=3), joined with the forwards
suffix _macro  (linear models and trees) use forwards and every macro series, e.g. ridge_macro, rf_macro
"""

__all__ = ["MODEL_HELP"]
