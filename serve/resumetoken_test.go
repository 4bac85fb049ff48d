package serve

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// labToken is a receive_resume_token that OpenZFS 2.3 made in the lab, for a
// full send of host05data/capture-src@2026-11-26_00.00.00--1w cut short
// (zfs/testdata/list/lab-resume-token.txt).
const labToken = "1-ced80cd1a-d8-789c636064000310a500c4ec50360710e72765a52697303030419460caa7a515a7968064f6c0e5d990e4932a4b528b81f489da7d58f597e4a79766a630302c655fe41e9a22eaeb8124cf0996cf4bcc4d6560c8c82f2e31304d492c49d44f4e2c28292d4ad52d2e4a7630323032d33534d435328b3730d003235d5dc372885b0139c42021"

// nvp is one pair for makeToken: value is nil (boolean), a uint64, a
// string or a []uint64.
type nvp struct {
	name  string
	value any
}

// packNVList packs pairs as fnvlist_pack does (native encoding, this
// host's byte order), for the tests.
func packNVList(pairs ...nvp) []byte {
	o := binary.NativeEndian
	var b bytes.Buffer
	b.Write([]byte{0, hostByteOrder(), 0, 0})
	b.Write(o.AppendUint32(o.AppendUint32(nil, 0), 1)) // version 0, NV_UNIQUE_NAME
	for _, p := range pairs {
		var typ, nelem uint32
		var val []byte
		switch v := p.value.(type) {
		case nil:
			typ = nvBoolean
		case uint64:
			typ, nelem, val = nvUint64, 1, o.AppendUint64(nil, v)
		case string:
			typ, nelem, val = nvString, 1, append([]byte(v), 0)
		case []uint64:
			typ, nelem = nvUint64Array, uint32(len(v))
			for _, x := range v {
				val = o.AppendUint64(val, x)
			}
		default:
			panic(fmt.Sprintf("nvp %q: %T", p.name, v))
		}
		name := append([]byte(p.name), 0)
		valoff := align8(nvpairLen + int32(len(name)))
		size := valoff + align8(int32(len(val)))
		pair := make([]byte, size)
		o.PutUint32(pair[0:], uint32(size))
		o.PutUint16(pair[4:], uint16(len(name)))
		o.PutUint32(pair[8:], nelem)
		o.PutUint32(pair[12:], typ)
		copy(pair[nvpairLen:], name)
		copy(pair[valoff:], val)
		b.Write(pair)
	}
	b.Write([]byte{0, 0, 0, 0})
	return b.Bytes()
}

// tokenOf makes the receive_resume_token of a packed nvlist.
func tokenOf(packed []byte) string {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(packed)
	w.Close()
	return fmt.Sprintf("1-%x-%x-%s", fletcher4(z.Bytes()), len(packed), hex.EncodeToString(z.Bytes()))
}

// makeToken makes a token like zfs's for a send of toname, raw if raw.
func makeToken(toname string, raw bool) string {
	pairs := []nvp{{"object", uint64(9)}, {"offset", uint64(0x4e0000)}, {"bytes", uint64(0x4f2f80)},
		{"toguid", uint64(0x8a6b4d0bcbf9b6c3)}, {"toname", toname}, {"largeblockok", nil}, {"compressok", nil}}
	if raw {
		pairs = append(pairs, nvp{"rawok", nil})
	}
	return tokenOf(packNVList(pairs...))
}

