"""Factor models: IPCA (Kelly, Pruitt and Su 2019)."""

from bondpremia.models.ipca import IPCA, BootstrapResult, OOSResult

__all__ = ["IPCA", "BootstrapResult", "OOSResult"]
