package nn

import "fmt"

// stateChanger is a layer whose training forward changes state that every
// call shares: it draws from a random generator or updates running
// statistics.
type stateChanger interface {
	changesStateInTraining() bool
}

func (d *Dropout) changesStateInTraining() bool             { return d.P > 0 }
func (m *MultiheadAttention) changesStateInTraining() bool  { return m.Dropout > 0 }
func (a *CausalSelfAttention) changesStateInTraining() bool { return a.Dropout > 0 }
func (b *BatchNorm) changesStateInTraining() bool           { return true }

// A recurrent layer of several layers with dropout between them draws its
// masks from its own generator.
func (s *recurrentStack) changesStateInTraining() bool { return s.cfg.Dropout > 0 && s.cfg.Layers > 1 }

// CheckConcurrentTraining returns an error naming the first layer of m (in
// Walk order) whose training forward changes state shared by every call,
// so that two goroutines must not run it at once: a Dropout with P > 0 or
// an attention layer or a stacked RNN, LSTM or GRU with dropout (they draw
// from the layer's generator, and the order of the draws would decide the
// masks) and the BatchNorm
// layers (running statistics, and statistics of the whole batch). The
// other layers of this package only read their state in a training
// forward, so several goroutines may train shares of a batch at once (see
// autograd.Arena.SeparateGrads and train's Config.Shards). Layers from
// elsewhere are not checked: they must only read shared state in a
// training forward themselves.
func CheckConcurrentTraining(m Module) error {
	var err error
	pos := 0
	Walk(m, func(l Module) {
		if s, ok := l.(stateChanger); ok && err == nil && s.changesStateInTraining() {
			name := fmt.Sprintf("%T", l)
			if st, ok := l.(fmt.Stringer); ok {
				name = st.String()
			}
			err = fmt.Errorf("nn: layer %d of the model in Walk order, %s, changes state in every training forward (a random generator or running statistics), so shares of a batch cannot train at once", pos, name)
		}
		pos++
	})
	return err
}
