#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of tsxen's Debian guest initramfs (template: the asset builder replaces @KVER@ and
# @MODULES@). Mounts the kernel file systems, loads the virtio modules in dependency order,
# prints the boot marker, then powers off (tsxen.init=poweroff, for boot benchmarks) or hands
# PID 1 to busybox init, which runs a job-control shell on the console (the default).
# Protocol (lines on the console): "TSXEN-MODULES: <loaded>", "TSXEN-BOOT-OK", "TSXEN-POWEROFF".
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /root /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root

kver=@KVER@
if [ "$(uname -r)" != "$kver" ]; then
	echo "tsxen-init: warning: running kernel $(uname -r), modules are for $kver"
fi
for m in @MODULES@; do
	insmod "/lib/modules/$kver/$m" || echo "tsxen-init: insmod $m failed"
done
echo "TSXEN-MODULES: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
echo "TSXEN-VIRTIO-DRIVERS: $(ls /sys/bus/virtio/drivers | tr '\n' ' ')"

mode=shell
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	tsxen.init=*) mode="${arg#tsxen.init=}" ;;
	esac
done
hostname tsxen-guest
echo TSXEN-BOOT-OK

case "$mode" in
poweroff)
	echo TSXEN-POWEROFF
	exec poweroff -f
	;;
shell)
	# busybox init reads /etc/inittab: a console shell with job control (cttyhack), respawned
	# when it exits; `poweroff` / `reboot` in the guest shut down through it.
	exec /sbin/init
	;;
*)
	echo "tsxen-init: unknown tsxen.init=$mode (expected poweroff or shell); starting a shell"
	exec /sbin/init
	;;
esac
