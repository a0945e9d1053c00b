package serve

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The decoder tests use examples of shape [1, 2, 2] (4 values) and at
// most 3 examples a request.
var testShape = []int{1, 2, 2}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []float32
		n          int
	}{
		{"one flat", `{"input": [1, 2, 3, 4]}`, []float32{1, 2, 3, 4}, 1},
		{"one nested", `{"input": [[[1, 2], [3, 4]]]}`, []float32{1, 2, 3, 4}, 1},
		{"batch flat", `{"inputs": [[1, 2, 3, 4], [5, 6, 7, 8]]}`, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2},
		{"batch nested", `{"inputs": [[[[1, 2], [3, 4]]], [[[5, 6], [7, 8]]]]}`, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2},
		{"batch of one", `{"inputs":[[0,0,0,0]]}`, []float32{0, 0, 0, 0}, 1},
		{"white space and number forms", " \r\n\t{ \"inputs\" : [ [ 1e0 , -2.5E-1 , 0.0 , 3.25e+1 ] ] } \n",
			[]float32{1, -0.25, 0, 32.5}, 1},
		{"float32 rounding", `{"input": [0.1, 1e-50, -0, 16777217]}`, []float32{0.1, 0, float32(math.Copysign(0, -1)), 16777216}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := decodeJSON([]byte(tc.body), testShape, 4, 3, nil)
			require.Nil(t, err)
			require.Equal(t, tc.n, n)
			requireBits(t, tc.want, got)
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"empty", "  ", 400, `empty body: want {"input": [...]} or {"inputs": [[...], ...]}`},
		{"no field", `{}`, 400, `no input: want {"input": [...]} or {"inputs": [[...], ...]}`},
		{"not an object", `[1, 2, 3, 4]`, 400, `invalid JSON at offset 0: want {, found "[1, 2, 3, 4]"`},
		{"unknown field", `{"pixels": [1]}`, 400, `unknown field "pixels": want "input" (one example) or "inputs" (a batch)`},
		{"both fields", `{"input": [1, 2, 3, 4], "inputs": [[1, 2, 3, 4]]}`, 400, `give one of "input" and "inputs", once`},
		{"not an array", `{"input": 1}`, 400, `invalid JSON at offset 10: want an array, found "1}"`},
		{"wrong length", `{"input": [1, 2, 3]}`, 400, `"input" has shape [3]; want [1 2 2] or [4]`},
		{"wrong nesting", `{"input": [[1, 2], [3, 4]]}`, 400, `"input" has shape [2 2]; want [1 2 2] or [4]`},
		{"batch without batch axis", `{"inputs": [1, 2, 3, 4]}`, 400, `"inputs" has shape [4]; want [N 1 2 2] or [N 4]`},
		{"batch wrong length", `{"inputs": [[1, 2, 3, 4], [1, 2, 3, 4, 5]]}`, 400, `ragged input: an array at depth 1 has 5 elements, an earlier one 4 (offset 40)`},
		{"batch wrong features", `{"inputs": [[1, 2, 3], [4, 5, 6]]}`, 400, `"inputs" has shape [2 3]; want [N 1 2 2] or [N 4]`},
		{"ragged", `{"input": [[[1, 2], [3]]]}`, 400, `ragged input: an array at depth 2 has 1 elements, an earlier one 2 (offset 22)`},
		{"array for a number", `{"input": [[[1, 2], 3]]}`, 400, `invalid input at offset 20: a number where an array was expected (arrays must be regular)`},
		{"number for an array", `{"input": [1, [2]]}`, 400, `invalid input at offset 14: an array where a number was expected (arrays must be regular)`},
		{"too deep", `{"input": [[[[1]]]]}`, 400, `arrays nested deeper than 3 levels at offset 13`},
		{"empty array", `{"input": []}`, 400, `empty array at offset 10`},
		{"NaN", `{"input": [1, 2, 3, NaN]}`, 400, `invalid JSON at offset 20: want a number or an array, found "NaN]}"`},
		{"Infinity", `{"input": [1, 2, 3, -Infinity]}`, 400, `invalid JSON at offset 20: want a number or an array, found "-Infinity]}"`},
		{"out of float32 range", `{"input": [1, 2, 3, 1e39]}`, 400, `number "1e39" at offset 20 is out of float32 range`},
		{"string", `{"input": [1, 2, 3, "4"]}`, 400, `invalid JSON at offset 20: want a number or an array, found "\"4\"]}"`},
		{"malformed number", `{"input": [1, 2, 3, 4.]}`, 400, `invalid JSON at offset 20: malformed number "4.]}"`},
		{"leading zero", `{"input": [1, 2, 3, 04]}`, 400, `invalid JSON at offset 21: want , or ], found "4]}"`},
		{"truncated", `{"input": [1, 2, 3, 4]`, 400, `invalid JSON at offset 22: want , or }, found end of body`},
		{"truncated array", `{"input": [1, 2,`, 400, `invalid JSON: unexpected end of body inside an array`},
		{"unterminated key", `{"inp`, 400, `invalid JSON: unterminated string starting at offset 1`},
		{"trailing data", `{"input": [1, 2, 3, 4]} {}`, 400, `invalid JSON at offset 24: data after the object: "{}"`},
		{"too many values", `{"inputs": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1]]}`, 413, `more than 12 values in one request`},
		{"too many examples", `{"inputs": [[[[1, 2], [3, 4]]], [[[1, 2], [3, 4]]], [[[1, 2], [3, 4]]], [[[1, 2], [3, 4]]]]}`, 413, `more than 12 values in one request`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := decodeJSON([]byte(tc.body), testShape, 4, 3, nil)
			require.NotNil(t, err)
			require.Equal(t, tc.msg, err.msg)
			require.Equal(t, tc.status, err.status)
			require.Zero(t, n)
		})
	}
}

