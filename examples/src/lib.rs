//! Runnable Fleet examples: see `examples/`.
