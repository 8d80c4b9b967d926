package licentric

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/licentric/licentric-go/internal/wire"
)

// The exported constants spell out their values (go doc shows them); each
// must stay what the wire package, which the client and licentrictest
// speak, says.
func TestExportedConstantsMatchTheWire(t *testing.T) {
	for _, c := range []struct {
		name      string
		ours, got any
	}{
		{"AgentTokenPrefix", AgentTokenPrefix, wire.AgentTokenPrefix},
		{"MeterPeriodMonth", MeterPeriodMonth, wire.PeriodMonth},
		{"MeterPeriodDay", MeterPeriodDay, wire.PeriodDay},
		{"MaxMeterQuantity", MaxMeterQuantity, wire.MaxMeterQuantity},
		{"EnvironmentLive", string(EnvironmentLive), wire.EnvLive},
		{"EnvironmentTest", string(EnvironmentTest), wire.EnvTest},
		{"PolicyTemplateDesktopApp", string(PolicyTemplateDesktopApp), wire.TemplateDesktopApp},
		{"PolicyTemplateCLITool", string(PolicyTemplateCLITool), wire.TemplateCLITool},
		{"PolicyTemplateSaaS", string(PolicyTemplateSaaS), wire.TemplateSaaS},
		{"PolicyTemplateTrial", string(PolicyTemplateTrial), wire.TemplateTrial},
		{"PolicyTemplateCustom", string(PolicyTemplateCustom), wire.TemplateCustom},
		{"StatusActive", StatusActive, wire.StatusActive},
		{"StatusSuspended", StatusSuspended, wire.StatusSuspended},
		{"StatusExpired", StatusExpired, wire.StatusExpired},
		{"StatusRevoked", StatusRevoked, wire.StatusRevoked},
		{"StatusBanned", StatusBanned, wire.StatusBanned},
		{"MachineActive", MachineActive, wire.MachineActive},
		{"MachineDead", MachineDead, wire.MachineDead},
		{"StrategyRestrictAccess", StrategyRestrictAccess, wire.StrategyRestrictAccess},
		{"StrategyAllowAccess", StrategyAllowAccess, wire.StrategyAllowAccess},
		{"StrategyRevoke", StrategyRevoke, wire.StrategyRevoke},
		{"CullDeactivateDead", CullDeactivateDead, wire.CullDeactivateDead},
		{"CullKeepDead", CullKeepDead, wire.CullKeepDead},
		{"UniquePerLicense", UniquePerLicense, wire.UniquePerLicense},
		{"UniquePerPolicy", UniquePerPolicy, wire.UniquePerPolicy},
		{"UniquePerAccount", UniquePerAccount, wire.UniquePerAccount},
		{"PlatformMacOS", PlatformMacOS, wire.PlatformMacOS},
		{"PlatformWindows", PlatformWindows, wire.PlatformWindows},
		{"PlatformLinux", PlatformLinux, wire.PlatformLinux},
		{"PlatformDocker", PlatformDocker, wire.PlatformDocker},
		{"PlatformKubernetes", PlatformKubernetes, wire.PlatformKubernetes},
		{"TierValidation", TierValidation, wire.TierValidation},
		{"TierActivation", TierActivation, wire.TierActivation},
		{"TierManagement", TierManagement, wire.TierManagement},
		{"ScopeLicensesRead", ScopeLicensesRead, wire.ScopeLicensesRead},
		{"ScopeLicensesWrite", ScopeLicensesWrite, wire.ScopeLicensesWrite},
		{"ScopeMachinesRead", ScopeMachinesRead, wire.ScopeMachinesRead},
		{"ScopeMachinesWrite", ScopeMachinesWrite, wire.ScopeMachinesWrite},
		{"ScopeProductsRead", ScopeProductsRead, wire.ScopeProductsRead},
		{"ScopeProductsWrite", ScopeProductsWrite, wire.ScopeProductsWrite},
		{"ScopePoliciesRead", ScopePoliciesRead, wire.ScopePoliciesRead},
		{"ScopePoliciesWrite", ScopePoliciesWrite, wire.ScopePoliciesWrite},
		{"ScopeEntitlementsRead", ScopeEntitlementsRead, wire.ScopeEntitlementsRead},
		{"ScopeEntitlementsWrite", ScopeEntitlementsWrite, wire.ScopeEntitlementsWrite},
		{"ScopeWebhooksRead", ScopeWebhooksRead, wire.ScopeWebhooksRead},
		{"ScopeWebhooksWrite", ScopeWebhooksWrite, wire.ScopeWebhooksWrite},
		{"ScopeAnalyticsRead", ScopeAnalyticsRead, wire.ScopeAnalyticsRead},
		{"ScopeAgentsRead", ScopeAgentsRead, wire.ScopeAgentsRead},
		{"ScopeAgentsWrite", ScopeAgentsWrite, wire.ScopeAgentsWrite},
		{"ScopeMCPInvoke", ScopeMCPInvoke, wire.ScopeMCPInvoke},
		{"CodeValid", string(CodeValid), wire.CodeValid},
		{"CodeExpired", string(CodeExpired), wire.CodeExpired},
		{"CodeSuspended", string(CodeSuspended), wire.CodeSuspended},
		{"CodeRevoked", string(CodeRevoked), wire.CodeRevoked},
		{"CodeBanned", string(CodeBanned), wire.CodeBanned},
		{"CodeNotFound", string(CodeNotFound), wire.CodeNotFound},
		{"CodeFingerprintNotFound", string(CodeFingerprintNotFound), wire.CodeFingerprintNotFound},
		{"CodeMachineLimitExceeded", string(CodeMachineLimitExceeded), wire.CodeMachineLimitExceeded},
		{"CodeHeartbeatRequired", string(CodeHeartbeatRequired), wire.CodeHeartbeatRequired},
		{"CodeUsesExceeded", string(CodeUsesExceeded), wire.CodeUsesExceeded},
		{"CodeEntitlementsMissing", string(CodeEntitlementsMissing), wire.CodeEntitlementsMissing},
	} {
		assert.Equal(t, fmt.Sprint(c.got), fmt.Sprint(c.ours), c.name)
	}
	assert.Equal(t, time.Duration(wire.DefaultAgentTTL)*time.Second, DefaultAgentTokenTTL)
	assert.Equal(t, time.Duration(wire.MinAgentTTL)*time.Second, MinAgentTokenTTL)
	assert.Equal(t, time.Duration(wire.MaxAgentTTL)*time.Second, MaxAgentTokenTTL)
	assert.Equal(t, time.Duration(wire.DefaultCheckoutTTL)*time.Second, DefaultCheckoutTTL)
	assert.Equal(t, time.Duration(wire.MinCheckoutTTL)*time.Second, MinCheckoutTTL)
	assert.Equal(t, time.Duration(wire.MaxCheckoutTTL)*time.Second, MaxCheckoutTTL)
}
