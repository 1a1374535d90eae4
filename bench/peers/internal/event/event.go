// Package event builds payment events in the wire format of the Python pipeline
// (schema_version 1, JSON value, key = payer_id).
package event

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// Event is the JSON value carried on the topic.
type Event struct {
	SchemaVersion int     `json:"schema_version"`
	EventID       string  `json:"event_id"`
	PayerID       string  `json:"payer_id"`
	PayeeID       string  `json:"payee_id"`
	Amount        string  `json:"amount"`
	Currency      string  `json:"currency"`
	Description   *string `json:"description"`
	OccurredAt    string  `json:"occurred_at"`
}

// OccurredLayout is the timestamp form the Python producer writes (microseconds, UTC, "Z").
const OccurredLayout = "2006-01-02T15:04:05.000000Z"

// NewUUID returns a random (version 4) UUID in canonical text form.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ParseUUID parses the canonical 36-character text form.
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("bad uuid %q", s)
	}
	var compact [32]byte
	copy(compact[0:8], s[0:8])
	copy(compact[8:12], s[9:13])
	copy(compact[12:16], s[14:18])
	copy(compact[16:20], s[19:23])
	copy(compact[20:32], s[24:36])
	if _, err := hex.Decode(u[:], compact[:]); err != nil {
		return u, fmt.Errorf("bad uuid %q: %w", s, err)
	}
	return u, nil
}

// Random returns a new event between two of `accounts` accounts (acct_1..acct_N),
// amount "1.25" in EUR, no description, occurring now.
func Random(accounts int) Event {
	if accounts < 2 {
		accounts = 2
	}
	payer := mrand.IntN(accounts) + 1
	payee := mrand.IntN(accounts-1) + 1
	if payee >= payer {
		payee++
	}
	return Event{
		SchemaVersion: 1,
		EventID:       NewUUID(),
		PayerID:       fmt.Sprintf("acct_%d", payer),
		PayeeID:       fmt.Sprintf("acct_%d", payee),
		Amount:        "1.25",
		Currency:      "EUR",
		OccurredAt:    time.Now().UTC().Format(OccurredLayout),
	}
}

// Encode returns the Kafka key (payer id) and value (JSON) of e.
func Encode(e Event) (key, value []byte) {
	value, err := json.Marshal(e)
	if err != nil {
		panic(err) // only strings and ints: cannot fail
	}
	return []byte(e.PayerID), value
}
