"""The Airflow instance Dagster peers into. Its address and login come from the environment, where a
deployment (here, the workbench) provides them."""

import os

from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance


def _setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"Set {name} where Dagster's code location runs: Airflow's address and login.")
    return value


# >>> peer: An AirflowInstance named "airflow" that logs in with AirflowBasicAuthBackend, reading
# ... AIRFLOW_WEBSERVER_URL, AIRFLOW_USERNAME and AIRFLOW_PASSWORD through _setting().
airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(
        webserver_url=_setting("AIRFLOW_WEBSERVER_URL"),
        username=_setting("AIRFLOW_USERNAME"),
        password=_setting("AIRFLOW_PASSWORD"),
    ),
    # The instance's name starts the key of every asset it makes: airflow/dag/<dag_id>.
    name="airflow",
)
# --- starter
# airflow_instance = None
# <<<
