"""Grafana dashboards as code, for the ClickHouse data source plugin and Prometheus."""
