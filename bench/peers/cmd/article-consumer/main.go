// article-consumer is the article's consumer as written: a kafka-go Reader built with
// kafka.NewReader(kafka.ReaderConfig{Brokers, Topic, GroupID}) and nothing else, then a
// loop of ReadMessage. With CommitInterval left at 0, ReadMessage commits every message's
// offset synchronously before returning it. Nothing is printed per message; a counter
// is kept instead.
package main

import (
	"flag"
	"log"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/paystream/bench/peers/internal/capped"
	"github.com/paystream/bench/peers/internal/out"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	topic := flag.String("topic", "", "topic to read")
	group := flag.String("group", "", "consumer group id (default: article-consumer-<unix nanos>, a fresh group)")
	expect := flag.Int("expect", 0, "stop after this many messages (0: only -timeout stops)")
	timeout := flag.Duration("timeout", 90*time.Second, "stop this long after the first message")
	joinTimeout := flag.Duration("join-timeout", 60*time.Second, "give up when no message came within this long (group join, first fetch)")
	flag.Parse()
	log.SetPrefix("article-consumer: ")
	if *topic == "" {
		log.Fatal("-topic is required")
	}
	if *group == "" {
		*group = "article-consumer-" + time.Now().Format("20060102T150405.000000000")
	}

	// The article's reader, as written.
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: strings.Split(*brokers, ","),
		Topic:   *topic,
		GroupID: *group,
	})

	run := capped.New(*joinTimeout, *timeout)
	defer run.Stop()
	ctx := run.Ctx
	log.Printf("reading %s on %s as group %s, expecting %d within %s", *topic, *brokers, *group, *expect, *timeout)

	n := 0
	start := time.Now()
	var first, last time.Time
	var runErr error
	for *expect == 0 || n < *expect {
		_, err := r.ReadMessage(ctx)
		if err != nil {
			if !capped.Ended(err) && ctx.Err() == nil {
				runErr = err
			}
			log.Printf("stopped after %d messages: %v", n, err)
			break
		}
		now := time.Now()
		if n == 0 {
			first = now
			run.First()
			log.Printf("first message after %.2fs", now.Sub(start).Seconds())
		}
		last = now
		n++
		if n%5000 == 0 {
			log.Printf("%d messages", n)
		}
	}
	total := time.Since(start).Seconds()
	closeBounded(r, 10*time.Second)

	seconds := 0.0
	if n > 0 {
		seconds = last.Sub(first).Seconds()
	}
	fields := []out.Field{
		out.F("peer", "article-consumer"),
		out.F("messages", n),
		out.F("seconds", out.Round(seconds)),
		out.F("rate", out.Rate(n, seconds)),
		out.F("seconds_total", out.Round(total)),
		out.F("expected", *expect),
	}
	if runErr != nil {
		fields = append(fields, out.F("error", runErr.Error()))
	}
	out.Result(fields...)
	if runErr != nil || (*expect > 0 && n < *expect) {
		os.Exit(1)
	}
}

func closeBounded(r *kafka.Reader, limit time.Duration) {
	done := make(chan error, 1)
	go func() { done <- r.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Printf("close: %v", err)
		}
	case <-time.After(limit):
		log.Printf("close did not finish within %s; leaving it", limit)
	}
}
