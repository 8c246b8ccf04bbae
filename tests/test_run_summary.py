"""What `make run` prints: one headline and the risk first, the other readings under their own heading, thin later
days called out, and where to look next."""

from datetime import UTC, datetime

import pandas as pd

from mac_assets.infra.settings import load_settings
from mac_assets.infra.warehouse import write_frame
from mac_assets.run import DEMO_BANNER, summary


def warehouse(tmp_path, source: str) -> str:
    db = str(tmp_path / "m.duckdb")
    days = pd.to_datetime(["2026-07-27", "2026-07-28", "2026-10-08"])
    comp = pd.DataFrame({"date": days, "mac": [0.70, 0.76, 1.0], "status": ["comfortable", "comfortable", "ample"],
                         "band": "comfortable", "coverage": [0.6, 0.57, 0.05], "pillars_available": [2, 2, 1],
                         "methodology_version": "mac-2.1 stress", "seed_mac": 0.8, "systemic_mac": 0.9,
                         "systemic_status": "ample", "buildup_mac": 0.4, "buildup_status": "thin", "risk_12m": 0.07,
                         "risk_base_rate": 0.19, "risk_in_sample": False})
    pillars = pd.DataFrame({"date": days.repeat(2), "reading": "stress", "pillar": ["valuation", "volatility"] * 3,
                            "stress": 0.3, "score": 0.7, "weight": 0.5, "contribution": 0.35, "indicators_available": 1,
                            "indicators_total": 2, "imputed": False, "imputed_share": 0.25, "status": "comfortable",
                            "methodology_version": "mac-2.1"})
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    write_frame(db, "scores.mac_composite", comp, window)
    write_frame(db, "scores.mac2_pillar_scores", pillars, window)
    write_frame(db, "raw.vix", pd.DataFrame({"date": days, "value": 20.0, "source": source}), window)
    return db


def test_the_headline_and_the_risk_come_first_then_the_other_readings_and_what_to_open(tmp_path):
    db = warehouse(tmp_path, "csv")
    settings = load_settings({"MAC_DUCKDB_PATH": db, "MAC_SOURCE": "csv", "MAC_REPORTS_DIR": str(tmp_path / "r")})
    text = summary(settings)
    lines = text.splitlines()
    assert lines[0].startswith("MAC on 2026-07-28: 0.760 (comfortable) — mac-2.1 stress, coverage 57%")
    assert lines[1].startswith("12-month drawdown risk (SPY −15 % within a year): 7%, base rate 19%")
    assert "Other readings (not the headline):" in text and "systemic, mac-3.0" in text and "build-up" in text
    assert "Later days have less data: 2026-10-08 scores 1.000 on 5% coverage" in text
    assert "2026-07-27 → 2026-10-08" in text
    assert f"{tmp_path / 'r' / 'site' / 'index.html'}" in text and settings.bi_path in text
    assert DEMO_BANNER not in text


def test_a_demo_reading_says_so_first(tmp_path):
    db = warehouse(tmp_path, "demo")
    assert summary(load_settings({"MAC_DUCKDB_PATH": db})).startswith(DEMO_BANNER)