func TestDecodeBinary(t *testing.T) {
	want := []float32{1, -2, 0.5, 3e-3, 7, 8, math.MaxFloat32, -math.SmallestNonzeroFloat32}
	got, n, err := decodeBinary(rawFloats(want), 4, 3, []float32{99})
	require.Nil(t, err)
	require.Equal(t, 2, n)
	requireBits(t, append([]float32{99}, want...), got)
}

func TestDecodeBinaryErrors(t *testing.T) {
	nan := rawFloats([]float32{1, 2, 3, 4, 5, 6, 7, 8})
	copy(nan[4*6:], rawFloats([]float32{float32(math.NaN())}))
	inf := rawFloats([]float32{float32(math.Inf(-1)), 2, 3, 4})
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		msg    string
	}{
		{"empty", nil, 400, "empty body: want N×4 little-endian float32 values"},
		{"partial example", make([]byte, 20), 400, "binary body has 20 bytes, not a multiple of 16 (4 float32 values of 4 bytes per example)"},
		{"partial value", make([]byte, 15), 400, "binary body has 15 bytes, not a multiple of 16 (4 float32 values of 4 bytes per example)"},
		{"too many examples", make([]byte, 64), 413, "4 examples in one request; at most 3"},
		{"NaN", nan, 400, "non-finite value NaN at example 1, index 2"},
		{"Inf", inf, 400, "non-finite value -Inf at example 0, index 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := decodeBinary(tc.body, 4, 3, nil)
			require.NotNil(t, err)
			require.Equal(t, tc.msg, err.msg)
			require.Equal(t, tc.status, err.status)
			require.Zero(t, n)
		})
	}
}

