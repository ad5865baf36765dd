"""Contract suites: every implementation of a port passes the same parametrised cases."""
