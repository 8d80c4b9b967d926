package licentrictest

import (
	"reflect"
	"slices"

	"github.com/licentric/licentric-go/internal/wire"
)

// annot refines the schema reflection made of one member: a description,
// the values the server accepts, bounds. Enums come from the same tables
// the handlers check against.
type annot func(g *schemas, s *schema) *schema

// edit applies f to a copy of s; when s admits null the constraints apply
// to the other values and an enum keeps null.
func edit(f func(s *schema)) annot {
	return func(_ *schemas, s *schema) *schema {
		if s.AnyOf != nil {
			cp := *s
			f(&cp)
			return &cp
		}
		cp := *s
		f(&cp)
		if t, ok := cp.Type.([]string); ok && slices.Contains(t, "null") && cp.Enum != nil && !slices.Contains(cp.Enum, nil) {
			cp.Enum = append(cp.Enum, nil)
		}
		return &cp
	}
}

func desc(d string) annot { return edit(func(s *schema) { s.Description = d }) }

// also chains annotations.
func also(as ...annot) annot {
	return func(g *schemas, s *schema) *schema {
		for _, a := range as {
			s = a(g, s)
		}
		return s
	}
}

func enum(values []any) annot { return edit(func(s *schema) { s.Enum = values }) }

func itemEnum(values []any) annot {
	return edit(func(s *schema) {
		it := *s.Items
		it.Enum = values
		s.Items = &it
	})
}

func length(minLen, maxLen int) annot {
	return edit(func(s *schema) {
		if minLen > 0 {
			s.MinLength = &minLen
		}
		if maxLen > 0 {
			s.MaxLength = &maxLen
		}
	})
}

func between(lo, hi int64) annot {
	return edit(func(s *schema) { s.Minimum, s.Maximum = intp64(lo), intp64(hi) })
}

func atLeast(lo int64) annot { return edit(func(s *schema) { s.Minimum = intp64(lo) }) }

func pattern(p string) annot { return edit(func(s *schema) { s.Pattern = p }) }

func nullTimestamp(d string) annot {
	return edit(func(s *schema) {
		s.Type = []string{"string", "null"}
		s.Description = d
	})
}

var (
	licenseStatusEnum = enum(enumOf(licenseStatuses))
	platformEnum      = enum(enumOf(platforms))
	templateEnum      = enum(enumOf(templates))
	strategyEnum      = enum(enumOf(strategies))
	cullEnum          = enum(enumOf(culls))
	uniquenessEnum    = enum(enumOf(uniquenesss))
	validationCodes   = enumList(wire.CodeValid, wire.CodeNotFound, wire.CodeBanned, wire.CodeRevoked, wire.CodeSuspended,
		wire.CodeExpired, wire.CodeUsesExceeded, wire.CodeFingerprintNotFound, wire.CodeHeartbeatRequired,
		wire.CodeEntitlementsMissing, wire.CodeMachineLimitExceeded)
	eventTypes = enumList(wire.EventTypes()...)
	name255    = length(1, 255)
	deletedAt  = nullTimestamp("When it was deleted; null while it exists.")
)

