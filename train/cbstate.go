package train

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"errors"
	"fmt"

	"github.com/shoshin-ml/shoshin/nn"
)

// The callbacks below save their state for BackupAndRestore.
var (
	_ encoding.BinaryMarshaler   = (*EarlyStopping)(nil)
	_ encoding.BinaryUnmarshaler = (*EarlyStopping)(nil)
	_ encoding.BinaryMarshaler   = (*ModelCheckpoint)(nil)
	_ encoding.BinaryUnmarshaler = (*ModelCheckpoint)(nil)
	_ encoding.BinaryMarshaler   = (*LRScheduler)(nil)
	_ encoding.BinaryUnmarshaler = (*LRScheduler)(nil)
	_ encoding.BinaryMarshaler   = (*ReduceLROnPlateau)(nil)
	_ encoding.BinaryUnmarshaler = (*ReduceLROnPlateau)(nil)
)

// monitorState is the saved form of a monitor.
type monitorState struct {
	Best float64
	Seen bool
}

func (m *monitor) state() monitorState     { return monitorState{m.best, m.seen} }
func (m *monitor) setState(s monitorState) { m.best, m.seen = s.Best, s.Seen }

// earlyStoppingState is EarlyStopping's saved form.
type earlyStoppingState struct {
	Monitor   monitorState
	Wait      int
	StoppedAt int
	Best      []byte // the best weights as safetensors; empty when none
}

func encodeGob(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeGob(b []byte, v any) error {
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return fmt.Errorf("decoding state: %w", err)
	}
	return nil
}

// MarshalBinary returns the callback's state: the best value so far, the
// epochs waited and the best weights, for BackupAndRestore.
func (e *EarlyStopping) MarshalBinary() ([]byte, error) {
	st := earlyStoppingState{Monitor: e.mon.state(), Wait: e.wait, StoppedAt: e.StoppedAt}
	if e.best != nil {
		var buf bytes.Buffer
		if err := nn.WriteTensors(&buf, e.best, nil); err != nil {
			return nil, err
		}
		st.Best = buf.Bytes()
	}
	return encodeGob(st)
}

// UnmarshalBinary restores a state returned by MarshalBinary.
func (e *EarlyStopping) UnmarshalBinary(b []byte) error {
	var st earlyStoppingState
	if err := decodeGob(b, &st); err != nil {
		return err
	}
	var best []nn.NamedTensor
	if len(st.Best) > 0 {
		var err error
		if best, _, err = nn.ReadTensors(bytes.NewReader(st.Best)); err != nil {
			return fmt.Errorf("best weights: %w", err)
		}
	}
	e.mon.setState(st.Monitor)
	e.wait, e.StoppedAt, e.best = st.Wait, st.StoppedAt, best
	return nil
}

// MarshalBinary returns the best value so far, for BackupAndRestore.
func (c *ModelCheckpoint) MarshalBinary() ([]byte, error) { return encodeGob(c.mon.state()) }

// UnmarshalBinary restores a state returned by MarshalBinary.
func (c *ModelCheckpoint) UnmarshalBinary(b []byte) error {
	var st monitorState
	if err := decodeGob(b, &st); err != nil {
		return err
	}
	c.mon.setState(st)
	return nil
}

// epocher is a schedule that can report and jump to its epoch (the
// closed-form schedules of package optim).
type epocher interface {
	Epoch() int
	SetEpoch(int)
}

// MarshalBinary returns the schedule's state, for BackupAndRestore: its
// own binary state when it has one, else its epoch.
func (c *LRScheduler) MarshalBinary() ([]byte, error) {
	switch s := c.Schedule.(type) {
	case encoding.BinaryMarshaler:
		return s.MarshalBinary()
	case epocher:
		return encodeGob(s.Epoch())
	}
	return nil, fmt.Errorf("the schedule %T cannot save its state", c.Schedule)
}

// UnmarshalBinary restores a state returned by MarshalBinary, setting the
// optimizer's learning rate for the restored epoch.
func (c *LRScheduler) UnmarshalBinary(b []byte) error {
	switch s := c.Schedule.(type) {
	case encoding.BinaryUnmarshaler:
		return s.UnmarshalBinary(b)
	case epocher:
		var e int
		if err := decodeGob(b, &e); err != nil {
			return err
		}
		if e < 0 {
			return fmt.Errorf("schedule epoch %d is negative", e)
		}
		s.SetEpoch(e)
		return nil
	}
	return fmt.Errorf("the schedule %T cannot restore its state", c.Schedule)
}

// MarshalBinary returns the plateau schedule's state, for
// BackupAndRestore.
func (c *ReduceLROnPlateau) MarshalBinary() ([]byte, error) {
	if m, ok := any(c.Plateau).(encoding.BinaryMarshaler); ok {
		return m.MarshalBinary()
	}
	return nil, errors.New("optim.ReduceLROnPlateau cannot save its state")
}

// UnmarshalBinary restores a state returned by MarshalBinary.
func (c *ReduceLROnPlateau) UnmarshalBinary(b []byte) error {
	if u, ok := any(c.Plateau).(encoding.BinaryUnmarshaler); ok {
		return u.UnmarshalBinary(b)
	}
	return errors.New("optim.ReduceLROnPlateau cannot restore its state")
}
