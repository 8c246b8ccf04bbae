"""What `make run` prints: the headline rests on a well-covered day, and thin later days are called out."""

from datetime import UTC, datetime

import pandas as pd

from mac_assets.infra.warehouse import write_frame
from mac_assets.run import summary


def test_headline_skips_trailing_days_with_little_data(tmp_path):
    db = str(tmp_path / "m.duckdb")
    days = pd.to_datetime(["2026-07-27", "2026-07-28", "2026-10-08"])
    comp = pd.DataFrame({"date": days, "mac": [0.70, 0.76, 1.0], "status": ["comfortable", "comfortable", "ample"],
                         "coverage": [0.6, 0.57, 0.05], "pillars_available": [7, 7, 1], "methodology_version": "mac-1.0"})
    pillars = pd.DataFrame({"date": days.repeat(1), "pillar": "valuation", "score": [0.7, 0.7, 1.0],
                            "status": "comfortable", "coverage": 1.0, "weight": 1.0, "contribution": [0.7, 0.7, 1.0]})
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    write_frame(db, "scores.mac_composite", comp, window)
    write_frame(db, "scores.pillar_scores", pillars, window)
    text = summary(db)
    assert text.startswith("MAC on 2026-07-28: 0.760 (comfortable), coverage 57%")
    assert "Later days have less data: 2026-10-08 scores 1.000 on 5% coverage (1 pillars)" in text
    assert "2026-07-27 → 2026-10-08" in text