// fieldDocs returns the refinements of members, keyed "Schema.member".
func fieldDocs() map[string]annot {
	return map[string]annot{
		"License.status": also(licenseStatusEnum, desc("expired whenever the stored status is active and expiresAt has passed.")),
		"License.expiresAt": nullTimestamp("When the license expires; null: never. Once it has passed, the policy's expirationStrategy " +
			"decides what validation answers."),
		"License.entitlements": desc("The license's own entitlement codes; the policy's (policy.entitlements) come on top."),
		"License.policy":       desc("A snapshot of the governing policy."),
		"License.machines":     desc("Sent only by GET /licenses/{id} and GET /licenses/by-key/{key}: the license's machines."),
		"License.deletedAt":    deletedAt,
		"LicenseWithMachines.status": also(licenseStatusEnum,
			desc("expired whenever the stored status is active and expiresAt has passed.")),
		"LicenseWithMachines.expiresAt": nullTimestamp("When the license expires; null: never."),
		"LicenseWithMachines.machines":  desc("The license's machines that are not deleted (dead ones under KEEP_DEAD included), oldest first."),
		"LicenseWithMachines.deletedAt": deletedAt,
		"Policy.template":               templateEnum,
		"Policy.expirationStrategy":     strategyEnum,
		"Policy.heartbeatCullStrategy":  cullEnum,
		"Policy.fingerprintUniqueness":  uniquenessEnum,
		"Policy.maxMachines":            desc("Machines a license may activate; null: unlimited."),
		"Policy.maxUses":                desc("Validations a license may count; null: unlimited."),
		"Policy.deletedAt":              deletedAt,
		"Machine.status":                also(enum(enumList(wire.MachineActive, wire.MachineDead)), desc("dead: it missed its heartbeat deadline.")),
		"Machine.platform":              desc("macos, windows, linux, docker, kubernetes, or empty when not given."),
		"Machine.lastHeartbeatAt":       nullTimestamp("The last heartbeat (activation counts as one)."),
		"Machine.deletedAt":             deletedAt,
		"Product.deletedAt":             deletedAt,
		"Entitlement.deletedAt":         deletedAt,
		"Webhook.deletedAt":             deletedAt,
		"Webhook.events":                itemEnum(append(slices.Clone(eventTypes), wire.EventAll)),
		"Webhook.secret":                desc("The signing secret (whsec_…); only the create answer carries it."),
		"Webhook.accountId":             desc("Left out of list answers."),

		"Validation.code":         also(enum(validationCodes), desc("Why the license is (not) valid; the first check that fails decides.")),
		"Validation.valid":        desc("Whether to grant access. EXPIRED can come with valid: true (ALLOW_ACCESS)."),
		"Validation.license":      desc("The license found; null only for NOT_FOUND."),
		"Validation.machine":      desc("The license's machine with the fingerprint sent, when one matched."),
		"Validation.entitlements": desc("The license's effective entitlement codes (its own and its policy's), sorted."),
		"Checkout.certificate": desc("The license file: save it as is (e.g. license.lic). Base64 of a signed JSON envelope; " +
			"verify it offline with the public key of GET /keys/signing (docs/wire-protocol.md §7)."),
		"Checkout.ttl":          desc("The file's lifetime, in seconds."),
		"Checkout.keyId":        desc("The id of the signing key (kid)."),
		"SigningKey.algorithm":  enum(enumList("ed25519")),
		"SigningKey.publicKey":  desc("Standard base64 of the raw 32-byte Ed25519 public key."),
		"Pagination.nextCursor": desc("The cursor of the next page; null on the last page."),
		"Event.type":            enum(eventTypes),
		"Event.id":              pattern("^evt_"),
		"Event.data": func(g *schemas, s *schema) *schema {
			return &schema{Description: "The License for license.* and validation.* events, the Machine for machine.* events.",
				AnyOf: []*schema{g.of(reflect.TypeFor[wire.License]()), g.of(reflect.TypeFor[wire.Machine]())}}
		},
		"Error.error":     desc("A message for people."),
		"Error.code":      desc("A code for programs: VALIDATION_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, FINGERPRINT_CONFLICT, MACHINE_LIMIT_EXCEEDED, LICENSE_NOT_ACTIVE, OFFLINE_NOT_ALLOWED, OFFLINE_TTL_EXCEEDED, FINGERPRINT_NOT_FOUND, RATE_LIMITED or INTERNAL_ERROR. Treat an unknown code as a generic error."),
		"Error.status":    desc("The HTTP status, repeated."),
		"Error.requestId": desc("The X-Request-Id of the answer."),
		"Error.details": func(g *schemas, s *schema) *schema {
			p := &props{}
			p.set("issues", &schema{Type: "array", Items: g.of(reflect.TypeFor[issue]()),
				Description: "A 400's field errors: one per bad value."})
			p.set("machineId", &schema{Type: "string",
				Description: "A FINGERPRINT_CONFLICT on the same license: the machine that already has the fingerprint."})
			return &schema{Type: "object", Properties: p, Description: "More about the error, when there is more."}
		},
		"Issue.path": edit(func(s *schema) {
			s.Description = "Where the bad value is: member names and array indexes."
			s.Items = &schema{Type: []string{"string", "integer"}}
		}),

		"ValidateRequest.key": also(length(1, 0), desc("The license key (at most 16384 characters).")),
		"ValidateRequest.fingerprint": desc("This machine's fingerprint: the result then names the machine, or is FINGERPRINT_NOT_FOUND. " +
			"Empty counts as absent."),
		"ValidateRequest.entitlements": also(edit(func(s *schema) { n := 100; s.MaxItems = &n }),
			desc("Entitlement codes the license must have (else ENTITLEMENTS_MISSING).")),
		"ActivateRequest.licenseId":   desc("Required with an API key; with license-key auth the key names the license."),
		"ActivateRequest.fingerprint": length(wire.MinFingerprintLen, wire.MaxFingerprintLen),
		"ActivateRequest.platform":    platformEnum,
		"ActivateRequest.name":        length(0, 255),
		"ActivateRequest.hostname":    length(0, 255),
		"ActivateRequest.cores":       atLeast(0),
		"CheckoutRequest.fingerprint": also(length(1, 0), desc("The fingerprint of a machine of the license; the file is bound to it.")),
		"CheckoutRequest.ttl": also(between(wire.MinCheckoutTTL, wire.MaxCheckoutTTL),
			edit(func(s *schema) { s.Default = wire.DefaultCheckoutTTL }),
			desc("The file's lifetime in seconds; at most the policy's offlineMaxDays × 86400 (else OFFLINE_TTL_EXCEEDED).")),
		"EntitlementCodesRequest.entitlementCodes": desc("Entitlement codes to attach or detach; an unknown code is a 404."),

		"ProductRequest.name":        name255,
		"ProductRequest.code":        pattern("^[A-Za-z0-9_-]{1,50}$"),
		"ProductRequest.description": length(0, 1000),
		"ProductRequest.keyPrefix":   also(pattern("^[A-Z]{2,10}$"), desc("Starts generated license keys (default LIC).")),
		"PolicyRequest.name":         name255,
		"PolicyRequest.template": also(templateEnum, desc("Fills the defaults the template defines; the default is custom. "+
			"A PATCH stores it without refilling.")),
		"PolicyRequest.maxMachines": also(atLeast(0), desc("Required on create unless the template sets it; null (unlimited) "+
			"only with allowUnlimitedActivations: true.")),
		"PolicyRequest.allowUnlimitedActivations": desc("Confirms a null maxMachines; checked, never stored."),
		"PolicyRequest.maxUses":                   atLeast(0),
		"PolicyRequest.durationDays":              atLeast(1),
		"PolicyRequest.trialDurationDays":         atLeast(1),
		"PolicyRequest.expirationStrategy":        strategyEnum,
		"PolicyRequest.heartbeatCullStrategy":     cullEnum,
		"PolicyRequest.fingerprintUniqueness":     uniquenessEnum,
		"PolicyRequest.heartbeatIntervalMinutes":  atLeast(1),
		"PolicyRequest.offlineMaxDays":            atLeast(1),
		"LicenseRequest.key": also(length(1, wire.MaxLicenseKeyLen), desc("A custom license key (migrations): UTF-8 without "+
			"control characters or surrounding whitespace, kept byte for byte, unique across both environments. Create only.")),
		"LicenseRequest.name":                length(0, 255),
		"LicenseRequest.userName":            length(0, 255),
		"LicenseRequest.maxMachinesOverride": atLeast(0),
		"LicenseRequest.maxUsesOverride":     atLeast(0),
		"LicenseRequest.entitlementIds":      desc("Entitlement ids (not codes); a PATCH replaces the set."),
		"LicenseRequest.productId":           desc("Create only: a PATCH ignores it."),
		"LicenseRequest.policyId":            desc("A PATCH may move the license to another policy of the same product."),
		"EntitlementRequest.code":            pattern("^[a-z0-9_-]{1,100}$"),
		"EntitlementRequest.name":            name255,
		"WebhookRequest.url": also(length(1, 2048), desc("https (the test server also takes http:// to a loopback host; "+
			"the live service only public https URLs).")),
		"WebhookRequest.events": also(itemEnum(append(slices.Clone(eventTypes), wire.EventAll)),
			edit(func(s *schema) { n := 1; s.MinItems = &n }), desc("Event types to deliver, or \"*\" (the default) for all.")),

		"AgentRequest.name": length(1, 128),
		"AuthorizeRequest.scopes": edit(func(s *schema) {
			lo, hi := 1, 32
			s.MinItems, s.MaxItems = &lo, &hi
			s.Items = &schema{Type: "string", Pattern: scopeRE.String()}
			s.Description = "What the token may do, e.g. mcp:invoke; the middleware checks them."
		}),
		"AuthorizeRequest.ttlSeconds": also(between(wire.MinAgentTTL, wire.MaxAgentTTL),
			edit(func(s *schema) { s.Default = wire.DefaultAgentTTL })),
		"AuthorizeResponse.token": desc("The token (AGT-…), shown only here."),
		"VerifyRequest.meterName": pattern(meterNameRE.String()),
		"VerifyRequest.quantity": also(between(1, wire.MaxMeterQuantity), edit(func(s *schema) { s.Default = 1 }),
			desc("Usage to record on the meter (needs meterName).")),
		"MeterRequest.period":    enum(enumList(wire.PeriodMonth, wire.PeriodDay)),
		"MeterRequest.softLimit": atLeast(0),
		"MeterRequest.hardLimit": atLeast(0),
		"Meter.period":           enum(enumList(wire.PeriodMonth, wire.PeriodDay)),
		"MeterUsage.blocked":     desc("The quantity would have passed the hard limit and was not recorded."),
		"MeterUsage.warning":     desc("Usage is past the soft limit."),
		"AnalyticsDay.date":      edit(func(s *schema) { s.Format = "date" }),
	}
}

