// Package testkit is the one place tests get what they share: fast retry
// policies and clients of a licentrictest.Server. It is a normal package so
// that every external test package (licentric_test, fleet, agentauth,
// migrate, the CLI, licentricotel, the examples) can import it, but only
// tests use it; nothing the SDK ships imports it.
//
// The fake clock tests share is clocktest.Clock (internal/clocktest); a test
// that needs the server's time passes srv.Clock(), which Client and
// AppClient already do, and a test in a testing/synctest bubble uses the
// bubble's wall clock (WallClient).
package testkit
