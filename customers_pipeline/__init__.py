"""The tutorial's customers pipeline: load raw customers, build dbt models, export a CSV."""
