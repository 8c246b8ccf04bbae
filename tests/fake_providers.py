"""A local stand-in for every provider, serving the demo generator's data in each provider's format.

Used by the whole-graph live test: the same numbers as the demo source, but travelling as FRED JSON
strings, Cboe CSV with US dates, Socrata rows paged by $limit/$offset, Yahoo chart JSON, OFR pairs and
Binance's 30-day window, so a live run can be compared with a demo run value for value.

The providers' real behaviour where it bites: FRED answers today's values with `realtime_start` set to
the day of the request unless a real-time period is asked, keeps ALFRED versions for the catalog's
revised series (first published at date + lag; `revise` adds a later version), cuts real-time periods
at the requested edges and refuses periods holding more than `vintage_limit` vintage dates; its errors
are JSON bodies (400 for a bad key or series, 429 when throttled). Yahoo refuses a client that does not
look like a browser with a plain-text 429 and sends `quote: [{}]` for a window without bars; Binance
answers a blocked location with 451. `refuse` and `geo_block` switch a provider to those answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
from werkzeug import Request, Response

from mac_assets.catalog import SERIES, SERIES_BY_ID, get_series
from mac_assets.sources.demo import generate
from mac_assets.sources.live import LiveSource
from mac_assets.sources.providers import LIVE_PROVIDERS

PREFIXES = {p.name: f"/{p.name}" for p in LIVE_PROVIDERS}  # one path prefix per provider of the registry
FRED_KEY = "test-key"
# FRED's identifiers, including the catalog fallbacks it serves for other providers' series (CBBTCUSD).
FRED_IDS = {s.remote_id: s.id for s in SERIES if s.provider == "fred"} | {
    s.fallback[1]: s.id for s in SERIES if s.fallback and s.fallback[0] == "fred"}
LATEST = "9999-12-31"
FRED_BAD_KEY = ("Bad Request.  The value for variable api_key is not registered.  Read "
                "https://fred.stlouisfed.org/docs/api/api_key.html for more information.")
BINANCE_451 = ("Service unavailable from a restricted location according to 'b. Eligibility' in "
               "https://www.binance.com/en/terms. Please contact customer service if you believe you "
               "received this message in error.")


class FakeProviders:
    def __init__(self, httpserver, seed: int, as_of: str, vintage_limit: int = 2000, fred_key: str = FRED_KEY):
        self.frames = generate(seed)
        self.as_of = pd.Timestamp(as_of)
        self.server = httpserver
        self.vintage_limit = vintage_limit
        self.fred_key = fred_key  # the one key FRED accepts; any other gets FRED's 400
        self.refused: set[str] = set()
        self.geo_blocked: set[str] = set()
        self.versions = {sid: self._first_releases(sid) for sid in SERIES_BY_ID if SERIES_BY_ID[sid].vintages}
        self.fred = self._fred("observations", self.fred_observations)  # a handler per provider, named after it
        routes = {
            "/fred/series/observations": self.fred,
            "/fred/series/vintagedates": self._fred("vintage_dates", self.fred_vintage_dates),
            re.compile(r"^/cboe/(\w+)_History\.csv$"): self.cboe,
            "/cftc/resource/gpe5-46if.json": self.cftc,
            re.compile(r"^/yahoo/v8/finance/chart/([\w-]+)$"): self.yahoo,
            "/binance/futures/data/openInterestHist": self.binance,
            "/ofr/series/timeseries": self.ofr,
            re.compile(r"^/glassnode/v1/metrics/(.+)$"): self.glassnode,
        }
        for uri, handler in routes.items():
            httpserver.expect_request(uri).respond_with_handler(self._gate(handler))

    def refuse(self, provider: str) -> None:
        """From now on the provider refuses this client, as it refuses one it takes for a bot."""
        self.refused.add(provider)

    def geo_block(self, provider: str) -> None:
        self.geo_blocked.add(provider)

    def _gate(self, handler):
        def gated(request: Request) -> Response:
            provider = request.path.strip("/").split("/")[0]
            if provider in self.geo_blocked:
                return _json({"code": 0, "msg": BINANCE_451}, status=451)
            if provider in self.refused:
                return _refusal(provider)
            return handler(request)
        return gated

    def base_urls(self) -> dict[str, str]:
        return {p: self.server.url_for(prefix) for p, prefix in PREFIXES.items()}

    def live_source(self, csv_dir, cftc_page_size: int = 500, **overrides: dict) -> LiveSource:
        """Every live client pointed at this server, with quick retries (one retry, 10 ms backoff).

        `overrides` maps a provider to settings of its client (another base_url, other timeouts).
        """
        url, quick = self.base_urls(), {"backoff_s": 0.01, "max_retries": 1}

        def kw(provider: str, **extra) -> dict:
            return {"base_url": url[provider], **quick, **extra, **overrides.get(provider, {})}

        extra = {"fred": {"api_key": self.fred_key, "rate_limit_per_s": 1000}, "cftc": {"page_size": cftc_page_size}}
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

    # --- FRED / ALFRED ----------------------------------------------------------------------------

    def _first_releases(self, series_id: str) -> pd.DataFrame:
        """Each observation's first version, published `lag_days` after its date, still current."""
        frame = self.frames[series_id]
        return pd.DataFrame({"date": frame["date"], "value": frame["value"].astype(float),
                             "start": frame["date"] + pd.Timedelta(days=SERIES_BY_ID[series_id].lag_days),
                             "end": pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")})

    def revise(self, series_id: str, day: str, value: float, published: str) -> None:
        """A later version of one observation: the current one ends the day before `published`."""
        v = self.versions[series_id]
        current = (v["date"] == pd.Timestamp(day)) & v["end"].isna()
        v.loc[current, "end"] = pd.Timestamp(published) - pd.Timedelta(days=1)
        row = pd.DataFrame({"date": [pd.Timestamp(day)], "value": [float(value)],
                            "start": [pd.Timestamp(published)], "end": [pd.NaT]})
        self.versions[series_id] = pd.concat([v, row]).sort_values(["date", "start"]).reset_index(drop=True)

    def _published(self, series_id: str) -> pd.DataFrame:
        """Versions released by the fake's today; one still current today has no end."""
        v = self.versions[series_id]
        v = v[v["start"] <= self.as_of].copy()
        v.loc[v["end"] > self.as_of, "end"] = pd.NaT
        return v

    def _fred(self, field: str, items):
        """A FRED endpoint: its key and series checks, then `items(args, series id)` paged by limit/offset
        (an `items` that returns a Response answers with it: FRED's errors)."""
        def handler(request: Request) -> Response:
            a = request.args
            if a.get("api_key") != self.fred_key:
                return _json({"error_code": 400, "error_message": FRED_BAD_KEY}, status=400)
            if a.get("series_id") not in FRED_IDS:
                return _json({"error_code": 400, "error_message": "Bad Request.  The series does not exist."},
                             status=400)
            found = items(a, FRED_IDS[a["series_id"]])
            if isinstance(found, Response):
                return found
            today = self.as_of.strftime("%Y-%m-%d")
            offset, limit = int(a.get("offset", 0)), int(a.get("limit", 100000))
            return _json({"realtime_start": a.get("realtime_start", today), "realtime_end": a.get("realtime_end", today),
                          "count": len(found), "offset": offset, "limit": limit, field: found[offset:offset + limit]})
        return handler

    def fred_vintage_dates(self, a, sid: str) -> list[str]:
        if sid not in self.versions:
            return [self.as_of.strftime("%Y-%m-%d")]
        return sorted(self._published(sid)["start"].dt.strftime("%Y-%m-%d").unique())

    def fred_observations(self, a, sid: str) -> list[dict] | Response:
        """Today's values without a real-time period; with one, the versions valid in it, cut at its edges."""
        start = pd.Timestamp(a.get("observation_start", "1776-07-04"))
        end = pd.Timestamp(a["observation_end"]) if "observation_end" in a else pd.Timestamp.max
        today = self.as_of.strftime("%Y-%m-%d")
        if "realtime_start" not in a or sid not in self.versions:
            # Without a real-time period FRED answers today's values, every row "real-time" today only.
            frame = self._series(sid, start, end)
            rows = [{"realtime_start": today, "realtime_end": today, "date": f"{d:%Y-%m-%d}", "value": repr(float(v))}
                    for d, v in zip(frame["date"], frame["value"])]
        else:
            lo, hi = pd.Timestamp(a["realtime_start"]), a["realtime_end"]
            hi = self.as_of if hi == LATEST else min(pd.Timestamp(hi), self.as_of)
            v = self._published(sid)
            vintages = v["start"][(v["start"] >= lo) & (v["start"] <= hi)].nunique()
            if vintages > self.vintage_limit:
                return _json({"error_code": 400, "error_message": (
                    f"Bad Request.  There are {vintages} vintage dates in the specified real-time period: "
                    f"{a['realtime_start']} to {a['realtime_end']}.  This exceeds the maximum number of vintage "
                    f"dates allowed ({self.vintage_limit}).")}, status=400)
            open_end = v["end"].fillna(pd.Timestamp.max)
            v = v[(v["date"] >= start) & (v["date"] <= end) & (v["start"] <= hi) & (open_end >= lo)]
            rows = [{"realtime_start": f"{max(r.start, lo):%Y-%m-%d}",
                     "realtime_end": (LATEST if pd.isna(r.end) and a["realtime_end"] == LATEST
                                      else f"{min(r.end if pd.notna(r.end) else hi, hi):%Y-%m-%d}"),
                     "date": f"{r.date:%Y-%m-%d}", "value": repr(float(r.value))} for r in v.itertuples()]
        return rows

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
        if "Mozilla/" not in request.headers.get("User-Agent", ""):
            return _refusal("yahoo")  # Yahoo's answer to a client that does not look like a browser
        symbol = request.path.rsplit("/", 1)[1]
        start = datetime.fromtimestamp(int(request.args["period1"]), UTC).date()
        end = datetime.fromtimestamp(int(request.args["period2"]), UTC).date() - timedelta(days=1)
        frame = self._series(symbol, start, end)
        offset = 0 if symbol.endswith("-USD") else -18000  # crypto trades on UTC days, SPY in New York
        meta = {"symbol": symbol, "gmtoffset": offset}
        if frame.empty:  # a window without bars: no timestamps and an empty quote
            return _json({"chart": {"result": [{"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}],
                                    "error": None}})
        stamps = [int(pd.Timestamp(d).timestamp()) - offset + (0 if offset == 0 else 34200) for d in frame["date"]]
        closes = [float(v) for v in frame["value"]]
        return _json({"chart": {"result": [{"meta": meta, "timestamp": stamps,
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

    def glassnode(self, request: Request) -> Response:
        if not request.headers.get("X-Api-Key"):
            return Response("Unauthorized", status=401, content_type="text/plain")
        path = request.path.split("/v1/metrics/", 1)[1]
        series = next(s for s in SERIES if s.provider == "glassnode" and s.remote_id == path)
        a = request.args
        frame = self._series(series.id, pd.to_datetime(int(a["s"]), unit="s"), pd.to_datetime(int(a["u"]), unit="s"))
        return _json([{"t": int(pd.Timestamp(d).timestamp()), "v": float(v)} for d, v in zip(frame["date"], frame["value"])])


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _refusal(provider: str) -> Response:
    """How each provider says no to a client it will not serve."""
    if provider == "fred":
        return _json({"error_code": 429, "error_message": "Too Many Requests.  Exceeded Rate Limit"}, status=429)
    if provider == "yahoo":
        return Response("Too Many Requests", status=429, content_type="text/plain")
    return Response("Forbidden", status=403, content_type="text/plain")
