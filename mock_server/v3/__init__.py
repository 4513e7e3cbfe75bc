"""The /v3 data plane: one ordered pipeline of steps over one Exchange, and the v3 contract it serves."""
