//! A real Prometheus scrapes the exporter.
