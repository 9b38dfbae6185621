//! Tests against a real PostgreSQL 15 (written once the pgtest harness is available).
