"""Test configuration.

scikit-learn's ``check_array_api_input`` needs SciPy's array-API mode, which SciPy reads
once at import: set it before anything imports SciPy, so that check runs instead of
skipping.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
