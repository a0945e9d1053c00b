package nn

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// LayerSpec describes one layer of a model file (see ModelVersion): its
// registered kind, its configuration as the kind's constructor reads it,
// and, for a container kind, its children in order.
type LayerSpec struct {
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config,omitempty"`
	Layers []LayerSpec     `json:"layers,omitempty"`
}

// Configurer is implemented by layers that can be saved with SaveModel and
// rebuilt by LoadModel. LayerConfig returns the layer's registered kind
// and a value that encoding/json marshals into the configuration that
// kind's constructor (see RegisterLayer) reads back; nil for none. The
// weights are not part of the configuration: they are saved by name.
//
// Every built-in layer implements it. A user's layer does too, and
// registers its kind once:
//
//	type GLU struct{ Proj *nn.Dense }
//
//	func (g *GLU) LayerConfig() (string, any) {
//		w := g.Proj.Weight.Shape() // [2·out, in]
//		return "GLU", map[string]int{"in": w[1], "out": w[0] / 2}
//	}
//
//	func init() {
//		nn.RegisterLayer("GLU", func(cfg json.RawMessage) (nn.Module, error) {
//			var c struct{ In, Out int }
//			if err := json.Unmarshal(cfg, &c); err != nil {
//				return nil, err
//			}
//			if c.In < 1 || c.Out < 1 || c.In > 1<<20 || c.Out > 1<<20 {
//				return nil, fmt.Errorf("GLU: sizes %d, %d out of range", c.In, c.Out)
//			}
//			return NewGLU(c.In, c.Out), nil
//		})
//	}
type Configurer interface {
	LayerConfig() (kind string, config any)
}

// LayerBuilder builds a layer of a registered kind from the configuration
// its Configurer wrote (nil when it wrote none). It must return an error,
// never panic, for a configuration it does not accept, and should bound
// the sizes it allocates: the configuration comes from a file.
type LayerBuilder func(config json.RawMessage) (Module, error)

// ContainerBuilder builds a layer of a registered container kind from its
// configuration and its children, already built, in the order its
// Container.Children returned them when it was saved.
type ContainerBuilder func(config json.RawMessage, children []Module) (Module, error)

// layerPlan is a checked configuration: what the layer will allocate and
// how to build it.
type layerPlan struct {
	values  int64 // parameter and buffer values, loaded from the file
	derived int64 // values computed at construction
	build   func(children []Module) (Module, error)
}

// kindEntry is one registered layer kind.
type kindEntry struct {
	container bool
	children  int // the exact number of children; -1 for any
	builtin   bool
	types     []reflect.Type // for built-in kinds, the Go types that are of the kind
	plan      func(cfg json.RawMessage) (layerPlan, error)
}

var registry = struct {
	sync.RWMutex
	kinds map[string]kindEntry
}{kinds: make(map[string]kindEntry)}

// RegisterLayer makes LoadModel build layers of kind with build. Call it
// once per kind, typically from an init function; it panics on an empty
// kind, a nil build, or a kind already registered (the built-in kinds
// included).
func RegisterLayer(kind string, build LayerBuilder) {
	if build == nil {
		panic(fmt.Sprintf("nn.RegisterLayer: nil builder for %q", kind))
	}
	register("RegisterLayer", kind, kindEntry{children: 0, plan: func(cfg json.RawMessage) (layerPlan, error) {
		return layerPlan{build: func([]Module) (Module, error) { return build(cfg) }}, nil
	}})
}

// RegisterContainer makes LoadModel build layers of the container kind
// with build, after building their children; DescribeModel then describes
// a layer of that kind with its Container.Children. It panics like
// RegisterLayer.
func RegisterContainer(kind string, build ContainerBuilder) {
	if build == nil {
		panic(fmt.Sprintf("nn.RegisterContainer: nil builder for %q", kind))
	}
	register("RegisterContainer", kind, kindEntry{container: true, children: -1, plan: func(cfg json.RawMessage) (layerPlan, error) {
		return layerPlan{build: func(ch []Module) (Module, error) { return build(cfg, ch) }}, nil
	}})
}

func register(fn, kind string, e kindEntry) {
	if kind == "" {
		panic(fmt.Sprintf("nn.%s: empty kind", fn))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.kinds[kind]; dup {
		panic(fmt.Sprintf("nn.%s: kind %q is already registered", fn, kind))
	}
	registry.kinds[kind] = e
}

func lookupKind(kind string) (kindEntry, bool) {
	registry.RLock()
	defer registry.RUnlock()
	e, ok := registry.kinds[kind]
	return e, ok
}

// LayerKinds returns the registered layer kinds, sorted: the built-in ones
// and those registered with RegisterLayer and RegisterContainer.
func LayerKinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.kinds))
	for k := range registry.kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func builtinKinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	var out []string
	for k, e := range registry.kinds {
		if e.builtin {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// registerBuiltin adds a built-in kind whose plan validates its
// configuration and counts what it allocates.
// types are the Go types of the kind's layers (a pointer, and the value
// too for layers with value receivers).
func registerBuiltin[C any](kind string, types []any, plan func(c *C) (layerPlan, error)) {
	registerBuiltinKind(kind, false, 0, types, plan)
}

func registerBuiltinKind[C any](kind string, container bool, children int, types []any, plan func(c *C) (layerPlan, error)) {
	ts := make([]reflect.Type, len(types))
	for i, v := range types {
		ts[i] = reflect.TypeOf(v)
	}
	registry.kinds[kind] = kindEntry{container: container, children: children, builtin: true, types: ts, plan: func(raw json.RawMessage) (layerPlan, error) {
		c := new(C)
		if len(raw) > 0 {
			if err := decodeStrict(raw, c); err != nil {
				return layerPlan{}, fmt.Errorf("config: %w", err)
			}
		}
		p, err := plan(c)
		if err != nil {
			return layerPlan{}, fmt.Errorf("config: %w", err)
		}
		return p, nil
	}}
}
