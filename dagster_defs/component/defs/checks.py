"""Stage 2's check on the exported customers CSV, next to the component that defines customers_csv."""

from dagster import Definitions, in_process_executor

from dagster_defs.shared import CUSTOMERS_CSV_KEY, validate_exported_csv_check

defs = Definitions(
    asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
    # Runs here (the check's, the component's monitoring job's) run their steps in the run's own process.
    executor=in_process_executor,
)
