package licentric

import "github.com/licentric/licentric-go/webhook"

// Guard is being built.
type Guard struct{}

func (g *Guard) onEvent(*webhook.Event) {}
