package text_test

import (
	"fmt"
	"log"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
)

func ExampleTrainBPE() {
	tok, err := text.TrainBPE("the cat sat on the mat with the hat", 256+8)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("the hat")
	fmt.Println(len(ids), "tokens:", ids)
	var pieces []string
	for _, id := range ids {
		s, _ := tok.Token(id)
		pieces = append(pieces, s)
	}
	fmt.Printf("%q\n", pieces)
	fmt.Println(tok.Decode(ids))
	// Output:
	// 3 tokens: [258 261 256]
	// ["the" " h" "at"]
	// the hat
}

func ExampleBPE_EncodeSpecial() {
	tok, err := text.TrainBPE("hello world", 260)
	if err != nil {
		log.Fatal(err)
	}
	eot, _ := tok.AddSpecial("<|endoftext|>")
	s := "hello<|endoftext|>"
	ids, _ := tok.EncodeSpecial(s, nil)
	fmt.Println(eot, ids[len(ids)-1] == eot, len(tok.Encode(s)) > len(ids))
	// Output: 260 true true
}

func ExampleNewChars() {
	tok, err := text.NewChars("hello world")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.VocabSize(), tok.Encode("hold"), tok.Encode("hi"))
	fmt.Println(tok.Decode(tok.Encode("hi")))
	// Output:
	// 9 [3 5 4 1] [3 8]
	// h�
}

func ExampleBytes() {
	var tok text.Bytes
	ids := tok.Encode("é\xff")
	fmt.Println(ids, tok.Decode(ids) == "é\xff")
	// Output: [195 169 255] true
}

func ExampleSplit() {
	fmt.Printf("%q\n", text.Chunks("We'll pay $100 in  2 days!\n"))
	// Output: ["We" "'ll" " pay" " $" "100" " in" " " " " "2" " days" "!\n"]
}

func ExampleNewWindows() {
	stream := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ds, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 4, VocabSize: 10, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	loader := data.NewLoader(ds, 2)
	for b := range loader.All() {
		fmt.Println(b.X.Shape(), b.Y.Shape())
		x, y := b.X.Data()[:4], b.Y.Data()[:4]
		fmt.Println(y[0] == x[0]+1, y[3] == x[3]+1) // each target is the next token
	}
	// Output:
	// [2 4] [2 4]
	// true true
}

func ExampleNewSequential() {
	stream := []int32{10, 11, 12, 13, 14, 15, 16}
	ds, err := text.NewSequential(stream, 3, 20)
	if err != nil {
		log.Fatal(err)
	}
	x, y := make([]float32, 3), make([]float32, 3)
	for i := range ds.Len() {
		ds.Example(i, x, y)
		fmt.Println(x, y)
	}
	// Output:
	// [10 11 12] [11 12 13]
	// [13 14 15] [14 15 16]
}

func ExampleSplitStream() {
	stream := make([]int32, 100)
	train, val, err := text.SplitStream(stream, 0.1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(train), len(val))
	// Output: 90 10
}

func ExampleLoad() {
	tok, _ := text.NewBPE([]text.Pair{{Left: 'a', Right: 'b'}})
	b, _ := tok.MarshalText()
	fmt.Print(string(b))
	back, err := text.Unmarshal(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Encode("abc"))
	// Output:
	// shoshin-tokenizer 1 bpe
	// split gpt4
	// merges 1
	// 97 98
	// specials 0
	// [256 99]
}
