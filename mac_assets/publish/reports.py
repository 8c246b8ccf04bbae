"""Reports people read: validation against official stress indexes, charts, a one-page HTML report.

Pure functions over frames: each report is rendered here from `Stored` (the tables it reads) into text or
bytes; the assets in `publish/assets.py` only load the tables, call the renderer and write its files.
Validation uses the whole stored history of the benchmark indexes (a report, not a score), and never
feeds back into MAC.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mac_assets.catalog import PILLARS  # noqa: E402
from mac_assets.episodes import EPISODES  # noqa: E402
from mac_assets.publish import validation  # noqa: E402
from mac_assets.scores.compute import headline_days, no_headline_reason  # noqa: E402
from mac_assets.thresholds import (  # noqa: E402
    HEADLINE_METHODOLOGY,
    MAC2_VERSION,
    METHODOLOGY_VERSION,
    STATUS_BANDS,
    THRESHOLDS,
)

BAND_COLOURS = {"ample": "#2e7d32", "comfortable": "#9ccc65", "thin": "#fdd835", "stretched": "#fb8c00",
                "breach": "#c62828"}
LOWEST_SPACING_DAYS = 30
REPORT_PAGE = "mac_report.html"


def weekly_alignment(composite: pd.DataFrame, pillars: pd.DataFrame, benchmark: pd.DataFrame) -> pd.DataFrame:
    """Each benchmark observation with the MAC and pillar scores of the same day (or the business day before)."""
    wide = pillars.pivot(index="date", columns="pillar", values="score")
    scores = composite[["date", "mac"]].set_index("date").join(wide).reset_index().sort_values("date")
    bench = benchmark[["date", "value"]].dropna().sort_values("date")
    merged = pd.merge_asof(bench, scores, on="date", direction="backward", tolerance=pd.Timedelta(days=4))
    return merged.dropna(subset=["mac"])


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman rank correlation: Pearson correlation of the ranks (ties share their mean rank).

    pandas' method="spearman" needs scipy for this one line; ranking first needs nothing more.
    """
    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 3 or (both.nunique() < 2).any():  # a constant series has no rank correlation
        return float("nan")
    return float(both.iloc[:, 0].rank().corr(both.iloc[:, 1].rank()))


def _aligned(composite, pillars, benchmarks: dict[str, pd.DataFrame]):
    """(name, aligned weeks) for every benchmark with enough overlap to say anything."""
    for name, bench in benchmarks.items():
        aligned = weekly_alignment(composite, pillars, bench)
        if len(aligned) >= 10:
            yield name, aligned


