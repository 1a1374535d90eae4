package main

// The ingest ceiling (-group-commit N): the same request, row and record as one insert per
// request, with the same durability, but the requests that arrive while a writer is busy
// share one multi-row INSERT and one commit. With -answer-after commit (the default, as the
// API) each request is answered once the group is committed and its record goes to the
// dispatcher; with -answer-after publish the group's records go to Kafka together and each
// request waits for its own ack before the 202.

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

const insertMany = `
    INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
        request_hash, payer_id, payee_id, amount, currency, description, event_key,
        event_value, event_headers, created_at)
    SELECT i, s, k, h, pr, pe, CAST(a AS numeric), c, d, ek, ev, CAST(eh AS jsonb), t
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bytea[], $12::text[],
        $13::timestamptz[]) AS r(i, s, k, h, pr, pe, a, c, d, ek, ev, eh, t)
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id`

// maxGroup bounds the rows of one statement (the API's group commit takes 256).
const maxGroup = 256

// job is one request's row and record, and where its outcome goes.
type job struct {
	id                              [16]byte
	key, description                *string
	hash, payer, payee, amount, cur string
	value                           []byte
	headers                         []header
	at                              time.Time
	done                            chan outcome
}

type outcome struct {
	inserted, published bool
	err                 error
}

// groupCommit starts n writers taking jobs from the queue.
func (s *server) groupCommit(ctx context.Context, n int) {
	s.jobs = make(chan *job, 10_000)
	for range n {
		go s.writer(ctx)
	}
}

func (s *server) writer(ctx context.Context) {
	for {
		var group []*job
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			group = append(group, j)
		}
	fill:
		for len(group) < maxGroup {
			select {
			case j := <-s.jobs:
				group = append(group, j)
			default:
				break fill
			}
		}
		s.writeGroup(ctx, group)
	}
}

func (s *server) writeGroup(ctx context.Context, group []*job) {
	n := len(group)
	ids := make([][16]byte, n)
	scopes, keys, hashes := make([]string, n), make([]*string, n), make([]string, n)
	payers, payees, amounts := make([]string, n), make([]string, n), make([]string, n)
	currencies, descriptions := make([]string, n), make([]*string, n)
	eventKeys, values := make([][]byte, n), make([][]byte, n)
	headers, times := make([]string, n), make([]time.Time, n)
	for i, j := range group {
		ids[i], scopes[i], keys[i], hashes[i] = j.id, "public", j.key, j.hash
		payers[i], payees[i], amounts[i], currencies[i] = j.payer, j.payee, j.amount, j.cur
		descriptions[i], eventKeys[i], values[i] = j.description, []byte(j.payer), j.value
		headers[i], times[i] = headersJSON(j.headers), j.at
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := s.db.Query(wctx, insertMany, ids, scopes, keys, hashes, payers, payees,
		amounts, currencies, descriptions, eventKeys, values, headers, times)
	var inserted [][16]byte
	if err == nil {
		inserted, err = pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	}
	if err != nil {
		for _, j := range group {
			j.done <- outcome{err: err}
		}
		return
	}
	isNew := make(map[[16]byte]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	if s.afterCommit {
		for _, j := range group {
			j.done <- outcome{inserted: isNew[j.id]}
		}
		for _, j := range group {
			if isNew[j.id] {
				s.submit(j.id, record(j.payer, j.value, j.headers))
			}
		}
		return
	}
	// One batch of records for the whole group; each request waits for its own ack.
	pctx, pcancel := context.WithTimeout(ctx, s.timeout)
	defer pcancel()
	published := make([]bool, n)
	var wg sync.WaitGroup
	for i, j := range group {
		if !isNew[j.id] {
			continue
		}
		wg.Add(1)
		s.kafka.Produce(pctx, record(j.payer, j.value, j.headers), func(_ *kgo.Record, err error) {
			published[i] = err == nil
			wg.Done()
		})
	}
	wg.Wait()
	for i, j := range group {
		if published[i] {
			select {
			case s.marks <- j.id:
			default: // a lost mark only means the relay publishes it again
			}
		}
		j.done <- outcome{inserted: isNew[j.id], published: published[i]}
	}
}
