"""Sensitivity presets: documented numbers behind ``sensitivity: fewer | balanced | more``.

Each preset sets the thresholds the detector applies to a brand's evaluation window; any number
can be overridden per brand in alerts.yaml (``detection:`` of that brand).

| setting              | fewer | balanced | more | meaning                                                          |
|----------------------|-------|----------|------|------------------------------------------------------------------|
| volume_threshold     | 0.995 | 0.99     | 0.97 | volume detector score (0..1) above which a window is anomalous   |
| min_volume           | 30    | 15       | 8    | mentions in the window below which nothing fires                 |
| negativity_z         | 4.0   | 3.0      | 2.5  | two-proportion z of negative share vs baseline for "negative"     |
| critical_resemblance | 0.65  | 0.55     | 0.45 | crisis resemblance from which an anomaly is critical              |
| warning_resemblance  | 0.40  | 0.30     | 0.25 | crisis resemblance from which an anomaly is a warning             |
"""

from __future__ import annotations

from types import MappingProxyType

PRESETS = MappingProxyType({
    "fewer": MappingProxyType({
        "volume_threshold": 0.995, "min_volume": 30, "negativity_z": 4.0,
        "critical_resemblance": 0.65, "warning_resemblance": 0.40,
    }),
    "balanced": MappingProxyType({
        "volume_threshold": 0.99, "min_volume": 15, "negativity_z": 3.0,
        "critical_resemblance": 0.55, "warning_resemblance": 0.30,
    }),
    "more": MappingProxyType({
        "volume_threshold": 0.97, "min_volume": 8, "negativity_z": 2.5,
        "critical_resemblance": 0.45, "warning_resemblance": 0.25,
    }),
})

TUNABLE = tuple(PRESETS["balanced"])