// FuzzDecodeJSON checks that no body makes the JSON decoder panic or
// return more values than the limit, and that what it accepts is a whole
// number of examples.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"input": [1, 2, 3, 4]}`, `{"inputs": [[[[1, 2], [3, 4]]]]}`, `{"input": [[1, 2], [3]]}`,
		`{"inputs": [[1e0, -2.5E-1, 0.0, 3]]}`, `{"input": [1, [2]]}`, `{"x\"y": 1}`, ``, `{`, `[[[[[[[[[[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, n, err := decodeJSON(body, testShape, 4, 3, nil)
		if err != nil {
			if err.status != http.StatusBadRequest && err.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", err.status)
			}
			if len(err.msg) > maxErrorLen {
				t.Fatalf("message of %d bytes", len(err.msg))
			}
			if len(got) > 12 {
				t.Fatalf("%d values past the limit", len(got))
			}
			return
		}
		if n < 1 || n > 3 || len(got) != 4*n {
			t.Fatalf("accepted %d examples with %d values", n, len(got))
		}
		for _, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("accepted non-finite %v", v)
			}
		}
	})
}

// FuzzDecodeBinary checks the binary decoder the same way.
func FuzzDecodeBinary(f *testing.F) {
	f.Add(rawFloats([]float32{1, 2, 3, 4}))
	f.Add(rawFloats([]float32{1, 2, 3, float32(math.NaN())}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		got, n, err := decodeBinary(body, 4, 3, nil)
		if err != nil {
			if len(got) != 0 || n != 0 {
				t.Fatalf("error %v with %d values", err, len(got))
			}
			return
		}
		if n < 1 || n > 3 || len(got) != 4*n || len(body) != 16*n {
			t.Fatalf("accepted %d examples with %d values from %d bytes", n, len(got), len(body))
		}
	})
}

// TestFastFloat32 checks the fast number conversion against strconv, bit
// for bit, on hand-picked numbers (halfway points between float32 values,
// the limits of the fast path) and many random ones of every shape.
func TestFastFloat32(t *testing.T) {
	cases := []string{"0", "-0", "1", "0.5", "0.1", "0.99215686", "-3.25e-7", "1e22", "1e23", "1e-22", "1e-23",
		"123456789012345", "1234567890123456", "0.000000000000001", "16777217", "16777219", "3.4028235e38", "1.17549435e-38",
		"0.30000001192092896", "1.00000005960464477539", "33554433", "9007199254740993", "2.5E+3", "7e0", "-0.0e-5"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var s string
		switch rng.IntN(4) {
		case 0:
			s = strconv.FormatFloat(float64(rng.Float32()), 'g', -1, 32)
		case 1:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)), 'g', 1+rng.IntN(17), 64)
		case 2: // float32 halfway points, as decimals
			f := math.Float32frombits(uint32(rng.Uint64N(0x7f000000)))
			mid := (float64(f) + float64(math.Nextafter32(f, 2*f+1))) / 2
			s = strconv.FormatFloat(mid, 'g', -1, 64)
		default:
			s = strconv.Itoa(rng.IntN(1<<30)) + "." + strconv.Itoa(rng.IntN(1000)) + "e" + strconv.Itoa(rng.IntN(50)-25)
		}
		cases = append(cases, s)
	}
	fast := 0
	for _, s := range cases {
		want, err := strconv.ParseFloat(s, 32)
		if err != nil {
			continue
		}
		got, ok := fastFloat32([]byte(s))
		if !ok {
			continue
		}
		fast++
		require.Equal(t, math.Float32bits(float32(want)), math.Float32bits(got), "%s", s)
	}
	require.Greater(t, fast, len(cases)/2, "the fast path took too few numbers")
}

// BenchmarkDecodeJSON decodes one MNIST image as JSON (784 numbers as
// Go's encoder writes float32 pixels).
func BenchmarkDecodeJSON(b *testing.B) {
	x := images(1, 3).Data()
	body := []byte(`{"input":` + float32JSON(x) + `}`)
	var dst []float32
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err *requestError
		dst, _, err = decodeJSON(body, mnistShape, 784, 1, dst[:0])
		if err != nil {
			b.Fatal(err.msg)
		}
	}
}
