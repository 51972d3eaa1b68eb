"""The names of the environment variables the workbench sets or reads, in every process it starts.

Imports nothing: Airflow's plugins and hooks and Dagster's start-up hooks import this module too.
"""

# Set by a learner or an instructor.
HOME = "AIRLIFT_TUTORIAL_HOME"  # the workspace folder (customers_pipeline/paths.py reads it too)
TUNING = "AIRLIFT_TUTORIAL_TUNING"  # `off`: stock Airflow and Dagster; `-name,...`: those tunings off
UI_PROXY = "AIRLIFT_TUTORIAL_UI_PROXY"  # `auto`, `off`, or a Jupyter server's base path for UI links
SCREENSHOTS = "AIRLIFT_TUTORIAL_SCREENSHOTS"  # a folder: the UI pointers save pictures there (`make refresh`)

# Set by the workbench in the services' environments.
OWNER = "AIRLIFT_TUTORIAL_OWNER"  # marks each service process with its workspace and service
WAKE_FILE = "AIRLIFT_TUTORIAL_WAKE_FILE"  # Airflow touches it when a DAG run ends; Dagster's daemon wakes
SCHEDULER_WAKE_FILE = "AIRLIFT_TUTORIAL_SCHEDULER_WAKE_FILE"  # Airflow's web server wakes its scheduler
DAGSTER_COMPANIONS = "AIRLIFT_TUTORIAL_DAGSTER_COMPANIONS"  # the webserver and daemon the code server forks
LOGIN_USER = "AIRLIFT_TUTORIAL_LOGIN_USER"  # the workspace's user, for Airflow and Dagster alike
LOGIN_PASSWORD_FILE = "AIRLIFT_TUTORIAL_LOGIN_PASSWORD_FILE"  # the file holding its password
DAGSTER_SESSION_KEY_FILE = "AIRLIFT_TUTORIAL_DAGSTER_SESSION_KEY_FILE"  # signs the Dagster login's cookie

# Tunings of Dagster's daemon, read at its start (for experiments; the defaults are the workbench's).
SENSOR_LOOP_SECONDS = "AIRLIFT_TUTORIAL_SENSOR_LOOP_SECONDS"
QUIET_SENSOR_SECONDS = "AIRLIFT_TUTORIAL_QUIET_SENSOR_SECONDS"

# Read by the learner's own code, as a deployment would provide them (see dagster_defs/, customers_pipeline/).
AIRFLOW_URL = "AIRFLOW_WEBSERVER_URL"
AIRFLOW_USERNAME = "AIRFLOW_USERNAME"
AIRFLOW_PASSWORD = "AIRFLOW_PASSWORD"
DAGSTER_URL = "DAGSTER_URL"  # read by dagster-airlift's proxy operators in Airflow
DAGSTER_USERNAME = "DAGSTER_USERNAME"
DAGSTER_PASSWORD = "DAGSTER_PASSWORD"
