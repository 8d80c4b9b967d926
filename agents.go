package licentric

// AgentsService manages AI-agent identities, their credentials and meters
// (contract §12, /mcp). Reach it as Client.Agents.
type AgentsService service
