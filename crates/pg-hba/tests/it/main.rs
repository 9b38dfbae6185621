//! Integration tests for pg-hba (one binary).

mod corpus;
mod corpus17;
mod edit;
mod explain;
mod explain_live;
mod lint;
mod policy;
mod resolve;
mod roundtrip;
mod support;
