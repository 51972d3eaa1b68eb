"""Clients of the running services: Airflow's REST API and Dagster's GraphQL API.

Imported by the notebook kernel, the command line and the tests; never by code inside Airflow or Dagster.
"""
