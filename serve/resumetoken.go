package serve

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/belltech/vault/zfs"
)

// A receive_resume_token is "1-CKSUM-LEN-HEX" (get_receive_resume_token_impl
// in OpenZFS's dsl_dataset.c, read back by zfs_send_resume_token_to_nvlist
// in libzfs_sendrecv.c): HEX is a zlib stream, CKSUM the first word of its
// fletcher-4 checksum in the host's byte order, LEN the length of what it
// decompresses to: an nvlist packed in the native encoding
// (fnvlist_pack). decodeToken reads it the way zfs does, more strictly: it
// refuses what zfs would refuse, and also anything a token zfs makes never
// holds, so that what the gate reads is what zfs acts on. The gate needs two
// things from it before zfs runs: toname, and whether the token asks for a
// raw send (a "rawok" pair, of any type: zfs tests only that it exists).
//
// The native encoding (nvs_native_* in nvpair.c): a 4-byte header (encoding
// 0 = native, byte order 1 = little endian, two reserved bytes), the
// nvlist's version and flags (int32 each), then each pair as its in-memory
// nvpair_t: int32 size of the whole pair (a multiple of 8), int16 name
// size (with its NUL), int16 reserved, int32 number of elements, int32
// type, the name, padding to 8 bytes, the value, padding to 8 bytes. An
// int32 0 ends the list.

// resumeToken is what the gate reads from a resume token.
type resumeToken struct {
	toname string // the snapshot the token names (zfs resolves toguid near it)
	raw    bool   // the send resumes raw (-w): the token has "rawok"
}

const (
	maxPackedToken = 64 << 10 // bound on LEN: a real token's nvlist is a few hundred bytes
	nvHeaderLen    = 4
	nvpairLen      = 16 // sizeof (nvpair_t)

	nvBoolean     = 1  // DATA_TYPE_BOOLEAN: no value
	nvUint64      = 8  // DATA_TYPE_UINT64
	nvString      = 9  // DATA_TYPE_STRING
	nvUint64Array = 16 // DATA_TYPE_UINT64_ARRAY
)

// tokenKeys are the pairs OpenZFS puts in a resume token, and their types
// (get_receive_resume_token_impl, OpenZFS 2.1 to 2.4). A token with any
// other pair is refused: savedok, for one, would send a partial receive's
// saved state (zfs send -S), which vault never asks for.
var tokenKeys = map[string]int32{
	"fromguid": nvUint64, "object": nvUint64, "offset": nvUint64, "bytes": nvUint64,
	"toguid": nvUint64, "toname": nvString,
	"largeblockok": nvBoolean, "embedok": nvBoolean, "compressok": nvBoolean, "rawok": nvBoolean,
	"redact_snaps": nvUint64Array, "book_redact_snaps": nvUint64Array,
}

// decodeToken reads token, which checkToken has accepted. Its errors are
// for the log only: they describe the client's data.
func decodeToken(token string) (resumeToken, error) {
	f := strings.Split(token, "-")
	if len(f) != 4 {
		return resumeToken{}, fmt.Errorf("%d fields separated by '-', want 4", len(f))
	}
	if f[0] != "1" {
		return resumeToken{}, fmt.Errorf("version %q, want 1", f[0])
	}
	cksum, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		return resumeToken{}, fmt.Errorf("checksum: %v", err)
	}
	packedLen, err := strconv.ParseUint(f[2], 16, 64)
	if err != nil || packedLen > maxPackedToken {
		return resumeToken{}, fmt.Errorf("length %q is not a number up to %#x", f[2], maxPackedToken)
	}
	if len(f[3])%2 != 0 {
		return resumeToken{}, errors.New("odd number of hex digits")
	}
	compressed, err := hex.DecodeString(f[3])
	if err != nil {
		return resumeToken{}, fmt.Errorf("hex: %v", err)
	}
	if got := fletcher4(compressed); got != cksum {
		return resumeToken{}, fmt.Errorf("checksum %#x, want %#x", got, cksum)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return resumeToken{}, fmt.Errorf("zlib: %v", err)
	}
	packed, err := io.ReadAll(io.LimitReader(zr, int64(packedLen)+1))
	if err != nil {
		return resumeToken{}, fmt.Errorf("zlib: %v", err)
	}
	if uint64(len(packed)) != packedLen {
		return resumeToken{}, fmt.Errorf("decompresses to %d bytes, want %d", len(packed), packedLen)
	}
	return decodeNVList(packed)
}

// fletcher4 returns the first word of the fletcher-4 checksum of b, in the
// host's byte order, ignoring a last partial word, as
// fletcher_4_native_varsize does.
func fletcher4(b []byte) uint64 {
	var a uint64
	for i := 0; i+4 <= len(b); i += 4 {
		a += uint64(binary.NativeEndian.Uint32(b[i:]))
	}
	return a
}

