"""Sweeps: tasks × methods × seeds, each an ordinary run directory, and their aggregation.

- :mod:`gpo.sweep.plan`: what runs (method variants from a grid of part settings, names);
- :mod:`gpo.sweep.manifest`: ``manifest.json``, the plan and each run's status;
- :mod:`gpo.sweep.executor`: where runs execute (a local process pool);
- :mod:`gpo.sweep.cluster`: or a Ray cluster (the ``ray`` extra), with
  :mod:`gpo.sweep.coordinator` (the driver's side: run directories, cache, request slots,
  budget) and :mod:`gpo.sweep.archive` (run directories as bytes);
- :mod:`gpo.sweep.worker`: one run: skip if finished, resume if interrupted, else start;
- :mod:`gpo.sweep.tracking`: runs and sweeps logged to MLflow (the ``mlflow`` extra);
- :mod:`gpo.sweep.runner`: opening a sweep directory and driving its runs;
- :mod:`gpo.sweep.records`, :mod:`gpo.sweep.aggregate`, :mod:`gpo.sweep.paired`: the
  methods × tasks table (the paper's Table 5), gains over p0 and paired tests;
- :mod:`gpo.sweep.output`, :mod:`gpo.sweep.display`: CSV, JSON, HTML and the terminal.

Importing this package imports nothing else; use the modules.

Example:
    >>> from gpo.sweep.plan import SweepPlan
    >>> plan = SweepPlan(("synthetic/navigate",), ("gpo", "cot"), (0, 1))
    >>> [r.name for r in plan.runs()][:2]
    ['synthetic-navigate__gpo__s0', 'synthetic-navigate__gpo__s1']
"""
