package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
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

// EmbeddingIDs is Embedding with the ids held, as whole float32 values, in
// the Var ids of any shape [...]; the result is [..., dim]. Unlike
// Embedding it keeps the ids' arena and inference mode, so a model whose
// input is a batch of token ids draws every buffer of its step from the
// arena. It panics, naming the position, when a value is not an id in
// [0, num).
func EmbeddingIDs(weight, ids *Var, paddingIdx int) *Var {
	ws := weight.value.Shape()
	if len(ws) != 2 {
		panic(fmt.Sprintf("autograd.EmbeddingIDs: weight %v is not 2-D [num, dim]", ws))
	}
	num, dim := ws[0], ws[1]
	xd := ids.value.Data()
	idx := int32Buf(len(xd), ids)
	for i, v := range xd {
		id := int32(v)
		if float32(id) != v || id < 0 || int(id) >= num {
			panic(fmt.Sprintf("autograd.EmbeddingIDs: value %v at position %d is not an id in [0, %d)", v, i, num))
		}
		idx[i] = id
	}
	xs := ids.value.Shape()
	var buf [8]int
	shape := append(append(buf[:0], xs...), dim)
	out := wrap(alloc(shape, ids, weight), ids, weight)
	od, wd := out.value.Data(), weight.value.Data()
	for i, id := range idx {
		copy(od[i*dim:(i+1)*dim], wd[int(id)*dim:(int(id)+1)*dim])
	}
	if s := out.recordFn("EmbeddingIDs", embeddingIDsBackward, ids, weight); s != nil {
		s.i32s, s.i[0] = idx, paddingIdx
	}
	return out
}

// embeddingIDsBackward scatter-adds the gradient rows into the table's
// gradient: straight into it when the table is a parameter.
func embeddingIDsBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	ids, weight := n.inputs[0], n.inputs[1]
	idx, paddingIdx := n.saved.i32s, n.saved.i[0]
	dim := weight.value.Dim(1)
	grads := n.saved.out(2)
	gw := leafGrad(weight)
	if gw == nil {
		gw = zeroGradBuf(weight.value.Shape(), ids)
		grads[1] = gw
	}
	gwd, gd := gw.Data(), g.Data()
	for i, id := range idx {
		if int(id) == paddingIdx {
			continue
		}
		kernel.Axpy(1, gd[i*dim:(i+1)*dim], gwd[int(id)*dim:(int(id)+1)*dim])
	}
	return grads
}

// AddPositions returns x [B, T, E] + table[offset : offset+T]: the rows of
// a positional-embedding table [maxLen, E] for positions offset …
// offset+T−1 added to every sequence of the batch (the values of
// Add(x, Embedding(table, positions, -1))). Its output, and its gradients,
// come from x's arena, and the table's gradient is accumulated straight
// into it when it is a parameter, so that a training step under an arena
// allocates nothing for it. It panics when the shapes do not fit or the
// positions run past the table.
func AddPositions(x, table *Var, offset int) *Var {
	xs, ts := x.value.Shape(), table.value.Shape()
	if len(xs) != 3 || len(ts) != 2 || xs[2] != ts[1] {
		panic(fmt.Sprintf("autograd.AddPositions: input %v and table %v are not [B, T, E] and [maxLen, E]", xs, ts))
	}
	T, E := xs[1], xs[2]
	if offset < 0 || offset+T > ts[0] {
		panic(fmt.Sprintf("autograd.AddPositions: positions [%d, %d) outside the table's %d", offset, offset+T, ts[0]))
	}
	out := wrap(alloc(xs, x, table), x, table)
	addBlocks(out.value.Data(), x.value.Data(), table.value.Data()[offset*E:(offset+T)*E])
	if s := out.recordFn("AddPositions", addPositionsBackward, x, table); s != nil {
		s.i[0] = offset
	}
	return out
}

// addPositionsBackward passes the gradient to x and its sum over the
// batch (from zero, sample by sample, as Add sums it) to the table's rows.
func addPositionsBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	x, table := n.inputs[0], n.inputs[1]
	grads := n.saved.out(2)
	if x.requiresGrad {
		grads[0] = g
	}
	if !table.requiresGrad {
		return grads
	}
	xs := x.value.Shape()
	T, E := xs[1], xs[2]
	off := n.saved.i[0] * E
	sum := zeroGradBuf(xs[1:], x, table)
	sd, gd := sum.Data(), g.Data()
	for o := 0; o < len(gd); o += len(sd) {
		kernel.Add(sd, sd, gd[o:o+len(sd)])
	}
	if gt := leafGrad(table); gt != nil {
		rows := gt.Data()[off : off+T*E]
		kernel.Add(rows, rows, sd)
		return grads
	}
	gt := zeroGradBuf(table.value.Shape(), x, table)
	copy(gt.Data()[off:], sd)
	grads[1] = gt
	return grads
}
