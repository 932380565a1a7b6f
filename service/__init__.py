"""crisiswatch: crisis-detection alerting for brand communication teams."""

import os

__version__ = "0.1.0"

# numpy's BLAS runs one thread per process unless told otherwise (set before numpy loads). The matrices
# scored here are small (a batch of texts by three classes): a second BLAS thread finds no work and
# spins, burning a core that another worker, Redis or the scheduler needs (measured: twice the CPU
# time for the same throughput). Scale out with workers instead; an explicit setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
