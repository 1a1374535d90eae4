// seed is a helper, not a peer: it fills a topic quickly with valid events (batched,
// acks=all, key = payer_id, murmur2 partitioning like the Java/Python clients) so that
// the consumers have a backlog to drain. -duplicates re-sends that many already-sent
// events with identical bytes (at the end), to check deduplication.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/paystream/bench/peers/internal/event"
	"github.com/paystream/bench/peers/internal/out"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	topic := flag.String("topic", "", "topic to write to (must exist)")
	count := flag.Int("count", 20000, "unique events to write")
	duplicates := flag.Int("duplicates", 0, "events to write a second time, identical (after the unique ones)")
	accounts := flag.Int("accounts", 1000, "number of distinct accounts")
	timeout := flag.Duration("timeout", 60*time.Second, "bound on the whole run")
	flag.Parse()
	log.SetPrefix("seed: ")
	if *topic == "" {
		log.Fatal("-topic is required")
	}
	if *duplicates > *count {
		*duplicates = *count
	}

	w := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(*brokers, ",")...),
		Topic:        *topic,
		Balancer:     &kafka.Murmur2Balancer{},
		BatchSize:    1000,
		BatchBytes:   4 << 20,
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	msgs := make([]kafka.Message, 0, *count+*duplicates)
	for range *count {
		key, value := event.Encode(event.Random(*accounts))
		msgs = append(msgs, kafka.Message{Key: key, Value: value})
	}
	for i := range *duplicates {
		// spread the re-sent ones over the whole set
		m := msgs[i*(*count) / *duplicates]
		msgs = append(msgs, kafka.Message{Key: m.Key, Value: m.Value})
	}

	start := time.Now()
	written := 0
	const chunk = 1000
	for written < len(msgs) {
		end := min(written+chunk, len(msgs))
		if err := w.WriteMessages(ctx, msgs[written:end]...); err != nil {
			log.Printf("after %d messages: %v", written, err)
			_ = w.Close()
			os.Exit(1)
		}
		written = end
	}
	seconds := time.Since(start).Seconds()
	if err := w.Close(); err != nil {
		log.Printf("close: %v", err)
	}
	out.Result(
		out.F("tool", "seed"),
		out.F("messages", written),
		out.F("unique", *count),
		out.F("seconds", out.Round(seconds)),
		out.F("rate", out.Rate(written, seconds)),
	)
}
