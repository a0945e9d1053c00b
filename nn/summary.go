package nn

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Summary returns a Keras-like table of m's layers with their output shapes,
// the activation each applies last (see OutputActivation; "-" for none) and
// their parameter counts. inputShape is the shape of one sample, without the
// batch axis (for MNIST images [1, 28, 28]); the batch axis prints as None.
//
// The shapes come from one forward pass on an inference-mode batch of
// zeros (autograd.NoGrad), which every layer evaluates whatever its mode,
// so Summary changes neither the model's mode nor its state (BatchNorm
// statistics, Dropout generators). The layers of a Sequential, nested ones
// included, get one row each, named like their parameters ("1.0"); any
// other module is one row. The counts include buffers such as BatchNorm's
// running statistics, which are reported as non-trainable along with
// frozen parameters.
func Summary(m Module, inputShape ...int) string {
	var rows [][4]string
	x := autograd.NoGrad(tensor.Zeros(append([]int{1}, inputShape...)...))
	var visit func(prefix string, l Module, x *autograd.Var) *autograd.Var
	visit = func(prefix string, l Module, x *autograd.Var) *autograd.Var {
		if s, ok := l.(*Sequential); ok {
			for i, ch := range s.layers {
				name := strconv.Itoa(i)
				if prefix != "" {
					name = prefix + "." + name
				}
				x = visit(name, ch, x)
			}
			return x
		}
		y := l.Forward(x)
		name := typeName(l)
		if prefix != "" {
			name = prefix + " (" + name + ")"
		}
		act := "-"
		if a := OutputActivation(l); a != ActNone {
			act = a.String()
		}
		rows = append(rows, [4]string{name, shapeString(y.Shape()), act, group(countAll(l))})
		return y
	}
	visit("", m, x)

	trainable, frozen := 0, 0
	for _, p := range m.Params() {
		if p.RequiresGrad() {
			trainable += p.Value().Size()
		} else {
			frozen += p.Value().Size()
		}
	}
	if b, ok := m.(BufferOwner); ok {
		for _, p := range b.Buffers() {
			frozen += p.Value().Size()
		}
	}

	head := [4]string{"Layer (type)", "Output Shape", "Activation", "Param #"}
	width := [4]int{}
	for _, r := range append(rows, head) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	total := width[0] + width[1] + width[2] + width[3] + 9
	var sb strings.Builder
	line := func(r [4]string) {
		fmt.Fprintf(&sb, "%s   %s   %s   %s\n", pad(r[0], width[0]), pad(r[1], width[1]), pad(r[2], width[2]), strings.TrimRight(pad(r[3], width[3]), " "))
	}
	line(head)
	sb.WriteString(strings.Repeat("=", total) + "\n")
	for _, r := range rows {
		line(r)
	}
	sb.WriteString(strings.Repeat("=", total) + "\n")
	fmt.Fprintf(&sb, "Total params: %s\n", group(trainable+frozen))
	fmt.Fprintf(&sb, "Trainable params: %s\n", group(trainable))
	fmt.Fprintf(&sb, "Non-trainable params: %s\n", group(frozen))
	return sb.String()
}

// countAll returns the number of scalars in l's Params and buffers.
func countAll(l Module) int {
	n := 0
	for _, p := range l.Params() {
		n += p.Value().Size()
	}
	if b, ok := l.(BufferOwner); ok {
		for _, p := range b.Buffers() {
			n += p.Value().Size()
		}
	}
	return n
}

// typeName returns the layer's type without package or pointer, such as
// "Dense"; BatchNorm reports its flavour ("BatchNorm2D").
func typeName(l Module) string {
	if b, ok := l.(*BatchNorm); ok && b.name != "" {
		return b.name
	}
	t := reflect.TypeOf(l)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// shapeString formats an output shape with the batch axis as None:
// "(None, 32, 28, 28)".
func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) > 0 {
		parts[0] = "None"
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// group formats n with thousands separators: 1234567 → "1,234,567".
func group(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func pad(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-len([]rune(s))))
}
