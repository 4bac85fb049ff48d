package sneakernet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
)

// exportDir is the directory an export writes to. rootDir is the real one; tests inject
// failures with their own.
type exportDir interface {
	// create makes a new file, failing if name exists.
	create(name string) (exportFile, error)
	exists(name string) (bool, error)
	rename(from, to string) error
	remove(name string) error
	list() ([]string, error)
	sync() error
}

type exportFile interface {
	io.Writer
	Sync() error
	Close() error
}

type rootDir struct{ r *os.Root }

func (d rootDir) create(name string) (exportFile, error) {
	return d.r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

func (d rootDir) exists(name string) (bool, error) {
	_, err := d.r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d rootDir) rename(from, to string) error { return d.r.Rename(from, to) }
func (d rootDir) remove(name string) error     { return d.r.Remove(name) }

func (d rootDir) list() ([]string, error) {
	f, err := d.r.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func (d rootDir) sync() error {
	f, err := d.r.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// volumeName returns the name of volume n (1-based).
func volumeName(base string, n int) string { return fmt.Sprintf("%s.vol%04d", base, n) }

// isExportFile reports whether name is a file an export called base writes, finished or not.
func isExportFile(base, name string) bool {
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, partialSuffix)
	if rest == "manifest" || rest == "manifest"+SigSuffix || "."+rest == breakGlassSuffix {
		return true
	}
	digits, ok := strings.CutPrefix(rest, "vol")
	if !ok || digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// volumeWriter takes the age output, cuts it into segments, hashes each, and writes the
// segments to volumes, creating each volume file when its first byte arrives.
type volumeWriter struct {
	d       exportDir
	base    string
	segSize int64
	volSegs int // segments per full volume

	cur      exportFile // the volume being written, or nil
	curName  string     // its .partial name
	curVol   Volume
	seg      hash.Hash
	segBytes int64 // bytes in the current segment

	total    int64
	segments []string
	volumes  []Volume
	created  []string // every file created, by its current name, oldest first
	err      error    // the first write error, reported instead of age's wrapping of it
}

func (w *volumeWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if w.cur == nil {
			if err := w.open(); err != nil {
				w.err = err
				return n, err
			}
		}
		k := min(int64(len(p)), w.segSize-w.segBytes)
		if _, err := w.cur.Write(p[:k]); err != nil {
			w.err = fmt.Errorf("cannot write %s: %w", w.curName, err)
			return n, w.err
		}
		w.seg.Write(p[:k])
		w.segBytes += k
		w.curVol.Bytes += k
		w.total += k
		n += int(k)
		p = p[k:]
		if w.segBytes == w.segSize {
			w.endSegment()
			if w.curVol.Segments == w.volSegs {
				if err := w.closeVolume(); err != nil {
					w.err = err
					return n, err
				}
			}
		}
	}
	return n, nil
}

func (w *volumeWriter) open() error {
	num := len(w.volumes) + 1
	if num > MaxVolumes {
		return fmt.Errorf("the stream needs more than %d volumes; use a larger volume size", MaxVolumes)
	}
	if len(w.segments) >= MaxSegments {
		return fmt.Errorf("the stream needs more than %d segments; use a larger segment size", MaxSegments)
	}
	final := volumeName(w.base, num)
	if ok, err := w.d.exists(final); err != nil || ok {
		return w.existsErr(final, err)
	}
	name := final + partialSuffix
	f, err := w.d.create(name)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", name, err)
	}
	w.created = append(w.created, name)
	w.cur, w.curName = f, name
	w.curVol = Volume{File: final, FirstSegment: len(w.segments)}
	w.seg = sha256.New()
	return nil
}

func (w *volumeWriter) existsErr(name string, err error) error {
	if err != nil {
		return fmt.Errorf("cannot check for %s: %w", name, err)
	}
	return fmt.Errorf("%s already exists; Export never replaces a file", name)
}

func (w *volumeWriter) endSegment() {
	w.segments = append(w.segments, hex.EncodeToString(w.seg.Sum(nil)))
	w.seg.Reset()
	w.segBytes = 0
	w.curVol.Segments++
	if len(w.segments) > MaxSegments && w.err == nil {
		w.err = fmt.Errorf("the stream needs more than %d segments; use a larger segment size", MaxSegments)
	}
}

func (w *volumeWriter) closeVolume() error {
	f := w.cur
	w.cur = nil
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot sync %s: %w", w.curName, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", w.curName, err)
	}
	w.volumes = append(w.volumes, w.curVol)
	return nil
}

// finish ends the last segment and volume after the age writer is closed.
func (w *volumeWriter) finish() error {
	if w.err != nil {
		return w.err
	}
	if w.cur == nil {
		return nil // the stream ended at a volume boundary
	}
	if w.segBytes > 0 {
		w.endSegment()
		if w.err != nil {
			return w.err
		}
	}
	return w.closeVolume()
}

// commit renames a finished volume from its .partial name.
func (w *volumeWriter) commit(final string) error {
	if ok, err := w.d.exists(final); err != nil || ok {
		return w.existsErr(final, err)
	}
	partial := final + partialSuffix
	if err := w.d.rename(partial, final); err != nil {
		return fmt.Errorf("cannot rename %s: %w", partial, err)
	}
	for i, c := range w.created {
		if c == partial {
			w.created[i] = final
		}
	}
	return nil
}

// writeFile writes name atomically: NAME.partial, synced, then renamed.
func (w *volumeWriter) writeFile(name string, data []byte) error {
	if ok, err := w.d.exists(name); err != nil || ok {
		return w.existsErr(name, err)
	}
	partial := name + partialSuffix
	f, err := w.d.create(partial)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", partial, err)
	}
	w.created = append(w.created, partial)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", partial, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot sync %s: %w", partial, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", partial, err)
	}
	return w.commit(name)
}

// cleanup closes the open volume and removes every file created, newest first, so that the
// manifest goes before the volumes it describes.
func (w *volumeWriter) cleanup() error {
	if w.cur != nil {
		w.cur.Close()
		w.cur = nil
	}
	if len(w.created) == 0 {
		return nil
	}
	var errs []error
	for i := len(w.created) - 1; i >= 0; i-- {
		if err := w.d.remove(w.created[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot remove %s: %w", w.created[i], err))
		}
	}
	w.created = nil
	if err := w.d.sync(); err != nil {
		errs = append(errs, fmt.Errorf("cannot sync the directory: %w", err))
	}
	return errors.Join(errs...)
}
