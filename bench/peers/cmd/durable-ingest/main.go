// durable-ingest is a Go peer of the transaction API's POST /payments doing the same job:
// check the body, insert the same payment_requests row (idempotency record + outbox in one
// statement, ON CONFLICT on (scope, idempotency_key), the earlier row answered again or a
// 422 when the body differs), publish the event with an idempotent acks=all producer
// (franz-go), and mark the row published off the request path in batches. By default it
// answers 202 once the row is committed and publishes right after, from one dispatcher
// goroutine, as the API does (dispatch.go); -answer-after publish answers only once the
// record is acked too. net/http + pgx (pool of 10, like the API's statement pool) + franz-go.
// -group-commit N makes it the ingest ceiling (groupcommit.go), in either mode.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"mime"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/bench/peers/internal/event"
)

// The API's statements (services/transaction_api/outbox/requests.py), unchanged.
const insertRequest = `
    INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
        request_hash, payer_id, payee_id, amount, currency, description, event_key,
        event_value, event_headers, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13)
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id`
const byKey = `
    SELECT event_id, request_hash, created_at, published_at IS NOT NULL AS published
    FROM transaction_api.payment_requests WHERE scope = $1 AND idempotency_key = $2`
const markPublished = `
    UPDATE transaction_api.payment_requests SET published_at = now()
    WHERE event_id = ANY($1) AND published_at IS NULL`

type server struct {
	db      *pgxpool.Pool
	kafka   *kgo.Client
	topic   string
	timeout time.Duration
	marks   chan [16]byte
	jobs    chan *job // nil: one insert and one publish per request
	// afterCommit: answer once committed, publish from the dispatcher (outbox) afterwards.
	afterCommit bool
	outbox      chan pending
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	topic := flag.String("topic", "events.transactions", "topic to publish to")
	dbURL := flag.String("database-url", "postgresql://paystream@127.0.0.1:5432/paystream", "PostgreSQL URL")
	poolSize := flag.Int("pool", 10, "PostgreSQL connections (the API's DB_POOL_SIZE default)")
	linger := flag.Duration("linger", 0, "producer linger (the bench passes the API's default)")
	writers := flag.Int("group-commit", 0, "writers sharing inserts and publishes (0: one per request)")
	timeout := flag.Duration("publish-timeout", 2*time.Second, "publish wait before 202 'accepted' (-answer-after publish)")
	answerAfter := flag.String("answer-after", "commit", "commit: 202 once the row is committed, then publish (the API); publish: 202 once the record is acked too")
	flag.Parse()
	if *answerAfter != "commit" && *answerAfter != "publish" {
		log.Fatalf("-answer-after: commit or publish, not %q", *answerAfter)
	}
	log.SetPrefix("durable-ingest: ")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		log.Fatalf("database url: %v", err)
	}
	cfg.MaxConns = int32(*poolSize)
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatalf("pool: %v", err)
	}
	defer db.Close()
	// Idempotent producing is franz-go's default, and it requires acks=all.
	client, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.DefaultProduceTopic(*topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(*linger), kgo.ClientID("durable-ingest-peer"))
	if err != nil {
		log.Fatalf("kafka client: %v", err)
	}
	defer client.Close()
	s := &server{db: db, kafka: client, topic: *topic, timeout: *timeout,
		marks: make(chan [16]byte, 100_000), afterCommit: *answerAfter == "commit",
		outbox: make(chan pending, 10_000)} // the API's dispatcher queue bound
	go s.marker(ctx)
	if s.afterCommit {
		go s.dispatcher(ctx)
	}
	if *writers > 0 {
		s.groupCommit(ctx, *writers)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /payments", s.create)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", s.ready)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Printf("listening on %s, publishing to %s", *addr, *topic)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		problem(w, &invalid{503, "database", err.Error()})
		return
	}
	if err := s.kafka.Ping(ctx); err != nil {
		problem(w, &invalid{503, "kafka", err.Error()})
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

func (s *server) create(w http.ResponseWriter, r *http.Request) {
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		problem(w, &invalid{415, "Content-Type", "must be application/json"})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if _, present := r.Header["Idempotency-Key"]; present && !idempotencyKey.MatchString(key) {
		problem(w, bad("Idempotency-Key", "must be 1-255 printable ASCII characters"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16_384))
	if err != nil {
		problem(w, &invalid{413, "body", "over 16384 bytes"})
		return
	}
	req, canonical, err := parse(body)
	if err != nil {
		problem(w, err.(*invalid))
		return
	}
	hash := requestHash(req, canonical)
	idText := event.NewUUID()
	id, _ := event.ParseUUID(idText)
	now := time.Now().UTC()
	value, headers := encodeEvent(req, req.Amount, idText, now)

	var amount pgtype.Numeric
	_ = amount.Scan(req.Amount)
	var keyArg *string
	if key != "" {
		keyArg = &key
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if s.jobs != nil {
		j := &job{id: id, key: keyArg, description: req.Description, hash: hash,
			payer: req.PayerID, payee: req.PayeeID, amount: req.Amount, cur: req.Currency,
			value: value, headers: headers, at: now, done: make(chan outcome, 1)}
		s.jobs <- j
		o := <-j.done
		switch {
		case o.err != nil:
			problem(w, &invalid{503, "database", o.err.Error()})
		case o.inserted:
			accepted(w, idText, status(o.published), now)
		default:
			s.replay(ctx, w, key, hash)
		}
		return
	}
	var inserted [16]byte
	err = s.db.QueryRow(ctx, insertRequest, id, "public", keyArg, hash, req.PayerID,
		req.PayeeID, amount, req.Currency, req.Description, []byte(req.PayerID), value,
		headersJSON(headers), now).Scan(&inserted)
	if errors.Is(err, pgx.ErrNoRows) { // the key was used before: answer that request
		s.replay(ctx, w, key, hash)
		return
	}
	if err != nil {
		problem(w, &invalid{503, "database", err.Error()})
		return
	}
	if s.afterCommit {
		accepted(w, idText, status(false), now)
		s.submit(id, record(req.PayerID, value, headers))
		return
	}
	published := s.publish(ctx, req.PayerID, value, headers)
	if published {
		select {
		case s.marks <- id:
		default: // a lost mark only means the relay publishes it again
		}
	}
	accepted(w, idText, status(published), now)
}

// replay answers a request whose Idempotency-Key was used before: that request again, or
// 422 when the body differs.
func (s *server) replay(ctx context.Context, w http.ResponseWriter, key, hash string) {
	var earlier [16]byte
	var earlierHash string
	var created time.Time
	var published bool
	if err := s.db.QueryRow(ctx, byKey, "public", key).Scan(&earlier, &earlierHash,
		&created, &published); err != nil {
		problem(w, &invalid{503, "database", err.Error()})
		return
	}
	if earlierHash != hash {
		problem(w, bad("Idempotency-Key", "this Idempotency-Key was used with a different request body"))
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	accepted(w, formatUUID(earlier), status(published), created)
}

func record(key string, value []byte, headers []header) *kgo.Record {
	rec := &kgo.Record{Key: []byte(key), Value: value}
	for _, h := range headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.key, Value: []byte(h.value)})
	}
	return rec
}

// publish is the request path's one bounded attempt (acks=all, idempotent producer).
func (s *server) publish(ctx context.Context, key string, value []byte, headers []header) bool {
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.kafka.ProduceSync(pctx, record(key, value, headers)).FirstErr() == nil
}
