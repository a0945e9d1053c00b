package nn

import (
	"encoding/json"
	"errors"
	"fmt"
)

// SizeFunc checks a layer configuration read from a model file and returns
// the number of parameter and buffer values (elements, whatever their
// dtype) a layer built from it holds. It must return an error, never
// panic, for a configuration it does not accept, and must not allocate in
// proportion to the sizes it reads.
type SizeFunc func(config json.RawMessage) (values int64, err error)

// RegisterSizedLayer is RegisterLayer for a kind whose layers hold
// parameters or buffers in proportion to their configuration, such as the
// int8 layers of package nn/quant. LoadModel calls size on every layer of
// the kind before building anything, adds the counts to those of the
// built-in layers, and refuses a file that stores fewer values than the
// architecture would hold, so that a small hostile file cannot make build
// allocate gigabytes. An error from size is reported with the layer's path
// and kind, like the built-in kinds' configuration errors. It panics like
// RegisterLayer, and on a nil size.
func RegisterSizedLayer(kind string, size SizeFunc, build LayerBuilder) {
	if build == nil || size == nil {
		panic(fmt.Sprintf("nn.RegisterSizedLayer: nil function for %q", kind))
	}
	register("RegisterSizedLayer", kind, kindEntry{children: 0, plan: func(cfg json.RawMessage) (layerPlan, error) {
		n, err := size(cfg)
		if err != nil {
			return layerPlan{}, err
		}
		if n < 0 {
			return layerPlan{}, errors.New("negative value count")
		}
		return layerPlan{values: n, build: func([]Module) (Module, error) { return build(cfg) }}, nil
	}})
}
