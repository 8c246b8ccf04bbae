"""The analysts' page: a self-contained static site written after every run (no server, no CDN).

It opens from `file://` and behind any static web server: the charting library's JavaScript is copied from
its Python package (plotly) into `assets/`, the data are one `data.js` file the pages load with a script tag
(a `fetch` would be refused under `file://`), and the downloads are CSV files beside the pages. What it shows,
in the order an analyst reads it: the latest headline with its status, coverage and age, the 12-month risk
with its base rate and its out-of-sample verdict, the other readings, the history (zoom, hover, status bands,
shaded episodes), contributions by pillar over time and by pillar and indicator on any chosen day, the
methodology and the validation. A banner on every page says when the numbers come from the demo source.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mac_assets.episodes import EPISODES
from mac_assets.scores.headline import HEADLINE_VERSION
from mac_assets.scores.scoring import BAND_LABELS, rarity_bands
from mac_assets.thresholds import HEADLINE_METHODOLOGY, MAC3_RISK_BASE_RATE, READING_BANDS

PLOTLY_JS = "assets/plotly.min.js"
BAND_COLOURS = {"ample": "#2e7d32", "comfortable": "#9ccc65", "thin": "#fdd835", "stretched": "#fb8c00",
                "breach": "#c62828"}
# What the 12-month risk's test-year scores said (README, "Methodology and validation"): shown beside it wherever
# it is published, so nobody reads it as a validated forecast.
RISK_VERDICT = ("failed its out-of-sample test (2015-2025: AUROC below 0.5, negative Brier skill): read it as an "
                "experiment, not a forecast")


@dataclass(frozen=True)
class SiteInputs:
    """What the site shows, as the warehouse stores it."""

    history: pd.DataFrame  # scores.mac_composite (the headline and the readings beside it)
    pillars: pd.DataFrame  # scores/headline.headline_pillars
    indicators: pd.DataFrame  # scores/headline.headline_indicators
    freshness: pd.DataFrame  # bi.series_freshness
    source: str  # demo, live or csv
    validation: str  # validation.html's body (HTML), or "" when the run could not judge
    methodology: str  # methodology.html's body (HTML)
    published_at: str


def _rounded(values: pd.Series, digits: int = 4) -> list:
    return [None if pd.isna(v) else round(float(v), digits) for v in values]


def _columns(frame: pd.DataFrame, dates: pd.DatetimeIndex, key: str, fields: tuple[str, ...], shown: pd.Series) -> dict:
    """{name: {field: [value per date]}}: a long table as columns aligned on `dates` (compact JSON), blank on the
    days the headline was withheld (`shown` False), so no chart draws a decomposition of a number never published."""
    out = {}
    for name, rows in frame.groupby(key, sort=True):
        rows = rows.set_index("date").reindex(dates)
        out[str(name)] = {f: _rounded(rows[f].where(shown.to_numpy())) for f in fields}
    return out


def data(inputs: SiteInputs) -> dict:
    """Everything the pages draw, as JSON-ready columns on the headline's calendar."""
    h = inputs.history.sort_values("date")
    dates = pd.DatetimeIndex(h["date"])
    floors = rarity_bands(READING_BANDS[f"{HEADLINE_METHODOLOGY} stress"].cuts)
    shown = h["mac"].notna().reset_index(drop=True)
    return {
        "dates": [d.strftime("%Y-%m-%d") for d in dates],
        "history": {c: _rounded(h[c]) for c in ("mac", "coverage", "seed_mac", "systemic_mac", "buildup_mac", "risk_12m")}
        | {c: h[c].fillna("").astype(str).tolist() for c in ("status", "band")},
        "pillars": _columns(inputs.pillars, dates, "pillar", ("score", "weight", "contribution", "contribution_change"),
                            shown),
        "indicators": _columns(inputs.indicators, dates, "indicator", ("value", "percentile", "score", "contribution"),
                               shown),
        "indicator_pillar": inputs.indicators.drop_duplicates("indicator").set_index("indicator")["pillar"].to_dict(),
        "bands": [{"label": label, "floor": floor} for floor, label in floors],
        "colours": BAND_COLOURS,
        "episodes": [{"name": e.name, "start": str(e.start), "end": str(e.end), "kind": e.kind} for e in EPISODES],
        "risk_base_rate": MAC3_RISK_BASE_RATE,
    }


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="t", na_rep="–",
                         float_format=lambda v: f"{v:.3f}") if len(frame) else "<p>none</p>"


