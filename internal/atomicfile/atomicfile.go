package atomicfile

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// StaleAge is how long a temporary must have gone unmodified before
// WriteFile removes it even though its process may still exist (its pid
// may have been reused, or it was written from another host).
const StaleAge = 24 * time.Hour

// WriteFile calls write with a buffered writer on a new temporary file
// beside path and, when write succeeds, gives the file mode perm, syncs
// it, renames it over path and syncs the directory. When write or any step
// fails, the temporary is removed, path is left as it was and the error is
// returned; an error from write is returned unchanged.
//
// Before writing, WriteFile removes stale temporaries of the same path
// left by writers that were killed (see the package documentation). That
// clean-up is best effort: its failures are ignored.
func WriteFile(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base, time.Now())
	f, err := os.CreateTemp(dir, tempPrefix(base)+hostTag()+"-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the first error matters
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability is in doubt.
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// tempPrefix is the name prefix of base's temporaries.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// hostTag is 8 hex digits identifying this host, so that a pid is only
// ever checked on the host that owns it.
func hostTag() string {
	name, err := os.Hostname()
	if err != nil {
		name = "unknown"
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%08x", h.Sum32())
}

// parseTemp splits the part of a temporary's name after its prefix into
// host tag and pid; ok is false when rest is not exactly
// <8 hex>-<digits>-<digits>, as for another target's temporary whose name
// happens to share the prefix.
func parseTemp(rest string) (host string, pid int, ok bool) {
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || len(parts[0]) != 8 || !isHex(parts[0]) || !isDigits(parts[1]) || !isDigits(parts[2]) {
		return "", 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return parts[0], pid, true
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeStale removes the temporaries of base in dir that no live writer
// can be using: from this host with a pid that no longer runs, or
// unmodified for StaleAge.
func removeStale(dir, base string, now time.Time) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	prefix := tempPrefix(base)
	me, self := hostTag(), os.Getpid()
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			rest, found := strings.CutPrefix(name, prefix)
			if !found {
				continue
			}
			host, pid, ok := parseTemp(rest)
			if !ok {
				continue
			}
			p := filepath.Join(dir, name)
			stale := host == me && pid != self && !alive(pid)
			if !stale {
				info, err := os.Lstat(p)
				stale = err == nil && info.Mode().IsRegular() && now.Sub(info.ModTime()) > StaleAge
			}
			if stale {
				_ = os.Remove(p)
			}
		}
		if err != nil { // io.EOF at the end
			return
		}
	}
}

// syncDir flushes a directory entry to disk where the platform supports it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return serr
	}
	return cerr
}
