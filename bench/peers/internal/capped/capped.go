// Package capped gives a consumer run two time limits: one to get its first record (group
// join, first fetch) and a cap on the measured run that starts at the first record, so a
// slow group join cannot eat the window being measured.
package capped

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Run is a context that ends `join` after New unless First is called, and `limit` after First.
type Run struct {
	Ctx    context.Context
	cancel context.CancelFunc
	join   *time.Timer
	limit  time.Duration
	once   sync.Once
}

// New starts the join limit.
func New(join, limit time.Duration) *Run {
	ctx, cancel := context.WithCancel(context.Background())
	return &Run{Ctx: ctx, cancel: cancel, join: time.AfterFunc(join, cancel), limit: limit}
}

// First marks the first record: the join limit stops and the run's cap starts.
func (r *Run) First() {
	r.once.Do(func() {
		r.join.Stop()
		time.AfterFunc(r.limit, r.cancel)
	})
}

// Stop releases the context.
func (r *Run) Stop() { r.cancel() }

// Ended says whether err only means that a limit was reached.
func Ended(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
