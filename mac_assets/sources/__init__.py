"""Sources of raw series, without Dagster: one client per provider behind `fetch(series, start, end)`.

`providers.py` is the registry; `http.py` the one HTTP layer; `demo.py`, `csv_folder.py` and `live.py`
the three sources MAC_SOURCE chooses from. `resources.py` is the only module that imports Dagster.
"""