func TestDecodeToken(t *testing.T) {
	got, err := decodeToken(labToken)
	require.NoError(t, err)
	require.Equal(t, resumeToken{toname: "host05data/capture-src@2026-11-26_00.00.00--1w"}, got)

	got, err = decodeToken(makeToken("host05data/jail@a", true))
	require.NoError(t, err)
	require.Equal(t, resumeToken{toname: "host05data/jail@a", raw: true}, got)

	incr := tokenOf(packNVList(nvp{"fromguid", uint64(7)}, nvp{"object", uint64(1)}, nvp{"offset", uint64(0)},
		nvp{"bytes", uint64(0)}, nvp{"toguid", uint64(8)}, nvp{"toname", "tank/my data@b"},
		nvp{"embedok", nil}, nvp{"redact_snaps", []uint64{1, 2}}))
	got, err = decodeToken(incr)
	require.NoError(t, err)
	require.Equal(t, resumeToken{toname: "tank/my data@b"}, got)

	packed := packNVList(nvp{"toname", "host05data/jail@a"})
	z := strings.Split(tokenOf(packed), "-")
	for _, tc := range []struct {
		name, token, want string
	}{
		{"three fields", "1-abc-" + z[3], "3 fields"},
		{"five fields", "1-" + z[1] + "-" + z[2] + "-" + z[3] + "-00", "5 fields"},
		{"version 2", "2-" + z[1] + "-" + z[2] + "-" + z[3], `version "2"`},
		{"bad checksum", "1-1-" + z[2] + "-" + z[3], "checksum 0x"},
		{"empty checksum", "1--" + z[2] + "-" + z[3], "checksum"},
		{"length too long", "1-" + z[1] + "-" + fmt.Sprintf("%x", len(packed)+1) + "-" + z[3], "decompresses to"},
		{"length too short", "1-" + z[1] + "-" + fmt.Sprintf("%x", len(packed)-1) + "-" + z[3], "decompresses to"},
		{"length huge", "1-" + z[1] + "-ffffffff-" + z[3], "is not a number up to"},
		{"odd hex", "1-" + z[1] + "-" + z[2] + "-" + z[3] + "0", "odd number"},
		{"not zlib", "1-0-10-00000000", "zlib"},
		{"xdr encoding", tokenOf(append([]byte{1}, packed[1:]...)), "encoding 1"},
		{"other byte order", tokenOf(append([]byte{0, 1 - hostByteOrder()}, packed[2:]...)), "byte order"},
		{"no end mark", tokenOf(packed[:len(packed)-4]), "without its end mark"},
		{"after the end mark", tokenOf(append(packed, 0, 0, 0, 0)), "after the nvlist's end mark"},
		{"header only", tokenOf(packed[:6]), "shorter than its header"},
		{"no toname", tokenOf(packNVList(nvp{"toguid", uint64(1)})), "no toname"},
		{"toname twice", tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"toname", "host05data/secret@a"})), `"toname" given twice`},
		{"toname not a string", tokenOf(packNVList(nvp{"toname", uint64(1)})), `"toname" of type 8`},
		{"rawok not a boolean", tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"rawok", uint64(1)})), `"rawok" of type 8`},
		{"savedok", tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"savedok", nil})), `"savedok"`},
		{"unknown key", tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"x", "y"})), `"x" of type 9`},
		{"newline in toname", tokenOf(packNVList(nvp{"toname", "host05data/jail@a\n\trawok = 1"})), `string contains byte 0xa`},
		{"newline in a name", tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"x\nfull", nil})), "name contains byte 0xa"},
	} {
		_, err := decodeToken(tc.token)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: decodeToken(%q): got %v, want an error with %q", tc.name, tc.token, err, tc.want)
		}
	}
}

// TestDecodeNVPair checks the pair-level rules of i_validate_nvpair.
func TestDecodeNVPair(t *testing.T) {
	good := packNVList(nvp{"toname", "host05data/jail@a"})
	o := binary.NativeEndian
	const pair = nvHeaderLen + 8 // where the first pair starts
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"size too small", edit(func(b []byte) { o.PutUint32(b[pair:], 16) }), "nvpair size 16 out of range"},
		{"size past the end", edit(func(b []byte) { o.PutUint32(b[pair:], 4096) }), "out of range"},
		{"negative size", edit(func(b []byte) { o.PutUint32(b[pair:], 0xfffffff8) }), "out of range"},
		{"name size 0", edit(func(b []byte) { o.PutUint16(b[pair+4:], 0) }), "name size 0"},
		{"name size past the pair", edit(func(b []byte) { o.PutUint16(b[pair+4:], 200) }), "name size 200"},
		{"name without its NUL", edit(func(b []byte) { b[pair+nvpairLen+6] = 'x' }), "not ended by its only NUL"},
		{"NUL inside the name", edit(func(b []byte) { b[pair+nvpairLen+2] = 0 }), "not ended by its only NUL"},
		{"two elements", edit(func(b []byte) { o.PutUint32(b[pair+8:], 2) }), "2 elements"},
		{"string without a NUL", edit(func(b []byte) {
			for i := pair + 24; i < len(b)-4; i++ {
				b[i] = 'a'
			}
		}), "without a NUL"},
		{"string shorter than its pair", edit(func(b []byte) { b[pair+24+3] = 0 }), "bytes of value"},
		{"unknown type", edit(func(b []byte) { o.PutUint32(b[pair+12:], 19) }), "type 19"},
	} {
		_, err := decodeNVList(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(labToken)
	f.Add(makeToken("host05data/jail@a", true))
	f.Add(makeToken("host05data/jail@a", false))
	f.Add(tokenOf(packNVList(nvp{"toname", "host05data/jail@a"}, nvp{"redact_snaps", []uint64{1}})))
	f.Fuzz(func(t *testing.T, token string) {
		if checkToken(token) != "" {
			return
		}
		got, err := decodeToken(token)
		if err != nil {
			return
		}
		// What was read is what a real token says: a printable toname,
		// and rawok exactly when the nvlist has that pair.
		if got.toname == "" || checkPrintable(got.toname) != "" {
			t.Fatalf("decodeToken(%q) = %+v", token, got)
		}
	})
}
