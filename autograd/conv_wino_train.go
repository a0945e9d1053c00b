package autograd

import (
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// The training step of a 3×3 convolution in the Winograd domain (F(2×2,
// 3×3), see winograd.go): the forward, the input gradient and the weight
// gradient all work on 2×2 output tiles and the 4×4 input blocks under
// them. With U = G·g·Gᵀ the transformed filters, V = Bᵀ·d·B the
// transformed input blocks and M[ξ] = Σ_c U[ξ]·V[ξ] (16 GEMMs over the
// channels), the output tile is Y = Aᵀ·M·A. The backward runs the same
// transforms transposed: dM = A·dY·Aᵀ for each tile, dU[ξ] = Σ_tiles
// dM[ξ]·V[ξ]ᵀ (16 GEMMs over the tiles) and dg = Gᵀ·dU·G, dV[ξ] =
// U[ξ]ᵀ·dM[ξ] and the input gradient the sum of B·dV·Bᵀ over the
// overlapping 4×4 blocks. All of it is exact in real arithmetic; in
// float32 the results differ from the direct convolution by rounding
// only.
//
// Tiles and channels are laid out with the channels innermost ([ξ][tile]
// [channel]), so that each transform runs over the channels of one tile
// as contiguous vectors (kernel.WinoIn and its kin); the input is first
// copied, zero-padded, into a [row][column][channel] plane per sample,
// where every 4×4 block lies inside.
//
// When a 2×2, stride-2 pooling follows (Conv2DReLUMaxPool), the tiles are
// the pooling windows: only those are computed, in the forward and in every
// gradient, and a last odd output row or column that the pooling leaves
// out costs nothing (the Keras convnet's second layer: 25 tiles per sample
// instead of the 36 that cover its 11×11 output). Otherwise the tiles
// cover the whole output, and the parts past its edges are dropped (and
// get a zero gradient).
//
// With the 2×2 pooling, the winners the forward keeps (idx) are laid out
// per sample as [tile][outC]: the winner's position in its 2×2 window
// (kernel.WinoPool), or −1 where the window passes no gradient. Only the
// Winograd backward reads them (the same geometry takes the same path).

// winoTrainMinChannels is the number of input and output channels from
// which a 3×3 layer trains on the Winograd path (with winoMinTiles tiles
// at least). It is at most winoMinChannels, so that every layer the
// Winograd inference takes trains here too. Measured on one shared Zen 4
// core (CPU time of a training step of one layer, BenchmarkWinogradTrain
// and BenchmarkWinogradTrainPooled): the Keras convnet's second layer,
// 32→64 channels on 13×13 planes at batch 128, 2.3–2.6× faster fused with
// the ReLU and 2×2 pooling, 1.3× without the pooling; 64→64 on 28×28
// 1.8×; 16→16 and 8→16 on 28×28 about 10 % (within the noise of a loaded
// machine: 16→16 takes this path, 8→16, with fewer input channels, stays
// on im2col). Tests lower it.
var winoTrainMinChannels = 16

// winoTrainPassFloats is about how many values the transformed input and
// products of one pass take (16·(C+outC) per tile); whole samples are
// grouped up to it.
const winoTrainPassFloats = 1 << 17

// winoTrain reports whether the training passes of this convolution run
// in the Winograd domain.
func (g *convGeom) winoTrain() bool {
	if g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.groups != 1 ||
		g.c < min(winoTrainMinChannels, winoMinChannels) || g.oc < min(winoTrainMinChannels, winoMinChannels) {
		return false
	}
	th, tw := g.winoTiles()
	return g.n*th*tw >= winoMinTiles
}

// winoTrainPlan is the layout of the Winograd training passes.
type winoTrainPlan struct {
	pooled bool // the tiles are the windows of a 2×2, stride-2 pooling
	th, tw int  // tiles down and across per sample
	tpi    int  // tiles per sample
	hp, wp int  // the padded [row][column][channel] input plane
	per    int  // samples per pass, at most
	passes int
}

func (g *convGeom) winoTrainPlan(pool *poolGeom) winoTrainPlan {
	var p winoTrainPlan
	if pool != nil && pool.is2x2() {
		p.pooled = true
		p.th, p.tw = pool.oh, pool.ow
	} else {
		p.th, p.tw = g.winoTiles()
	}
	p.tpi = p.th * p.tw
	// Every 4×4 block and every input row and column fit.
	p.hp, p.wp = max(2*p.th+2, g.h+2*g.ph), max(2*p.tw+2, g.w+2*g.pw)
	per := max(1, winoTrainPassFloats/(16*(g.c+g.oc)*max(p.tpi, 1)))
	per = min(per, (g.n+convMinChunks-1)/convMinChunks)
	p.passes = (g.n + per - 1) / per
	// More passes than groups: as many passes in every group, and the
	// samples spread evenly over the passes, so that the groups hold
	// samples alike (128 samples at 3 a pass: 48 passes of 2 or 3, six
	// to a group of 16 samples, where 43 passes of 3 make groups of 5 and
	// 6 passes, 15 to 18 samples).
	if p.passes > convGroups {
		p.passes = min(g.n, (p.passes+convGroups-1)/convGroups*convGroups)
	}
	p.per = (g.n + p.passes - 1) / p.passes
	return p
}

// flat reports whether the input planes are the padded planes' leading
// rows (no padding, as wide), so that one transposition copies a plane.
func (p *winoTrainPlan) flat(g *convGeom) bool { return g.ph == 0 && g.pw == 0 && p.wp == g.w }

// span returns the first sample and the number of samples (at most per)
// of pass i of a batch of n samples.
func (p *winoTrainPlan) span(i, n int) (s0, sc int) {
	s0 = i * n / p.passes
	return s0, (i+1)*n/p.passes - s0
}

// winoPad copies the input sample xs [C, H, W] into xp [hp, wp, C],
// shifted by the padding, with zeros around.
func (g *convGeom) winoPad(xp, xs []float32, p *winoTrainPlan) {
	c, h, w := g.c, g.h, g.w
	if p.flat(g) {
		clear(xp[h*w*c : p.hp*p.wp*c])
		// The sample comes from memory: one sequential copy streams it
		// into cache for the transposition, which would otherwise read
		// C streams at once.
		buf := getScratch(c * h * w)
		copy(*buf, xs[:c*h*w])
		kernel.Transpose(xp, *buf, 0, h*w, c, h*w, c)
		scratch.Put(buf)
		return
	}
	clear(xp[:p.hp*p.wp*c])
	for r := range h {
		kernel.Transpose(xp[((r+g.ph)*p.wp+g.pw)*c:], xs, r*w, h*w, c, w, c)
	}
}

// winoUnpad writes the input gradient gxs [C, H, W] (overwritten) from its
// padded form gp [hp, wp, C].
func (g *convGeom) winoUnpad(gxs, gp []float32, p *winoTrainPlan) {
	c, h, w := g.c, g.h, g.w
	if p.flat(g) {
		// Transposed in cache, then written out in one sequential copy
		// rather than C streams at once.
		buf := getScratch(c * h * w)
		kernel.Transpose(*buf, gp, 0, c, h*w, c, h*w)
		copy(gxs[:c*h*w], *buf)
		scratch.Put(buf)
		return
	}
	for r := range h {
		kernel.Transpose(gxs[r*w:], gp, ((r+g.ph)*p.wp+g.pw)*c, c, w, c, h*w)
	}
}

// winoInputTiles writes the transformed blocks of the samples of a pass
// into v [16][nt][C] (nt tiles in the pass), using xp as the padded plane.
func (g *convGeom) winoInputTiles(v, xp, x []float32, s0, sc int, p *winoTrainPlan) {
	c := g.c
	nt := sc * p.tpi
	for j := range sc {
		s := s0 + j
		g.winoPad(xp, x[s*g.inSize:(s+1)*g.inSize], p)
		for ty := range p.th {
			for tx := range p.tw {
				t := j*p.tpi + ty*p.tw + tx
				kernel.WinoIn(v[t*c:], nt*c, xp[(2*ty*p.wp+2*tx)*c:], p.wp*c, c, c)
			}
		}
	}
}

// winoJob is one Winograd training pass over the batch: what the groups
// of passes share. A one-worker pass keeps it on the stack; a parallel one
// hands a copy to the workers.
type winoJob struct {
	g      convGeom
	p      winoTrainPlan
	groups int // groups of passes (groupSpan)
	y, x   []float32
	u, b   []float32
	pool   poolGeom // with pooled, the pooling after the convolution
	pooled bool
	idx    []int32
	gx     []float32
	src    convGrad
	partSz int
	parts  [convGroups]*[]float32
}

// run computes each group of passes of the forward or of the backward, on
// the workers when there are several.
func (j *winoJob) run(groups int, backward bool) {
	if parallel.Workers() == 1 || groups == 1 {
		for gi := range groups {
			j.group(gi, backward)
		}
		return
	}
	jj := *j // escapes to the workers; j stays on the caller's stack
	runGroups(groups, func(gi int) { jj.group(gi, backward) })
	j.parts = jj.parts
}

// group computes the passes of group gi.
func (j *winoJob) group(gi int, backward bool) {
	i0, i1 := groupSpan(gi, j.groups, j.p.passes)
	if !backward {
		var pp *poolGeom
		if j.pooled {
			pp = &j.pool
		}
		j.g.winoForwardPasses(i0, i1, &j.p, j.y, j.x, j.u, j.b, pp, j.idx)
		return
	}
	var part []float32
	if j.partSz > 0 {
		pb := getScratch(j.partSz)
		clear(*pb)
		j.parts[gi] = pb
		part = *pb
	}
	j.g.winoBackwardPasses(i0, i1, &j.p, j.gx, part, &j.src, j.x, j.u)
}

// winoForwardTrain is forwardTrain on the Winograd path.
func (g *convGeom) winoForwardTrain(y, x, w, b []float32, pool poolGeom, idx []int32) {
	j := winoJob{g: *g, y: y, x: x, b: b, pool: pool, pooled: pool.kh > 0, idx: idx}
	var pp *poolGeom
	if j.pooled {
		pp = &j.pool
	}
	j.p = g.winoTrainPlan(pp)
	// The filters transformed, [16][outC][C], then transposed to
	// [16][C][outC]: the right operand of the products as stored.
	plane := g.oc * g.c
	ub := getScratch(32 * plane)
	defer scratch.Put(ub)
	u, ut := (*ub)[:16*plane], (*ub)[16*plane:]
	winoTrainWeights(u, ut, w, g.oc, g.c)
	j.u = ut
	groups := chunkGroups(j.p.passes)
	j.groups = groups
	j.run(groups, false)
}

// winoTrainWeights writes the transformed filters of w into u, laid out
// [16][outC][C] (winoWeights), and, when ut is not nil, each of the
// sixteen planes transposed into ut, [16][C][outC]. With several workers
// the filters, then the planes, are spread over them; each value is
// computed alike on any number of workers.
func winoTrainWeights(u, ut, w []float32, oc, c int) {
	plane := oc * c
	if parallel.Workers() == 1 || plane < 2*winoWeightsGrain {
		winoWeights(u, w, oc, c)
		for xi := 0; ut != nil && xi < 16; xi++ {
			kernel.Transpose(ut[xi*plane:], u, xi*plane, c, oc, c, oc)
		}
		return
	}
	j := winoWeightsJobs.Get().(*winoWeightsJob)
	j.u, j.ut, j.w, j.oc, j.c = u, ut, w, oc, c
	parallel.For(plane, winoWeightsGrain, j.filters)
	if ut != nil {
		parallel.For(16, 1, j.planes)
	}
	*j = winoWeightsJob{filters: j.filters, planes: j.planes}
	winoWeightsJobs.Put(j)
}

// winoWeightsJob is winoTrainWeights' work for the workers. Its chunk
// functions are bound once, when the job is made, so that a training step
// allocates nothing for them.
type winoWeightsJob struct {
	u, ut, w []float32
	oc, c    int
	filters  func(lo, hi int) // the filters [lo, hi) into u
	planes   func(lo, hi int) // planes [lo, hi) of u transposed into ut
}

var winoWeightsJobs = sync.Pool{New: func() any {
	j := new(winoWeightsJob)
	j.filters = func(lo, hi int) { winoWeightsRange(j.u, j.w, j.oc*j.c, lo, hi) }
	j.planes = func(lo, hi int) {
		plane := j.oc * j.c
		for xi := lo; xi < hi; xi++ {
			kernel.Transpose(j.ut[xi*plane:], j.u, xi*plane, j.c, j.oc, j.c, j.oc)
		}
	}
	return j
}}

// winoWeightsGrain is the number of filters below which their transform
// stays on one worker (the Keras convnet's second layer has 2048).
const winoWeightsGrain = 512

// winoForwardPasses computes passes [i0, i1) with the transformed filters
// u laid out [16][C][outC].
func (g *convGeom) winoForwardPasses(i0, i1 int, p *winoTrainPlan, y, x, u, b []float32, pool *poolGeom, idx []int32) {
	c, oc := g.c, g.oc
	maxT := p.per * p.tpi
	vb := getScratch(16 * maxT * c)
	defer scratch.Put(vb)
	mb := getScratch(16 * maxT * oc)
	defer scratch.Put(mb)
	xb := getScratch(p.hp * p.wp * c)
	defer scratch.Put(xb)
	qb := getScratch(4 * oc)
	defer scratch.Put(qb)
	var zb, rb *[]float32
	if p.pooled {
		zb = getScratch(p.tpi * oc) // one sample's pooled values, [tile][outC]
	} else {
		zb = getScratch(g.outSz)
		rb = getScratch(g.outSz) // one sample's outputs, [oh][ow][outC]
		defer scratch.Put(rb)
	}
	defer scratch.Put(zb)
	var wb *[]int32
	if p.pooled && idx == nil {
		wb = getWinners(p.tpi * oc)
		defer winners.Put(wb)
	}
	v, m, q := *vb, *mb, *qb
	ySz := g.outSz
	if pool != nil {
		ySz = oc * pool.oh * pool.ow
	}
	for i := i0; i < i1; i++ {
		s0, sc := p.span(i, g.n)
		nt := sc * p.tpi
		g.winoInputTiles(v, *xb, x, s0, sc, p)
		for xi := range 16 {
			kernel.Gemm(false, false, nt, oc, c, 1, v[xi*nt*c:], c, u[xi*c*oc:], oc, 0, m[xi*nt*oc:], oc)
		}
		for j := range sc {
			s := s0 + j
			ys := y[s*ySz : (s+1)*ySz]
			var ids []int32
			if idx != nil {
				ids = idx[s*ySz : (s+1)*ySz]
			} else if wb != nil {
				ids = *wb
			}
			if p.pooled {
				// Pooled values and winners by tile, then the values
				// transposed into the output planes.
				pv := *zb
				for tp := range p.tpi {
					t := j*p.tpi + tp
					kernel.WinoOut(q, oc, m[t*oc:], nt*oc, oc)
					kernel.WinoPool(pv[tp*oc:(tp+1)*oc], ids[tp*oc:(tp+1)*oc], q, oc, b)
				}
				kernel.Transpose(ys, pv, 0, oc, p.tpi, oc, p.tpi)
				continue
			}
			dst := ys
			if pool != nil {
				dst = *zb
			}
			// The tiles' outputs are gathered channels innermost, then
			// transposed into the planes in one pass that writes them
			// in order.
			for ty := range p.th {
				for tx := range p.tw {
					t := j*p.tpi + ty*p.tw + tx
					kernel.WinoOut(q, oc, m[t*oc:], nt*oc, oc)
					g.winoStoreTile(*rb, q, b, 2*ty, 2*tx)
				}
			}
			kernel.Transpose(dst, *rb, 0, oc, g.oh*g.ow, oc, g.oh*g.ow)
			switch {
			case pool != nil:
				pool.maxRange(0, oc, ys, dst, ids)
				kernel.Relu(ys, ys)
			case g.relu:
				kernel.Relu(ys, ys)
			}
		}
	}
}

// winners holds scratch for the winners of a pooled forward that keeps
// none (see winoForwardPasses).
var winners = sync.Pool{New: func() any { return new([]int32) }}

func getWinners(n int) *[]int32 {
	p := winners.Get().(*[]int32)
	if cap(*p) < n {
		*p = make([]int32, n)
	}
	*p = (*p)[:n]
	return p
}

// winoStoreTile writes one tile's outputs q [4][outC] plus the bias b (or
// nil) into the outputs yt [oh][ow][outC] from row r, column col,
// dropping what falls past the edges.
func (g *convGeom) winoStoreTile(yt, q, b []float32, r, col int) {
	oc, oh, ow := g.oc, g.oh, g.ow
	for k := range 4 {
		i, j := r+k>>1, col+k&1
		if i >= oh || j >= ow {
			continue
		}
		d, qk := yt[(i*ow+j)*oc:(i*ow+j+1)*oc], q[k*oc:(k+1)*oc]
		if b != nil {
			kernel.Add(d, qk, b)
		} else {
			copy(d, qk)
		}
	}
}

// winoBackward is backward on the Winograd path: the input gradient gx
// (when non-nil; overwritten) and the weight and bias gradients gw and gb
// (when non-nil; accumulated) from the output gradient that src gives.
// Passes are spread over the workers in fixed groups whose weight
// gradients are added in group order, so that results do not depend on
// the workers.
func (g *convGeom) winoBackward(gx, gw, gb []float32, src *convGrad, x, w []float32) {
	c, oc := g.c, g.oc
	j := winoJob{g: *g, x: x, gx: gx, src: *src}
	j.p = g.winoTrainPlan(src.pool)
	ub := getScratch(16 * oc * c)
	defer scratch.Put(ub)
	winoTrainWeights(*ub, nil, w, oc, c)
	j.u = *ub
	if gw != nil || gb != nil {
		j.partSz = 16*oc*c + oc
	}
	groups := chunkGroups(j.p.passes)
	j.groups = groups
	j.run(groups, true)
	if j.partSz == 0 {
		return
	}
	// The partials are added element by element in group order, the
	// elements spread over the workers: the sums do not depend on them.
	sum, rest := *j.parts[0], j.parts[1:groups]
	parallel.For(len(sum), winoSumGrain, func(lo, hi int) {
		s := sum[lo:hi]
		for _, pb := range rest {
			for i, v := range (*pb)[lo:hi] {
				s[i] += v
			}
		}
	})
	for _, pb := range rest {
		scratch.Put(pb)
	}
	if gw != nil {
		du := sum[:16*oc*c]
		parallel.For(oc*c, winoSumGrain/16, func(lo, hi int) {
			winoWeightGrad(gw, du, oc*c, lo, hi)
		})
	}
	if gb != nil {
		for o, v := range sum[16*oc*c:] {
			gb[o] += v
		}
	}
	scratch.Put(j.parts[0])
}

// winoBackwardPasses is winoBackward for passes [i0, i1), summing the
// transformed weight gradient [16][outC][C] and then the bias gradient
// into part when it is non-nil.
func (g *convGeom) winoBackwardPasses(i0, i1 int, p *winoTrainPlan, gx, part []float32, src *convGrad, x, u []float32) {
	c, oc := g.c, g.oc
	maxT := p.per * p.tpi
	vb := getScratch(16 * maxT * c)
	defer scratch.Put(vb)
	mb := getScratch(16 * maxT * oc)
	defer scratch.Put(mb)
	db := getScratch(4 * maxT * oc)
	defer scratch.Put(db)
	xb := getScratch(p.hp * p.wp * c)
	defer scratch.Put(xb)
	var zb *[]float32
	if p.pooled {
		zb = getScratch(p.tpi * oc)
	} else {
		zb = getScratch(g.outSz)
	}
	defer scratch.Put(zb)
	v, m, xp := *vb, *mb, *xb
	var pu, pb []float32
	if part != nil {
		pu, pb = part[:16*oc*c], part[16*oc*c:]
	}
	for i := i0; i < i1; i++ {
		s0, sc := p.span(i, g.n)
		nt := sc * p.tpi
		// The output gradient of each tile, [nt][4][outC].
		dy := (*db)[:4*nt*oc]
		if p.pooled {
			winoPooledGrad(dy, pb, *zb, src, s0, sc, p, g.oc)
		} else {
			for j := range sc {
				g.winoGatherGrad(dy[j*p.tpi*4*oc:], pb, src.sample(g, s0+j, *zb), p)
			}
		}
		for t := range nt {
			kernel.WinoOutGrad(m[t*oc:], nt*oc, dy[t*4*oc:], oc, oc)
		}
		if part != nil || gx != nil {
			g.winoInputTiles(v, xp, x, s0, sc, p)
		}
		if part != nil {
			for xi := range 16 {
				kernel.Gemm(true, false, oc, c, nt, 1, m[xi*nt*oc:], oc, v[xi*nt*c:], c, 1, pu[xi*oc*c:], c)
			}
		}
		if gx == nil {
			continue
		}
		for xi := range 16 {
			kernel.Gemm(false, false, nt, c, oc, 1, m[xi*nt*oc:], oc, u[xi*oc*c:], c, 0, v[xi*nt*c:], c)
		}
		for j := range sc {
			clear(xp)
			for ty := range p.th {
				for tx := range p.tw {
					t := j*p.tpi + ty*p.tw + tx
					kernel.WinoInGradAdd(xp[(2*ty*p.wp+2*tx)*c:], p.wp*c, c, v[t*c:], nt*c, c)
				}
			}
			s := s0 + j
			g.winoUnpad(gx[s*g.inSize:(s+1)*g.inSize], xp, p)
		}
	}
}

// winoPooledGrad writes the output gradient of the tiles of samples [s0,
// s0+sc) into dy [tiles][4][outC] when the tiles are the windows of a 2×2
// pooling: each window passes its pooled gradient to its winner (see
// winoForwardPasses), and nothing else; gt is scratch of one sample's pooled
// values. The passed gradients are summed into the bias gradient pb when
// it is non-nil.
func winoPooledGrad(dy, pb, gt []float32, src *convGrad, s0, sc int, p *winoTrainPlan, oc int) {
	plane := p.tpi
	for j := range sc {
		at := (s0 + j) * oc * plane
		kernel.Transpose(gt, src.gy, at, plane, oc, plane, oc)
		ids := src.idx[at : at+oc*plane]
		for tp := range plane {
			kernel.WinoPoolGrad(dy[(j*plane+tp)*4*oc:], oc, gt[tp*oc:(tp+1)*oc], ids[tp*oc:(tp+1)*oc], pb)
		}
	}
}

// winoGatherGrad writes the output gradient gs [outC, oh, ow] of one sample
// into its tiles dy [tiles][4][outC], zero past the edges, and sums it
// into the bias gradient pb when it is non-nil.
func (g *convGeom) winoGatherGrad(dy, pb, gs []float32, p *winoTrainPlan) {
	oc, oh, ow := g.oc, g.oh, g.ow
	for ty := range p.th {
		for tx := range p.tw {
			d := dy[(ty*p.tw+tx)*4*oc : (ty*p.tw+tx+1)*4*oc]
			for k := range 4 {
				i, j := 2*ty+k>>1, 2*tx+k&1
				dk := d[k*oc : (k+1)*oc]
				if i >= oh || j >= ow {
					clear(dk)
					continue
				}
				for o := range dk {
					dk[o] = gs[(o*oh+i)*ow+j]
				}
			}
		}
	}
	if pb != nil {
		for o := range oc {
			pb[o] += kernel.Sum(gs[o*oh*ow : (o+1)*oh*ow])
		}
	}
}

// winoSumGrain is the number of elements below which the sums of the
// partial weight gradients stay on one worker.
const winoSumGrain = 1 << 13

// winoWeightGrad adds Gᵀ·dU·G, the gradient of the filters, onto gw [outC,
// C, 3, 3] from the gradient du [16][outC][C] of the transformed filters
// (see winoWeights), for the filters (output and input channel pairs)
// [lo, hi) of the plane outC·C. Gᵀ's rows are [1 ½ ½ 0], [0 ½ −½ 0],
// [0 ½ ½ 1].
func winoWeightGrad(gw, du []float32, plane, lo, hi int) {
	for at := lo; at < hi; at++ {
		var t [4][3]float64
		for r := range 4 {
			u0, u1 := float64(du[(4*r)*plane+at]), float64(du[(4*r+1)*plane+at])
			u2, u3 := float64(du[(4*r+2)*plane+at]), float64(du[(4*r+3)*plane+at])
			s, d := 0.5*(u1+u2), 0.5*(u1-u2)
			t[r] = [3]float64{u0 + s, d, s + u3}
		}
		f := gw[at*9 : at*9+9 : at*9+9]
		for k := range 3 {
			s, d := 0.5*(t[1][k]+t[2][k]), 0.5*(t[1][k]-t[2][k])
			f[k] += float32(t[0][k] + s)
			f[3+k] += float32(d)
			f[6+k] += float32(s + t[3][k])
		}
	}
}
