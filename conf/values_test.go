package conf

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"26h", 26 * time.Hour, ""},
		{"90s", 90 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1w2d", 9 * 24 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"", 0, "empty duration"},
		{"0s", 0, "is zero"},
		{"0d", 0, "is zero"},
		{"-5m", 0, "is negative"},
		{"+5m", 0, "has a sign"},
		{"26", 0, "write a number and a unit"},
		{"h", 0, "write a number and a unit"},
		{"1y", 0, `unknown unit "y"`},
		{"10 minutes", 0, `unknown unit " minutes"`},
		{"1..5d", 0, "bad number"},
		{"200000w", 0, "too long"},
		{"9223372037s", 0, "out of range"},
		{"106751d23h47m16s900ms", 0, "too long"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseDuration(%q): got %v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q): got %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{14 * 24 * time.Hour, "2w"},
		{3 * 24 * time.Hour, "3d"},
		{24 * time.Hour, "24h"},
		{26 * time.Hour, "26h"},
		{90 * time.Minute, "1h30m"},
		{10 * time.Minute, "10m"},
		{45 * time.Second, "45s"},
		{time.Hour + time.Second, "1h0m1s"},
	} {
		if got := FormatDuration(tc.in); got != tc.want {
			t.Errorf("FormatDuration(%v): got %q, want %q", tc.in, got, tc.want)
		}
		back, err := ParseDuration(FormatDuration(tc.in))
		if err != nil || back != tc.in {
			t.Errorf("ParseDuration(FormatDuration(%v)): got %v, %v, want it back", tc.in, back, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Size
		wantErr string
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"20MiB", 20 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"3KiB", 3 << 10, ""},
		{"500M", 500e6, ""},
		{"1K", 1000, ""},
		{"4G", 4e9, ""},
		{"1T", 1e12, ""},
		{"", 0, "invalid size"},
		{"MiB", 0, "invalid size"},
		{"1.5GiB", 0, "invalid size"},
		{"-1G", 0, "invalid size"},
		{"20 MiB", 0, "invalid size"},
		{"20mib", 0, "invalid size"},
		{"20MB", 0, "invalid size"},
		{"9999999999T", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	} {
		got, err := ParseSize(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSize(%q): got %v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q): got %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	for _, tc := range []struct {
		in   Size
		want string
	}{
		{0, "0 B"},
		{1 << 30, "1 GiB"},
		{20 << 20, "20 MiB"},
		{500e6, "500 MB"},
		{1000, "1 kB"},
		{1234, "1234 B"},
		{3 << 40, "3 TiB"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Size(%d).String(): got %q, want %q", int64(tc.in), got, tc.want)
		}
	}
}

func TestParseTTL(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      string // String() of the result
		wantWords string
		wantErr   string
	}{
		{"forever", "forever", "forever", ""},
		{"1w", "1w", "1 week", ""},
		{"1y2m3w4d5h6M7s", "1y2m3w4d5h6M7s", "1 year 2 months 3 weeks 4 days 5 hours 6 minutes 7 seconds", ""},
		{"30M", "30M", "30 minutes", ""},
		{"6m", "6m", "6 months", ""},
		{"2y10d", "2y10d", "2 years 10 days", ""},
		{"", "", "", "empty TTL"},
		{"1", "", "", "write"},
		{"w", "", "", "write"},
		{"1x", "", "", `unknown unit "x"`},
		{"1w1y", "", "", "out of order"},
		{"1w1w", "", "", "out of order"},
		{"0w", "", "", "leading zeros"},
		{"01w", "", "", "leading zeros"},
		{"-1w", "", "", "write"},
		{"Forever", "", "", "write"},
		{"99999999999d", "", "", "too large"},
	} {
		got, err := ParseTTL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTTL(%q): got %v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		require.NoError(t, err, tc.in)
		if got.String() != tc.want || got.Words() != tc.wantWords {
			t.Errorf("ParseTTL(%q): got %q (%q), want %q (%q)", tc.in, got.String(), got.Words(), tc.want, tc.wantWords)
		}
	}
}

func TestParseGridRule(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    GridRule
		wantErr string
	}{
		{"14 daily", GridRule{Count: 14, Unit: "daily"}, ""},
		{"24 hourly", GridRule{Count: 24, Unit: "hourly"}, ""},
		{"8 weekly", GridRule{Count: 8, Unit: "weekly"}, ""},
		{"12 monthly", GridRule{Count: 12, Unit: "monthly"}, ""},
		{"forever yearly", GridRule{Forever: true, Unit: "yearly"}, ""},
		{"  3   daily ", GridRule{Count: 3, Unit: "daily"}, ""},
		{"14 daly", GridRule{}, `unknown unit "daly"`},
		{"14 days", GridRule{}, `unknown unit "days"`},
		{"0 daily", GridRule{}, "positive whole number"},
		{"-1 daily", GridRule{}, "positive whole number"},
		{"+1 daily", GridRule{}, "positive whole number"},
		{"07 daily", GridRule{}, "positive whole number"},
		{"14", GridRule{}, "write a count and a unit"},
		{"14 daily 3", GridRule{}, "write a count and a unit"},
		{"", GridRule{}, "write a count and a unit"},
	} {
		got, err := ParseGridRule(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseGridRule(%q): got %v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseGridRule(%q): got %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRemote(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Remote
		wantErr string
	}{
		{"backup@host05", Remote{"backup", "host05", 22}, ""},
		{"backup@host05:2222", Remote{"backup", "host05", 2222}, ""},
		{"backup@host05.office.example.", Remote{"backup", "host05.office.example.", 22}, ""},
		{"backup@192.0.2.7", Remote{"backup", "192.0.2.7", 22}, ""},
		{"backup@192.0.2.7:23", Remote{"backup", "192.0.2.7", 23}, ""},
		{"backup@[2001:db8::5]", Remote{"backup", "2001:db8::5", 22}, ""},
		{"backup@[2001:db8::5]:2222", Remote{"backup", "2001:db8::5", 2222}, ""},
		{"_zfs.backup-1@h", Remote{"_zfs.backup-1", "h", 22}, ""},
		{"host05", Remote{}, "write user@host"},
		{"@host05", Remote{}, "empty user name"},
		{"-oProxyCommand=x@host05", Remote{}, "not a valid user name"},
		{"backup@", Remote{}, "empty host name"},
		{"backup@-oProxyCommand=x", Remote{}, "not a valid host name"},
		{"backup@host_05", Remote{}, "not a valid host name"},
		{"backup@host05:", Remote{}, "empty port"},
		{"backup@host05:0", Remote{}, "from 1 to 65535"},
		{"backup@host05:022", Remote{}, "from 1 to 65535"},
		{"backup@host05:65536", Remote{}, "from 1 to 65535"},
		{"backup@host05:ssh", Remote{}, "from 1 to 65535"},
		{"backup@2001:db8::5", Remote{}, "in brackets"},
		{"backup@[2001:db8::5", Remote{}, `missing "]"`},
		{"backup@[192.0.2.7]", Remote{}, "not an IPv6 address"},
		{"backup@[fe80::1%eth0]", Remote{}, "not an IPv6 address"},
		{"backup@[2001:db8::5]22", Remote{}, "[address]:port"},
		{"backup@[2001:db8::5]:", Remote{}, "empty port"},
		{"backup@a..b", Remote{}, "not a valid host name"},
	} {
		got, err := ParseRemote(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseRemote(%q): got %+v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRemote(%q): got %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
		back, err := ParseRemote(got.String())
		if err != nil || back != got {
			t.Errorf("ParseRemote(%q.String()): got %+v, %v, want %+v", tc.in, back, err, got)
		}
	}
}

func TestSignerKey(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	text := FormatSignerKey(pub)
	got, err := ParseSignerKey(text)
	require.NoError(t, err)
	if !got.Equal(pub) {
		t.Errorf("ParseSignerKey(FormatSignerKey(k)): got %x, want %x", got, pub)
	}
	for _, bad := range []string{
		"",
		strings.TrimPrefix(text, SignerKeyPrefix),
		"ssh-ed25519 " + strings.TrimPrefix(text, SignerKeyPrefix),
		strings.TrimSuffix(text, "="),
		text[:len(text)-8] + "AAAA====",
		SignerKeyPrefix + "AAAA",
		text + "AAAA",
	} {
		if _, err := ParseSignerKey(bad); err == nil {
			t.Errorf("ParseSignerKey(%q): got no error, want one", bad)
		}
	}
}

func TestCheckDataset(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{"tank", ""},
		{"tank/a", ""},
		{"host05data/jail/drive.client", ""},
		{"rust10/Backups/host 05/a_b:c-d.e", ""},
		{"1pool/x", "does not begin with a letter"}, // zpool(8): a pool name begins with a letter
		{"", "empty"},
		{"-tank", `starts with "-"`},
		{"tank/-a", "starts with '-'"}, // zfs refuses it too
		{"tank/a@snap", "snapshot or bookmark"},
		{"tank/a#bm", "snapshot or bookmark"},
		{"tank//a", "empty component"},
		{"/tank/a", "empty component"},
		{"tank/a/", "empty component"},
		{"tank/./a", `"." component`},
		{"tank/..", `".." component`},
		{"_tank", "pool name must start"},
		{".tank", "pool name must start"},
		{"tank/a;b", `contains ";"`},
		{"tank/a\nb", `contains "\n"`},
		{"tank/ä", "contains"},
		{"tank/" + strings.Repeat("a", 251), "256 bytes"},
		{"tank/" + strings.Repeat("a", 250), ""},
	} {
		err := checkDataset(tc.in)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("checkDataset(%q): got %v, want no error", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("checkDataset(%q): got %v, want an error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec    string
		loc     *time.Location
		next    time.Time
		gap     time.Duration
		wantErr string
	}{
		{"15 1 * * *", time.UTC, time.Date(2025, 3, 2, 1, 15, 0, 0, time.UTC), 24 * time.Hour, ""},
		{"15 1 * * *", berlin, time.Date(2025, 3, 2, 0, 15, 0, 0, time.UTC), 24 * time.Hour, ""},
		{"@hourly", time.UTC, time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC), time.Hour, ""},
		{"*/15 * * * *", time.UTC, time.Date(2025, 3, 1, 12, 15, 0, 0, time.UTC), 15 * time.Minute, ""},
		{"30 3 * * 0", time.UTC, time.Date(2025, 3, 2, 3, 30, 0, 0, time.UTC), 7 * 24 * time.Hour, ""},
		{"@every 15m", time.UTC, at.Add(15 * time.Minute), 15 * time.Minute, ""},
		{"0 9-17 * * 1-5", time.UTC, time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), 64 * time.Hour, ""},
		{"", nil, time.Time{}, 0, "empty cron spec"},
		{"* * * *", nil, time.Time{}, 0, "expected exactly 5 fields"},
		{"0 * * * * *", nil, time.Time{}, 0, "expected exactly 5 fields"},
		{"61 * * * *", nil, time.Time{}, 0, "above maximum"},
		{"@fortnightly", nil, time.Time{}, 0, "unrecognized descriptor"},
		{"@every 30s", nil, time.Time{}, 0, "more often than once a minute"},
		{"0 0 30 2 *", nil, time.Time{}, 0, "never fires"},
		{"TZ=UTC 0 1 * * *", nil, time.Time{}, 0, "its own time zone"},
		{"TZ=", nil, time.Time{}, 0, "its own time zone"},
		{"CRON_TZ=UTC 0 1 * * *", nil, time.Time{}, 0, "its own time zone"},
	} {
		s, err := ParseSchedule(tc.spec, tc.loc)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSchedule(%q): got %v, want an error containing %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		require.NoError(t, err, tc.spec)
		if got := s.Next(at); !got.Equal(tc.next) {
			t.Errorf("ParseSchedule(%q, %v).Next(%v): got %v, want %v", tc.spec, tc.loc, at, got, tc.next)
		}
		if got := s.longestGap(); got != tc.gap {
			t.Errorf("ParseSchedule(%q).longestGap(): got %v, want %v", tc.spec, got, tc.gap)
		}
	}
	var zero Schedule
	if !zero.IsZero() || !zero.Next(at).IsZero() {
		t.Errorf("zero Schedule: got IsZero %v, Next %v, want true and the zero time", zero.IsZero(), zero.Next(at))
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"schedule", "schedule", 0},
		{"shedule", "schedule", 1},
		{"scheduel", "schedule", 1},
		{"rpo", "rop", 1},
		{"", "abc", 3},
		{"max_paralel", "max_parallel", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// Whatever the configuration accepts as a dataset, the zfs package accepts too (issue 18: it
// once took "1pool/x", "pool/-x", "mirror/x").
func FuzzCheckDatasetAgreesWithZFS(f *testing.F) {
	for _, s := range []string{"rust10/Backups/host05", "1pool/x", "pool/-x", "mirror/x", "rust10/-B", "a", "raidz1/x", "c0d0/x", "log/x", "pool/a b", "pool/a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkDataset(name) != nil {
			return
		}
		if _, err := zfs.ParseDataset(name); err != nil {
			t.Fatalf("checkDataset(%q) accepts what zfs.ParseDataset refuses: %v", name, err)
		}
	})
}

func TestCheckDatasetRefusesWhatZFSRefuses(t *testing.T) {
	for _, name := range []string{"1pool/x", "pool/-x", "mirror/x", "rust10/-B"} {
		if err := checkDataset(name); err == nil {
			t.Errorf("checkDataset(%q) accepted a name zfs refuses", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