// typeDocs describe the components.
var typeDocs = map[string]string{
	"License":             "A license key and its state, with a snapshot of its policy.",
	"LicenseWithMachines": "A license with its machines, as GET /licenses/{id} and GET /licenses/by-key/{key} answer.",
	"Policy":              "The rules licenses are issued under.",
	"Machine":             "A device activated on a license.",
	"Product":             "Something a vendor sells licenses for.",
	"Entitlement":         "A named feature a license or policy grants.",
	"Webhook":             "A registered delivery endpoint.",
	"Validation":          "The result of validate-key: 200 for every outcome.",
	"Checkout":            "A signed license file for offline use.",
	"SigningKey":          "The public key that verifies license files. Pin it in the application; do not fetch it at run time.",
	"Pagination":          "How to fetch the next page of a list.",
	"Error":               "The error envelope of every error answer.",
	"Issue":               "One field error of a 400.",
	"Event":               "A webhook delivery's body.",
	"Analytics":           "Counts of the caller's environment, computed on every call.",
	"Agent":               "An AI-agent identity.",
	"AuthorizeResponse":   "A short-lived agent token.",
	"VerifyResponse":      "Who an agent token belongs to, and the meter's state when one was named.",
	"Meter":               "A usage meter of an agent.",
	"ProductRequest":      "Changes to a product: members left out keep their value.",
	"ProductCreate":       "A new product.",
	"PolicyRequest":       "Changes to a policy: members left out keep their value.",
	"PolicyCreate":        "A new policy. Members left out take the template's values, else the defaults.",
	"LicenseRequest":      "Changes to a license: members left out keep their value; null clears a nullable one.",
	"LicenseCreate":       "A new license. expiresAt defaults to now + the policy's durationDays (trialDurationDays for trials).",
	"EntitlementRequest":  "Changes to an entitlement: members left out keep their value.",
	"EntitlementCreate":   "A new entitlement.",
	"WebhookRequest":      "Changes to a webhook: members left out keep their value.",
	"WebhookCreate":       "A new webhook.",
	"AgentRequest":        "A new agent.",
	"MeterRequest":        "A meter's limits (absent or null: none) and period; usage in the current period is kept unless the period changes.",
	"VerifyRequest":       "Usage to record; the whole body is optional.",
}
