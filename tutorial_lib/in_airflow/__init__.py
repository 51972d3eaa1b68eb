"""Code that runs inside Airflow's processes only (its executor, web server and scheduler hooks, its plugins).

Airflow loads it by name from the environment the workbench gives it; nothing outside Airflow imports it.
"""
