package onnx

// constructor builds a node's op from its attributes (read through a,
// which reports unread attributes afterwards).
type constructor func(a *attrReader, n *nodeProto) (op, error)

// version is one definition of an op: the opset it appeared in and the
// constructor for it.
type version struct {
	since int64
	make  constructor
}

// opTable lists, per op type of the default domain, the definitions the
// importer implements, oldest first. A model uses, for each op, the newest
// definition whose since-version is at most the model's opset; an op with
// none is unsupported. Since-versions are those of the ONNX operator
// changelog; definitions older than MinOpset are not listed, because such
// models are rejected before ops are resolved.
var opTable = map[string][]version{
	// Math and activations.
	"Add":         {{13, arith("Add")}, {14, arith("Add")}},
	"Sub":         {{13, arith("Sub")}, {14, arith("Sub")}},
	"Mul":         {{13, arith("Mul")}, {14, arith("Mul")}},
	"Div":         {{13, arith("Div")}, {14, arith("Div")}},
	"Pow":         {{13, newPow}, {15, newPow}},
	"Sqrt":        {{13, unary("Sqrt")}},
	"Exp":         {{13, unary("Exp")}},
	"Log":         {{13, unary("Log")}},
	"Neg":         {{13, unary("Neg")}},
	"Abs":         {{13, unary("Abs")}},
	"Erf":         {{13, unary("Erf")}},
	"Relu":        {{13, unary("Relu")}, {14, unary("Relu")}},
	"Sigmoid":     {{13, unary("Sigmoid")}},
	"Tanh":        {{13, unary("Tanh")}},
	"LeakyRelu":   {{6, newLeakyRelu}},
	"Clip":        {{13, newClip}},
	"HardSigmoid": {{6, newHardSigmoid}},
	"HardSwish":   {{14, newHardSwish}},
	"Softmax":     {{13, softmax(false)}},
	"LogSoftmax":  {{13, softmax(true)}},
	"MatMul":      {{13, newMatMul}},
	"Gemm":        {{13, newGemm}},
	"ReduceMean":  {{13, newReduceMean}},
	"Equal":       {{13, newEqual}},
	"Where":       {{9, newWhere}, {16, newWhere}},
	// Convolutional layers.
	"Conv":               {{11, newConv}},
	"MaxPool":            {{12, newMaxPool}},
	"AveragePool":        {{11, newAveragePool}},
	"GlobalAveragePool":  {{1, newGlobalAveragePool}},
	"BatchNormalization": {{9, newBatchNorm(false)}, {14, newBatchNorm(true)}, {15, newBatchNorm(true)}},
	"LayerNormalization": {{17, newLayerNorm}},
	"Dropout":            {{13, newDropout}},
	"LSTM":               {{7, newLSTM(false)}, {14, newLSTM(true)}},
	"GRU":                {{7, newGRU(false)}, {14, newGRU(true)}},
	"Identity":           {{13, newIdentity}, {14, newIdentity}, {16, newIdentity}},
	// Constants and shapes.
	"Constant":        {{13, newConstant}},
	"ConstantOfShape": {{9, newConstantOfShape}},
	"Shape":           {{13, newShape(false)}, {15, newShape(true)}},
	"Flatten":         {{13, newFlatten}},
	"Reshape":         {{13, newReshape(false)}, {14, newReshape(true)}},
	"Transpose":       {{13, newTranspose}},
	"Gather":          {{13, newGather}},
	"Unsqueeze":       {{13, newUnsqueeze}},
	"Squeeze":         {{13, newSqueeze}},
	"Concat":          {{13, newConcat}},
	"Slice":           {{13, newSlice}},
	"Split":           {{13, newSplit}},
	"Cast":            {{13, newCast}},
	"Pad":             {{13, newPad}},
	"Expand":          {{13, newExpand}},
	"Range":           {{11, newRange}},
	"Trilu":           {{14, newTrilu}},
}

// resolve builds node n's op for a model of the given opset.
func resolve(n *nodeProto, opset int64) (op, error) {
	if n.domain != "" && n.domain != "ai.onnx" {
		return nil, &unsupportedError{op: n.domain + "." + n.opType}
	}
	var mk constructor
	for _, v := range opTable[n.opType] {
		if v.since <= opset {
			mk = v.make
		}
	}
	if mk == nil {
		return nil, &unsupportedError{op: n.opType}
	}
	a := newAttrReader(n)
	o, err := mk(a, n)
	if err2 := a.finish(); err == nil {
		err = err2
	}
	return o, err
}

// SupportedOps lists the op types the importer implements, with the opset
// each definition dates from.
func SupportedOps() map[string][]int {
	out := make(map[string][]int, len(opTable))
	for name, vs := range opTable {
		for _, v := range vs {
			out[name] = append(out[name], int(v.since))
		}
	}
	return out
}
