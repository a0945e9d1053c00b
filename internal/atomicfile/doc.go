// Package atomicfile replaces a file's contents atomically: readers of the
// path see the old file or the new one, never a mixture, whatever happens
// to the writing process.
//
// WriteFile writes to a temporary file in the target's directory, syncs
// it, renames it over the target and syncs the directory. A process killed
// part-way leaves its temporary behind; the next WriteFile of the same
// target removes it. Temporaries are named
//
//	.<target name>.tmp-<host>-<pid>-<random>
//
// (host being a short hash of the host name), so that a writer removes only
// temporaries of its own target whose process is known to be gone: one
// written from this host by a process that no longer exists, or any that
// has not been modified for StaleAge. A temporary that another live process
// is still writing, or that another goroutine of this process is writing,
// is left alone, so concurrent writers of one target do not disturb each
// other (the last rename wins).
//
//	err := atomicfile.WriteFile("model.safetensors", 0o644, func(w io.Writer) error {
//		return safetensors.Write(w, tensors, nil)
//	})
package atomicfile
