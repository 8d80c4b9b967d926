package fingerprint_test

import (
	"fmt"

	"github.com/licentric/licentric-go/fingerprint"
)

func Example() {
	// A custom source, here a fixed ID standing in for a pod's stable
	// identity. In production leave WithSource out to use the OS machine ID,
	// and give WithStateDir a private directory as the fallback.
	podID := fingerprint.SourceFunc(func() (string, error) {
		return "pod-7d4f9c-uid", nil
	})
	fp, err := fingerprint.Compute("com.example.app", fingerprint.WithSource(podID))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(fp), fp[:16])
	// Output: 64 69b52d646f2a028c
}
