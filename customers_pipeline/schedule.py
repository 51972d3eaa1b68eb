"""When the pipeline runs: the one start date that the Airflow DAG and Dagster's partitions share."""

from __future__ import annotations

from datetime import UTC, datetime

# A fixed midnight, not "today": the DAG's logical dates and Dagster's daily partitions line up with it
# whatever day the tutorial is run, and the partition range does not move from one day to the next.
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
