// Command openloop is the latency workload's load generator: it POSTs valid, distinct
// payments to the transaction API on a fixed schedule, whatever the answers do, so slow
// answers cannot slow the offered load down (no coordinated omission). Latency is measured
// from each request's scheduled time. It prints one JSON line.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/paystream/bench/peers/internal/out"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8000/payments", "POST target")
	rate := flag.Int("rate", 500, "requests per second")
	duration := flag.Duration("duration", 30*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	prefix := flag.String("prefix", "lat", "payer id prefix (distinct bodies per run)")
	method := flag.String("method", "POST", "POST (a payment body) or GET (no body)")
	payee := flag.String("payee", "", "payee id of every payment (default: <prefix>_payee)")
	bearer := flag.String("bearer", "", "API key sent as Authorization: Bearer (default: none)")
	flag.Parse()

	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxIdleConns:        2048,
			MaxIdleConnsPerHost: 2048,
			IdleConnTimeout:     60 * time.Second,
		},
	}
	if *payee == "" {
		*payee = *prefix + "_payee"
	}
	total := int(float64(*rate) * duration.Seconds())
	latencies := make([]time.Duration, total)
	status := make([]int, total)
	var wg sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), *duration+*timeout+5*time.Second)
	defer cancel()
	for i := 0; i < total; i++ {
		scheduled := start.Add(time.Duration(i) * time.Second / time.Duration(*rate))
		time.Sleep(time.Until(scheduled))
		wg.Add(1)
		go func(i int, scheduled time.Time) {
			defer wg.Done()
			body := fmt.Sprintf(`{"payer_id":"%s_%d","payee_id":"%s","amount":"3.00",`+
				`"currency":"EUR"}`, *prefix, i, *payee)
			var req *http.Request
			var err error
			if *method == http.MethodGet {
				req, err = http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
			} else {
				req, err = http.NewRequestWithContext(ctx, http.MethodPost, *url,
					bytes.NewBufferString(body))
			}
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			if *bearer != "" {
				req.Header.Set("Authorization", "Bearer "+*bearer)
			}
			resp, err := client.Do(req)
			if err != nil {
				latencies[i] = time.Since(scheduled)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			latencies[i] = time.Since(scheduled)
			status[i] = resp.StatusCode
		}(i, scheduled)
	}
	sendSeconds := time.Since(start).Seconds()
	wg.Wait()

	accepted, errors := 0, 0
	var ok []time.Duration
	for i := range status {
		if status[i] == http.StatusAccepted || (*method == http.MethodGet && status[i] == http.StatusOK) {
			accepted++
			ok = append(ok, latencies[i])
		} else {
			errors++
		}
	}
	sort.Slice(ok, func(a, b int) bool { return ok[a] < ok[b] })
	pct := func(q float64) float64 {
		if len(ok) == 0 {
			return 0
		}
		idx := int(q / 100 * float64(len(ok)-1))
		return out.Round(float64(ok[idx].Microseconds()) / 1000)
	}
	out.Result(
		out.F("sent", total),
		out.F("accepted", accepted),
		out.F("errors", errors),
		out.F("send_seconds", out.Round(sendSeconds)),
		out.F("post_p50_ms", pct(50)),
		out.F("post_p99_ms", pct(99)),
		out.F("post_max_ms", pct(100)),
	)
	if errors > 0 {
		fmt.Fprintf(os.Stderr, "openloop: %d requests were not accepted\n", errors)
	}
}
