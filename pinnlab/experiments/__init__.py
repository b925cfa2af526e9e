"""One function per paper table or figure; each returns its results and writes metrics.json."""
from .lora_rank_study import LoRAStudy, lora_rank_study, lora_rank_study_all
from .pinn_basics import burgers2d_sign_check, pinn_basics
from .store import Store

#: name -> function(cfg), for ``python -m pinnlab run NAME``
EXPERIMENTS = {"pinn_basics": pinn_basics, "lora_rank_study": lora_rank_study_all}

__all__ = ["EXPERIMENTS", "LoRAStudy", "Store", "burgers2d_sign_check", "lora_rank_study", "lora_rank_study_all",
           "pinn_basics"]

# notebook 04 (Paper B: failure modes, Hyper-LR-PINN)
from .failure_modes import FailureModes, failure_modes  # noqa: E402

EXPERIMENTS["failure_modes"] = failure_modes
__all__ += ["FailureModes", "failure_modes"]

# notebook 03 (Paper A: hypernetwork benchmarks B1–B4, time to a new solution)
from .hyper_benchmarks import HyperBenchmark, hyper_benchmarks, hyper_benchmarks_all  # noqa: E402

EXPERIMENTS["hyper_benchmarks"] = hyper_benchmarks_all
__all__ += ["HyperBenchmark", "hyper_benchmarks", "hyper_benchmarks_all"]

# notebook 05 (Paper B: parameterized CDR, Table 4; 2D Helmholtz, Figure 7)
from .cdr_helmholtz import CDRHelmholtz, cdr_helmholtz  # noqa: E402

EXPERIMENTS["cdr_helmholtz"] = cdr_helmholtz
__all__ += ["CDRHelmholtz", "cdr_helmholtz"]
