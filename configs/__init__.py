"""Shipped configuration of skfam: the single source of truth (SST)."""
