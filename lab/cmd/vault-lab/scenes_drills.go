package main

// The offline host's media, the ransomware drills and the way back.

const pullAsBackup = "su backup -c '/mnt/lab/vault pull -c /etc/vault/vault.toml'"

// newestOf is a shell expression: the newest snapshot name (after the @) of one dataset.
func newestOf(ds string) string {
	return "$(zfs list -H -t snapshot -o name -s createtxg -d 1 " + ds + " | tail -n 1 | cut -d@ -f2)"
}

var offlineScenes = []step{
	{say: "An offline host (host09, no network to the vault) holds a dataset of its own. It gets a signing " +
		"key, the vault an age key; the vault's configuration pins host09's public key and what it may send.",
		script: `zfs create -p host05data/offline/fs && head -c 12M /dev/urandom >/host05data/offline/fs/ledger.db
zfs snapshot host05data/offline/fs@2026-12-01_00.00.00--1m
install -d -m 0700 /root/keys
/mnt/lab/vault keygen --signing /root/keys/host09.sign | tee /root/keys/host09.out
/mnt/lab/vault keygen --age /etc/vault/vault.age | tee /root/keys/vault-age.out
pub=$(sed -n 's/.*public_key = "\(.*\)".*/\1/p' /root/keys/host09.out)
sed -i '1i age_identity = "/etc/vault/vault.age"' /etc/vault/vault.toml
cat >>/etc/vault/vault.toml <<TOML

[[signer]]
name = "host09"
public_key = "$pub"
datasets = ["host05data/offline"]

[[job]]
name = "offline"
media_signers = ["host09"]
source_datasets = ["host05data/offline/fs"]
target = "rust10/Vault/offline"
rpo = "8d"
TOML
/mnt/lab/vault config check /etc/vault/vault.toml >/tmp/check.out
grep -i -E 'offline|signer|host09' /tmp/check.out || sed -n '1,12p' /tmp/check.out`},
	{say: "On host09, `vault export` writes the snapshot to a directory standing in for a USB stick: encrypted " +
		"to the vault's age key, signed by host09, cut into volumes.",
		script: `rcpt=$(grep -o 'age1[0-9a-z]*' /root/keys/vault-age.out | sed -n 1p)
mkdir -p /media/usb
/mnt/lab/vault export --to /media/usb --signing-key /root/keys/host09.sign --recipient $rcpt --volume-size 8MiB --host host09 host05data/offline/fs@2026-12-01_00.00.00--1m
ls -l /media/usb | cut -c1-110`},
	{say: "On the vault, `vault import` checks the signature and that host09 may send this dataset, verifies " +
		"every segment, and only then lets zfs receive finish. A replay is \"already imported\".",
		script: `/mnt/lab/vault import -c /etc/vault/vault.toml /media/usb/*.manifest
/mnt/lab/vault import -c /etc/vault/vault.toml /media/usb/*.manifest
zfs list -t snapshot -o name,used -r rust10/Vault/offline`},
}

var drillScenes = []step{
	{say: "Someone with the vault's stolen key tries to destroy the client's snapshots through the gate. Refused:",
		user: "backup", wantExit: 2,
		script: "ssh -T -o BatchMode=yes backup@127.0.0.1 'zfs destroy -r host05data/jail@%'"},
	{say: "Ransomware on the client: an attacker with root there releases the vault's holds and destroys every " +
		"snapshot of the web jail. The vault mirrors no deletion: it keeps its copies and says so.",
		script: `zfs holds -H $(zfs list -H -t snapshot -o name host05data/jail/www.client) | cut -f1,2 | while read -r s tag; do zfs release "$tag" "$s"; done
zfs destroy -r host05data/jail/www.client@%
` + pullAsBackup + `
zfs list -H -t snapshot -o name rust10/Vault/host05/jail/www.client | wc -l | sed 's/$/ snapshots kept on the vault/'`},
	{say: "Then the attacker rolls the file server back a night and writes over it: a diverged source. The vault " +
		"stops that dataset, keeps everything, exits 3 and names the command for the operator.",
		wantExit: 3,
		script: `fs=host05data/vm/fs.client
newest=` + newestOf("host05data/vm/fs.client") + `
zfs release vault:lab:host05 $fs@$newest
zfs rollback -r $fs@$(zfs list -H -t snapshot -o name -s createtxg -d 1 $fs | tail -n 2 | sed -n 1p | cut -d@ -f2)
head -c 1M /dev/urandom >/$fs/encrypted-by-ransomware.bin
zfs snapshot $fs@$(date -u +%Y-%m-%d_%H.%M.%S)--1w
` + pullAsBackup},
	{say: "The vault's copy of the file server still holds every good snapshot, the newest one too:",
		script: "zfs list -t snapshot -o name,creation -d 1 rust10/Vault/host05/vm/fs.client | sed -n '1p;$p'"},
}

var wayBackScenes = []step{
	{say: "The way back. A restore user on the client, with its own key (not the vault's) and only create, " +
		"mount and receive under host05data/vm:",
		script: `useradd -m -s /bin/bash restore
install -d -o restore -g restore -m 0700 /home/restore/.ssh
ssh-keygen -q -t ed25519 -N '' -C vault-restore -f /root/restore_ed25519
echo "restrict $(cat /root/restore_ed25519.pub)" >/home/restore/.ssh/authorized_keys
chown restore:restore /home/restore/.ssh/authorized_keys && chmod 0600 /home/restore/.ssh/authorized_keys
zfs allow -u restore create,mount,receive,compression,recordsize,userprop host05data/vm
zfs allow host05data/vm | sed -n '1,4p'`},
	{say: "`vault restore send --newest-only` sends the last good snapshot from the vault, beside the VM, as the " +
		"restore user:",
		script: `good=` + newestOf("rust10/Vault/host05/vm/fs.client") + `
/mnt/lab/vault restore send -c /etc/vault/vault.toml --newest-only host05 host05data/vm/fs.client@$good --to restore@127.0.0.1:host05data/vm/fs.client-restored --identity /root/restore_ed25519
zfs list -r -t all -o name,used host05data/vm/fs.client-restored`},
	{say: "Checked: the restored copy holds what the vault holds, file for file and the disk byte for byte.",
		script: `good=` + newestOf("rust10/Vault/host05/vm/fs.client") + `
for ds in fs.client fs.client/c-drive; do
  a=$(/mnt/lab/snapsum rust10/Vault/host05/vm/$ds@$good); b=$(/mnt/lab/snapsum host05data/vm/${ds/fs.client/fs.client-restored}@$good)
  echo "$ds@$good vault $a restored $b"; [ "$a" = "$b" ]
done`},
	{say: "Into place: the ransomed dataset is kept under the pool's Archive, the restored one takes its name and is mounted (restores arrive unmounted).",
		script: `zfs create -p -o canmount=off host05data/Archive
zfs rename host05data/vm/fs.client host05data/Archive/fs.client-ransomed
zfs rename host05data/vm/fs.client-restored host05data/vm/fs.client
zfs mount host05data/vm/fs.client
zfs list -r -o name,used,mounted host05data/vm host05data/Archive`},
}

// scenario is the story `make demo` tells. It grows with each capability vault gains.
var scenario = concat(setupScenes, daemonScenes, offlineScenes, drillScenes, wayBackScenes)

func concat(parts ...[]step) []step {
	var all []step
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}
