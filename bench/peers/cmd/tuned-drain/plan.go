package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"regexp"
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
	traceID     *string
	ownerScope  *string
}

var (
	ownerScope  = regexp.MustCompile(`^[0-9a-f]{16}$`)
	traceparent = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$`)
)

// The headers the consumer reads (payment_events.codec.READ_HEADERS), first value of each.
func readHeaders(hs []kafka.Header) (map[string]string, error) {
	found := make(map[string]string, 5)
	for _, h := range hs {
		switch h.Key {
		case "ce_type", "ce_schemaversion", "ce_id", "ce_ownerscope", "ce_traceparent":
			if _, ok := found[h.Key]; ok {
				continue
			}
			if h.Value == nil {
				return nil, fmt.Errorf("header %s has no value", h.Key)
			}
			found[h.Key] = string(h.Value)
		}
	}
	return found, nil
}

// decode parses and checks a record the way the Python consumer requires it: the CloudEvents
// headers, the JSON value, the trace id of its traceparent and its owner scope.
func decode(m kafka.Message) (row, error) {
	found, err := readHeaders(m.Headers)
	if err != nil {
		return row{}, err
	}
	if t, ok := found["ce_type"]; ok && t != "io.paystream.payment.accepted" {
		return row{}, fmt.Errorf("unknown type %q", t)
	}
	if v, ok := found["ce_schemaversion"]; ok && v != "1" {
		return row{}, fmt.Errorf("schema version %q", v)
	}
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
	if ce, ok := found["ce_id"]; ok && ce != e.EventID {
		return row{}, errors.New("ce_id header does not match event_id")
	}
	if e.PayerID == "" || e.PayeeID == "" || e.Currency == "" || e.PayerID == e.PayeeID {
		return row{}, errors.New("missing or equal accounts, or no currency")
	}
	if f, err := strconv.ParseFloat(e.Amount, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return row{}, fmt.Errorf("bad amount %q", e.Amount)
	}
	occurred, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
	if err != nil {
		return row{}, fmt.Errorf("bad occurred_at: %w", err)
	}
	r := row{
		id: id, payer: e.PayerID, payee: e.PayeeID, amount: e.Amount, currency: e.Currency,
		description: e.Description, occurred: occurred, partition: int32(m.Partition),
		offset: m.Offset,
	}
	if s, ok := found["ce_ownerscope"]; ok {
		if !ownerScope.MatchString(s) {
			return row{}, errors.New("ce_ownerscope is not a 16-hex-digit scope")
		}
		r.ownerScope = &s
	}
	if tp := traceparent.FindStringSubmatch(found["ce_traceparent"]); tp != nil &&
		tp[1] != "00000000000000000000000000000000" && tp[2] != "0000000000000000" {
		r.traceID = &tp[1]
	}
	sum := sha256.Sum256(m.Value)
	r.hash = hex.EncodeToString(sum[:])
	return r, nil
}

// generation is this peer's claim on its partitions; one member, one generation.
const generation = 1

type counts struct {
	messages, inserted, duplicates, skipped, batches int
	// where the time went, batch by batch: waiting for messages, the PostgreSQL
	// transaction (decoding included), handing the offsets to Kafka
	fetch, db, commit time.Duration
}

type drain struct {
	conn    *pgx.Conn
	group   string
	topic   string
	member  string
	claimed map[int32]bool
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
