"""``make demo``: the operator checklist of seed 000 end to end through the gateway, every billing gate
path (CREDIT, POSTPAID paid, OVERRIDE) and a V1 step; see :mod:`scripts.demo.run`.

Modules: :mod:`~scripts.demo.flow` (one work order up to its DOCX; :func:`run_flow` is the single flow
of the end-to-end tests), :mod:`~scripts.demo.gates` (the releases), :mod:`~scripts.demo.payment` (how
an invoice is paid), :mod:`~scripts.demo.verify` (export bundle and evidence pack),
:mod:`~scripts.demo.v1` (the bridge client), :mod:`~scripts.demo.progress` (the live board).
"""

from scripts.demo.flow import run_flow
from scripts.demo.run import DemoResult, DemoSettings, main, run_demo

__all__ = ["DemoResult", "DemoSettings", "main", "run_demo", "run_flow"]
