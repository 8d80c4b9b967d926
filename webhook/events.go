package webhook

// Event types (docs-facts §7), for comparing with Event.Type and for
// subscribing a webhook. They are untyped string constants, so they compare
// with Event.Type (a string) directly:
//
//	if e.Type == webhook.EventLicenseSuspended { ... }
const (
	// EventLicenseCreated: a license was created (also by the Stripe
	// integration). Data is the License.
	EventLicenseCreated = "license.created"
	// EventLicenseActivated: a license's first successful validation.
	EventLicenseActivated = "license.activated"
	// EventLicenseUpdated: a license was changed.
	EventLicenseUpdated = "license.updated"
	// EventLicenseSuspended: a license was suspended.
	EventLicenseSuspended = "license.suspended"
	// EventLicenseReinstated: a suspended license was reinstated.
	EventLicenseReinstated = "license.reinstated"
	// EventLicenseRevoked: a license was revoked (permanently).
	EventLicenseRevoked = "license.revoked"
	// EventLicenseRenewed: a license's expiry was extended.
	EventLicenseRenewed = "license.renewed"
	// EventLicenseExpired: a license passed its expiresAt.
	EventLicenseExpired = "license.expired"
	// EventLicenseDeleted: a license was (soft) deleted.
	EventLicenseDeleted = "license.deleted"
	// EventLicenseLimitReached: an activation hit the machine limit.
	EventLicenseLimitReached = "license.limit_reached"
	// EventMachineActivated: a machine was activated. Data is the Machine.
	EventMachineActivated = "machine.activated"
	// EventMachineDeactivated: a machine was deactivated.
	EventMachineDeactivated = "machine.deactivated"
	// EventMachineHeartbeat: a machine sent a heartbeat.
	EventMachineHeartbeat = "machine.heartbeat"
	// EventMachineDead: a machine missed its heartbeat deadline.
	EventMachineDead = "machine.dead"
	// EventValidationSuccess: a validation found the license valid. Data is
	// the License.
	EventValidationSuccess = "validation.success"
	// EventValidationFailed: a validation found the license not valid.
	EventValidationFailed = "validation.failed"
	// EventAll subscribes a webhook to every event type. It is never the
	// Type of an Event.
	EventAll = "*"
)

// EventTypes returns every event type, in the documentation's order (not
// EventAll). Each call returns a new slice.
func EventTypes() []string {
	return []string{
		EventLicenseCreated, EventLicenseActivated, EventLicenseUpdated, EventLicenseSuspended,
		EventLicenseReinstated, EventLicenseRevoked, EventLicenseRenewed, EventLicenseExpired,
		EventLicenseDeleted, EventLicenseLimitReached, EventMachineActivated, EventMachineDeactivated,
		EventMachineHeartbeat, EventMachineDead, EventValidationSuccess, EventValidationFailed,
	}
}

// knownEvent reports whether t is one of EventTypes.
func knownEvent(t string) bool {
	switch t {
	case EventLicenseCreated, EventLicenseActivated, EventLicenseUpdated, EventLicenseSuspended,
		EventLicenseReinstated, EventLicenseRevoked, EventLicenseRenewed, EventLicenseExpired,
		EventLicenseDeleted, EventLicenseLimitReached, EventMachineActivated, EventMachineDeactivated,
		EventMachineHeartbeat, EventMachineDead, EventValidationSuccess, EventValidationFailed:
		return true
	}
	return false
}
