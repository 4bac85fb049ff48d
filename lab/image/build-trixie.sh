#!/bin/bash
# Builds the lab's Debian 13 (trixie) guest for the OpenZFS 2.4 track: kernel 6.12 from trixie,
# initrd and a raw ext4 root image with OpenZFS 2.4.x built by DKMS from trixie-backports' contrib.
# Run as root (debootstrap and chroot need it).
#
#   build-trixie.sh OUTDIR TRACK MIRROR
#
# TRACK must be "trixie-backports". This is build.sh with the suite changed (and zfs.ko with any
# compression accepted); it is a file of its own so that the Debian 12 tracks' recipe, and so
# their cached images' keys, stay as they were. This track's recipe is this file, lab-init and
# lab-systemd-boot: changing this file changes its cache key, and only its.
set -euo pipefail

out=$1
track=$2
mirror=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$out/rootfs
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

case "$track" in
trixie-backports) zfs_target=(-t trixie-backports) ;;
*) echo "build-trixie.sh: unknown ZFS track \"$track\" (want trixie-backports)" >&2; exit 2 ;;
esac

step() { printf '[lab-image %s] %s\n' "$(date +%T)" "$*"; }

mounted=()
cleanup() {
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

step "debootstrap trixie from $mirror"
debootstrap --variant=minbase trixie "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
	{ tail -30 "$out/debootstrap.log" >&2; exit 1; }

for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$root/$m"
	mounted+=("$root/$m")
done

cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror trixie main contrib
deb $mirror trixie-updates main contrib
deb $mirror trixie-backports main contrib
SRC
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/90norecommends"

# A small initramfs: only what finds and mounts the virtio root disk. Written before the kernel
# is installed so the initramfs is built once.
mkdir -p "$root/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=zstd\n' >"$root/etc/initramfs-tools/conf.d/vault-lab.conf"
printf 'virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n' >"$root/etc/initramfs-tools/modules"

in_root() { chroot "$root" "$@"; }
step "apt: kernel and base tools"
in_root apt-get update -qq
in_root apt-get install -y -qq zstd >/dev/null
in_root apt-get install -y -qq linux-image-amd64 linux-headers-amd64 initramfs-tools kmod >"$out/kernel.log" 2>&1 ||
	{ tail -30 "$out/kernel.log" >&2; exit 1; }
in_root apt-get install -y -qq openssh-server openssh-client sudo pv mbuffer zstd iproute2 procps psmisc \
	e2fsprogs util-linux sanoid age tmux coreutils findutils systemd >"$out/tools.log" 2>&1 ||
	{ tail -30 "$out/tools.log" >&2; exit 1; }

kver=$(basename "$(ls -d "$root"/lib/modules/*-amd64 | sort -V | tail -1)")
step "apt: OpenZFS (${track}) for kernel $kver"
in_root apt-get install -y -qq "${zfs_target[@]}" zfs-dkms zfsutils-linux >"$out/zfs.log" 2>&1 ||
	{ tail -40 "$out/zfs.log" >&2; exit 1; }
if ! ls "$root/lib/modules/$kver/updates/dkms/" 2>/dev/null | grep -q '^zfs\.ko'; then
	step "dkms did not build for $kver in the postinst; building explicitly"
	in_root dkms autoinstall -k "$kver" >>"$out/zfs.log" 2>&1 || { tail -40 "$out/zfs.log" >&2; exit 1; }
fi
ls "$root/lib/modules/$kver/updates/dkms/" | grep -q '^zfs\.ko' ||
	{ echo "build-trixie.sh: zfs.ko was not built for $kver; see $out/zfs.log" >&2; exit 1; }
in_root depmod "$kver"

zfs_version=$(in_root dpkg-query -W -f='${Version}' zfsutils-linux)
kernel_pkg=$(in_root dpkg-query -W -f='${Version}' "linux-image-$kver")

install -m 0755 "$here/lab-init" "$root/sbin/lab-init"
# The other way to boot, systemd as PID 1 (lab.BootOptions.Init = "systemd"): see lab-systemd-boot.
bash "$here/lab-systemd-boot" "$root"
echo vaultlab >"$root/etc/hostname"
printf '127.0.0.1 localhost vaultlab\n' >"$root/etc/hosts"
# Never start services on boot: lab-init is PID 1 and starts only what a test asks for.
rm -f "$root/usr/sbin/policy-rc.d"

cleanup
mounted=()

step "copy kernel and initrd out, slim the root"
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
rm -rf "$root"/usr/src/* "$root"/var/lib/dkms/*/*/build "$root"/usr/share/doc/* "$root"/usr/share/man/* \
	"$root"/usr/share/locale/* "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
	"$root"/boot/*
for d in gpu media net/wireless net/ethernet infiniband staging bluetooth sound usb hid iio input/touchscreen; do
	rm -rf "$root/lib/modules/$kver/kernel/drivers/$d"
done
rm -rf "$root/lib/modules/$kver/kernel/sound"
chroot "$root" depmod "$kver"

step "make the root image"
mkfs.ext4 -q -F -L vaultlab -d "$root" "$out/rootfs.img" 4G
rm -rf "$root"

cat >"$out/manifest.txt" <<MAN
track=$track
kernel=$kver
kernel_package=$kernel_pkg
zfs=$zfs_version
mirror=$mirror
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MAN
step "done: kernel $kver, zfs $zfs_version"
