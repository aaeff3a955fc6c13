"""Finding unit files on a (temporary) root: search path, templates, drop-ins, masks."""

import os
from pathlib import Path

from guestinit.unitfile import Severity, SpecifierContext
from guestinit.unitfile.load import available_units, host_context, load_unit

SEARCH = ("/etc/systemd/system", "/lib/systemd/system")


def write(root: Path, path: str, text: str) -> Path:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    return full


def test_first_directory_wins(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/a.service", "[Service]\nExecStart=/bin/lib\n")
    write(tmp_path, "/etc/systemd/system/a.service", "[Service]\nExecStart=/bin/etc\n")
    result = load_unit("a.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.service is not None
    assert result.spec.service.exec_start[0].path == "/bin/etc"
    assert result.spec.path == str(tmp_path / "etc/systemd/system/a.service")


def test_not_found(tmp_path: Path) -> None:
    result = load_unit("nope.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is None
    assert result.diagnostics[0].severity is Severity.ERROR


def test_invalid_name(tmp_path: Path) -> None:
    assert load_unit("nope", search_path=SEARCH, root=str(tmp_path)).spec is None


def test_template_instance(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/lib/systemd/system/web@.service",
        "[Unit]\nDescription=web %i\n[Service]\nExecStart=/bin/web --port %i\n",
    )
    result = load_unit("web@8080.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.service is not None
    assert result.spec.name == "web@8080.service"
    assert result.spec.description == "web 8080"
    assert result.spec.service.exec_start[0].argv == ("/bin/web", "--port", "8080")


def test_dropins_merge_in_lexical_order_across_directories(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/a-b.service", "[Service]\nExecStart=/bin/a\n")
    write(tmp_path, "/lib/systemd/system/a-b.service.d/20-late.conf", "[Service]\nNice=5\n")
    write(tmp_path, "/etc/systemd/system/a-b.service.d/10-early.conf", "[Service]\nNice=1\n")
    write(tmp_path, "/etc/systemd/system/service.d/05-all.conf", "[Service]\nUser=all\n")
    write(tmp_path, "/etc/systemd/system/a-.service.d/07-prefix.conf", "[Service]\nGroup=g\n")
    write(tmp_path, "/lib/systemd/system/a-b.service.d/15-x.conf", "[Service]\nNice=9\n")
    # the same file name in /etc hides the one in /lib
    write(tmp_path, "/etc/systemd/system/a-b.service.d/15-x.conf", "[Service]\nNice=3\n")
    write(tmp_path, "/lib/systemd/system/a-b.service.d/README", "not a drop-in")
    result = load_unit("a-b.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.service is not None
    names = [os.path.basename(p) for p in result.spec.dropin_paths]
    assert names == ["05-all.conf", "07-prefix.conf", "10-early.conf", "15-x.conf", "20-late.conf"]
    assert str(tmp_path / "etc") in result.spec.dropin_paths[3]
    assert result.spec.service.nice == 5
    assert (result.spec.service.user, result.spec.service.group) == ("all", "g")


def test_template_dropins_apply_to_instances(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/w@.service", "[Service]\nExecStart=/bin/w\n")
    write(tmp_path, "/etc/systemd/system/w@.service.d/a.conf", "[Service]\nNice=1\n")
    write(tmp_path, "/etc/systemd/system/w@x.service.d/b.conf", "[Service]\nUser=x\n")
    result = load_unit("w@x.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.service is not None
    assert (result.spec.service.nice, result.spec.service.user) == (1, "x")


def test_masked_by_dev_null_symlink_or_empty_file(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/m.service", "[Service]\nExecStart=/bin/m\n")
    link = tmp_path / "etc/systemd/system/m.service"
    link.parent.mkdir(parents=True)
    link.symlink_to("/dev/null")
    result = load_unit("m.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is None and result.diagnostics[0].severity is Severity.NOTE
    write(tmp_path, "/lib/systemd/system/e.service", "")
    assert load_unit("e.service", search_path=SEARCH, root=str(tmp_path)).spec is None


def test_masked_dropin_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/a.service", "[Service]\nExecStart=/bin/a\n")
    write(tmp_path, "/lib/systemd/system/a.service.d/x.conf", "[Service]\nNice=3\n")
    mask = tmp_path / "etc/systemd/system/a.service.d/x.conf"
    mask.parent.mkdir(parents=True)
    mask.symlink_to("/dev/null")
    result = load_unit("a.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.service is not None
    assert result.spec.service.nice is None


def test_alias_symlink_loads_the_target_name(tmp_path: Path) -> None:
    target = write(tmp_path, "/lib/systemd/system/ssh.service", "[Service]\nExecStart=/bin/s\n")
    link = tmp_path / "etc/systemd/system/sshd.service"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    result = load_unit("sshd.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None and result.spec.name == "ssh.service"
    assert "alias" in result.diagnostics[0].message


def test_wants_and_requires_directories(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/multi-user.target", "[Unit]\nWants=a.service\n")
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "a.service").symlink_to("/lib/systemd/system/a.service")
    (wants / "cron.service").symlink_to("/lib/systemd/system/cron.service")
    (wants / "junk").write_text("")
    requires = tmp_path / "lib/systemd/system/multi-user.target.requires"
    requires.mkdir(parents=True)
    (requires / "basic.target").write_text("")
    result = load_unit("multi-user.target", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None
    assert result.spec.wants == ("a.service", "cron.service")
    assert result.spec.requires == ("basic.target",)


def test_parse_errors_carry_the_real_file(tmp_path: Path) -> None:
    path = write(tmp_path, "/lib/systemd/system/b.service", "[Service]\nExecStart=/bin/b\nFoo=1\n")
    result = load_unit("b.service", search_path=SEARCH, root=str(tmp_path))
    (diag,) = result.diagnostics
    assert (diag.file, diag.line) == (str(path), 3)


def test_invalid_utf8_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "lib/systemd/system/u.service"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"[Unit]\nDescription=\xff\n[Service]\nExecStart=/bin/u\n")
    result = load_unit("u.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is not None
    assert result.diagnostics[0].severity is Severity.WARNING


def test_available_units(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/a.service", "")
    write(tmp_path, "/etc/systemd/system/a.service", "")
    write(tmp_path, "/lib/systemd/system/b.timer", "")
    write(tmp_path, "/lib/systemd/system/a.service.d/x.conf", "")
    write(tmp_path, "/lib/systemd/system/notes.txt", "")
    found = available_units(SEARCH, str(tmp_path))
    assert found == {
        "a.service": str(tmp_path / "etc/systemd/system/a.service"),
        "b.timer": str(tmp_path / "lib/systemd/system/b.timer"),
    }


def test_context_is_used(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/h.service", "[Service]\nExecStart=/bin/h %H\n")
    ctx = SpecifierContext(hostname="box")
    result = load_unit("h.service", search_path=SEARCH, root=str(tmp_path), context=ctx)
    assert result.spec is not None and result.spec.service is not None
    assert result.spec.service.exec_start[0].argv == ("/bin/h", "box")


def test_host_context_reads_the_root(tmp_path: Path) -> None:
    write(tmp_path, "/etc/hostname", "web1.example\n")
    write(tmp_path, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
    write(tmp_path, "/etc/os-release", 'ID=debian\nVERSION_ID="12"\n')
    ctx = host_context(str(tmp_path))
    assert ctx.hostname == "web1.example"
    assert ctx.machine_id == "0123456789abcdef0123456789abcdef"
    assert (ctx.os_id, ctx.os_version_id) == ("debian", "12")
    assert ctx.user_id == os.getuid()


def test_an_oversize_file_is_refused_naming_where_the_limit_falls(tmp_path: Path) -> None:
    from guestinit.unitfile.load import MAX_FILE

    line = "Documentation=" + "d" * 1000 + "\n"
    count = MAX_FILE // len(line) + 2
    write(tmp_path, "/lib/systemd/system/big.service", "[Service]\n" + line * count)
    result = load_unit("big.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is None
    (error,) = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert error.file.endswith("big.service") and error.line == MAX_FILE // len(line) + 2
    assert "larger than 4 MiB" in error.message


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = tmp_path / "lib/systemd/system"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.service")
    result = load_unit("pipe.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is None
    assert "not a regular file" in result.diagnostics[-1].message


def test_a_fifo_drop_in_refuses_the_unit(tmp_path: Path) -> None:
    write(tmp_path, "/lib/systemd/system/a.service", "[Service]\nExecStart=/bin/true\n")
    (tmp_path / "etc/systemd/system/a.service.d").mkdir(parents=True)
    os.mkfifo(tmp_path / "etc/systemd/system/a.service.d/x.conf")
    result = load_unit("a.service", search_path=SEARCH, root=str(tmp_path))
    assert result.spec is None
