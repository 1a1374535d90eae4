package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func (d *drain) write(ctx context.Context, rows []row, next map[int32]int64) (int, int, error) {
	tx, err := d.conn.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	parts := make([]int32, 0, len(next))
	offs := make([]int64, 0, len(next))
	for p, o := range next {
		parts = append(parts, p)
		offs = append(offs, o)
	}

	var inserted, notes int64
	b := &pgx.Batch{}
	switch d.method {
	case "unnest":
		n := len(rows)
		ids := make([][16]byte, n)
		payers, payees := make([]string, n), make([]string, n)
		amounts, currencies := make([]string, n), make([]string, n)
		descriptions := make([]*string, n)
		occurred := make([]time.Time, n)
		partitions, offsets := make([]int32, n), make([]int64, n)
		hashes := make([]string, n)
		for i, r := range rows {
			ids[i], payers[i], payees[i], amounts[i], currencies[i] = r.id, r.payer, r.payee, r.amount, r.currency
			descriptions[i], occurred[i], partitions[i], offsets[i], hashes[i] = r.description, r.occurred, r.partition, r.offset, r.hash
		}
		b.Queue(insertUnnest, d.topic, ids, payers, payees, amounts, currencies, descriptions,
			occurred, partitions, offsets, hashes).QueryRow(func(r pgx.Row) error {
			return r.Scan(&inserted, &notes)
		})
	case "copy":
		src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.id, r.payer, r.payee, r.amount, r.currency, r.description,
				r.occurred, r.partition, r.offset, r.hash}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"go_peer_stage"}, stageColumns, src); err != nil {
			return 0, 0, fmt.Errorf("copy: %w", err)
		}
		b.Queue(insertFromStage, d.topic).QueryRow(func(r pgx.Row) error {
			return r.Scan(&inserted, &notes)
		})
	default:
		return 0, 0, fmt.Errorf("unknown method %q", d.method)
	}
	b.Queue(storeOffsets, d.group, d.topic, parts, offs)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, err
	}
	return int(inserted), int(notes), nil
}
