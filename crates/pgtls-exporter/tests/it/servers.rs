//! The probe metrics against real PostgreSQL 15 servers (started by pgtest).
