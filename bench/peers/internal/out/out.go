// Package out prints a peer's single result line on stdout.
package out

import (
	"encoding/json"
	"math"
	"os"
)

// Round keeps three decimals, enough for seconds and rates.
func Round(x float64) float64 { return math.Round(x*1000) / 1000 }

// Rate is n/seconds, or 0 when no time was measured.
func Rate(n int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return Round(float64(n) / seconds)
}

// Result writes one JSON object as one line on stdout. Keys keep the given order.
func Result(fields ...Field) {
	buf := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(f.Key)
		v, err := json.Marshal(f.Value)
		if err != nil {
			v, _ = json.Marshal(err.Error())
		}
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	buf = append(buf, '}', '\n')
	_, _ = os.Stdout.Write(buf)
}

// Field is one key of the result line.
type Field struct {
	Key   string
	Value any
}

// F makes a Field.
func F(key string, value any) Field { return Field{key, value} }
