package restore

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"restore@host05:tank/vm/restored", "restore@host05:tank/vm/restored", ""},
		{"restore@host05:2222:tank/restored", "restore@host05:2222:tank/restored", ""},
		{"root@[fe80::1%eth0]:22:tank/r", "root@[fe80::1%eth0]:22:tank/r", ""},
		{"root@10.0.0.5:tank/a:b", "root@10.0.0.5:tank/a:b", ""},
		{"host05:tank/r", "", "no user"},
		{"@host05:tank/r", "", "no user"},
		{"restore@host05", "", "no :POOL/PATH"},
		{"restore@:tank/r", "", "no host"},
		{"restore@-oProxyCommand=x:tank/r", "", "starts with '-'"},
		{"restore@host05:0:tank/r", "", "port \"0\""},
		{"restore@host05:70000:tank/r", "", "port \"70000\""},
		{"restore@host05:tank", "", "not a pool"},
		{"restore@host05:tank/r@snap", "", "want USER@HOST"},
		{"restore@host05:22:", "", "want USER@HOST"},
		{"restore@[::1:tank/r", "", "unclosed"},
		{"re store@host05:tank/r", "", "want USER@HOST"},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTarget(%q): got %v, %v; want an error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseTarget(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"restore@host05:tank/vm/r", "a@[::1]:22:p/x", "a@h:1:p/q:r", "@:", "a@h::p/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.User == "" || tg.Host == "" || tg.Host[0] == '-' || tg.Port < 0 || tg.Port > 65535 {
			t.Fatalf("ParseTarget(%q) = %+v", s, tg)
		}
		again, err := ParseTarget(tg.String())
		if err != nil || again != tg {
			t.Fatalf("ParseTarget(%q) = %+v, which prints as %q and parses back as %+v, %v", s, tg, tg.String(), again, err)
		}
	})
}
