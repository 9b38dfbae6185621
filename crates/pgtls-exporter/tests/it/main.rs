//! Integration tests of the exporter against real sockets and real servers.
