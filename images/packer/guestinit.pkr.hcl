// A bootable VM image with guestinit as /sbin/init, built with Packer's qemu
// builder from an existing raw root disk (images/vm/build-disk.sh, or any
// Debian/Ubuntu root file system with Python 3 and sshd on an ext4 image).
//
//   CHECKPOINT_DISABLE=1 packer build \
//     -var base_image=/path/disk.raw -var kernel=/path/vmlinux \
//     -var initramfs=/path/initramfs -var ssh_private_key_file=/path/key \
//     images/packer
//
// The guest boots with the given kernel (-kernel: no boot loader in the image),
// Packer logs in as root over ssh, uploads the guestinit checkout and runs
// images/install.sh in the guest (offline from wheels_dir when given, e.g.
// filled by `pip download pip hatchling mfusepy psutil pyroute2`), then powers
// the guest off through guestinit itself (`guestinit ctl poweroff`) and keeps
// the disk as output_directory/image_name. Written for Packer >= 1.6.6, whose qemu builder
// is built in (no `packer init`).

locals {
  // Offline installs: pip takes guestinit's dependencies from the uploaded wheels.
  wheels_option = var.wheels_dir == "" ? "" : "--wheels /tmp/guestinit-src/${basename(var.wheels_dir)}"
}

source "qemu" "guestinit" {
  iso_url      = "file://${var.base_image}"
  iso_checksum = "none"
  disk_image   = true
  // The base image is copied, never changed.
  use_backing_file = false
  format           = "raw"
  skip_compaction  = true
  skip_resize_disk = true
  disk_interface   = "virtio"
  net_device       = "virtio-net"

  accelerator = var.accelerator
  memory      = var.memory
  cpus        = var.cpus
  headless    = true
  // Packer 1.6.6 cannot start qemu with a VNC display on these hosts.
  disable_vnc = true

  qemuargs = [
    ["-kernel", var.kernel],
    ["-initrd", var.initramfs],
    ["-append", "console=ttyS0 root=/dev/vda rw panic=-1"],
    ["-serial", "file:${var.output_directory}.serial.log"],
    ["-no-reboot"],
    // Our own user network: ssh forwarded from the host's loopback only, and
    // restrict=on keeps the guest off every other network.
    ["-netdev", "user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net,netdev=user.0"],
  ]

  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.boot_timeout
  host_port_min        = 2222
  host_port_max        = 4444

  // guestinit stops the units, unmounts, and powers the guest off; qemu exits.
  shutdown_command = "guestinit ctl poweroff"
  shutdown_timeout = "2m"

  output_directory = var.output_directory
  vm_name          = var.image_name
}

build {
  sources = ["source.qemu.guestinit"]

  provisioner "shell" {
    inline = ["rm -rf /tmp/guestinit-src", "mkdir -p /tmp/guestinit-src"]
  }

  provisioner "file" {
    sources     = ["${var.source_dir}/pyproject.toml", "${var.source_dir}/README.md"]
    destination = "/tmp/guestinit-src/"
  }

  // The wheels folder (when given) travels with the sources, as
  // /tmp/guestinit-src/<its name>.
  provisioner "file" {
    sources = concat(
      ["${var.source_dir}/guestinit", "${var.source_dir}/fuse", "${var.source_dir}/units", "${var.source_dir}/images"],
      var.wheels_dir == "" ? [] : [var.wheels_dir],
    )
    destination = "/tmp/guestinit-src/"
  }

  provisioner "shell" {
    inline = [
      "/tmp/guestinit-src/images/install.sh --from /tmp/guestinit-src --sbin-init --units ${var.units} ${local.wheels_option}",
      "rm -rf /tmp/guestinit-src",
      "guestinit --version",
    ]
  }
}
