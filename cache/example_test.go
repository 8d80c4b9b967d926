package cache_test

import (
	"fmt"
	"time"

	"github.com/licentric/licentric-go/cache"
)

func ExampleMemory() {
	store := cache.NewMemory()
	defer store.Close()

	_ = store.Set("v1/prod/lic-hash/req-hash", []byte("VALID"), 5*time.Minute)
	if v, ok := store.Get("v1/prod/lic-hash/req-hash"); ok {
		fmt.Println("cached:", string(v))
	}

	// Invalidate everything cached for one license.
	store.DeletePrefix("v1/prod/lic-hash/")
	_, ok := store.Get("v1/prod/lic-hash/req-hash")
	fmt.Println("after invalidation:", ok)
	// Output:
	// cached: VALID
	// after invalidation: false
}