def correlation_table(composite, pillars, benchmarks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Spearman rank correlation of MAC and of each pillar with each benchmark (negative = MAC falls as stress rises)."""
    rows = []
    for name, aligned in _aligned(composite, pillars, benchmarks):
        row = {"benchmark": name, "weeks": len(aligned), "from": aligned["date"].min().date(),
               "to": aligned["date"].max().date(), "mac": spearman(aligned["value"], aligned["mac"])}
        row |= {p: spearman(aligned["value"], aligned[p]) for p in PILLARS if p in aligned}
        rows.append(row)
    return pd.DataFrame(rows)


def top_decile_table(composite, pillars, benchmarks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """MAC in the weeks a benchmark was in its top decile (most stress) versus all other weeks."""
    rows = []
    for name, aligned in _aligned(composite, pillars, benchmarks):
        top = aligned["value"] >= aligned["value"].quantile(0.9)
        rows.append({"benchmark": name, "top_decile_weeks": int(top.sum()),
                     "mac_median_top_decile": aligned.loc[top, "mac"].median(),
                     "mac_median_other_weeks": aligned.loc[~top, "mac"].median(),
                     "share_thin_or_worse_top_decile": float((aligned.loc[top, "mac"] < 0.6).mean())})
    return pd.DataFrame(rows)


def lowest_readings(composite: pd.DataFrame, pillars: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The lowest composite readings, at most one per 30 days, with the weakest pillar of each."""
    scored = composite.dropna(subset=["mac"]).sort_values("mac")
    picked: list[pd.Timestamp] = []
    for day in scored["date"]:  # greedy over sorted rows; stops after `count` picks
        if all(abs((day - p).days) >= LOWEST_SPACING_DAYS for p in picked):
            picked.append(day)
            if len(picked) == count:
                break
    out = scored.set_index("date").loc[picked, ["mac", "status", "coverage"]].reset_index()
    weakest = pillars.dropna(subset=["score"]).sort_values("score").drop_duplicates("date").set_index("date")
    out["weakest_pillar"] = out["date"].map(weakest["pillar"])
    return out


def validation_tables(composite, pillars, benchmarks: dict[str, pd.DataFrame]):
    """The validation report's tables: rank correlations, MAC in top-decile weeks, the lowest readings."""
    return (correlation_table(composite, pillars, benchmarks), top_decile_table(composite, pillars, benchmarks),
            lowest_readings(composite, pillars))


def anchor_percentiles(indicators: pd.DataFrame) -> pd.DataFrame:
    """Where each indicator's scoring knots sit in its own history (percentile of stored values).

    A breach anchor at the 50th percentile would flag half of history; one above every value never fires.
    This is what a quarterly recalibration review looks at first.
    """
    rows = []
    for t in THRESHOLDS:
        values = indicators.loc[indicators["indicator"] == t.indicator, "value"].dropna().to_numpy()
        if not len(values):
            continue
        knots = ", ".join(f"{x:g}→{y:g} at p{np.mean(values <= x) * 100:.0f}" for x, y in t.knots())
        rows.append({"indicator": t.indicator, "pillar": t.pillar, "days": len(values),
                     "p5": np.percentile(values, 5), "median": np.median(values), "p95": np.percentile(values, 95),
                     "knots (value→score at history percentile)": knots})
    return pd.DataFrame(rows)


def worst_period_pillars(composite: pd.DataFrame, pillars: pd.DataFrame) -> pd.DataFrame:
    """Each pillar's score on the composite's lowest days: which pillars carried each episode."""
    lows = lowest_readings(composite, pillars)
    wide = pillars.pivot(index="date", columns="pillar", values="score")
    return lows[["date", "mac"]].join(wide.reindex(lows["date"]).reset_index(drop=True))


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def history_chart(composite: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(12, 4))
    tops = [1.0] + [floor for floor, _ in STATUS_BANDS[:-1]]
    for (floor, label), top in zip(STATUS_BANDS, tops):
        ax.axhspan(floor, top, color=BAND_COLOURS[label], alpha=0.12, lw=0)
    first, last = composite["date"].min(), composite["date"].max()
    for e in EPISODES:
        start, end = pd.Timestamp(e.start), pd.Timestamp(e.end)
        if end >= first and start <= last:
            ax.axvspan(start, end, color="grey", alpha=0.25, lw=0)
            ax.text(start, 0.02, e.name, rotation=90, fontsize=7, va="bottom")
    ax.plot(composite["date"], composite["mac"], color="black", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_title("MAC composite with status bands and stress episodes")
    return _png(fig)


def contribution_chart(composite: pd.DataFrame) -> bytes:
    monthly = composite.set_index("date")[[f"{p}_contribution" for p in PILLARS]].resample("MS").mean()
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.stackplot(monthly.index, monthly.fillna(0).T.to_numpy(), labels=PILLARS, alpha=0.85)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", ncol=7, fontsize=7)
    ax.set_title("Pillar contributions to MAC (monthly mean; they add up to the composite)")
    return _png(fig)


def heatmap_chart(pillars: pd.DataFrame) -> bytes:
    wide = pillars.pivot(index="date", columns="pillar", values="score").resample("MS").mean()
    wide = wide[[p for p in PILLARS if p in wide]]
    fig, ax = plt.subplots(figsize=(12, 3))
    image = ax.imshow(wide.T.to_numpy(), aspect="auto", cmap="RdYlGn", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(wide.columns)), wide.columns)
    ticks = np.arange(0, len(wide), 12)
    ax.set_xticks(ticks, [wide.index[i].year for i in ticks], fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.02)
    ax.set_title("Pillar scores by month (green ample, red breach)")
    return _png(fig)


def charts(scored: pd.DataFrame, pillars: pd.DataFrame) -> dict[str, bytes]:
    """The report's charts by title, drawn from the days with a composite and every pillar score."""
    return {"MAC history": history_chart(scored), "Pillar contributions": contribution_chart(scored),
            "Pillar heatmap": heatmap_chart(pillars)}


def render_html(latest: pd.Series, pillars_latest: pd.DataFrame, freshness: pd.DataFrame,
                charts: dict[str, bytes], methodology_version: str, validation: pd.DataFrame) -> str:
    """One static page: the latest reading, its pillars, the charts, every series' freshness."""
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, classes="t", na_rep="–")

    images = "".join(f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode()}">' for name, png in charts.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MAC report</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
