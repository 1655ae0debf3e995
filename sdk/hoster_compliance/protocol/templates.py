"""The Commission's transparency-report templates (Annex I of Implementing Regulation (EU)
2024/2835), shipped byte for byte in ``hoster_compliance/data/templates`` under their published
names: the one place that names those files."""

from __future__ import annotations

from importlib.resources import files

_PREFIX = "4_EN_Annex_I__Templates_for_Transparency_Reports_CSV_"
PART_1 = _PREFIX + "Part_1_summary.csv"
PART_2 = _PREFIX + "Part_2_categories_names.csv"
PART_3 = _PREFIX + "Part_3_member_states_orders.csv"
PART_4 = _PREFIX + "Part_4_notices.csv"
PART_5 = _PREFIX + "Part_5_own_initiative_illegal.csv"
PART_8 = _PREFIX + "Part_8_automated_means.csv"


def read_bytes(name: str) -> bytes:
    """The bytes of one packaged template file (``PART_1`` ... ``PART_8``)."""
    return files("hoster_compliance").joinpath("data", "templates", name).read_bytes()
