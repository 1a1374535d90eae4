// tuned-drain is a tuned Go consumer doing the notification consumer's job: read payment
// events with a kafka-go consumer-group Reader (FetchMessage, tuned fetch sizes, a deep
// prefetch queue), gather them into batches, and write each batch in ONE PostgreSQL
// transaction (pgx) with the consumer's own statements, into the consumer's own tables
// (notification_consumer, as our migrations made them: indexes, stored hash columns,
// triggers): the events through a COPY staging table with ON CONFLICT (event_id) DO NOTHING
// and their debit and credit notifications, the fenced stored offsets, the counters row.
// After that commit, the offsets go to Kafka in the background (CommitInterval 1 s), as the
// consumer's own offset copy does.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/paystream/bench/peers/internal/capped"
	"github.com/paystream/bench/peers/internal/out"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	topic := flag.String("topic", "", "topic to read")
	group := flag.String("group", "", "consumer group id (default: tuned-drain-<time>, a fresh group)")
	dbURL := flag.String("database-url", "postgresql://paystream@127.0.0.1:5432/paystream", "PostgreSQL URL")
	expect := flag.Int("expect", 0, "stop after this many messages (0: only -timeout stops)")
	timeout := flag.Duration("timeout", 90*time.Second, "stop this long after the first message")
	joinTimeout := flag.Duration("join-timeout", 60*time.Second, "give up when no message came within this long (group join, first fetch)")
	batchSize := flag.Int("batch", 500, "most messages in one batch (one transaction)")
	linger := flag.Duration("linger", 100*time.Millisecond, "after a batch's first message, wait at most this long to fill it (the consumer's BATCH_WAIT_MS)")
	minBytes := flag.Int("min-bytes", 64<<10, "fetch MinBytes")
	maxBytes := flag.Int("max-bytes", 8<<20, "fetch MaxBytes")
	maxWait := flag.Duration("max-wait", 100*time.Millisecond, "fetch MaxWait")
	flag.Parse()
	log.SetPrefix("tuned-drain: ")
	if *topic == "" {
		log.Fatal("-topic is required")
	}
	if *batchSize < 1 {
		log.Fatal("-batch must be at least 1")
	}
	if *group == "" {
		*group = "tuned-drain-" + time.Now().Format("20060102T150405.000000000")
	}

	run := capped.New(*joinTimeout, *timeout)
	defer run.Stop()
	ctx := run.Ctx
	start := time.Now()

	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		log.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, createStage); err != nil {
		log.Fatalf("create staging table: %v", err)
	}
	d := &drain{conn: conn, group: *group, topic: *topic,
		member: fmt.Sprintf("tuned-drain-%d", os.Getpid()), claimed: map[int32]bool{}}

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        strings.Split(*brokers, ","),
		Topic:          *topic,
		GroupID:        *group,
		StartOffset:    kafka.FirstOffset,
		MinBytes:       *minBytes,
		MaxBytes:       *maxBytes,
		MaxWait:        *maxWait,
		QueueCapacity:  2 * *batchSize, // keep fetching while a batch is being written
		CommitInterval: time.Second,    // the database holds the truth; Kafka's copy trails
	})
	log.Printf("reading %s as group %s (batch %d), expecting %d within %s",
		*topic, *group, *batchSize, *expect, *timeout)

	var c counts
	var first, lastCommit time.Time
	var runErr error
	batch := make([]kafka.Message, 0, *batchSize)
loop:
	for *expect == 0 || c.messages < *expect {
		want := *batchSize
		if *expect > 0 {
			want = min(want, *expect-c.messages)
		}
		batch = batch[:0]
		t0 := time.Now()
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if !capped.Ended(err) && ctx.Err() == nil {
				runErr = err
			}
			log.Printf("stopped after %d messages: %v", c.messages, err)
			break
		}
		if first.IsZero() {
			first = time.Now()
			run.First()
			log.Printf("first message after %.2fs", first.Sub(start).Seconds())
		}
		batch = append(batch, m)
		fill, stop := context.WithTimeout(ctx, *linger)
		for len(batch) < want {
			m, err := r.FetchMessage(fill)
			if err != nil {
				break // linger over (or the run's deadline: handled at the next fetch)
			}
			batch = append(batch, m)
		}
		stop()
		t1 := time.Now()

		rows, next, skipped, repeated := plan(batch)
		inserted, stored, err := d.write(ctx, rows, next)
		if err != nil {
			runErr = fmt.Errorf("batch %d: %w", c.batches+1, err)
			break loop
		}
		t2 := time.Now()
		if err := r.CommitMessages(ctx, batch...); err != nil {
			runErr = fmt.Errorf("kafka commit of batch %d: %w", c.batches+1, err)
			break loop
		}
		lastCommit = time.Now()
		if c.batches > 0 { // the first wait includes joining the group
			c.fetch += t1.Sub(t0)
		} else {
			c.fetch += t1.Sub(first)
		}
		c.db += t2.Sub(t1)
		c.commit += lastCommit.Sub(t2)
		c.batches++
		c.messages += len(batch)
		c.inserted += inserted
		c.skipped += skipped
		c.duplicates += repeated + stored
		if c.batches%10 == 0 {
			log.Printf("%d messages, %d inserted, %d batches", c.messages, c.inserted, c.batches)
		}
	}
	total := time.Since(start).Seconds()
	closeBounded(r, 10*time.Second)

	seconds := 0.0
	if !first.IsZero() && !lastCommit.IsZero() {
		seconds = lastCommit.Sub(first).Seconds()
	}
	fields := []out.Field{
		out.F("peer", "tuned-drain"),
		out.F("messages", c.messages),
		out.F("inserted", c.inserted),
		out.F("seconds", out.Round(seconds)),
		out.F("rate", out.Rate(c.messages, seconds)),
		out.F("duplicates", c.duplicates),
		out.F("skipped", c.skipped),
		out.F("batches", c.batches),
		out.F("fetch_seconds", out.Round(c.fetch.Seconds())),
		out.F("db_seconds", out.Round(c.db.Seconds())),
		out.F("kafka_commit_seconds", out.Round(c.commit.Seconds())),
		out.F("batch", *batchSize),
		out.F("seconds_total", out.Round(total)),
		out.F("expected", *expect),
	}
	if runErr != nil {
		fields = append(fields, out.F("error", runErr.Error()))
	}
	out.Result(fields...)
	if runErr != nil || (*expect > 0 && c.messages < *expect) {
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
