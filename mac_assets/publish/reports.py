"""Reports people read: validation.md, quarterly_review.md and the analysts' site (`publish/site.py`).

Pure functions over frames: each report is rendered here from `Stored` (the tables it reads) into text or
bytes; the assets in `publish/assets.py` only load the tables, call the renderer and write its files.
Validation uses the whole stored history of the benchmark indexes (a report, not a score), and never
feeds back into MAC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mac_assets.catalog import PILLARS
from mac_assets.episodes import EPISODES
from mac_assets.publish import site, validation
from mac_assets.scores import mac2
from mac_assets.scores.compute import headline_days, no_headline_reason
from mac_assets.scores.headline import HEADLINE_VERSION
from mac_assets.thresholds import MAC2_INDICATORS, METHODOLOGY_VERSION, THRESHOLDS

LOWEST_SPACING_DAYS = 30
SITE = "site"  # the analysts' site's folder inside MAC_REPORTS_DIR
DEMO_NOTE = ("> **Demo data.** Every number below comes from the seeded demo generator (`MAC_SOURCE=demo`), not "
             "from markets, and the benchmark indexes are synthetic too. Run on `MAC_SOURCE=live` or a CSV folder of "
             "real history for a real validation (README).\n\n")


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


def md(frame: pd.DataFrame) -> str:
    """A frame as a markdown table (dates as days, three decimals)."""
    if not len(frame):
        return "_no data_"
    days = {c: frame[c].dt.date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    return frame.assign(**days).to_markdown(index=False, floatfmt=".3f")


def verdict(tables: dict[str, pd.DataFrame]) -> str:
    """One paragraph: what the headline rule and the baselines said on this data."""
    if "verdicts" not in tables or tables["verdicts"].empty:
        return "Not judged: the run has no benchmark or SPY rows."
    v = tables["verdicts"].set_index(["challenger", "incumbent"])

    def said(challenger: str, incumbent: str) -> str:
        row = v.loc[(challenger, incumbent)]
        return f"{'beats' if row['beats'] else 'does not beat'} {incumbent} ({row['test metrics won']} of 5 test metrics)"

    return (f"On this data's test years, {validation.MAC3_STRESS} {said(validation.MAC3_STRESS, validation.MAC2_STRESS)}, "
            f"so the headline stays {HEADLINE_VERSION}; {validation.MAC2_STRESS} "
            f"{said(validation.MAC2_STRESS, 's_vix alone')}, and {validation.MAC3_STRESS} "
            f"{said(validation.MAC3_STRESS, 's_vix alone')}.")


@dataclass(frozen=True)
class Stored:
    """What the reports read from the warehouse, whole history (they are about all of it, not one partition)."""

    composite: pd.DataFrame  # the headline (scores.mac_composite)
    pillars: pd.DataFrame  # the headline reading's pillars (scores/headline.headline_pillars)
    indicators: pd.DataFrame  # the headline reading's indicators (scores/headline.headline_indicators)
    mac1: pd.DataFrame
    mac2: pd.DataFrame
    mac2_indicators: pd.DataFrame
    mac3: pd.DataFrame
    extended: pd.DataFrame | None  # None with the extension off
    benchmarks: dict[str, pd.DataFrame]  # by series id, those stored
    spy: pd.DataFrame
    freshness: pd.DataFrame  # bi.series_freshness's rows
    seed_indicators: pd.DataFrame  # mac-1.x indicator values (the quarterly review's anchors)
    methodology: pd.DataFrame  # bi.methodology's rows: the headline methodology's indicators

    @property
    def source(self) -> str:
        sources = self.freshness["loaded_from"].dropna().unique()
        return str(sources[0]) if len(sources) else "none"

    def validation_tables(self) -> dict[str, pd.DataFrame]:
        """Protocol v2's tables on this data, or none without the benchmarks and SPY."""
        if not ({"STLFSI4", "NFCI"} <= set(self.benchmarks) and len(self.spy)):
            return {}
        return validation.tables(self.mac1, self.mac2, self.mac2_indicators, self.mac3, self.extended,
                                 self.benchmarks["STLFSI4"], self.benchmarks["NFCI"], self.spy)


@dataclass(frozen=True)
class Validation:
    text: str
    verdict: str
    series_judged: int


