package main

// -answer-after commit (the default, like the API): the 202 goes out once the row is
// committed, and the record is handed to one dispatcher goroutine that produces it after the
// answer and marks the row published in batches once it is acked. Nothing waits for Kafka on
// the request path; a record the dispatcher cannot take (its queue full) stays unpublished in
// PostgreSQL, where the API's relay would pick it up (this peer has no relay).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// pending is one committed row's record, waiting for the dispatcher.
type pending struct {
	id  [16]byte
	rec *kgo.Record
}

// submit queues a committed row's record; it never blocks a request.
func (s *server) submit(id [16]byte, rec *kgo.Record) {
	select {
	case s.outbox <- pending{id, rec}:
	default: // left to a relay, as the API's dispatcher leaves it when its queue is full
	}
}

// dispatcher produces the queued records in arrival order; each ack queues a mark.
func (s *server) dispatcher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-s.outbox:
			id := p.id
			s.kafka.Produce(ctx, p.rec, func(_ *kgo.Record, err error) {
				if err != nil {
					return // left to a relay
				}
				select {
				case s.marks <- id:
				default: // a lost mark only means the relay publishes it again
				}
			})
		}
	}
}
