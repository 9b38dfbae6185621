//! Integration tests of pgbouncer-ini: property round trips and edit idempotence over
//! generated files, fixtures in the shapes deployments write, and the real PgBouncer loading
//! what the editor wrote.

mod props;
mod real;
mod shapes;
