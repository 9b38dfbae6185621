//! Integration tests of pgbouncer-ini: property round trips and edit idempotence over
//! generated files, and fixtures in the shapes deployments write.

mod props;
mod shapes;
