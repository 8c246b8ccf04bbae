"""A local stand-in for every provider, serving the demo generator's data in each provider's format.

Used by the whole-graph live test: the same numbers as the demo source, but travelling as FRED JSON
strings, Cboe CSV with US dates, Socrata rows paged by $limit/$offset, Yahoo chart JSON, OFR pairs and
Binance's 30-day window, so a live run can be compared with a demo run value for value.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
from werkzeug import Request, Response

from mac_assets.catalog import SERIES, get_series
from mac_assets.sources.demo import generate
from mac_assets.sources.live import LiveSource
from mac_assets.sources.providers import LIVE_PROVIDERS

PREFIXES = {p.name: f"/{p.name}" for p in LIVE_PROVIDERS}  # one path prefix per provider of the registry


class FakeProviders:
    def __init__(self, httpserver, seed: int, as_of: str):
        self.frames = generate(seed)
        self.as_of = pd.Timestamp(as_of)
        self.server = httpserver
        routes = {
            "/fred/series/observations": self.fred,
            re.compile(r"^/cboe/(\w+)_History\.csv$"): self.cboe,
            "/cftc/resource/gpe5-46if.json": self.cftc,
            re.compile(r"^/yahoo/v8/finance/chart/([\w-]+)$"): self.yahoo,
            "/binance/futures/data/openInterestHist": self.binance,
            "/ofr/series/timeseries": self.ofr,
        }
        for uri, handler in routes.items():
            httpserver.expect_request(uri).respond_with_handler(handler)

    def base_urls(self) -> dict[str, str]:
        return {p: self.server.url_for(prefix) for p, prefix in PREFIXES.items()}

    def live_source(self, csv_dir, cftc_page_size: int = 500, **overrides: dict) -> LiveSource:
        """Every live client pointed at this server, with quick retries (one retry, 10 ms backoff).

        `overrides` maps a provider to settings of its client (another base_url, other timeouts).
        """
        url, quick = self.base_urls(), {"backoff_s": 0.01, "max_retries": 1}

        def kw(provider: str, **extra) -> dict:
            return {"base_url": url[provider], **quick, **extra, **overrides.get(provider, {})}

        extra = {"fred": {"api_key": "test-key", "rate_limit_per_s": 1000}, "cftc": {"page_size": cftc_page_size}}
        clients = {p.name: p.client(**kw(p.name, **extra.get(p.name, {}))) for p in LIVE_PROVIDERS}
        return LiveSource(clients=clients, csv_dir=str(csv_dir))

    def requests_by_provider(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request, _ in self.server.log:
            provider = request.path.strip("/").split("/")[0]
            counts[provider] = counts.get(provider, 0) + 1
        return counts

    def _series(self, series_id: str, start=None, end=None) -> pd.DataFrame:
        frame = self.frames[series_id]
        frame = frame[frame["date"] <= self.as_of]
        if start is not None:
            frame = frame[frame["date"] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame[frame["date"] <= pd.Timestamp(end)]
        return frame

    def fred(self, request: Request) -> Response:
        a = request.args
        frame = self._series(a["series_id"], a.get("observation_start"), a.get("observation_end"))
        rows = [{"realtime_start": (d + timedelta(days=1)).strftime("%Y-%m-%d"), "realtime_end": "9999-12-31",
                 "date": d.strftime("%Y-%m-%d"), "value": repr(float(v))}
                for d, v in zip(frame["date"], frame["value"])]
        offset, limit = int(a.get("offset", 0)), int(a.get("limit", 100000))
        return _json({"count": len(rows), "offset": offset, "limit": limit,
                      "observations": rows[offset:offset + limit]})

    def cboe(self, request: Request) -> Response:
        index = re.match(r"^/cboe/(\w+)_History\.csv$", request.path).group(1)
        frame = self._series(index)
        if index == "VVIX":
            lines = ["DATE,VVIX"] + [f"{d:%m/%d/%Y},{v!r}" for d, v in zip(frame["date"], frame["value"])]
        else:
            lines = ["DATE,OPEN,HIGH,LOW,CLOSE"] + [
                f"{d:%m/%d/%Y},{v!r},{v!r},{v!r},{v!r}" for d, v in zip(frame["date"], frame["value"])]
        return Response("\n".join(lines) + "\n", content_type="text/csv")

    def cftc(self, request: Request) -> Response:
        a = request.args
        bounds = re.findall(r"'(\d{4}-\d{2}-\d{2})T", a["$where"])
        frame = self._series("CFTC_TFF_UST")
        frame = frame[(frame["date"] >= bounds[0]) & (frame["date"] < bounds[1])]
        rows = [{
            "report_date_as_yyyy_mm_dd": f"{r.date:%Y-%m-%d}T00:00:00.000", "cftc_contract_market_code": r.contract_code,
            "open_interest_all": str(int(r.open_interest)),
            "lev_money_positions_long": str(int(r.lev_money_long)), "lev_money_positions_short": str(int(r.lev_money_short)),
            "asset_mgr_positions_long": str(int(r.asset_mgr_long)), "asset_mgr_positions_short": str(int(r.asset_mgr_short)),
            "dealer_positions_long_all": str(int(r.dealer_long)), "dealer_positions_short_all": str(int(r.dealer_short)),
        } for r in frame.itertuples()]
        offset, limit = int(a["$offset"]), int(a["$limit"])
        return _json(rows[offset:offset + limit])

    def yahoo(self, request: Request) -> Response:
        symbol = request.path.rsplit("/", 1)[1]
        start = datetime.fromtimestamp(int(request.args["period1"]), UTC).date()
        end = datetime.fromtimestamp(int(request.args["period2"]), UTC).date() - timedelta(days=1)
        frame = self._series(symbol, start, end)
        offset = 0 if symbol.endswith("-USD") else -18000  # crypto trades on UTC days, SPY in New York
        stamps = [int(pd.Timestamp(d).timestamp()) - offset + (0 if offset == 0 else 34200) for d in frame["date"]]
        closes = [float(v) for v in frame["value"]]
        return _json({"chart": {"result": [{"meta": {"symbol": symbol, "gmtoffset": offset}, "timestamp": stamps,
                                            "indicators": {"quote": [{"close": closes}], "adjclose": [{"adjclose": closes}]}}],
                                "error": None}})

    def binance(self, request: Request) -> Response:
        a = request.args
        series = next(s for s in SERIES if s.provider == "binance" and s.remote_id == a["symbol"])
        start = pd.to_datetime(int(a["startTime"]), unit="ms")
        end = pd.to_datetime(int(a["endTime"]), unit="ms")
        frame = self._series(series.id)
        frame = frame[(frame["date"] >= start) & (frame["date"] <= end)]
        return _json([{"symbol": a["symbol"], "sumOpenInterest": "1", "sumOpenInterestValue": repr(float(v)),
                       "timestamp": int(pd.Timestamp(d).timestamp() * 1000)} for d, v in zip(frame["date"], frame["value"])])

    def ofr(self, request: Request) -> Response:
        a = request.args
        frame = self._series(get_series(a["mnemonic"]).id, a.get("start_date"), a.get("end_date"))
        return _json([[f"{d:%Y-%m-%d}", float(v)] for d, v in zip(frame["date"], frame["value"])])


def _json(body) -> Response:
    return Response(json.dumps(body), content_type="application/json")
