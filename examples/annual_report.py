"""The yearly DSA Art. 15 transparency report, in every format, for a cron job in January.

    python examples/annual_report.py --config hoster.toml                  # last calendar year
    python examples/annual_report.py --config hoster.toml --year 2026 --out reports/2026

Writes into --out (default: transparency-YEAR): report.json (PROTOCOL 8), report.csv (flat),
report.md (a summary to read) and dsa-csv/ (the Commission's templates: Part_1_summary.csv,
Part_3_member_states_orders.csv, Part_4_notices.csv, Part_5_own_initiative_illegal.csv,
Part_8_automated_means.csv), ready to publish. One format at a time:

    hoster-compliance report --config hoster.toml --start 2026-01-01 --end 2026-12-31 --format md
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hoster_compliance import ComplianceError, ComplianceService, load_config
from hoster_compliance.report import (
    render_csv,
    render_json,
    render_markdown,
    within_deadline_share,
    write_dsa_csv,
)
from hoster_compliance.timeutil import utcnow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the yearly transparency report.")
    parser.add_argument("--config", required=True, help="the hoster's TOML configuration")
    parser.add_argument("--year", type=int, help="calendar year (default: last year)")
    parser.add_argument("--out", type=Path, help="folder (default: transparency-YEAR)")
    args = parser.parse_args(argv)
    now = utcnow()
    year = args.year or now.year - 1
    out: Path = args.out or Path(f"transparency-{year}")
    try:
        config = load_config(args.config)
        # An empty database reports zeros instead of failing (the service creates the schema).
        service = ComplianceService(config, clock=lambda: now)
        try:
            report = service.report(date(year, 1, 1), date(year, 12, 31))
        finally:
            service.close()
    except ComplianceError as exc:
        print(f"annual_report: {exc.message}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(render_json(report), encoding="utf-8")
    (out / "report.csv").write_text(render_csv(report), encoding="utf-8", newline="")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    service_name = config.service_name or config.hoster_id
    write_dsa_csv(report, out / "dsa-csv", service_name=service_name,
                  provider_name=config.provider_name or service_name, published=now.date())
    orders, notices = report["orders"]["total"], report["notices"]["total"]
    _, decided, share = within_deadline_share(orders)
    handled = f"{share:.1%} of {decided}" if share is not None else "none due"
    print(f"{year}: {orders['count']} orders ({handled} handled within their deadline), "
          f"{notices['count']} notices; written to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
