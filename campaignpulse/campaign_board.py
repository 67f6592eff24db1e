"""Campaign panels for the demo board: KPIs, the live contest, disclosure alerts.

Each function queries the warehouse and returns a ``rich`` renderable, so the board can
place them where it likes; ``campaign_summary`` gives the lines of the closing summary.
A query that fails (say, an old server without the KPI views) shows its error in the
panel instead of taking the board down.
"""

from __future__ import annotations

import logging
from typing import Any

from rich.table import Table

from campaignpulse.sinks.warehouse import Warehouse

log = logging.getLogger(__name__)

CAMPAIGN_KPIS_SQL = """
SELECT campaign_id, interactions, reach, emv, cost, cpe, cpm, roi
FROM campaign_kpis WHERE creator_id = '' ORDER BY roi DESC, campaign_id LIMIT {limit:UInt32}
"""
CONTESTS_SQL = """
SELECT contest_id, creator_id, final, entries, valid_entries, provisional_entries,
       before_start + after_end + own_account + too_few_mentions + missing_hashtag + no_like
           + repeat_entrant AS invalid,
       too_few_mentions, missing_hashtag, repeat_entrant, no_like, unique_entrants,
       cost_per_valid_entry_cents, identical_text_entries, mention_magnets, burst_entries,
       new_entrants
FROM contest_performance FINAL ORDER BY final, starts_at DESC LIMIT {limit:UInt32}
"""
DISCLOSURE_SQL = """
SELECT campaign_id, creator_id, media_id, reason, published_at
FROM disclosure_alerts FINAL WHERE status = 'firing'
ORDER BY published_at DESC, media_id LIMIT {limit:UInt32}
"""


def _rows(warehouse: Warehouse, sql: str, limit: int) -> tuple[list[dict[str, Any]], str]:
    try:
        return warehouse.query(sql, {"limit": limit}), ""
    except Exception as exc:  # a panel must never take the board down, but must say why
        log.warning("campaign board query failed: %s", exc)
        return [], str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def campaign_kpis_table(warehouse: Warehouse, limit: int = 6) -> Table:
    rows, error = _rows(warehouse, CAMPAIGN_KPIS_SQL, limit)
    table = Table(title="campaigns to date" + (f" ({error})" if error else ""))
    for name in ("campaign", "interactions", "reach", "EMV", "cost", "CPE", "CPM", "ROI"):
        table.add_column(name, justify="left" if name == "campaign" else "right")
    for r in rows:
        table.add_row(r["campaign_id"], f"{int(r['interactions']):,}", f"{int(r['reach']):,}",
                      _money(r["emv"]), _money(r["cost"]), _money(r["cpe"]), _money(r["cpm"]),
                      "-" if r["roi"] is None else f"{float(r['roi']):.2f}×")
    return table


def contest_table(warehouse: Warehouse, limit: int = 3) -> Table:
    rows, error = _rows(warehouse, CONTESTS_SQL, limit)
    table = Table(title="contest activations" + (f" ({error})" if error else ""))
    for name in ("contest", "state", "entries", "valid", "pending like", "invalid",
                 "entrants", "per valid entry", "suspicious"):
        table.add_column(name, justify="left" if name in ("contest", "state") else "right")
    for r in rows:
        cost = r["cost_per_valid_entry_cents"]
        table.add_row(
            r["contest_id"], "final" if r["final"] else "live", f"{r['entries']:,}",
            f"{r['valid_entries']:,}", f"{r['provisional_entries']:,}",
            f"{r['invalid']:,} (mentions {r['too_few_mentions']}, tag {r['missing_hashtag']}, "
            f"repeat {r['repeat_entrant']}, like {r['no_like']})",
            f"{r['unique_entrants']:,}", "-" if cost is None else f"{int(cost) / 100:,.2f}",
            f"same text {r['identical_text_entries']}, bursts {r['burst_entries']}, "
            f"magnets {r['mention_magnets']}, new {r['new_entrants']}",
        )
    return table


def disclosure_table(warehouse: Warehouse, limit: int = 8) -> Table:
    rows, error = _rows(warehouse, DISCLOSURE_SQL, limit)
    table = Table(title="sponsored posts without disclosure" + (f" ({error})" if error else ""))
    for name in ("campaign", "creator", "media", "why", "published"):
        table.add_column(name)
    for r in rows:
        why = "tag below the fold" if r["reason"] == "below_fold" else "no #ad, no label"
        table.add_row(r["campaign_id"], r["creator_id"], r["media_id"], why,
                      str(r["published_at"]))
    return table


def campaign_summary(warehouse: Warehouse) -> list[str]:
    """Closing lines of the demo: campaigns, contests and disclosure in numbers."""
    lines = []
    kpis, error = _rows(warehouse, CAMPAIGN_KPIS_SQL, 20)
    if error:
        lines.append(f"campaign KPIs unavailable: {error}")
    for r in kpis:
        roi = "-" if r["roi"] is None else f"{float(r['roi']):.2f}"
        lines.append(f"campaign {r['campaign_id']}: EMV {_money(r['emv'])} for cost "
                     f"{_money(r['cost'])} (ROI {roi}, CPE {_money(r['cpe'])}, "
                     f"{int(r['interactions']):,} interactions)")
    contests, _ = _rows(warehouse, CONTESTS_SQL, 20)
    lines.extend(
        f"contest {r['contest_id']}: {r['valid_entries']:,} valid of {r['entries']:,} entries "
        f"({r['provisional_entries']:,} waiting for a like), {r['unique_entrants']:,} entrants, "
        f"{r['identical_text_entries']} identical texts, {r['burst_entries']} in bursts"
        for r in contests
    )
    alerts, _ = _rows(warehouse, "SELECT countIf(status = 'firing') AS firing, count() AS n "
                                 "FROM disclosure_alerts FINAL WHERE {limit:UInt32} > 0", 1)
    if alerts:
        lines.append(f"disclosure alerts: {alerts[0]['firing']:,} firing, "
                     f"{int(alerts[0]['n']) - int(alerts[0]['firing']):,} resolved by an edit")
    return lines
