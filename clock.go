package licentric

import "github.com/licentric/licentric-go/clock"

// Clock tells the time and waits; see package clock.
//
// Deprecated: use clock.Clock, the one clock shape of the module (this is
// an alias of it).
type Clock = clock.Clock
