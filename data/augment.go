package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Augment is a random image augmentation applied per batch: each image gets
// its own random shift, rotation and (optionally) horizontal flip, drawn
// from the generator it is given. Pixels moved in from outside the image
// are 0. All channels of an image move together.
//
// Use it with a Loader:
//
//	aug := &data.Augment{MaxShift: 2, MaxRotate: 10}
//	loader := data.NewLoader(train, 64, data.Shuffle(1), data.WithTransform(aug, 2))
//
// Leave HFlip off for digits and text, whose mirror image is another
// symbol. An Augment keeps a scratch buffer, so one value must not be used
// by two goroutines at once (a Loader calls it from one goroutine).
type Augment struct {
	// MaxShift is the largest translation in pixels along each axis; each
	// image is shifted by whole pixels drawn uniformly from
	// [-MaxShift, MaxShift].
	MaxShift int
	// MaxRotate is the largest rotation in degrees; each image is rotated
	// about its centre by an angle drawn uniformly from
	// [-MaxRotate, MaxRotate], with bilinear interpolation.
	MaxRotate float64
	// HFlip mirrors each image left-right with probability 1/2.
	HFlip bool

	scratch []float32
}

// Apply augments the batch's images in place. See Images for the shapes
// it accepts.
func (a *Augment) Apply(b *Batch, r *rand.Rand) { a.Images(b.X, r) }

// Images augments x in place: x is [B, C, H, W] or [B, H, W]. It panics on
// any other rank.
func (a *Augment) Images(x *tensor.Tensor, r *rand.Rand) {
	s := x.Shape()
	var n, c, h, w int
	switch len(s) {
	case 3:
		n, c, h, w = s[0], 1, s[1], s[2]
	case 4:
		n, c, h, w = s[0], s[1], s[2], s[3]
	default:
		panic(fmt.Sprintf("data.Augment: images need shape [B, C, H, W] or [B, H, W], got %v", s))
	}
	img := c * h * w
	if cap(a.scratch) < img {
		a.scratch = make([]float32, img)
	}
	src := a.scratch[:img]
	d := x.Data()
	for i := range n {
		dx, dy := 0, 0
		if a.MaxShift > 0 {
			dx = r.IntN(2*a.MaxShift+1) - a.MaxShift
			dy = r.IntN(2*a.MaxShift+1) - a.MaxShift
		}
		theta := 0.0
		if a.MaxRotate > 0 {
			theta = (2*r.Float64() - 1) * a.MaxRotate * math.Pi / 180
		}
		flip := a.HFlip && r.IntN(2) == 1
		if dx == 0 && dy == 0 && theta == 0 && !flip {
			continue
		}
		im := d[i*img : (i+1)*img]
		copy(src, im)
		if theta == 0 {
			shiftFlip(im, src, c, h, w, dx, dy, flip)
		} else {
			rotate(im, src, c, h, w, float64(dx), float64(dy), theta, flip)
		}
	}
}

// shiftFlip writes src shifted by (dx, dy) and optionally mirrored into dst.
func shiftFlip(dst, src []float32, c, h, w, dx, dy int, flip bool) {
	for ch := range c {
		so := ch * h * w
		for y := range h {
			sy := y - dy
			row := dst[so+y*w : so+(y+1)*w]
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			srow := src[so+sy*w : so+(sy+1)*w]
			for x := range row {
				sx := x - dx
				if flip {
					sx = w - 1 - sx
				}
				if sx < 0 || sx >= w {
					row[x] = 0
				} else {
					row[x] = srow[sx]
				}
			}
		}
	}
}

// rotate writes into dst the image src flipped (optionally), rotated by
// theta about its centre and shifted by (dx, dy), sampling bilinearly.
func rotate(dst, src []float32, c, h, w int, dx, dy, theta float64, flip bool) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	cos, sin := math.Cos(theta), math.Sin(theta)
	for y := range h {
		for x := range w {
			// Invert: undo the shift, then the rotation, then the flip.
			px, py := float64(x)-cx-dx, float64(y)-cy-dy
			sx := cos*px + sin*py + cx
			sy := -sin*px + cos*py + cy
			if flip {
				sx = float64(w-1) - sx
			}
			x0, y0 := math.Floor(sx), math.Floor(sy)
			fx, fy := float32(sx-x0), float32(sy-y0)
			ix, iy := int(x0), int(y0)
			for ch := range c {
				o := ch * h * w
				v00 := pixel(src[o:o+h*w], h, w, ix, iy)
				v10 := pixel(src[o:o+h*w], h, w, ix+1, iy)
				v01 := pixel(src[o:o+h*w], h, w, ix, iy+1)
				v11 := pixel(src[o:o+h*w], h, w, ix+1, iy+1)
				top := v00 + (v10-v00)*fx
				bot := v01 + (v11-v01)*fx
				dst[o+y*w+x] = top + (bot-top)*fy
			}
		}
	}
}

func pixel(im []float32, h, w, x, y int) float32 {
	if x < 0 || y < 0 || x >= w || y >= h {
		return 0
	}
	return im[y*w+x]
}
