package text

import (
	"fmt"
	"testing"
)

// go test ./data/text -run '^$' -bench . -benchtime 3x
func BenchmarkTrainBPE(b *testing.B) {
	text := opticks(b)
	for _, v := range []int{512, 1024} {
		b.Run(fmt.Sprintf("Opticks/vocab=%d", v), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := TrainBPE(text, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	text := opticks(b)
	for _, v := range []int{512, 1024} {
		tok, err := TrainBPE(text, v)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("BPE/Opticks/vocab=%d", v), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var n int
			for b.Loop() {
				n = len(tok.Encode(text))
			}
			b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
		})
		b.Run(fmt.Sprintf("BPE/Decode/vocab=%d", v), func(b *testing.B) {
			ids := tok.Encode(text)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				_ = tok.Decode(ids)
			}
		})
	}
	b.Run("Split/Opticks", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			Split(text, func(string) bool { return true })
		}
	})
	chars, err := NewChars(text)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Chars/Opticks", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			_ = chars.Encode(text)
		}
	})
}
