// Package resource defines the Licentric API's resources (licenses,
// machines, policies, products, entitlements, webhooks) as they travel on
// the wire, with their field documentation, for the packages that cannot
// import the root package licentric: the offline verifier (a license file
// carries a License and a Machine), the webhook parser (an event carries
// one of them) and the in-process server licentrictest.
//
// Applications mostly meet the root package's types of the same names
// (licentric.License, ...), which have the same fields and JSON shape; a
// test in the root package keeps the two in step. licentric.FromResource
// converts between them.
package resource
