package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"
)

// marker sets published_at in batches, off the request path (like the API's marker).
func (s *server) marker(ctx context.Context) {
	for {
		var batch [][16]byte
		select {
		case <-ctx.Done():
			return
		case id := <-s.marks:
			batch = append(batch, id)
		}
	fill:
		for len(batch) < 1000 {
			select {
			case id := <-s.marks:
				batch = append(batch, id)
			default:
				break fill
			}
		}
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := s.db.Exec(mctx, markPublished, batch); err != nil {
			log.Printf("mark published: %v", err)
		}
		cancel()
	}
}

func status(published bool) string {
	if published {
		return "published"
	}
	return "accepted"
}

func accepted(w http.ResponseWriter, id, status string, at time.Time) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, `{"event_id":"%s","status":"%s","created_at":"%s"}`, id, status,
		at.Format("2006-01-02T15:04:05.000000Z"))
}

func problem(w http.ResponseWriter, e *invalid) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.status)
	_, _ = fmt.Fprintf(w, `{"type":"about:blank","status":%d,"detail":%q,"field":%q}`,
		e.status, e.detail, e.field)
}
