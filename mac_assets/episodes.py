"""Dated episodes of US market stress, each with its kind and the public source that dates it.

The validation report asks of every reading whether it was in its own bottom decile near each date
(publish/validation.py), and the history chart shades them. The first 22 were written down before any
mac-2.0 test-period number was computed; the rest (training years from 1997, and stress that is not an
equity sell-off) before any v2 number was (docs/preregistration-v2.md). Episodes up to 2014 are the
training set, those from 2015 the test set. `start` is the day the stress became visible; `end` bounds
the shading only. `kind` says which market the stress began in, so detection can be read by kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["equity", "funding", "credit", "rates", "banking"]
KINDS: tuple[Kind, ...] = ("equity", "funding", "credit", "rates", "banking")


@dataclass(frozen=True)
class Episode:
    name: str
    start: date
    end: date
    kind: Kind
    source: str


def _e(name: str, start: str, end: str, kind: Kind, source: str) -> Episode:
    return Episode(name, date.fromisoformat(start), date.fromisoformat(end), kind, source)


EPISODES: tuple[Episode, ...] = (
    # --- training years -------------------------------------------------------------------------------
    _e("Asian crisis: the 27 October sell-off", "1997-10-27", "1997-11-14", "equity",
       "SEC Division of Market Regulation, Trading Analysis of October 27 and 28, 1997 (September 1998)"),
    _e("Russian default and LTCM", "1998-08-17", "1998-10-16", "funding",
       "President's Working Group on Financial Markets, Hedge Funds, Leverage, and the Lessons of Long-Term "
       "Capital Management (April 1999)"),
    _e("Nasdaq crash", "2000-04-14", "2000-05-31", "equity",
       "Board of Governors of the Federal Reserve System, Monetary Policy Report to the Congress, July 2000"),
    _e("September 11: markets reopen", "2001-09-17", "2001-10-05", "equity",
       "Federal Reserve Board press release, 17 September 2001 (the FOMC's cut before the markets reopened)"),
    _e("WorldCom and the 2002 credit sell-off", "2002-07-22", "2002-10-09", "credit",
       "BIS Quarterly Review, September 2002, Overview (WorldCom's filing of 21 July 2002 and the credit sell-off)"),
    _e("GM and Ford downgraded to high yield", "2005-05-05", "2005-05-31", "credit",
       "BIS Quarterly Review, June 2005, Overview (Standard & Poor's downgrades of 5 May 2005)"),
    _e("Shanghai sell-off and subprime lenders", "2007-02-27", "2007-03-14", "equity",
       "BIS Quarterly Review, March 2007, Overview (the global sell-off of 27 February 2007)"),
    _e("BNP Paribas funds frozen", "2007-08-09", "2007-08-31", "funding",
       "ECB press release, 9 August 2007: liquidity-providing fine-tuning operation"),
    _e("Bear Stearns", "2008-03-14", "2008-03-31", "banking",
       "Federal Reserve Board press release, 14 March 2008 (financing for Bear Stearns through JPMorgan Chase)"),
    _e("Lehman Brothers", "2008-09-15", "2009-03-31", "banking",
       "Federal Reserve Board press release, 14 September 2008 (PDCF and TSLF changes ahead of Lehman's filing)"),
    _e("Flash crash and euro-area debt", "2010-05-06", "2010-06-30", "equity",
       "CFTC and SEC staff, Findings regarding the market events of May 6, 2010 (30 September 2010)"),
    _e("US downgrade", "2011-08-08", "2011-10-31", "rates",
       "Standard & Poor's, United States of America long-term rating lowered to AA+ (5 August 2011)"),
    _e("Euro-area banks' dollar funding strain", "2011-11-30", "2011-12-21", "funding",
       "Federal Reserve Board press release, 30 November 2011 (coordinated central bank action on dollar swap lines)"),
    _e("Taper tantrum", "2013-06-20", "2013-07-05", "rates",
       "Federal Reserve, Chairman Bernanke's testimony to the Joint Economic Committee, 22 May 2013, and "
       "FOMC press conference, 19 June 2013"),
    _e("Treasury flash rally", "2014-10-15", "2014-10-31", "rates",
       "Joint Staff Report: The U.S. Treasury Market on October 15, 2014 (Treasury, Fed, NY Fed, SEC, CFTC; July 2015)"),
    # --- test years ------------------------------------------------------------------------------------
    _e("Greek bank holiday", "2015-06-29", "2015-07-10", "banking",
       "BIS Quarterly Review, September 2015, on-the-record remarks (bis.org/publ/qtrpdf/r_qt1509_ontherecord.htm)"),
    _e("China devaluation", "2015-08-24", "2015-09-30", "equity",
       "BIS Quarterly Review, September 2015, on-the-record remarks: devaluation on 12 August, oil low on 24 August"),
    _e("High-yield fund redemptions suspended", "2015-12-10", "2015-12-31", "credit",
       "SEC temporary order of 16 December 2015 permitting Third Avenue Focused Credit Fund to suspend redemptions "
       "(announced 9 December 2015)"),
    _e("Oil, China and bank stocks", "2016-01-20", "2016-02-29", "equity",
       "BIS Quarterly Review, March 2016, Uneasy calm gives way to turbulence (bis.org/publ/qtrpdf/r_qt1603a.htm)"),
    _e("Brexit referendum", "2016-06-24", "2016-07-08", "equity", "Bank of England, Financial Stability Report, July 2016"),
    _e("Volmageddon", "2018-02-05", "2018-02-28", "equity",
       "BIS Quarterly Review, March 2018, Volatility is back (bis.org/publ/qtrpdf/r_qt1803a.htm)"),
    _e("October 2018 sell-off", "2018-10-10", "2018-11-30", "equity",
       "BIS Quarterly Review, December 2018, Yet more bumps on the path to normal (bis.org/publ/qtrpdf/r_qt1812a.htm)"),
    _e("December 2018 flight to safety", "2018-12-24", "2018-12-31", "equity",
       "BIS Quarterly Review, March 2019, Markets retreat and rebound (bis.org/publ/qtrpdf/r_qt1903a.htm)"),
    _e("Repo spike", "2019-09-17", "2019-09-30", "funding",
       "BIS Quarterly Review, December 2019, September stress in dollar repo markets: passing or structural?"),
    _e("COVID-19 and the dash for cash", "2020-02-24", "2020-04-30", "equity",
       "FSB, Holistic Review of the March Market Turmoil (17 November 2020); BIS Quarterly Review, March 2020"),
    _e("Treasury market dysfunction", "2020-03-09", "2020-03-31", "rates",
       "Federal Reserve Board press release, 15 March 2020 (Treasury purchases to restore market functioning); FSB, "
       "Holistic Review of the March Market Turmoil (17 November 2020)"),
    _e("Russia invades Ukraine", "2022-02-24", "2022-03-15", "equity",
       "BIS Annual Economic Report 2022, chapter I, Old challenges, new shocks (bis.org/publ/arpdf/ar2022e1.htm)"),
    _e("Rate shock of June 2022", "2022-06-13", "2022-06-30", "rates",
       "BIS Quarterly Review, September 2022, overview: the mid-June turning point (bis.org/publ/qtrpdf/r_qt2209a.htm)"),
    _e("UK gilt and LDI crisis", "2022-09-28", "2022-10-14", "rates",
       "Bank of England, Bank of England announces gilt market operation (28 September 2022)"),
    _e("Silicon Valley Bank", "2023-03-10", "2023-03-31", "banking",
       "FDIC press release PR-16-2023, 10 March 2023 (Silicon Valley Bank closed)"),
    _e("Yen carry unwind", "2024-08-05", "2024-08-15", "equity",
       "BIS Bulletin No 90, The market turbulence and carry trade unwind of August 2024 (27 August 2024)"),
    _e("Tariff shock", "2025-04-07", "2025-04-30", "equity",
       "ECB, Account of the monetary policy meeting of 16-17 April 2025: the 2 April tariffs sparked a sharp "
       "sell-off in equities and US bonds"),
)
