"""Latency lookup tables for Single-Path NAS (Stamoulis et al., ECML-PKDD 2019), measured and predicted.

- ``space``: the search space as a YAML spec (layers, options, skip, attention candidates);
- ``segments``: an architecture as a chain of segments and each segment's exact op-level work (no torch);
- ``harness`` / ``worker`` / ``network``: measuring in a worker process with the malloc settings (torch);
- ``timers``: stamps between segments, ``perf_counter_ns`` on the CPU and CUDA events on a GPU;
- ``rounds``: warm-up, fixed and extra rounds in random order until a precision target holds;
- ``stats`` / ``precision``: an entry's estimate, its distribution-free interval and spread; the
  checks a build makes of itself (precision, twins, controls, the machine) and its exit code;
- ``machine``: the worker's CPU share, context switches, load average, pinning;
- ``loadtest``: a build under competing load against a quiet one (the test and the benchmark);
- ``build``: a measured table with its build-time scale;
- ``table``: the attncost and Single-Path layouts, loading with clear errors;
- ``schema``: the checks of every JSON file read (tables, device profiles, measurements), with JSON paths;
- ``runtime``: the Single-Path runtime model (Eq. 7) in sympy and torch;
- ``predict`` / ``calibrate``: the analytic predictor and the fits (device profile, scale/offset);
- ``metrics`` / ``validate``: sampled architectures measured end to end, and the table's accuracy.

See docs/LUT.md.
"""
