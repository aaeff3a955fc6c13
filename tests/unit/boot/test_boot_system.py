"""The pure choices of the small boot steps, and the file ones on a scratch root."""

from pathlib import Path

from guestinit.boot import system
from guestinit.boot.run import without_kernel_words
from guestinit.shim.mode import for_machine


def test_hostname_from_cmdline_then_file_then_default() -> None:
    assert system.choose_hostname({"hostname": "vm1"}, "image\n") == "vm1"
    assert system.choose_hostname({}, "# comment\n  image  \n") == "image"
    assert system.choose_hostname({}, None) == "localhost"
    assert system.choose_hostname({"hostname": ""}, "") == "localhost"


def test_machine_id_kept_when_valid_else_made(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc/machine-id"
    path.write_text("")
    made = system.ensure_machine_id(str(tmp_path))
    assert system.valid_machine_id(made) and path.read_text() == made + "\n"
    assert system.ensure_machine_id(str(tmp_path)) == made  # kept
    assert not system.valid_machine_id("0" * 32)
    assert not system.valid_machine_id("uninitialized\n")
    assert not system.valid_machine_id("ABCDEF" + "0" * 26)


def test_seed_is_replaced_after_use(tmp_path: Path) -> None:
    assert system.credit_seed(str(tmp_path)) is False  # none yet: one is saved
    seed = tmp_path / system.SEED_FILE.lstrip("/")
    first = seed.read_bytes()
    assert len(first) == system.SEED_BYTES and seed.stat().st_mode & 0o777 == 0o600
    assert system.credit_seed(str(tmp_path)) is True
    assert seed.read_bytes() != first


def test_modules_load_files_in_name_order_without_comments_or_repeats() -> None:
    files = {"b.conf": "fuse\n# no\n; nor this\nvirtio_net\n", "a.conf": "evdev\nfuse\n"}
    assert system.modules_from(files) == ["evdev", "fuse", "virtio_net"]


def test_modules_load_earlier_folders_hide_later(tmp_path: Path) -> None:
    (tmp_path / "etc/modules-load.d").mkdir(parents=True)
    (tmp_path / "usr/lib/modules-load.d").mkdir(parents=True)
    (tmp_path / "etc/modules-load.d/x.conf").write_text("mine\n")
    (tmp_path / "usr/lib/modules-load.d/x.conf").write_text("theirs\n")
    (tmp_path / "usr/lib/modules-load.d/y.conf").write_text("other\n")
    (tmp_path / "usr/lib/modules-load.d/z.txt").write_text("ignored\n")
    assert system.read_modules_load(str(tmp_path)) == ["mine", "other"]


def test_path_is_set_only_when_missing() -> None:
    env: dict[str, str] = {}
    system.set_path(env)
    assert env["PATH"] == system.DEFAULT_PATH
    env = {"PATH": "/x"}
    system.set_path(env)
    assert env["PATH"] == "/x"


def test_kernel_words_are_no_command_but_a_path_is() -> None:
    assert without_kernel_words(["single"]) == []
    assert without_kernel_words(["3"]) == []
    assert without_kernel_words(["splash", "emergency"]) == []
    assert without_kernel_words([]) == []
    assert without_kernel_words(["/bin/sh", "-c", "x"]) == ["/bin/sh", "-c", "x"]


def test_the_resource_shim_is_off_by_default_in_a_machine() -> None:
    assert for_machine("auto") == "off"
    assert for_machine("on") == "on" and for_machine("required") == "required"
