"""Evaluation: the platform scored against the digital twin's ground truth.

Where it sits: off the live data flow, at the end of it. It reads twin recordings (which carry the truth next
to what the field sent), replays them through fusion, and scores the result with multi-object tracking
metrics, next to baselines that use the roadside reports without fusion.

    truth.py       observable ground truth per 100 ms frame
    baselines.py   raw union of all roadside reports; one roadside unit per place (single unit)
    metrics.py     MOTA, IDF1, ID switches, false positives, misses, position error (motmetrics)
    accuracy.py    fusion vs. baselines on one recording, as a report and a text table
    event_matching.py  road events matched to the twin's scripted incidents; precision, recall, delays
    events.py      replay through fusion, events and advisories; the ``eval events`` report
    commands.py    ``roadcloud eval fusion RECORDING``, ``roadcloud eval events RECORDING``

Submodules are imported on use so ``roadcloud.eval.commands`` stays cheap for the CLI: import from them, e.g.
``from roadcloud.eval.accuracy import compare``.
"""
