package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// dirNames lists dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	require.NoError(t, WriteFile(path, 0o640, writeString("old")))
	require.NoError(t, WriteFile(path, 0o640, writeString("new")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
	require.Equal(t, []string{"m.bin"}, dirNames(t, dir))
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o640), info.Mode().Perm())
	}
}

func TestWriteFileErrorKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	require.NoError(t, WriteFile(path, 0o644, writeString("old")))
	boom := errors.New("boom")
	err := WriteFile(path, 0o644, func(w io.Writer) error {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20)) // reaches the temporary file
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old", string(got))
	require.Equal(t, []string{"m.bin"}, dirNames(t, dir), "the temporary is removed")

	err = WriteFile(filepath.Join(dir, "missing", "m.bin"), 0o644, writeString("x"))
	require.ErrorContains(t, err, "missing")
}

const helperEnv = "ATOMICFILE_TEST_HELPER"

// TestMain doubles as the child process of the tests below: with
// $ATOMICFILE_TEST_HELPER set to a path, it starts a write of that path,
// says "ready" once data has reached the temporary file, and blocks until
// it is killed; set to "sleep:<duration>", it says "ready" and sleeps.
func TestMain(m *testing.M) {
	arg := os.Getenv(helperEnv)
	if arg == "" {
		os.Exit(m.Run())
	}
	if rest, ok := strings.CutPrefix(arg, "sleep:"); ok {
		fmt.Println("ready")
		d, _ := time.ParseDuration(rest)
		time.Sleep(d)
		os.Exit(0)
	}
	_ = WriteFile(arg, 0o644, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("partial "), 100_000)); err != nil {
			return err
		}
		fmt.Println("ready")
		select {} // wait to be killed mid-write
	})
	os.Exit(3) // not reached
}

// startHelper runs the test binary as a child (see TestMain) with arg and
// waits for it to say "ready".
func startHelper(t *testing.T, arg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+arg)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	return cmd
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	cmd := startHelper(t, "sleep:0s")
	_ = cmd.Wait()
	return cmd.Process.Pid
}

func temps(t *testing.T, dir, base string) []string {
	var out []string
	for _, n := range dirNames(t, dir) {
		if strings.HasPrefix(n, tempPrefix(base)) {
			out = append(out, n)
		}
	}
	return out
}

// TestKilledWriter kills a process in the middle of a WriteFile: the
// target keeps its old content and a temporary remains; the next
// WriteFile of that target removes it.
func TestKilledWriter(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no subprocesses")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, WriteFile(path, 0o644, writeString("old")))

	var prev []string
	for range 3 {
		cmd := startHelper(t, path)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "old", string(got), "a killed writer never changes the target")
		// Each killed writer leaves its temporary, and each writer removed
		// the one left before it.
		left := temps(t, dir, "model.safetensors")
		require.Len(t, left, 1)
		require.NotEqual(t, prev, left)
		prev = left
		info, err := os.Stat(filepath.Join(dir, left[0]))
		require.NoError(t, err)
		require.Greater(t, info.Size(), int64(0), "the killed writer had written data")
	}

	require.NoError(t, WriteFile(path, 0o644, writeString("new")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
	require.Equal(t, []string{"model.safetensors"}, dirNames(t, dir), "stale temporaries removed")
}

// TestKeepsOthersTemporaries checks what the clean-up leaves alone: a
// temporary of a live process, of this process (another goroutine's), of
// another host (unless older than StaleAge), of another target, and files
// that only look similar.
func TestKeepsOthersTemporaries(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no subprocesses")
	}
	dir := t.TempDir()
	live := startHelper(t, "sleep:1m")
	defer func() {
		_ = live.Process.Kill()
		_ = live.Wait()
	}()
	dead := deadPid(t)
	me := hostTag()
	other := "0badc0de"
	if other == me {
		other = "0badc0df"
	}
	name := func(target, host string, pid int) string {
		return fmt.Sprintf("%s%s-%d-12345", tempPrefix(target), host, pid)
	}
	keep := []string{
		name("m", me, live.Process.Pid),           // a live writer
		name("m", me, os.Getpid()),                // another goroutine of this process
		name("m", other, dead),                    // another host: its pids mean nothing here
		name("m.tmp-"+me+"-1", me, dead),          // another target whose name extends ours
		name("n", me, dead),                       // another target
		".m.tmp-" + me + "-" + strconv.Itoa(dead), // not our pattern: no random part
		".m.tmp-notes",
		"m.tmp-" + me + "-" + strconv.Itoa(dead) + "-1", // no leading dot
	}
	remove := []string{
		name("m", me, dead),  // a dead writer
		name("m", other, 77), // another host, but unmodified for longer than StaleAge (Chtimes below)
	}
	for _, n := range append(slices.Clone(keep), remove...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o600))
	}
	old := time.Now().Add(-StaleAge - time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, remove[1]), old, old))

	require.NoError(t, WriteFile(filepath.Join(dir, "m"), 0o644, writeString("new")))
	want := append(slices.Clone(keep), "m")
	slices.Sort(want)
	require.Equal(t, want, dirNames(t, dir))
}

// TestConcurrentWriters runs writers of one target at once: each succeeds,
// none removes another's temporary, and the target ends up whole, as one
// writer's content.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m")
	const writers = 8
	contents := make([]string, writers)
	for i := range contents {
		contents[i] = strings.Repeat(strconv.Itoa(i), 300_000)
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() { errs[i] = WriteFile(path, 0o644, writeString(contents[i])) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, contents, string(got))
	require.Equal(t, []string{"m"}, dirNames(t, dir))
}

func TestParseTemp(t *testing.T) {
	host, pid, ok := parseTemp("0123abcd-42-987654")
	require.True(t, ok)
	require.Equal(t, "0123abcd", host)
	require.Equal(t, 42, pid)
	for _, bad := range []string{"", "0123abcd-42", "0123abcd-42-", "0123ABCD-42-1", "0123abc-42-1", "0123abcd-x-1", "0123abcd-0-1", "0123abcd-4-2-1", "x.tmp-0123abcd-4-1"} {
		_, _, ok := parseTemp(bad)
		require.False(t, ok, bad)
	}
}
