package fleet_test

import (
	"context"
	"encoding/hex"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fleet"
)

// Every replica of a server product builds its client with a Fleet on the
// same Redis, namespace and secret.
func Example() {
	// 32 random bytes, the same in every replica, from the secret store.
	secret, err := hex.DecodeString(os.Getenv("LICENTRIC_FLEET_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	// ContextTimeoutEnabled lets go-redis honour the Fleet's deadlines
	// itself, which saves the Fleet a goroutine per call.
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	f, err := fleet.New(rdb,
		fleet.WithNamespace("acme-prod"), // one per egress IP address
		fleet.WithSecret(secret),
		fleet.WithReplicas(8)) // each replica's share while Redis is down: 60/8 a minute
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	client, err := licentric.NewClient(licentric.WithFleet(f))
	if err != nil {
		log.Fatal(err)
	}
	v, err := client.Validate(context.Background(), os.Getenv("LICENSE_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	log.Println(v.Valid)
}