def validation_report(s: Stored) -> Validation:
    """validation.md: protocol v2 (publish/validation.py) on this data — every reading and baseline, train and test,
    the verdicts, the 12-month risk's scores, noise and band shares, every frozen choice, the episodes — then the
    headline against the official indexes over the whole history."""
    tables = s.validation_tables()
    text = f"# MAC validation ({HEADLINE_VERSION}; seed {METHODOLOGY_VERSION})\n\n{DEMO_NOTE if s.source == 'demo' else ''}"
    if tables:
        text += (f"{verdict(tables)}\n\n## Protocol v2: train to 2014, test from 2015\n\n"
                 f"{validation.__doc__.split(chr(10) * 2, 1)[1]}\n"
                 + "".join(f"## {name}\n\n{md(table)}\n\n" for name, table in tables.items())
                 + f"## Every choice, and how it was set\n\n{md(validation.frozen_choices())}\n\n"
                 f"## Episodes\n\n{md(pd.DataFrame([vars(e) for e in EPISODES]))}\n\n")
    else:
        text += "Not judged: the run has no benchmark or SPY rows.\n\n"
    correlations, deciles, lowest = validation_tables(s.composite, s.pillars, s.benchmarks)
    text += (f"## The headline against the official indexes, whole history\n\nSpearman rank correlation (negative: "
             f"MAC falls when stress rises)\n\n{md(correlations)}\n\nMAC in the weeks the benchmark was in its top "
             f"decile\n\n{md(deciles)}\n\nLowest readings (one per 30 days)\n\n{md(lowest)}\n")
    judged = int(tables["metrics"]["series"].nunique()) if tables else 0
    return Validation(text, verdict(tables), judged)


def quarterly_review(s: Stored) -> str:
    """quarterly_review.md (seed spec): Tier 2/3 sources, the seed anchors against history, the headline's pillars on
    its lowest days, both pillar maps."""
    sources = s.freshness[s.freshness["tier"] >= 2][["series_id", "title", "provider", "tier", "newest_observation",
                                                     "freshness", "loaded_from"]]
    assignment = pd.DataFrame([{"indicator": t.indicator, "pillar": t.pillar, "metric": t.metric, "how set": t.how_set}
                               for t in THRESHOLDS])
    headline = pd.DataFrame([{"indicator": i.indicator, "reading": i.reading, "pillar": i.pillar, "metric": i.metric}
                             for i in MAC2_INDICATORS])
    return (f"# Quarterly review ({HEADLINE_VERSION}; seed {METHODOLOGY_VERSION})\n\n"
            f"{DEMO_NOTE if s.source == 'demo' else ''}"
            f"## 1. Tier 2 and Tier 3 sources\n\n{md(sources)}\n\n"
            f"## 2. Seed threshold anchors against history\n\n{md(anchor_percentiles(s.seed_indicators))}\n\n"
            f"## 3. The headline's pillars on its lowest days\n\n{md(worst_period_pillars(s.composite, s.pillars))}\n\n"
            f"## 4. Pillar assignments\n\nHeadline ({HEADLINE_VERSION}):\n\n{md(headline)}\n\n"
            f"Seed ({METHODOLOGY_VERSION}):\n\n{md(assignment)}\n")


@dataclass(frozen=True)
class Page:
    files: dict[str, bytes]  # path inside MAC_REPORTS_DIR → content: the analysts' site
    headline: str  # the latest headlined reading, or why there is none


def report_page(s: Stored, published_at: str) -> Page:
    """The analysts' site (publish/site.py) under `site/`: what it shows, the methodology and the validation."""
    tables = s.validation_tables()
    inputs = site.SiteInputs(
        history=s.composite, pillars=s.pillars, indicators=s.indicators, freshness=s.freshness, source=s.source,
        published_at=published_at, validation=site.validation_body(tables, verdict(tables)) if tables else "",
        methodology=site.methodology_body(s.methodology, validation.frozen_choices(), mac2.__doc__))
    files = {f"{SITE}/{name}": content for name, content in site.render(inputs).items()}
    files[f"{SITE}/{site.PLOTLY_JS}"] = site.plotly_js()
    solid = headline_days(s.composite)
    headline = (f"{solid['mac'].iloc[-1]:.3f} ({solid['status'].iloc[-1]}) on {solid['date'].iloc[-1].date()}"
                if len(solid) else f"none: {no_headline_reason(s.composite)}")
    return Page(files, headline)


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: runs on a lake may write at once
    tmp.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    tmp.replace(path)
    return path
