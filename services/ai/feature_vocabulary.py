"""The vocabulary every model's features share: array types, time units, merchant categories.

Part of the one feature code path of training and serving (``services.ai.features``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400


#: Merchant categories known to the models. Unknown categories are accepted and
#: simply never match a customer's history (and get the global risk prior).
CATEGORIES: tuple[str, ...] = (
    "grocery",
    "restaurants",
    "transport",
    "fuel",
    "utilities",
    "subscriptions",
    "entertainment",
    "clothing",
    "health",
    "travel",
    "online_retail",
    "electronics",
    "cash_withdrawal",
    "fees",
    "jewelry",
    "gambling",
    "crypto",
)
