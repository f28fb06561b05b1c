package api_test

import (
	"fmt"
	"testing"
)

// BenchmarkHTTPTransfer posts transfers through the HTTP API on a file
// database (synchronous=FULL): authentication, the posting and its audit
// line, which commit together in one transaction.
func BenchmarkHTTPTransfer(b *testing.B) {
	e := mustEnv(b)
	transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 0.5, "memo": "基准"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		resp, body := e.call(b, "POST", "/v1/transfers", e.cadre, transfer, "Idempotency-Key", fmt.Sprintf("bench-%d", n))
		if resp.StatusCode != 201 {
			b.Fatal(resp.StatusCode, body)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "postings/s")
}