// decodeNVList reads a resume token's nvlist, packed in the native encoding.
func decodeNVList(b []byte) (resumeToken, error) {
	if len(b) < nvHeaderLen+8 {
		return resumeToken{}, errors.New("nvlist shorter than its header")
	}
	if b[0] != 0 {
		return resumeToken{}, fmt.Errorf("nvlist encoding %d, want 0 (native)", b[0])
	}
	if b[1] != hostByteOrder() {
		return resumeToken{}, fmt.Errorf("nvlist byte order %d, not this host's", b[1])
	}
	order := binary.NativeEndian // this host's, as checked above
	// After the header, the nvlist's version and flags: zfs reads them
	// unchecked, and so does the gate.
	b = b[nvHeaderLen+8:]
	var t resumeToken
	seen := map[string]bool{}
	for {
		if len(b) < 4 {
			return resumeToken{}, errors.New("nvlist ends without its end mark")
		}
		size := int32(order.Uint32(b))
		if size == 0 {
			if len(b) != 4 {
				return resumeToken{}, fmt.Errorf("%d bytes after the nvlist's end mark", len(b)-4)
			}
			break
		}
		if size < align8(nvpairLen+1) || int64(size) > int64(len(b)) {
			return resumeToken{}, fmt.Errorf("nvpair size %d out of range", size)
		}
		name, typ, value, err := nvpair(b[:size])
		if err != nil {
			return resumeToken{}, err
		}
		b = b[size:]
		if seen[name] {
			return resumeToken{}, fmt.Errorf("nvpair %q given twice", name)
		}
		seen[name] = true
		if want, ok := tokenKeys[name]; !ok || want != typ {
			return resumeToken{}, fmt.Errorf("nvpair %q of type %d is not in a resume token zfs makes", name, typ)
		}
		switch name {
		case "toname":
			t.toname = value
		case "rawok":
			t.raw = true
		}
	}
	if t.toname == "" {
		return resumeToken{}, errors.New("no toname")
	}
	return t, nil
}

// nvpair checks one packed nvpair as i_validate_nvpair does, and returns
// its name, type and, for a string, its value. Names and strings must be
// printable ASCII.
func nvpair(p []byte) (name string, typ int32, value string, err error) {
	order := binary.NativeEndian
	size := int32(len(p))
	nameSize := int32(int16(order.Uint16(p[4:])))
	nelem := order.Uint32(p[8:])
	typ = int32(order.Uint32(p[12:]))
	if nameSize <= 0 || align8(nvpairLen+nameSize) > size {
		return "", 0, "", fmt.Errorf("nvpair name size %d out of range", nameSize)
	}
	raw := p[nvpairLen : nvpairLen+nameSize]
	if i := bytes.IndexByte(raw, 0); i != len(raw)-1 {
		return "", 0, "", errors.New("nvpair name not ended by its only NUL")
	}
	name = string(raw[:len(raw)-1])
	if r := checkPrintable(name); r != "" {
		return "", 0, "", fmt.Errorf("nvpair name %s", r)
	}
	v := p[align8(nvpairLen+nameSize):]
	var valueSize int64
	switch typ {
	case nvBoolean:
		if nelem != 0 {
			return "", 0, "", fmt.Errorf("nvpair %q: boolean with %d elements", name, nelem)
		}
	case nvUint64:
		if nelem != 1 {
			return "", 0, "", fmt.Errorf("nvpair %q: %d elements, want 1", name, nelem)
		}
		valueSize = 8
	case nvString:
		if nelem != 1 {
			return "", 0, "", fmt.Errorf("nvpair %q: %d elements, want 1", name, nelem)
		}
		i := bytes.IndexByte(v, 0)
		if i < 0 {
			return "", 0, "", fmt.Errorf("nvpair %q: string without a NUL", name)
		}
		value = string(v[:i])
		if r := checkPrintable(value); r != "" {
			return "", 0, "", fmt.Errorf("nvpair %q: string %s", name, r)
		}
		valueSize = int64(i) + 1
	case nvUint64Array:
		valueSize = int64(nelem) * 8
	default:
		return "", 0, "", fmt.Errorf("nvpair %q of type %d is not in a resume token zfs makes", name, typ)
	}
	if int64(len(v)) != (valueSize+7)&^7 {
		return "", 0, "", fmt.Errorf("nvpair %q: %d bytes of value, want %d", name, len(v), (valueSize+7)&^7)
	}
	return name, typ, value, nil
}

func align8(n int32) int32 { return (n + 7) &^ 7 }

// hostByteOrder is this host's byte order as an nvlist header writes it (1
// little endian, 0 big endian): zfs unpacks a native nvlist of this order
// only.
func hostByteOrder() byte {
	return byte(binary.NativeEndian.Uint16([]byte{1, 0}))
}

// checkPrintable returns why s is not printable ASCII, or "".
func checkPrintable(s string) string {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b > '~' {
			return "contains " + describeByte(b)
		}
	}
	return ""
}

// tokenSnapshot checks that the token's toname is a snapshot under an
// allowed root.
func (g *Gate) tokenSnapshot(t resumeToken) (zfs.Snapshot, error) {
	return g.tokenName("toname", t.toname, false)
}
