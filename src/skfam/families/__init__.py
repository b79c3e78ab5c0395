"""The model families of skfam, one module each (registered in ``configs/families.yaml``)."""
