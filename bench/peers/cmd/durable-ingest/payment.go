package main

// The request rules of POST /payments (services/transaction_api/http/schemas.py and
// shared/payment_events/money.py), the event's wire form (codec.py) and the request hash
// that decides whether two requests under one Idempotency-Key are the same.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	accountID      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	amountPattern  = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)
	currencyCode   = regexp.MustCompile(`^[A-Z]{3}$`)
	idempotencyKey = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
	controlChars   = regexp.MustCompile(`[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]`)
)

// minorUnits: ISO 4217 codes and their decimals, as in payment_events.money.
var minorUnits = func() map[string]int {
	m := map[string]int{"CLF": 4, "UYW": 4}
	two := "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP " +
		"BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP " +
		"GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT " +
		"LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO " +
		"NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE " +
		"SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST " +
		"XCD XCG YER ZAR ZMW ZWG"
	for _, c := range strings.Fields(two) {
		m[c] = 2
	}
	for _, c := range strings.Fields("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF") {
		m[c] = 0
	}
	for _, c := range strings.Fields("BHD IQD JOD KWD LYD OMR TND") {
		m[c] = 3
	}
	return m
}()

// request is the body of POST /payments.
type request struct {
	PayerID     string  `json:"payer_id"`
	PayeeID     string  `json:"payee_id"`
	Amount      string  `json:"amount"`
	Currency    string  `json:"currency"`
	Description *string `json:"description"`
}

// invalid is a 4xx with the field it is about.
type invalid struct {
	status int
	field  string
	detail string
}

func (e *invalid) Error() string { return e.field + ": " + e.detail }

func bad(field, format string, args ...any) *invalid {
	return &invalid{422, field, fmt.Sprintf(format, args...)}
}

// parse decodes and checks a body; it returns the request and its canonical amount.
func parse(body []byte) (request, string, error) {
	var r request
	if !utf8.Valid(body) {
		return r, "", &invalid{400, "body", "invalid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, "", &invalid{422, "body", err.Error()}
	}
	switch {
	case !accountID.MatchString(r.PayerID):
		return r, "", bad("payer_id", "must match %s", accountID)
	case !currencyCode.MatchString(r.Currency):
		return r, "", bad("currency", "must be an ISO 4217 code")
	case !accountID.MatchString(r.PayeeID):
		return r, "", bad("payee_id", "must match %s", accountID)
	case r.PayeeID == r.PayerID:
		return r, "", bad("payee_id", "payer_id and payee_id must differ")
	case r.Description != nil && (utf8.RuneCountInString(*r.Description) > 280 ||
		controlChars.MatchString(*r.Description)):
		return r, "", bad("description", "at most 280 characters, no control characters")
	}
	units, ok := minorUnits[r.Currency]
	if !ok {
		return r, "", bad("currency", "unknown ISO 4217 currency code %q", r.Currency)
	}
	canonical, err := canonicalAmount(r.Amount, units)
	if err != nil {
		return r, "", bad("amount", "%v", err)
	}
	return r, canonical, nil
}

// canonicalAmount checks a decimal string against the currency's decimals and the bounds
// (> 0, <= 1,000,000,000) and writes it with exactly `units` decimals ("12.5" -> "12.50").
func canonicalAmount(s string, units int) (string, error) {
	if !amountPattern.MatchString(s) {
		return "", errors.New("must be a decimal string such as \"12.50\"")
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > units {
		return "", fmt.Errorf("at most %d decimal places", units)
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if whole == "0" && frac == "" {
		return "", errors.New("amount must be greater than 0")
	}
	if len(whole) > 10 || (len(whole) == 10 && (whole != "1000000000" || frac != "")) {
		return "", errors.New("amount must not exceed 1000000000")
	}
	if units == 0 {
		return whole, nil
	}
	return whole + "." + frac + strings.Repeat("0", units-len(frac)), nil
}

// requestHash is sha256 over the canonical request as JSON with sorted keys (orjson's
// OPT_SORT_KEYS output of the same dict in requests.request_hash).
func requestHash(r request, canonical string) string {
	desc := []byte("null")
	if r.Description != nil {
		desc, _ = json.Marshal(*r.Description)
	}
	payer, _ := json.Marshal(r.PayerID)
	payee, _ := json.Marshal(r.PayeeID)
	cur, _ := json.Marshal(r.Currency)
	doc := fmt.Sprintf(`{"amount":"%s","currency":%s,"description":%s,"payee_id":%s,"payer_id":%s}`,
		canonical, cur, desc, payee, payer)
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// wireEvent is PaymentAccepted's JSON, in the model's field order.
type wireEvent struct {
	SchemaVersion int     `json:"schema_version"`
	EventID       string  `json:"event_id"`
	PayerID       string  `json:"payer_id"`
	PayeeID       string  `json:"payee_id"`
	Amount        string  `json:"amount"`
	Currency      string  `json:"currency"`
	Description   *string `json:"description"`
	OccurredAt    string  `json:"occurred_at"`
}

// header is one Kafka record header.
type header struct{ key, value string }

// encodeEvent returns the record value and the CloudEvents headers (binary content mode),
// with a new trace's traceparent, as the API sends when the caller brought none.
func encodeEvent(r request, amount, eventID string, at time.Time) ([]byte, []header) {
	ts := at.UTC().Format("2006-01-02T15:04:05.000000Z")
	value, _ := json.Marshal(wireEvent{1, eventID, r.PayerID, r.PayeeID, amount, r.Currency,
		r.Description, ts})
	return value, []header{
		{"content-type", "application/json"},
		{"ce_specversion", "1.0"},
		{"ce_id", eventID},
		{"ce_source", "/transaction-api"},
		{"ce_type", "io.paystream.payment.accepted"},
		{"ce_time", ts},
		{"ce_dataschema", "urn:paystream:schema:payment-accepted:v1"},
		{"ce_schemaversion", "1"},
		{"ce_traceparent", newTraceparent()},
	}
}

func newTraceparent() string {
	var ids [24]byte
	_, _ = rand.Read(ids[:])
	return "00-" + hex.EncodeToString(ids[:16]) + "-" + hex.EncodeToString(ids[16:]) + "-01"
}

// headersJSON is the stored event_headers: [[name, value], ...] like the API writes.
func headersJSON(hs []header) string {
	pairs := make([][2]string, len(hs))
	for i, h := range hs {
		pairs[i] = [2]string{h.key, h.value}
	}
	b, _ := json.Marshal(pairs)
	return string(b)
}

func formatUUID(u [16]byte) string {
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
