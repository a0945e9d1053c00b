package nn

// Moder is implemented by layers that behave differently while training
// and while evaluating, such as Dropout and BatchNorm. Every layer starts
// in training mode, as in PyTorch; switch a whole model with SetTraining,
// Train or Eval rather than layer by layer.
//
// Evaluation travels with the call: the training flag governs only
// forwards whose input is recorded (an autograd.Constant batch, say). A
// forward whose input is in inference mode (autograd.NoGrad, Arena.Input;
// see autograd.Var.Inference) evaluates whatever the flag says. Every
// mode-dependent layer, a user's own included, must follow this rule:
//
//	func (l *MyLayer) Forward(x *autograd.Var) *autograd.Var {
//		if !l.Training() || x.Inference() {
//			return l.evaluate(x) // touches no state: no statistics, no random draws
//		}
//		return l.train(x)
//	}
//
// so that prediction never has to switch a model's mode, and many
// goroutines may predict with a model while it is in training mode.
type Moder interface {
	SetTraining(training bool)
	Training() bool
}

// SetTraining puts m and every module below it (reached through
// Container.Children) into training mode when training is true and into
// evaluation mode otherwise. In evaluation mode Dropout is the identity and
// BatchNorm normalises with its running statistics without updating them,
// and Forward may be called from many goroutines at once. Inference-mode
// inputs are evaluated in either mode (see Moder), so prediction needs no
// call to Eval.
func SetTraining(m Module, training bool) {
	Walk(m, func(l Module) {
		if s, ok := l.(Moder); ok {
			s.SetTraining(training)
		}
	})
}

// Train puts m and all its sub-modules into training mode.
func Train(m Module) { SetTraining(m, true) }

// Eval puts m and all its sub-modules into evaluation mode.
func Eval(m Module) { SetTraining(m, false) }

// IsTraining reports whether any module in m is in training mode. A model
// with no mode-dependent layer reports true, the default.
func IsTraining(m Module) bool {
	any, training := false, false
	Walk(m, func(l Module) {
		if s, ok := l.(Moder); ok {
			any = true
			training = training || s.Training()
		}
	})
	return training || !any
}

// Walk calls fn on m and then, depth first, on every module below it.
func Walk(m Module, fn func(Module)) {
	fn(m)
	if c, ok := m.(Container); ok {
		for _, ch := range c.Children() {
			Walk(ch, fn)
		}
	}
}

// trainFlag is embedded by layers with a training mode. Its zero value is
// training mode, so layers start out training like PyTorch's.
type trainFlag struct{ eval bool }

// SetTraining switches the layer between training (true) and evaluation.
func (f *trainFlag) SetTraining(training bool) { f.eval = !training }

// Training reports whether the layer is in training mode.
func (f *trainFlag) Training() bool { return !f.eval }