.t{{border-collapse:collapse}}.t td,.t th{{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}}
.big{{font-size:2.5em}}img{{max-width:100%}}</style></head><body>
<h1>Market Absorption Capacity</h1>
<p class="big">{latest['mac']:.3f} <small>{html.escape(str(latest['status']))}</small></p>
<p>as of {latest['date']:%Y-%m-%d}; coverage {latest['coverage']:.0%}; methodology {html.escape(methodology_version)}</p>
<h2>Pillars</h2>{table(pillars_latest)}
{images}
<h2>Against official stress indexes (Spearman rank correlation)</h2>{table(validation) if len(validation) else "<p>no benchmark data</p>"}
<h2>Freshness of every input</h2>{table(freshness)}
</body></html>"""


def render_no_composite(freshness: pd.DataFrame, methodology_version: str, reason: str) -> str:
    """The page when no day's composite may be headlined: why, and which inputs are missing, is the news."""
    rows = freshness.to_html(index=False, border=0, na_rep="–")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MAC report</title></head><body>'
            f"<h1>Market Absorption Capacity</h1><p>No headline composite: {html.escape(reason)}. "
            f"Methodology {html.escape(methodology_version)}.</p>"
            f"<h2>Freshness of every input</h2>{rows}</body></html>")


def md(frame: pd.DataFrame) -> str:
    """A frame as a markdown table, dates as days."""
    if not len(frame):
        return "_no data_"
    days = {c: frame[c].dt.date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    return frame.assign(**days).to_markdown(index=False, floatfmt=".3f")


@dataclass(frozen=True)
class Stored:
    """What the reports read from the warehouse, whole history (they are about all of it, not one partition)."""

    composite: pd.DataFrame  # the headline (scores.mac_composite)
    pillars: pd.DataFrame  # the headline's pillars
    mac1: pd.DataFrame
    mac2: pd.DataFrame
    extended: pd.DataFrame | None  # None with the extension off
    benchmarks: dict[str, pd.DataFrame]  # by series id, those stored
    spy: pd.DataFrame
    freshness: pd.DataFrame  # bi.series_freshness's rows
    indicators: pd.DataFrame  # mac-1.x indicator values (the quarterly review's anchors)


@dataclass(frozen=True)
class Validation:
    text: str
    verdict: str
    series_judged: int


def validation_report(s: Stored) -> Validation:
    """validation.md: the pre-registered out-of-sample table, the headline rule's verdict, every frozen choice,
    the episodes, and the headline against the official indexes over the whole history."""
    text = f"# MAC validation ({METHODOLOGY_VERSION}, {MAC2_VERSION})\n\n"
    table, verdict = pd.DataFrame(), "not judged: no benchmark or SPY rows"
    if {"STLFSI4", "NFCI"} <= set(s.benchmarks) and len(s.spy):
        table = validation.metrics(validation.Inputs(validation.readings(s.mac1, s.mac2, s.extended),
                                                     s.benchmarks["STLFSI4"], s.benchmarks["NFCI"], s.spy))
        wins, won = validation.beats(table, validation.MAC2_STRESS, validation.MAC1)
        verdict = (f"mac-2.0 stress {'beats' if wins else 'does not beat'} mac-1.x on this data "
                   f"({len(won)} of 5 test metrics)")
        text += (f"## Out of sample: train to 2014, test from 2015\n\n{validation.__doc__.split(chr(10) * 2, 1)[1]}\n"
                 f"{md(table)}\n\n**Headline rule on this data:** mac-2.0's stress reading is better than mac-1.x "
                 f"on {len(won)} of 5 test metrics ({', '.join(won) or 'none'}), so it "
                 f"{'beats' if wins else 'does not beat'} it. The headline shipped is `{HEADLINE_METHODOLOGY}` "
                 f"(thresholds.HEADLINE_METHODOLOGY, decided on the real history; README).\n\n"
                 f"## Every choice, and how it was set\n\n{md(validation.frozen_choices())}\n\n"
                 f"## Episodes\n\n{md(pd.DataFrame([vars(e) for e in EPISODES]))}\n\n")
    correlations, deciles, lowest = validation_tables(s.composite, s.pillars, s.benchmarks)
    text += (f"## The headline against the official indexes, whole history\n\nSpearman rank correlation (negative: MAC "
             f"falls when stress rises)\n\n{md(correlations)}\n\nMAC in the weeks the benchmark was in its top "
             f"decile\n\n{md(deciles)}\n\nLowest readings (one per 30 days)\n\n{md(lowest)}\n")
    return Validation(text, verdict, int(table["series"].nunique()) if len(table) else 0)


def quarterly_review(s: Stored) -> str:
    """quarterly_review.md (seed spec): Tier 2/3 sources, threshold anchors against history, pillars on the lowest
    days, pillar assignments."""
    sources = s.freshness[s.freshness["tier"] >= 2][["series_id", "title", "provider", "tier", "newest_observation",
                                                     "freshness", "loaded_from"]]
    assignment = pd.DataFrame([{"indicator": t.indicator, "pillar": t.pillar, "metric": t.metric} for t in THRESHOLDS])
    return (f"# Quarterly review ({METHODOLOGY_VERSION})\n\n## 1. Tier 2 and Tier 3 sources\n\n{md(sources)}\n\n"
            f"## 2. Threshold anchors against history\n\n{md(anchor_percentiles(s.indicators))}\n\n"
            f"## 3. Pillars on the composite's lowest days\n\n{md(worst_period_pillars(s.composite, s.pillars))}\n\n"
            f"## 4. Pillar assignments\n\n{md(assignment)}\n")


@dataclass(frozen=True)
class Page:
    files: dict[str, bytes | str]  # file name → content: the page and its charts
    headline: str  # the latest headlined reading, or why there is none


def report_page(s: Stored) -> Page:
    """mac_report.html and its charts (PNG files beside it, and embedded so the page stands alone); without a day
    that may be headlined, a page that says why instead of a number nobody should read."""
    freshness = s.freshness[["series_id", "provider", "tier", "newest_observation", "age_days", "stale_after_days",
                             "freshness"]]
    solid = headline_days(s.composite)
    if solid.empty:
        reason = no_headline_reason(s.composite)
        return Page({REPORT_PAGE: render_no_composite(freshness, METHODOLOGY_VERSION, reason)}, f"none: {reason}")
    drawn = charts(s.composite.dropna(subset=["mac"]), s.pillars)
    latest = solid.iloc[-1]
    day_pillars = s.pillars[s.pillars["date"] == latest["date"]][["pillar", "score", "status", "contribution"]]
    page = render_html(latest, day_pillars, freshness, drawn, str(latest["methodology_version"]),
                       correlation_table(s.composite, s.pillars, s.benchmarks))
    files = {name.lower().replace(" ", "_") + ".png": png for name, png in drawn.items()}
    return Page({REPORT_PAGE: page, **files}, f"{latest['mac']:.3f} ({latest['status']}) on {latest['date'].date()}")


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: runs on a lake may write at once
    tmp.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    tmp.replace(path)
    return path
