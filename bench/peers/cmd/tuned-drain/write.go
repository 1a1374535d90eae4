package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// claim takes the partitions this batch touches that are not claimed yet, in a transaction
// of its own (the consumer claims on assignment, before its first batch).
func (d *drain) claim(ctx context.Context, next map[int32]int64) error {
	var want []int32
	for p := range next {
		if !d.claimed[p] {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := d.conn.Query(ctx, claimPartitions, d.group, d.topic, generation, d.member, want)
	if err != nil {
		return err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("claimed %d of %d partitions", len(got), len(want))
	}
	for _, p := range got {
		d.claimed[p] = true
	}
	return nil
}

// write stores one batch in one transaction, statement for statement the consumer's: the
// events through the staging table with their notifications, the stored hashes of events
// seen before, the fenced offsets, the counters. Returns events inserted and duplicates.
func (d *drain) write(ctx context.Context, rows []row, next map[int32]int64) (int, int, error) {
	if err := d.claim(ctx, next); err != nil {
		return 0, 0, fmt.Errorf("claim: %w", err)
	}
	tx, err := d.conn.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.id, r.payer, r.payee, r.amount, r.currency, r.description,
			r.occurred, d.topic, r.partition, r.offset, r.hash, r.traceID, r.ownerScope}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"peer_event_stage"}, stageColumns, src); err != nil {
		return 0, 0, fmt.Errorf("copy: %w", err)
	}
	newRows, err := tx.Query(ctx, insertFromStage)
	if err != nil {
		return 0, 0, err
	}
	ids, err := pgx.CollectRows(newRows, pgx.RowTo[[16]byte])
	if err != nil {
		return 0, 0, err
	}
	duplicates := 0
	if len(ids) < len(rows) {
		if duplicates, err = d.repeats(ctx, tx, rows, ids); err != nil {
			return 0, 0, err
		}
	}
	parts := make([]int32, 0, len(next))
	offs := make([]int64, 0, len(next))
	for p, o := range next {
		parts = append(parts, p)
		offs = append(offs, o)
	}
	moved, err := tx.Query(ctx, storeOffsets, d.group, parts, offs, d.topic, generation, d.member)
	if err != nil {
		return 0, 0, err
	}
	got, err := pgx.CollectRows(moved, pgx.RowTo[int32])
	if err != nil {
		return 0, 0, err
	}
	if len(got) != len(parts) {
		return 0, 0, fmt.Errorf("fenced: %d of %d partitions moved", len(got), len(parts))
	}
	if len(ids) > 0 || duplicates > 0 {
		if _, err := tx.Exec(ctx, countBatch, d.group, len(ids), duplicates); err != nil {
			return 0, 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, err
	}
	return len(ids), duplicates, nil
}

// repeats counts the batch's events stored before with the same bytes; one stored with
// other bytes would be dead-lettered by the consumer, and fails the run here.
func (d *drain) repeats(ctx context.Context, tx pgx.Tx, rows []row, inserted [][16]byte) (int, error) {
	isNew := make(map[[16]byte]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	var seen [][16]byte
	for _, r := range rows {
		if !isNew[r.id] {
			seen = append(seen, r.id)
		}
	}
	stored, err := tx.Query(ctx, existingHashes, seen)
	if err != nil {
		return 0, err
	}
	hashes := map[[16]byte]string{}
	var id [16]byte
	var hash string
	if _, err := pgx.ForEachRow(stored, []any{&id, &hash}, func() error {
		hashes[id] = hash
		return nil
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		if !isNew[r.id] {
			if hashes[r.id] != r.hash {
				return 0, fmt.Errorf("event %x stored with other bytes", r.id)
			}
			n++
		}
	}
	return n, nil
}
