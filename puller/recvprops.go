package puller

import (
	"slices"

	"github.com/belltech/vault/zfs"
)

// A stream can carry properties: zfs send -p puts the source's in it, and a hostile source or a
// signer's stolen key can put any. Received as root (an import, bootstrap's first receive) they
// take effect on the vault: where the dataset mounts and whether it does, what it shares over
// NFS or SMB, setuid, the pool space it reserves or multiplies, device nodes for a volume's
// snapshots. (A delegated receive is refused every property it holds no permission for, but it
// holds canmount and readonly.) So every receive, pulled or imported, full, incremental or
// resumed, sets floorSet and excludes floorExclude, unless the job's receive.set or
// receive.exclude names the property itself. Measured on each lab track (TestLabReceivedProps):
// -o and -x hold on full, incremental and resumed receives; -x needs no permission and leaves a
// value set locally on the target alone; -o canmount on a volume fails the receive, -x of a
// property a volume lacks is only a warning; -x refreservation does not hold on an incremental
// before OpenZFS 2.4 (2.1.11, 2.3.2; it does on 2.4.4): the import sets it back, see cmd/vault's
// import. The same on 2.1, 2.3 and 2.4 otherwise.
var (
	floorSet     = []zfs.PropSetting{{Name: "canmount", Value: "noauto"}, {Name: "readonly", Value: "on"}}
	floorExclude = []string{"mountpoint", "sharenfs", "sharesmb", "setuid", "copies", "dedup", "reservation", "refreservation", "snapdev", "volmode"}
)

// FloorExclude is what every receive excludes unless the job sets it: for a read-back after a
// receive that ran as root.
func FloorExclude() []string { return slices.Clone(floorExclude) }

// volumeIgnores are properties that do not apply to volumes: -o of one fails a volume's receive.
var volumeIgnores = map[string]bool{"canmount": true, "atime": true, "relatime": true, "mountpoint": true,
	"exec": true, "setuid": true, "devices": true, "xattr": true, "sharenfs": true, "sharesmb": true, "snapdir": true,
	"aclinherit": true, "aclmode": true, "acltype": true, "dnodesize": true, "overlay": true, "recordsize": true, "zoned": true, "jailed": true}

// filesystemIgnores are properties that apply to volumes only.
var filesystemIgnores = map[string]bool{"snapdev": true, "volmode": true, "volsize": true, "volblocksize": true}

// ReceiveProps gives the -o and -x settings of every receive into a dataset of the type typ:
// the job's, then the vault's floor for what the job does not name. typ "" (the first import of a
// stream, whose type is not known before it arrives) gives what holds for both types: only the
// settings valid for volumes are set, a filesystem's own (canmount) is excluded instead and set
// right after the receive ([ReceivePropsAfter]), and every exclusion is passed (-x of a property
// the type lacks is a warning, not a failure, since OpenZFS 2.1).
func ReceiveProps(job *Job, typ zfs.Type) ([]zfs.PropSetting, []string) {
	named := map[string]bool{}
	for _, s := range job.ReceiveSet {
		named[s.Name] = true
	}
	for _, x := range job.ReceiveExclude {
		named[x] = true
	}
	sets := slices.Clone(job.ReceiveSet)
	for _, s := range floorSet {
		if !named[s.Name] {
			sets = append(sets, s)
		}
	}
	excludes := slices.Clone(job.ReceiveExclude)
	for _, x := range floorExclude {
		if !named[x] {
			excludes = append(excludes, x)
		}
	}
	var set []zfs.PropSetting
	var exclude []string
	for _, s := range sets {
		switch {
		case typ == "" && volumeIgnores[s.Name]:
			exclude = append(exclude, s.Name)
		case typ == zfs.TypeVolume && volumeIgnores[s.Name], typ == zfs.TypeFilesystem && filesystemIgnores[s.Name]:
		default:
			set = append(set, s)
		}
	}
	for _, x := range excludes {
		if typ == zfs.TypeVolume && volumeIgnores[x] || typ == zfs.TypeFilesystem && filesystemIgnores[x] || slices.Contains(exclude, x) {
			continue
		}
		exclude = append(exclude, x)
	}
	return set, exclude
}

// ReceivePropsAfter gives what a receive of unknown type (typ "" in [ReceiveProps]) could not set
// and is set once the type is known: the settings of typ that apply to filesystems only.
func ReceivePropsAfter(job *Job, typ zfs.Type) []zfs.PropSetting {
	set, _ := ReceiveProps(job, typ)
	var after []zfs.PropSetting
	for _, s := range set {
		if volumeIgnores[s.Name] {
			after = append(after, s)
		}
	}
	return after
}
