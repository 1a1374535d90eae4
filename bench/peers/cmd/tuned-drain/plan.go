package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/paystream/bench/peers/internal/event"
)

// row is one decoded event with where it came from.
type row struct {
	id          [16]byte
	payer       string
	payee       string
	amount      string
	currency    string
	description *string
	occurred    time.Time
	partition   int32
	offset      int64
	hash        string
}

// decode parses and checks a record's value the way the Python consumer requires it.
func decode(m kafka.Message) (row, error) {
	var e event.Event
	if err := json.Unmarshal(m.Value, &e); err != nil {
		return row{}, fmt.Errorf("not JSON: %w", err)
	}
	if e.SchemaVersion != 1 {
		return row{}, fmt.Errorf("schema_version %d", e.SchemaVersion)
	}
	id, err := event.ParseUUID(e.EventID)
	if err != nil {
		return row{}, err
	}
	if e.PayerID == "" || e.PayeeID == "" || e.Currency == "" {
		return row{}, errors.New("missing account or currency")
	}
	if f, err := strconv.ParseFloat(e.Amount, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return row{}, fmt.Errorf("bad amount %q", e.Amount)
	}
	occurred, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
	if err != nil {
		return row{}, fmt.Errorf("bad occurred_at: %w", err)
	}
	sum := sha256.Sum256(m.Value)
	return row{
		id: id, payer: e.PayerID, payee: e.PayeeID, amount: e.Amount, currency: e.Currency,
		description: e.Description, occurred: occurred, partition: int32(m.Partition),
		offset: m.Offset, hash: hex.EncodeToString(sum[:]),
	}, nil
}

type counts struct {
	messages, inserted, notifications, duplicates, skipped, batches int
	// where the time went, batch by batch: waiting for messages, the PostgreSQL
	// transaction (decoding included), the Kafka offset commit
	fetch, db, commit time.Duration
}

type drain struct {
	conn   *pgx.Conn
	method string
	group  string
	topic  string
}

// plan decodes a batch: the rows to insert (first of each event id in the batch), the
// next offset per partition, and how many records were skipped or repeated in the batch.
func plan(msgs []kafka.Message) (rows []row, next map[int32]int64, skipped, repeated int) {
	next = make(map[int32]int64)
	seen := make(map[[16]byte]string, len(msgs))
	rows = make([]row, 0, len(msgs))
	for _, m := range msgs {
		p := int32(m.Partition)
		if m.Offset+1 > next[p] {
			next[p] = m.Offset + 1
		}
		r, err := decode(m)
		if err != nil {
			skipped++
			log.Printf("skipping %s/%d@%d: %v", m.Topic, m.Partition, m.Offset, err)
			continue
		}
		if h, ok := seen[r.id]; ok {
			if h != r.hash {
				// the Python consumer dead-letters such a conflict; here it is only skipped
				skipped++
				log.Printf("skipping %s/%d@%d: event id repeated with other bytes", m.Topic, m.Partition, m.Offset)
			} else {
				repeated++
			}
			continue
		}
		seen[r.id] = r.hash
		rows = append(rows, r)
	}
	return rows, next, skipped, repeated
}

// write stores one batch in one transaction; returns events and notifications inserted.
