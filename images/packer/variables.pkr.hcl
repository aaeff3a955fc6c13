// Inputs of guestinit.pkr.hcl. Give them with -var NAME=VALUE or a
// *.pkrvars.hcl file; paths are best given absolute.

variable "base_image" {
  type        = string
  description = "A raw ext4 root disk with Python 3 and sshd (images/vm/build-disk.sh makes one)."
}

variable "kernel" {
  type        = string
  description = "The uncompressed vmlinux to boot (images/vm/build-kernel.py: DIR/vmlinux)."
}

variable "initramfs" {
  type        = string
  description = "An initramfs that loads virtio_blk and ext4 and mounts root= (DIR/initramfs)."
}

variable "ssh_private_key_file" {
  type        = string
  description = "The private key whose public half is in root's authorized_keys in base_image."
}

variable "source_dir" {
  type        = string
  default     = "../.."
  description = "A guestinit checkout: uploaded and installed into the image by images/install.sh."
}

variable "wheels_dir" {
  type        = string
  default     = ""
  description = "A folder of wheels (pip and guestinit's build and runtime dependencies) for guests without a pip index; empty: the guest's pip downloads them."
}

variable "units" {
  type        = string
  default     = "ssh"
  description = "Shipped units to enable in the image, comma-separated (install.sh --units)."
}

variable "output_directory" {
  type    = string
  default = "output-guestinit"
}

variable "image_name" {
  type    = string
  default = "guestinit.raw"
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "kvm where nested virtualisation works; tcg (software) everywhere."
}

variable "memory" {
  type    = number
  default = 1024
}

variable "cpus" {
  type    = number
  default = 2
}

variable "boot_timeout" {
  type        = string
  default     = "3m"
  description = "How long to wait for sshd in the guest."
}
