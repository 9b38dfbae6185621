//! Integration tests of the exporter over real sockets: the HTTP surface and its bounds
//! (`security`), real PostgreSQL 15 servers (`servers`), and a real Prometheus scraping it
//! with the shipped configuration (`prometheus`).

mod http;
mod prometheus;
mod security;
mod servers;
