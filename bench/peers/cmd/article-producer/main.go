// article-producer is the article's producer as written: a kafka-go Writer built with
// kafka.NewWriter(kafka.WriterConfig{Brokers, Topic}) and nothing else (so the defaults:
// BatchSize 100, BatchTimeout 1s, RoundRobin balancer, RequiredAcks -1), and one
// synchronous WriteMessages call per message, in a loop. Each call waits for the writer's
// batch to be flushed, which an unfilled batch only is after BatchTimeout: about one
// message a second. That is measured as it is, not tuned.
package main

import (
	"context"
	"errors"
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
	duration := flag.Duration("duration", 20*time.Second, "stop starting new writes after this long")
	count := flag.Int("count", 0, "stop after this many messages (0: no limit)")
	writeTimeout := flag.Duration("write-timeout", 15*time.Second, "bound on one WriteMessages call")
	flag.Parse()
	log.SetPrefix("article-producer: ")
	if *topic == "" {
		log.Fatal("-topic is required")
	}

	// The article's writer, as written.
	w := kafka.NewWriter(kafka.WriterConfig{
		Brokers: strings.Split(*brokers, ","),
		Topic:   *topic,
	})

	log.Printf("writing to %s on %s for %s or %d messages", *topic, *brokers, *duration, *count)
	n := 0
	var runErr error
	start := time.Now()
	end := start
	for time.Since(start) < *duration && (*count == 0 || n < *count) {
		key, value := event.Encode(event.Random(1000))
		ctx, cancel := context.WithTimeout(context.Background(), *writeTimeout)
		err := w.WriteMessages(ctx, kafka.Message{Key: key, Value: value})
		cancel()
		if err != nil {
			runErr = err
			log.Printf("write %d failed: %v", n+1, err)
			break
		}
		n++
		end = time.Now()
		if n%5 == 0 {
			log.Printf("%d messages in %.1fs", n, end.Sub(start).Seconds())
		}
	}
	seconds := end.Sub(start).Seconds()
	closeBounded(w, 10*time.Second)

	fields := []out.Field{
		out.F("peer", "article-producer"),
		out.F("messages", n),
		out.F("seconds", out.Round(seconds)),
		out.F("rate", out.Rate(n, seconds)),
	}
	if runErr != nil {
		fields = append(fields, out.F("error", runErr.Error()))
	}
	out.Result(fields...)
	if runErr != nil {
		os.Exit(1)
	}
}

func closeBounded(w *kafka.Writer, limit time.Duration) {
	done := make(chan error, 1)
	go func() { done <- w.Close() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Printf("close: %v", err)
		}
	case <-time.After(limit):
		log.Printf("close did not finish within %s; leaving it", limit)
	}
}
