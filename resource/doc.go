// Package resource defines the Licentric API's resources (licenses,
// machines, policies, products, entitlements, webhooks) as they travel on
// the wire, with their field documentation, for the packages that cannot
// import the root package licentric: the offline verifier (a license file
// carries a License and a Machine), the webhook parser (an event carries
// one of them) and the in-process server licentrictest.
//
// These are the only definitions: the root package's licentric.License and
// friends are aliases of them, so an application that imports only package
// licentric uses the same types.
package resource
