"""Pure booking rules: no Flask, no TinyDB."""