def _page(title: str, body: str, inputs: SiteInputs, scripts: str = "") -> str:
    banner = ('<div id="demo-banner" class="demo">Demo data: these numbers come from the seeded demo generator, '
              'not from markets. Set MAC_SOURCE=live or csv for a real reading.</div>') if inputs.source == "demo" else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1280px;margin:1em auto;padding:0 1em;color:#222}}
nav a{{margin-right:1.2em}}.demo{{background:#c62828;color:#fff;padding:.6em 1em;font-weight:600;margin:.5em 0}}
.cards{{display:flex;flex-wrap:wrap;gap:1em}}.card{{border:1px solid #ddd;border-radius:6px;padding:.8em 1.2em;min-width:14em}}
.big{{font-size:2.4em;font-weight:600}}.t{{border-collapse:collapse;font-size:.9em}}
.t td,.t th{{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}}.t th{{background:#f6f6f6}}
.muted{{color:#666;font-size:.9em}}.chart{{width:100%;height:460px}}</style></head><body>
{banner}<nav><a href="index.html">Latest and history</a><a href="methodology.html">Methodology</a>
<a href="validation.html">Validation</a><a href="history.csv" download>history.csv</a>
<a href="latest_decomposition.csv" download>latest_decomposition.csv</a></nav>
{body}
<p class="muted">Published {html.escape(inputs.published_at)} · source {html.escape(inputs.source)} ·
methodology {html.escape(HEADLINE_VERSION)}</p>{scripts}</body></html>"""


def index_page(inputs: SiteInputs, latest: pd.Series | None, reason: str) -> str:
    """The landing page: the latest reading first, then the interactive history and the decomposition."""
    if latest is None:
        cards = f'<p class="big">No headline</p><p>{html.escape(reason)}</p>'
    else:
        age = (pd.Timestamp(inputs.published_at[:10]) - latest["date"]).days
        risk = ("–" if pd.isna(latest["risk_12m"]) else f"{latest['risk_12m']:.0%}")
        cards = f"""<div class="cards">
<div class="card" id="headline"><div class="muted">Market Absorption Capacity ({html.escape(HEADLINE_VERSION)})</div>
<div class="big">{latest['mac']:.3f}</div><div>{html.escape(str(latest['status']))} · as of {latest['date']:%Y-%m-%d}
({age} days old) · coverage {latest['coverage']:.0%}</div></div>
<div class="card" id="risk"><div class="muted">12-month drawdown risk (SPY −15 % within 252 business days)</div>
<div class="big">{risk}</div><div>base rate {MAC3_RISK_BASE_RATE:.0%} · {html.escape(RISK_VERDICT)}</div></div>
<div class="card"><div class="muted">Other readings</div>
<div>systemic (mac-3.0): {_num(latest['systemic_mac'])} {html.escape(str(latest['systemic_status']))}</div>
<div>build-up: {_num(latest['buildup_mac'])} {html.escape(str(latest['buildup_status']))}</div>
<div>seed (mac-1.x): {_num(latest['seed_mac'])}</div></div></div>"""
    stale = inputs.freshness[inputs.freshness["freshness"].isin(["stale", "no_data"])]
    body = f"""<h1>Market Absorption Capacity</h1>{cards}
<h2>History</h2><p class="muted">1 = ample capacity to absorb shocks, 0 = breach. Shaded: status bands (rarity on
1998-2014) and dated stress episodes (hover for names). Drag to zoom, double-click to reset.</p>
<div id="history" class="chart"></div>
<h2>Contributions by pillar</h2><p class="muted">A pillar's contribution is weight × score; they add up to the
headline. The weights move with stress, so a contribution can fall while its score rises: the decomposition below
splits each day's change into the part from the score and the part from the weight.</p>
<div id="contributions" class="chart"></div>
<h2>12-month drawdown risk</h2><p class="muted">{html.escape(RISK_VERDICT)}.</p><div id="risk-chart" class="chart"></div>
<h2>Decomposition of a day</h2><label>Day <input type="date" id="day"></label>
<div id="decomposition"></div>
<h2>Inputs that are stale or missing</h2>{_table(stale[["series_id", "title", "newest_observation", "freshness"]])}"""
    return _page("Market Absorption Capacity", body, inputs,
                 f'<script src="{PLOTLY_JS}"></script><script src="data.js"></script><script>{_SCRIPT}</script>')


def _num(value) -> str:
    return "–" if pd.isna(value) else f"{value:.3f}"


def latest_decomposition(inputs: SiteInputs, day: pd.Timestamp) -> pd.DataFrame:
    """The day's pillars and indicators, one row each, contributions adding up to the headline."""
    p = inputs.pillars[inputs.pillars["date"] == day].assign(level="pillar", name=lambda f: f["pillar"])
    i = inputs.indicators[inputs.indicators["date"] == day].assign(level="indicator", name=lambda f: f["indicator"])
    columns = ["date", "level", "name", "pillar", "value", "percentile", "score", "weight", "contribution",
               "contribution_change", "change_from_score", "change_from_weight"]
    both = pd.concat([p, i], ignore_index=True)
    return both.reindex(columns=columns)


def render(inputs: SiteInputs) -> dict[str, bytes]:
    """Every file of the site by its path inside the site folder."""
    solid = inputs.history[inputs.history["mac"].notna() & (inputs.history["coverage"] >= 0.5)]
    latest = solid.sort_values("date").iloc[-1] if len(solid) else None
    reason = "no day had a headline backed by at least half of its weight" if latest is None else ""
    files = {
        "index.html": index_page(inputs, latest, reason),
        "methodology.html": _page("MAC methodology", inputs.methodology, inputs),
        "validation.html": _page("MAC validation", inputs.validation or "<p>Not judged on this run's data.</p>", inputs),
        "data.js": "window.MAC_DATA = " + json.dumps(data(inputs), separators=(",", ":"), allow_nan=False) + ";\n",
        "history.csv": inputs.history.to_csv(index=False, date_format="%Y-%m-%d"),
        "latest_decomposition.csv": (latest_decomposition(inputs, latest["date"]) if latest is not None
                                     else pd.DataFrame()).to_csv(index=False, date_format="%Y-%m-%d"),
    }
    return {name: content.encode("utf-8") for name, content in files.items()}


def plotly_js() -> bytes:
    """The charting library's JavaScript, as its Python package ships it."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


# The pages' own script: draws the charts from window.MAC_DATA and the decomposition of the chosen day.
_SCRIPT = """
(function () {
  const D = window.MAC_DATA, x = D.dates, last = x.length - 1;
  const bandShapes = D.bands.map((b, i) => ({type: 'rect', xref: 'paper', x0: 0, x1: 1, y0: b.floor,
      y1: i === 0 ? 1 : D.bands[i - 1].floor, fillcolor: D.colours[b.label], opacity: 0.12, line: {width: 0},
      layer: 'below'}));
  const episodes = D.episodes.filter(e => e.end >= x[0] && e.start <= x[last]);
  const episodeShapes = episodes.map(e => ({type: 'rect', yref: 'paper', y0: 0, y1: 1, x0: e.start, x1: e.end,
      fillcolor: '#777', opacity: 0.18, line: {width: 0}, layer: 'below'}));
  const episodeMarks = {x: episodes.map(e => e.start), y: episodes.map(() => 0.98), mode: 'markers',
      marker: {symbol: 'triangle-down', color: '#555', size: 8}, name: 'episodes',
      hovertext: episodes.map(e => e.name + ' (' + e.kind + ', ' + e.start + ')'), hoverinfo: 'text'};
  const line = (y, name, extra) => Object.assign({x: x, y: y, mode: 'lines', name: name, line: {width: 1.2}}, extra || {});
  const layout = (title, extra) => Object.assign({title: title, margin: {t: 40, r: 20, b: 40, l: 50},
      hovermode: 'x unified', xaxis: {rangeslider: {visible: true}, type: 'date'}}, extra || {});
  const config = {responsive: true, displaylogo: false};
  Plotly.newPlot('history', [
      line(D.history.mac, 'MAC (headline)', {line: {color: '#111', width: 1.4},
           customdata: D.history.status, hovertemplate: '%{y:.3f} %{customdata}<extra>MAC</extra>'}),
      line(D.history.systemic_mac, 'systemic (mac-3.0)', {visible: 'legendonly'}),
      line(D.history.buildup_mac, 'build-up', {visible: 'legendonly'}),
      line(D.history.seed_mac, 'seed (mac-1.x)', {visible: 'legendonly'}), episodeMarks],
    layout('MAC with status bands and stress episodes', {yaxis: {range: [0, 1]}, shapes: bandShapes.concat(episodeShapes)}),
    config).then(el => el.setAttribute('data-points', String(D.history.mac.filter(v => v !== null).length)));
  const pillars = Object.keys(D.pillars);
  Plotly.newPlot('contributions', pillars.map(p => line(D.pillars[p].contribution, p,
      {stackgroup: 'one', line: {width: 0.5}})), layout('Pillar contributions (they add up to MAC)',
      {yaxis: {range: [0, 1]}}), config);
  Plotly.newPlot('risk-chart', [line(D.history.risk_12m, '12-month risk'),
      line(x.map(() => D.risk_base_rate), 'training base rate', {line: {dash: 'dot', color: '#888'}})],
    layout('P(SPY falls 15 % or more within 252 business days)', {yaxis: {range: [0, 1], tickformat: '.0%'}}), config);
  const day = document.getElementById('day');
  day.min = x[0]; day.max = x[last]; day.value = x[last];
  const fmt = v => v === null || v === undefined ? '–' : Number(v).toFixed(3);
  function show() {
    let i = x.indexOf(day.value);
    if (i < 0) { i = x.findIndex(d => d > day.value) - 1; if (i < 0) i = last; }
    const rows = pillars.map(p => '<tr><th>' + p + '</th><td>' + fmt(D.pillars[p].score[i]) + '</td><td>' +
        fmt(D.pillars[p].weight[i]) + '</td><td>' + fmt(D.pillars[p].contribution[i]) + '</td><td>' +
        fmt(D.pillars[p].contribution_change[i]) + '</td></tr>').join('');
    const ind = Object.keys(D.indicators).map(k => '<tr><th>' + k + '</th><td>' + (D.indicator_pillar[k] || '') +
        '</td><td>' + fmt(D.indicators[k].value[i]) + '</td><td>' + fmt(D.indicators[k].percentile[i]) + '</td><td>' +
        fmt(D.indicators[k].score[i]) + '</td><td>' + fmt(D.indicators[k].contribution[i]) + '</td></tr>').join('');
    document.getElementById('decomposition').innerHTML = '<p>' + x[i] + ': MAC ' + fmt(D.history.mac[i]) + ' (' +
        D.history.status[i] + ')</p><table class="t"><tr><th>pillar</th><th>score</th><th>weight</th>' +
        '<th>contribution</th><th>change</th></tr>' + rows + '</table><table class="t"><tr><th>indicator</th>' +
        '<th>pillar</th><th>value</th><th>percentile</th><th>score</th><th>contribution</th></tr>' + ind + '</table>';
  }
  day.addEventListener('change', show);
  show();
})();
"""


def methodology_body(indicators: pd.DataFrame, choices: pd.DataFrame, rules: str) -> str:
    """methodology.html's body: the rules, the indicators and every frozen choice."""
    bands = pd.DataFrame([{"reading": name, **{label: f"{c:.3f}" for label, c in zip(BAND_LABELS[1:], b.cuts)},
                           "quiet days": b.quiet_days} for name, b in READING_BANDS.items()])
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in rules.split("\n\n") if p.strip())
    return (f"<h1>Methodology {html.escape(HEADLINE_VERSION)}</h1>{paragraphs}<h2>Indicators</h2>{_table(indicators)}"
            f"<h2>Status bands (stress above which each band starts) and quiet days</h2>{_table(bands)}"
            f"<h2>Every choice and how it was set</h2>{_table(choices)}")


def validation_body(tables: dict[str, pd.DataFrame], verdict: str) -> str:
    """validation.html's body: the verdict first, then protocol v2's tables."""
    parts = [f"<h1>Validation</h1><p>{html.escape(verdict)}</p>"]
    for name, table in tables.items():
        shown = table.drop(columns=[c for c in ("missed",) if c in table.columns])
        parts.append(f"<h2>{html.escape(name)}</h2>{_table(shown.replace({np.nan: None}))}")
    return "".join(parts)
