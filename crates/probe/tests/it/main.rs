//! Integration tests: hostile servers on 127.0.0.1 and real PostgreSQL / PgBouncer servers.
#![allow(missing_docs)]

mod certs;
mod differential;
mod hostile;
mod servers;
