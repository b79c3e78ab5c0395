"""The estimators of each model family, one module per family.

Module ``skfam.models.<key>`` pairs with ``configs/models/<key>.yaml``; both are registered
in ``configs/families.yaml``. (The package is not called ``families`` so that it can never
shadow the public function :func:`skfam.families`.)
"""
