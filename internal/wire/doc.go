// Package wire is the one place where the Licentric wire contract is written
// down in Go: endpoint paths, header names, authentication schemes, result and
// error codes, and the JSON shapes of every resource, request and response.
//
// The client (package licentric), the in-process server (package
// licentrictest), the webhook parser and the offline license-file payload all
// read these definitions, so a correction against the live service is a
// one-line change here. The root package re-exports the resource types under
// their own definitions (licentric.License), which a test keeps in step
// with the resource types defined in package resource and aliased here.
package wire
