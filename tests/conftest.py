"""Project-wide test settings: deterministic hypothesis profile, small torch thread pool."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see sbnn/__init__.py: must precede importing torch

from hypothesis import HealthCheck, settings

settings.register_profile(
    "sbnn", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("nightly", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("SBNN_HYPOTHESIS_PROFILE", "sbnn"))

try:  # keep tests to the two cores of the reference machine
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
except ImportError:  # torch-free test subsets
    pass
