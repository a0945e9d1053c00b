package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Embedding returns the rows of weight [num, dim] selected by ids, as a
// [len(ids), dim] matrix: row i is weight[ids[i]] (PyTorch's F.embedding).
// The gradient is scatter-added, so an id that repeats accumulates the
// gradient of every row that used it. When paddingIdx is in [0, num), rows
// selected by paddingIdx pass no gradient to weight (PyTorch's
// padding_idx); pass -1 for none.
//
// Embedding panics, naming the position, when an id is outside [0, num):
// validate ids that come from outside first (nn.Embedding.Lookup does).
func Embedding(weight *Var, ids []int, paddingIdx int) *Var {
	ws := weight.value.Shape()
	if len(ws) != 2 {
		panic(fmt.Sprintf("autograd.Embedding: weight %v is not 2-D [num, dim]", ws))
	}
	num, dim := ws[0], ws[1]
	for i, id := range ids {
		if id < 0 || id >= num {
			panic(fmt.Sprintf("autograd.Embedding: id %d at position %d is outside [0, %d)", id, i, num))
		}
	}
	out := wrap(alloc([]int{len(ids), dim}, weight), weight)
	od, wd := out.value.Data(), weight.value.Data()
	for i, id := range ids {
		copy(od[i*dim:(i+1)*dim], wd[id*dim:(id+1)*dim])
	}
	if !out.requiresGrad {
		return out
	}
	saved := append([]int(nil), ids...)
	return out.record("Embedding", func(g *tensor.Tensor) []*tensor.Tensor {
		gw := tensor.Zeros(num, dim)
		gwd, gd := gw.Data(), g.Data()
		for i, id := range saved {
			if id == paddingIdx {
				continue
			}
			dst, src := gwd[id*dim:(id+1)*dim], gd[i*dim:(i+1)*dim]
			for j, v := range src {
				dst[j] += v
			}
		}
		return []*tensor.Tensor{gw}
	}, weight)
}
